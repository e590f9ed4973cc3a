"""A manifest store as c2pa-rs reported it, judged: plain data and pure functions.

``judge_store`` turns what c2pa-rs said about a store (its reader JSON, validation
results and state) into a ``ManifestStore``: the active manifest's failures, the
ingredient deltas, and each ingredient's state by the one rule of
``credentials.status``. No I/O and no c2pa here: ``credentials.read`` does the reading
and hands in a function that reads an ingredient's store again under its trust, so the
same mapping runs on recorded reader JSON in the tests (``tests/data/manifests``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from provenance._internal.text import safe_text
from provenance.credentials.explain import explain_code
from provenance.credentials.status import (
    TST_PROBLEMS,
    TST_TRUSTED,
    UNTRUSTED,
    ValidationState,
    state_of,
)
from provenance.kinds.media import canonical_type, types_named

#: Reads an ingredient's manifest store again under the reader's trust: its failures
#: (binding set aside), or None when it cannot be read again.
Recheck = Callable[[dict[str, Any]], list[dict[str, Any]] | None]


@dataclasses.dataclass(frozen=True)
class Status:
    """One validation status entry: a code, where it applies, and what it means."""

    code: str
    url: str | None
    explanation: str

    @property
    def meaning(self) -> str:
        return explain_code(self.code, self.explanation)


@dataclasses.dataclass(frozen=True)
class Ingredient:
    """An ingredient of a manifest: what it says it is and how its credentials validated.

    ``manifest`` is the reader JSON of the ingredient's own active manifest (empty: the
    ingredient carries no credentials, and ``state`` is None). ``failures`` are what
    c2pa-rs recorded when the ingredient was added (its hard binding was checked then,
    against the ingredient's own content), what it finds wrong now (its deltas), and the
    ingredient's signature and chain judged again under this reader's trust settings.
    ``ingredients`` are the ingredient's own, from its manifest (as they were recorded).
    """

    title: str | None
    relationship: str | None
    state: ValidationState | None
    failures: tuple[Status, ...] = ()
    manifest: dict[str, Any] = dataclasses.field(default_factory=dict)
    ingredients: tuple[Ingredient, ...] = ()


@dataclasses.dataclass(frozen=True)
class Seen:
    """What c2pa-rs was given and said in one read (``CredentialReader(keep_store=True)``):
    the store's bytes (None: they could not be had, ``problem`` says why) and its
    detailed report (``Reader.detailed_json``)."""

    store_bytes: bytes | None
    detailed: dict[str, Any]
    problem: str | None = None


@dataclasses.dataclass(frozen=True)
class ManifestStore:
    """What a manifest store says and how it validated."""

    state: ValidationState
    failures: tuple[Status, ...]
    ingredient_failures: tuple[Status, ...]
    store: dict[str, Any]  # the full store as c2pa-rs reports it (reader JSON)
    ingredients: tuple[Ingredient, ...] = ()  # of the active manifest, in its order
    # Its bytes and c2pa-rs's detailed report, read with ``keep_store`` (else None).
    seen: Seen | None = None

    @property
    def active(self) -> dict[str, Any]:
        label = self.store.get("active_manifest")
        manifests = self.store.get("manifests") or {}
        found = manifests.get(label) if isinstance(label, str) else None
        return found if isinstance(found, dict) else {}

    @property
    def parent(self) -> Ingredient | None:
        """The ``parentOf`` ingredient: what this content was edited from (None: none)."""
        return next((i for i in self.ingredients if i.relationship == "parentOf"), None)

    @property
    def failure_codes(self) -> tuple[str, ...]:
        return tuple(status.code for status in self.failures)

    @property
    def time_stamp(self) -> tuple[dt.datetime, str] | None:
        """The trusted time of the claim signature and the authority that vouches for it.

        Only a time-stamp c2pa-rs validated AND whose authority it trusts counts
        (``timeStamp.trusted``); any other is no time at all.
        """
        results = self.store.get("validation_results") or {}
        active = results.get("activeManifest") if isinstance(results, dict) else None
        successes = (active or {}).get("success") or ()
        trusted = [e for e in successes if isinstance(e, dict) and e.get("code") == TST_TRUSTED]
        when = (self.active.get("signature_info") or {}).get("time")
        if not trusted or not isinstance(when, str):
            return None
        try:
            moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        explanation = str(trusted[0].get("explanation") or "")
        # c2pa-rs says "timestamp cert trusted: NAME, trust list: user_anchors".
        name = explanation.partition(":")[2].split(", trust list")[0].strip()
        return moment, name or "a trusted time-stamping authority"

    @property
    def stamped_at(self) -> dt.datetime | None:
        found = self.time_stamp
        return found[0] if found else None

    @property
    def stamped_by(self) -> str | None:
        found = self.time_stamp
        return found[1] if found else None

    def assertion(self, label: str) -> dict[str, Any] | None:
        """The data of the active manifest's first assertion with ``label`` (version-agnostic)."""
        return manifest_assertion(self.active, label)


def manifest_assertion(manifest: dict[str, Any], label: str) -> dict[str, Any] | None:
    """The data of ``manifest``'s first assertion with ``label`` (version-agnostic)."""
    for assertion in manifest.get("assertions") or ():
        name = assertion.get("label", "") if isinstance(assertion, dict) else ""
        if name == label or name.startswith(label + ".v"):
            data = assertion.get("data")
            return data if isinstance(data, dict) else None
    return None


def judge_store(
    store: dict[str, Any],
    state: ValidationState,
    results: dict[str, Any],
    *,
    recheck: Recheck | None = None,
    seen: Seen | None = None,
) -> ManifestStore:
    """The store c2pa-rs reported: ``store`` its reader JSON, ``results`` its validation
    results, ``state`` its validation state. ``recheck`` reads an ingredient's store
    again under this reader's trust (None: ingredients keep what was recorded and what
    c2pa-rs's deltas say now)."""
    active = results.get("activeManifest") or {}
    deltas = [
        status
        for delta in results.get("ingredientDeltas") or ()
        for status in (delta.get("validationDeltas") or {}).get("failure") or ()
    ]
    # c2pa-rs logs a time-stamp it could not use as "informational" and then judges
    # the certificate at the current time; the report names it as a failure.
    stamp_problems = [
        entry
        for entry in active.get("informational") or ()
        if str(entry.get("code", "")) in TST_PROBLEMS
    ]
    own, foreign = _by_manifest(store, active.get("failure") or ())
    if foreign and state is ValidationState.VALID and _signer_trusted_here(active, own):
        # c2pa-rs lists an ingredient's own failures (a CAWG identity's untrusted signer)
        # among the active manifest's and calls the store Valid for them: they are the
        # ingredient's, not a word about this manifest's signer.
        state = ValidationState.TRUSTED
    return ManifestStore(
        state=state,
        failures=tuple(_status(entry) for entry in [*own, *stamp_problems]),
        ingredient_failures=tuple(_status(entry) for entry in [*deltas, *foreign]),
        store=store,
        ingredients=_ingredients(store, results, recheck, foreign),
        seen=seen,
    )


def manifest_label(url: object) -> str | None:
    """The manifest a status entry's URL points into (``self#jumbf=/c2pa/LABEL/...``);
    None: it names none (a relative URL is about the manifest it is listed under)."""
    if not isinstance(url, str) or "/c2pa/" not in url:
        return None
    return url.split("/c2pa/", 1)[1].split("/", 1)[0] or None


def _by_manifest(
    store: dict[str, Any], failures: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The active manifest's failures as c2pa-rs lists them, split into its own and
    those whose URL points into another manifest of the store (an ingredient's)."""
    label = store.get("active_manifest")
    others = set(store.get("manifests") or ()) - {label}
    own: list[dict[str, Any]] = []
    foreign: list[dict[str, Any]] = []
    for entry in failures:
        if not isinstance(entry, dict):
            continue
        (foreign if manifest_label(entry.get("url")) in others else own).append(entry)
    return own, foreign


def _signer_trusted_here(active: dict[str, Any], own: list[dict[str, Any]]) -> bool:
    """Whether c2pa-rs found the active manifest's signer trusted and nothing of its own
    failed: its ``Valid`` then came from another manifest's failures only."""
    successes = {str(e.get("code", "")) for e in active.get("success") or () if isinstance(e, dict)}
    return not own and "signingCredential.trusted" in successes


def _ingredients(
    store: dict[str, Any],
    results: dict[str, Any],
    recheck: Recheck | None,
    foreign: Sequence[dict[str, Any]] = (),
) -> tuple[Ingredient, ...]:
    """The active manifest's ingredients, each judged: what was recorded when it was
    added, c2pa-rs's deltas now, and its signature and chain under this trust."""
    label = store.get("active_manifest")
    manifests = store.get("manifests") or {}
    active = manifests.get(label) if isinstance(label, str) else None
    if not isinstance(active, dict):
        return ()
    # c2pa-rs's deltas, by the ingredient assertion they are about (nested manifests'
    # ingredient assertions have deltas of their own, under their manifest's label).
    deltas: dict[str, list[dict[str, Any]]] = {}
    judged: set[str] = set()
    for delta in results.get("ingredientDeltas") or ():
        uri = str(delta.get("ingredientAssertionURI") or "")
        found_now = delta.get("validationDeltas") or {}
        deltas.setdefault(uri, []).extend(found_now.get("failure") or [])
        codes = {
            str(e.get("code", ""))
            for kind in ("success", "failure")
            for e in found_now.get(kind) or ()
            if isinstance(e, dict)
        }
        if codes & _TRUST_VERDICTS:  # c2pa-rs judged its signer under this trust
            judged.add(uri)
    found: list[Ingredient] = []
    budget = [_MAX_INGREDIENTS]
    # Failures c2pa-rs listed under the active manifest that are another manifest's.
    elsewhere: dict[str, list[dict[str, Any]]] = {}
    for entry in foreign:
        elsewhere.setdefault(manifest_label(entry.get("url")) or "", []).append(entry)
    judged_now = _Deltas(deltas, judged, elsewhere)
    for entry in active.get("ingredients") or ():
        if not isinstance(entry, dict) or budget[0] <= 0:
            continue
        budget[0] -= 1
        uri = f"self#jumbf=/c2pa/{label}/c2pa.assertions/{entry.get('label') or ''}"
        again: list[dict[str, Any]] | None = None
        if uri in judged:
            again = []  # its deltas say who is trusted; nothing to read again
        elif len(found) < _MAX_RECHECKS:
            again = recheck(entry) if recheck is not None else None
        found.append(
            _ingredient(entry, manifests, deltas.get(uri, []), again, 0, budget, judged_now)
        )
    return tuple(found)


# A hostile store can nest ingredients deeply or list the same manifest many times over.
_MAX_INGREDIENT_DEPTH = 8
_MAX_INGREDIENTS = 64
_TRUST_VERDICTS = frozenset({UNTRUSTED, "signingCredential.trusted"})
_MAX_RECHECKS = 8  # direct ingredients whose stores are read again (one c2pa read each)
# Success codes that c2pa 1.x readers listed in an ingredient's validationStatus.
_SUCCESS_SUFFIXES = (".match", ".validated", ".trusted", ".insideValidity")


@dataclasses.dataclass(frozen=True)
class _Deltas:
    """c2pa-rs's ingredient deltas of this read, by ingredient assertion URI: their
    failures, and the URIs whose signer c2pa-rs judged under this reader's trust."""

    failures: dict[str, list[dict[str, Any]]]
    judged: set[str]
    # Failures listed under the active manifest that belong to another, by its label.
    elsewhere: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)


def _ingredient(
    entry: dict[str, Any],
    manifests: dict[str, Any],
    now: list[dict[str, Any]],
    again: list[dict[str, Any]] | None,
    depth: int,
    budget: list[int],
    deltas: _Deltas,
) -> Ingredient:
    """One ingredient of the reader JSON, judged (``now``: c2pa-rs's deltas for it;
    ``again``: its store's failures read again here, None when it was not). A nested
    ingredient whose signer c2pa-rs judged in this read takes that judgement, like a
    direct one, instead of what was recorded when it was added."""
    title, relationship = entry.get("title"), entry.get("relationship")
    label = entry.get("active_manifest")
    manifest = manifests.get(label) if isinstance(label, str) else None
    if not isinstance(manifest, dict):
        return Ingredient(
            title if isinstance(title, str) else None,
            relationship if isinstance(relationship, str) else None,
            None,
        )
    recorded: list[dict[str, Any]] = []
    results = entry.get("validation_results")
    if isinstance(results, dict):  # ingredient v3: what c2pa-rs found when it was added
        recorded += (results.get("activeManifest") or {}).get("failure") or []
    for status in entry.get("validation_status") or ():  # v1/v2
        if isinstance(status, dict) and not str(status.get("code", "")).endswith(_SUCCESS_SUFFIXES):
            recorded.append(status)
    if again is not None:  # trust is this reader's to decide, not the signer's
        recorded = [s for s in recorded if s.get("code") != UNTRUSTED] + again
    now = [*now, *deltas.elsewhere.get(str(label), ())]
    failures = tuple(dict.fromkeys(_status(s) for s in [*recorded, *now] if isinstance(s, dict)))
    state = state_of(status.code for status in failures)
    nested: list[Ingredient] = []
    for inner in manifest.get("ingredients") or () if depth < _MAX_INGREDIENT_DEPTH else ():
        if isinstance(inner, dict) and budget[0] > 0:
            budget[0] -= 1
            uri = f"self#jumbf=/c2pa/{label}/c2pa.assertions/{inner.get('label') or ''}"
            recheck: list[dict[str, Any]] | None = [] if uri in deltas.judged else None
            inner_now = deltas.failures.get(uri, [])
            nested.append(
                _ingredient(inner, manifests, inner_now, recheck, depth + 1, budget, deltas)
            )
    return Ingredient(
        title if isinstance(title, str) else None,
        relationship if isinstance(relationship, str) else None,
        state,
        failures,
        manifest,
        tuple(nested),
    )


def _status(entry: dict[str, Any]) -> Status:
    return Status(
        code=str(entry.get("code", "")),
        url=entry.get("url"),
        explanation=str(entry.get("explanation") or ""),
    )


def made_for_other_content(store: ManifestStore, media_type: str) -> str | None:
    """What the active manifest says it was made for, when that cannot be content of
    ``media_type`` (None: it may be this content's). A manifest store kept apart from its
    content (a sidecar) is tied to it by name only, so this is asked before it is applied:
    the signed ``format`` (claims before C2PA 2.0), else the media type the extension of
    its signed title names (the file name it was signed as; c2pa-rs and c2patool write
    it). Content of the same type that is not what was signed is not told apart here: its
    hard binding fails, as for an altered copy (docs/design.md, "Sidecars")."""
    active = store.active
    given = active.get("format")
    mine = canonical_type(media_type)
    if isinstance(given, str) and given.strip():
        if canonical_type(given) == mine:
            return None
        return f"{safe_text(given, 128)} content"
    title = active.get("title")
    named = types_named(title) if isinstance(title, str) else frozenset()
    if not named or mine in named:
        return None
    return f"{' or '.join(sorted(named))} content ({safe_text(title, 256)})"
