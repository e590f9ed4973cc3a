"""What a validated manifest store says, as the facts the verdict is decided from.

Pure: a ``ManifestStore`` (c2pa-rs's reader JSON, judged by ``credentials.store``) in,
``ManifestFacts`` and the report's ``Credentials`` out; no I/O and no c2pa. The
``Verifier`` reads and looks up; this module maps; ``verdict`` decides. The mapping is
tested on recorded reader JSON (``tests/data/manifests``, ``tests/unit/test_facts.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from provenance._internal.text import safe_text
from provenance.credentials.explain import explain_code
from provenance.credentials.markkey import declared_key_ids
from provenance.credentials.revocation import Revocation
from provenance.credentials.softbinding import soft_bindings
from provenance.credentials.status import REVOKED, ValidationState
from provenance.credentials.store import Ingredient, ManifestStore, manifest_assertion
from provenance.report import Credentials
from provenance.report import Ingredient as ReportedIngredient
from provenance.verify.observations import Claims, IngredientFacts, ManifestFacts

_INCEPTION = ("c2pa.created", "c2pa.opened")


def manifest_facts(
    store: ManifestStore,
    mark_algs: frozenset[str],
    revocation: Revocation | None = None,
    *,
    own_stamp: bool = False,
) -> ManifestFacts:
    """The facts of ``store`` for content whose watermark algorithms are ``mark_algs``;
    ``revocation``: what the verifier knows of its signing certificate's revocation;
    ``own_stamp``: its time-stamp's authority was certified by that revocation's CA."""
    declared = frozenset(
        binding.payload.hex()
        for binding in soft_bindings(store)
        if binding.alg in mark_algs and binding.payload
    )
    return ManifestFacts(
        state=store.state,
        failures=frozenset(store.failure_codes),
        revocation=revocation,
        own_stamp=own_stamp,
        stamped_at=store.stamped_at,
        stamped_by=store.stamped_by,
        declared=declared,
        claims=claims_of(store.active),
        ingredient_failures=tuple(status.code for status in store.ingredient_failures),
        ingredients=tuple(map(ingredient_facts, store.ingredients)),
        mark_keys=declared_key_ids(store.active) if declared else frozenset(),
    )


def signing_certificate(store: ManifestStore) -> tuple[int, str | None] | None:
    """The signing certificate's serial number and issuer, to look its revocation up
    (None: the manifest gives no serial)."""
    info = store.active.get("signature_info") or {}
    serial, issuer = info.get("cert_serial_number"), info.get("issuer")
    if isinstance(serial, str) and serial.isdigit():
        return int(serial), str(issuer) if issuer else None
    return None


def reported_credentials(
    store: ManifestStore,
    state: ValidationState | None,
    *,
    revoked: bool,
    revocation_sources: tuple[str, ...],
) -> Credentials:
    """The report's credentials for ``store``, in the state the verdict left them."""
    failures = list(store.failure_codes)
    if revoked:
        failures.append(REVOKED)
    explanations = {status.code: explain_code(status.code) for status in store.failures}
    explanations.update(
        {s.code: explain_code(s.code, s.explanation) for s in store.ingredient_failures}
    )
    explanations.update(
        {
            s.code: explain_code(s.code, s.explanation)
            for ingredient in _all(store.ingredients)
            for s in ingredient.failures
        }
    )
    if REVOKED in failures:
        explanations[REVOKED] = explain_code(REVOKED)
    created = created_action(store.active)
    claims = claims_of(store.active)
    return Credentials(
        state=state or ValidationState.INVALID,
        signer=claims.signer,
        issuer=claims.issuer,
        signed_at=store.stamped_at.isoformat() if store.stamped_at else None,
        created_at=_field(created.get("when")) if created else None,
        generator=generator(store.active),
        model=claims.model,
        digital_source_type=claims.digital_source_type,
        failures=tuple(failures),
        ingredient_failures=tuple(status.code for status in store.ingredient_failures),
        explanations=explanations,
        revocation_sources=revocation_sources,
        ingredients=tuple(
            reported_ingredient(ingredient_facts(ingredient)) for ingredient in store.ingredients
        ),
    )


def claims_of(manifest: dict[str, Any]) -> Claims:
    """What a manifest says: the digital source type of its inception action, else of
    an edit that declares one (``--ai-edit``); the model of that action."""
    info = manifest.get("signature_info") or {}
    actions = [a for a in _actions(manifest) if isinstance(a, dict)]
    made = next((a for a in actions if a.get("action") in _INCEPTION), None)
    if made is None or not made.get("digitalSourceType"):
        edit = next(
            (
                a
                for a in actions
                if str(a.get("action", "")).startswith("c2pa.edited") and a.get("digitalSourceType")
            ),
            None,
        )
        made = edit or made
    return Claims(
        model=_agent(made.get("softwareAgent")) if made else None,
        signer=_field(info.get("common_name")),
        issuer=_field(info.get("issuer")),
        digital_source_type=_source_type(made.get("digitalSourceType")) if made else None,
    )


def ingredient_facts(ingredient: Ingredient) -> IngredientFacts:
    return IngredientFacts(
        title=_field(ingredient.title),
        relationship=_field(ingredient.relationship),
        state=ingredient.state,
        claims=claims_of(ingredient.manifest) if ingredient.manifest else Claims(),
        failures=tuple(status.code for status in ingredient.failures),
        ingredients=tuple(map(ingredient_facts, ingredient.ingredients)),
    )


def reported_ingredient(facts: IngredientFacts) -> ReportedIngredient:
    return ReportedIngredient(
        title=facts.title,
        relationship=facts.relationship,
        state=facts.state,
        ai_generated=facts.ai_generated,
        failures=facts.failures,
        ingredients=tuple(map(reported_ingredient, facts.ingredients)),
    )


def created_action(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The action that says when the content was made: ``c2pa.created``, or for an edit
    the ``c2pa.edited`` after its ``c2pa.opened`` (which carries no time)."""
    actions = [a for a in _actions(manifest) if isinstance(a, dict)]
    for action in actions:
        if action.get("action") == "c2pa.opened" and not action.get("when"):
            edited = next((a for a in actions if a.get("action") == "c2pa.edited"), None)
            return edited or action
        if action.get("action") in _INCEPTION:
            return action
    return None


def generator(manifest: dict[str, Any]) -> str | None:
    """The claim generator: its first ``claim_generator_info``, else ``claim_generator``."""
    infos = manifest.get("claim_generator_info")
    if isinstance(infos, list) and infos and isinstance(infos[0], dict):
        name, version = infos[0].get("name"), infos[0].get("version")
        return _field(f"{name} {version}" if version else name)
    return _field(manifest.get("claim_generator"))


def _all(ingredients: tuple[Ingredient, ...]) -> Iterator[Ingredient]:
    """Every ingredient of the chain, nested ones included."""
    for ingredient in ingredients:
        yield ingredient
        yield from _all(ingredient.ingredients)


def _field(value: object) -> str | None:
    return safe_text(value) if value not in (None, "") else None


def _source_type(value: object) -> str | None:
    """A digital source type as a term: surrounding white space is no part of it (a
    signer that wrote " http://...digitalCapture" still says digitalCapture)."""
    return _field(value.strip()) if isinstance(value, str) else _field(value)


def _actions(manifest: dict[str, Any]) -> list[Any]:
    actions = (manifest_assertion(manifest, "c2pa.actions") or {}).get("actions")
    return actions if isinstance(actions, list) else []


def _agent(agent: object) -> str | None:
    if isinstance(agent, dict):
        name, version = agent.get("name"), agent.get("version")
        return _field(f"{name} {version}" if version else name) if name else None
    return _field(agent)
