"""The verdict as a pure function of what was observed (docs/design.md, "Decision table").

``decide(Observations) -> Decision``: no I/O, no c2pa, no pixels. The ``Verifier`` reads
the file, validates the manifest, runs the detector and looks the record up
(``provenance.verify.observations``); this module alone turns those observations into the
verdict, ``ai_generated`` and the summary, whose sentences ``provenance.verify.sentences`` words:
each states something that was observed, never a guessed cause.
"""

from __future__ import annotations

import dataclasses
import enum

from provenance.credentials.explain import explain_code
from provenance.credentials.status import (
    HARD_BINDING_MISMATCHES,
    REVOKED,
    UNTRUSTED,
    ValidationState,
    breaks,
    failures_of,
    signer_trusted,
)
from provenance.report import MarkStatus, Verdict, Watermark
from provenance.verify import sentences as say
from provenance.verify.observations import ManifestFacts, Observations


@dataclasses.dataclass(frozen=True)
class Assessment:
    """A manifest judged on its own: what failed and how far it can be trusted.

    ``problems`` are the failures that make it invalid, besides a broken binding;
    ``notes`` are failures the validator reported without failing the manifest (c2pa-rs
    says ``Valid`` with, for example, an untrusted CAWG identity assertion).
    """

    state: ValidationState  # after revocation; the binding counts
    binding_broken: bool  # the content differs from what was signed
    problems: tuple[str, ...]
    trusted: bool  # chains to a trust anchor
    notes: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        return not self.binding_broken and not self.problems

    @property
    def only_binding_broken(self) -> bool:
        """The signature and everything else hold; only the content changed."""
        return self.binding_broken and not self.problems

    @property
    def state_without_binding(self) -> ValidationState:
        """The state once an expected binding mismatch is set aside (recovered manifests,
        which are validated without their content)."""
        if self.problems:
            return ValidationState.INVALID
        return ValidationState.TRUSTED if self.trusted else ValidationState.VALID


def assess(facts: ManifestFacts) -> Assessment:
    """Judge one manifest. Revocation is applied here, once, for every caller.

    Which codes are fatal is the one rule of ``credentials.status`` (``breaks``): a code
    that says who is trusted (the signer, a time-stamp's authority, a CAWG identity) is a
    note, every other one a problem, except the binding, judged apart. A validator's
    ``Invalid`` without a code that breaks it (a failed ingredient) is a problem of its
    own: the validator's state can lower the state, never raise it (``state_of``).
    """
    codes = set(facts.failures)
    binding_broken = bool(codes & HARD_BINDING_MISMATCHES)
    other = sorted(codes - HARD_BINDING_MISMATCHES)
    # The one rule an edit's parent is checked by too (``credentials.sign``): the
    # validator failing it without a code that breaks it (a failed ingredient) fails it.
    failed = failures_of(sorted(codes), facts.state, facts.ingredient_failures)
    problems = [code for code in failed if code not in HARD_BINDING_MISMATCHES]
    notes = [code for code in other if code != UNTRUSTED and not breaks(code)]
    if facts.revoked and REVOKED not in problems:
        problems.append(REVOKED)
    trusted = signer_trusted(codes, facts.state)
    if problems or binding_broken:
        state = ValidationState.INVALID
    else:
        state = ValidationState.TRUSTED if trusted else ValidationState.VALID
    return Assessment(state, binding_broken, tuple(problems), trusted, tuple(notes))


@dataclasses.dataclass(frozen=True)
class Decision:
    """The verdict and what the report says about it.

    ``credentials``: which manifest the report's credentials describe ("embedded",
    "record" or None), and ``state`` its state after the toolkit's checks. ``agrees``
    compares the watermark with the embedded manifest's soft bindings.
    """

    verdict: Verdict
    ai_generated: bool | None
    summary: tuple[str, ...]
    agrees: bool | None = None
    credentials: str | None = None
    state: ValidationState | None = None
    revoked: bool = False  # a revocation covers the described manifest's signature

    @property
    def summary_line(self) -> str:
        return "; ".join(part for part in self.summary if part)


def needs_mark(manifest: ManifestFacts | None) -> bool:
    """Whether the verdict or its summary depends on the watermark, so it is worth detecting.

    Without a manifest, the mark is all there is; with one, only to compare it with the
    declared soft bindings (intact) or to say what the changed content still carries.
    """
    if manifest is None:
        return True
    verdict = assess(manifest)
    return bool(manifest.declared) and (verdict.intact or verdict.only_binding_broken)


#: Why a declared watermark was not looked for: nothing held here could find it.
KEY_NOT_HELD = "the watermark key it was made with is not held here"


def key_not_held(manifest: ManifestFacts | None, held: frozenset[str] | None) -> bool:
    """Whether the manifest names the watermark keys its marks were made with and none
    of them is held here: a detection could not find the mark, so none is made."""
    if manifest is None or not manifest.mark_keys or held is None:
        return False
    return manifest.mark_keys.isdisjoint(held)


def decide(seen: Observations) -> Decision:
    """The one verdict for what was observed (the decision table of docs/design.md)."""
    if seen.manifest is None:
        decision = _without_manifest(seen)
        if seen.other_sidecar is None:
            return decision
        # Never judged against a manifest made for other content: it is not this file's.
        head, *rest = decision.summary
        aside = say.other_sidecar(*seen.other_sidecar)
        return dataclasses.replace(decision, summary=(head, aside, *rest))
    return _with_manifest(seen.manifest, seen)


# --- content with an embedded manifest ---------------------------------------------------


def _with_manifest(manifest: ManifestFacts, seen: Observations) -> Decision:
    judged = assess(manifest)
    mark = seen.mark
    agrees = _agrees(mark, manifest.declared)
    if judged.intact:
        verdict = Verdict.TRUSTED if judged.trusted else Verdict.VALID
        parts = [explain_code(code) for code in judged.notes]
        parts += [] if judged.trusted else [explain_code(UNTRUSTED)]
        parts += [*say.made(manifest), say.signed_by(manifest.claims), *say.time(manifest)]
        parts += say.ingredients(manifest)
        parts.append(_agreement(seen, manifest))
        return Decision(
            verdict,
            manifest.ai_generated,
            tuple(parts),
            agrees,
            "embedded",
            judged.state,
        )
    if judged.only_binding_broken:
        return _changed_after_signing(manifest, judged, seen, agrees)
    reasons = [say.reason(code, manifest) for code in judged.problems]
    if judged.binding_broken:
        reasons.insert(0, explain_code(next(iter(HARD_BINDING_MISMATCHES & manifest.failures))))
    parts = [*dict.fromkeys(reasons), *say.claims(manifest.claims, claimed=True)]
    parts += [say.signed_by(manifest.claims), *say.time(manifest), *say.ingredients(manifest)]
    return Decision(
        Verdict.INVALID,
        None,
        tuple(parts),
        agrees,
        "embedded",
        ValidationState.INVALID,
        manifest.revoked,
    )


def _changed_after_signing(
    manifest: ManifestFacts, judged: Assessment, seen: Observations, agrees: bool | None
) -> Decision:
    """The signature holds but the content is not what was signed: always invalid.

    The watermark can still say which signed content this was; it never turns the
    verdict (a byte flipped or a region painted over must show)."""
    mark = seen.mark
    head = ["content changed after signing"]
    trust = [] if judged.trusted else [explain_code(UNTRUSTED)]
    signer = say.signed_by(manifest.claims)
    if agrees:
        link = f"its watermark links it to record {mark.payload}"
        claims = ", ".join(say.made(manifest))
        parts = [*head, f"{link}: {claims}" if claims else link, signer, *trust]
        return Decision(
            Verdict.INVALID,
            manifest.ai_generated,
            tuple(parts),
            True,
            "embedded",
            ValidationState.INVALID,
        )
    if agrees is False:
        parts = [
            *head,
            f"its watermark carries another record ({mark.payload}): this manifest was "
            "not made for this content",
        ]
    else:
        parts = [*head, _agreement(seen, manifest)]
    parts += [*say.claims(manifest.claims, claimed=True), signer]
    return Decision(
        Verdict.INVALID, None, tuple(parts), agrees, "embedded", ValidationState.INVALID
    )


def _agrees(mark: Watermark, declared: frozenset[str]) -> bool | None:
    if not declared or not mark.found:
        return None
    return mark.payload in declared


def _agreement(seen: Observations, manifest: ManifestFacts) -> str:
    """What the watermark says about a manifest that declares one (empty: it declares none).

    "Not found" is said only as far as it was looked for: with the key the manifest names,
    the declared mark is missing; with keys it cannot tell apart from its own (a manifest
    that names none), only those keys found nothing; with none of its keys held, nothing
    could be checked."""
    mark, declared = seen.mark, manifest.declared
    if not declared:
        return ""
    if key_not_held(manifest, seen.held_keys):
        return f"its watermark could not be checked here ({KEY_NOT_HELD})"
    if mark.status is MarkStatus.NOT_CHECKED:
        return f"its watermark was not checked ({mark.note or 'not looked for'})"
    if mark.status is MarkStatus.NOT_FOUND:
        if manifest.mark_keys:
            return "the watermark it declares was not found"
        return "its watermark was not found with the keys held here"
    if mark.payload in declared:
        return "watermark agrees"
    return f"the watermark carries another record ({mark.payload}) than the one declared"


# --- content without an embedded manifest ------------------------------------------------


def _without_manifest(seen: Observations) -> Decision:
    mark = seen.mark
    head = "no manifest embedded"
    if mark.status is MarkStatus.NOT_CHECKED:
        return Decision(
            Verdict.NONE, None, (head, f"watermark not checked ({mark.note or 'not looked for'})")
        )
    if mark.status is MarkStatus.NOT_FOUND:
        llm = seen.llm
        if llm is None:
            return Decision(Verdict.NONE, None, (head, "no watermark found"))
        tested = f"key {llm.key}, p = {llm.p_value:.2g}, {llm.scored_tokens} tokens"
        if llm.found:
            found_llm = f"LLM watermark found ({tested})"
            return Decision(Verdict.WATERMARKED, None, (head, "no invisible payload", found_llm))
        missing = f"no LLM watermark found ({llm.verdict}: {tested})"
        return Decision(Verdict.NONE, None, (head, "no invisible payload", missing))
    found = f"invisible watermark found (key {mark.key}, record {mark.payload})"
    record = seen.record
    if record is None or record.manifest is None:
        where = (
            "no manifest for it in the repository"
            if seen.repository
            else "no repository here to look the record up in"
        )
        return Decision(Verdict.WATERMARKED, None, (head, found, where))
    judged = assess(record.manifest)
    state = judged.state_without_binding if record.declares_mark else ValidationState.INVALID
    if state is ValidationState.INVALID:
        reasons = [say.reason(code, record.manifest) for code in judged.problems]
        if not record.declares_mark:
            reasons.append("the record does not declare the watermark it is stored under")
        failed = f"the watermark's record {record.record} failed validation: " + ", ".join(
            dict.fromkeys(reasons)
        )
        said = say.claims(record.manifest.claims, claimed=True)
        parts = (
            head,
            failed,
            *said,
            say.signed_by(record.manifest.claims),
            *say.time(record.manifest),
        )
        return Decision(
            Verdict.INVALID, None, parts, None, "record", state, record.manifest.revoked
        )
    claims = ", ".join(say.made(record.manifest))
    recovered = f"credentials recovered through the watermark (record {record.record})"
    found_parts = [head, f"{recovered}: {claims}" if claims else recovered]
    found_parts += [say.signed_by(record.manifest.claims), *say.time(record.manifest)]
    if state is ValidationState.VALID:
        found_parts.append(explain_code(UNTRUSTED))
    return Decision(
        Verdict.RECOVERED,
        record.manifest.ai_generated,
        tuple(found_parts),
        None,
        "record",
        state,
    )


# --- what --require admits ---------------------------------------------------------------


class Requirement(enum.StrEnum):
    """``verify --require``: which verdicts pass (docs/design.md, "Requirements")."""

    ANY = "any"
    TRUSTED = "trusted"


_ADMITS: dict[Requirement, frozenset[Verdict]] = {
    Requirement.ANY: frozenset(
        {Verdict.TRUSTED, Verdict.VALID, Verdict.RECOVERED, Verdict.WATERMARKED}
    ),
    Requirement.TRUSTED: frozenset({Verdict.TRUSTED}),
}


def meets(verdict: Verdict, requirement: Requirement) -> bool:
    """Whether a file with ``verdict`` passes ``--require requirement``."""
    return verdict in _ADMITS[requirement]
