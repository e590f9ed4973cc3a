"""The verdict as a pure function of what was observed (docs/design.md, "Decision table").

``decide(Observations) -> Decision``: no I/O, no c2pa, no pixels. The ``Verifier`` reads
the file, validates the manifest, runs the detector and looks the record up; this module
alone turns those observations into the verdict, ``ai_generated`` and the summary. Every
sentence of the summary states something that was observed, never a guessed cause.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from provenance.credentials.explain import explain_code
from provenance.credentials.revocation import Revocation
from provenance.credentials.status import (
    HARD_BINDING_MISMATCHES,
    REVOKED,
    UNTRUSTED,
    ValidationState,
)
from provenance.report import LLMWatermark, MarkStatus, Verdict, Watermark

__all__ = [
    "AI_SOURCE_TYPES",
    "Assessment",
    "Claims",
    "Decision",
    "IngredientFacts",
    "ManifestFacts",
    "Observations",
    "RecordFacts",
    "Requirement",
    "assess",
    "decide",
    "meets",
    "needs_mark",
    "origin",
]

_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AI_SOURCE_TYPES = frozenset(
    _IPTC + name
    for name in (
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicMedia",
    )
)
_COMPOSITE = _IPTC + "compositeWithTrainedAlgorithmicMedia"
PARENT_OF = "parentOf"


@dataclasses.dataclass(frozen=True)
class Claims:
    """What a manifest says about the content and its signer (already made safe to print)."""

    model: str | None = None
    signer: str | None = None
    issuer: str | None = None
    digital_source_type: str | None = None

    @property
    def ai_generated(self) -> bool | None:
        """True or False as the manifest's digital source type says; None when it is silent."""
        if self.digital_source_type is None:
            return None
        return self.digital_source_type in AI_SOURCE_TYPES


class _Edited:
    """What a manifest and an ingredient share: claims of their own and ingredients."""

    claims: Claims
    ingredients: tuple[IngredientFacts, ...]

    @property
    def parent(self) -> IngredientFacts | None:
        """The ``parentOf`` ingredient: what this content was edited from."""
        return next((i for i in self.ingredients if i.relationship == PARENT_OF), None)

    @property
    def chain_ai_generated(self) -> bool | None:
        """As its own claims say, or as its chain of intact parents says when they are
        silent (``origin``)."""
        found = origin(self.claims, self.parent)
        return found.ai_generated if found is not None else None


@dataclasses.dataclass(frozen=True)
class IngredientFacts(_Edited):
    """An ingredient of a manifest (docs/design.md, "Edits").

    ``state`` is None when it carries no credentials; ``failures`` are its codes;
    ``claims`` what its own manifest says; ``ingredients`` its own, as recorded.
    """

    title: str | None
    relationship: str | None
    state: ValidationState | None
    claims: Claims = Claims()
    failures: tuple[str, ...] = ()
    ingredients: tuple[IngredientFacts, ...] = ()

    @property
    def ai_generated(self) -> bool | None:
        """Across its own chain; None when its credentials are missing or failed."""
        if self.state is None or self.state is ValidationState.INVALID:
            return None
        return self.chain_ai_generated


def origin(claims: Claims, parent: IngredientFacts | None) -> Claims | None:
    """The claims that say how content was made, across its chain of edits: its own when
    they say, else its parent's (when the parent's credentials hold), and so on. None:
    nothing intact says."""
    for _ in range(16):  # ingredients nest at most 8 deep as read
        if claims.ai_generated is not None:
            return claims
        if parent is None or parent.state in (None, ValidationState.INVALID):
            return None
        claims, parent = parent.claims, parent.parent
    return None


@dataclasses.dataclass(frozen=True)
class ManifestFacts(_Edited):
    """A manifest store as validated: c2pa-rs's state and codes, plus the toolkit's own.

    ``declared`` holds the payloads (hex) of the soft bindings the manifest declares for
    the watermark algorithms of this kind of content. ``revocation`` is what the verifier
    knows of the signing certificate's revocation; ``stamped_at`` the trusted time-stamp's
    time (None: no time-stamp that counts) and ``stamped_by`` its authority.
    """

    state: ValidationState
    failures: frozenset[str] = frozenset()
    revocation: Revocation | None = None
    declared: frozenset[str] = frozenset()
    claims: Claims = Claims()
    ingredient_failures: tuple[str, ...] = ()
    stamped_at: dt.datetime | None = None
    stamped_by: str | None = None
    ingredients: tuple[IngredientFacts, ...] = ()

    @property
    def ai_generated(self) -> bool | None:
        """As the manifest says, or as its chain of intact parents says when it is silent."""
        return self.chain_ai_generated

    @property
    def revoked(self) -> bool:
        """Whether a revocation covers this signature (docs/design.md, "Revocation and
        time"): the key was revoked before the trusted time, or there is no such time."""
        return self.revocation is not None and self.revocation.covers(self.stamped_at)


@dataclasses.dataclass(frozen=True)
class RecordFacts:
    """The repository record a watermark payload points to.

    ``manifest`` is None when the repository has no such record; ``declares_mark`` is
    whether the record's manifest declares the soft binding it is stored under.
    """

    record: str
    manifest: ManifestFacts | None
    declares_mark: bool = True


@dataclasses.dataclass(frozen=True)
class Observations:
    """Everything the verdict depends on.

    ``manifest``: the embedded manifest store, or None when the content carries none.
    ``mark``: the watermark finding (``not_checked`` with a note when nothing looked).
    ``record``: the looked-up record, or None when there was nothing to look up.
    ``repository``: whether a repository was configured to look records up in.
    ``llm``: text tested for an LLM watermark, or None when it was not.
    """

    manifest: ManifestFacts | None
    mark: Watermark
    record: RecordFacts | None = None
    repository: bool = False
    llm: LLMWatermark | None = None


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

    The validator's state decides whether its codes are fatal: a manifest it calls
    ``Trusted`` or ``Valid`` fails only by a local revocation; one it calls ``Invalid``
    fails by every code but the binding (judged apart) and "untrusted".
    """
    codes = set(facts.failures)
    binding_broken = bool(codes & HARD_BINDING_MISMATCHES)
    other = sorted(codes - HARD_BINDING_MISMATCHES - {UNTRUSTED, REVOKED})
    revoked = [REVOKED] if facts.revoked else []
    if facts.state is ValidationState.INVALID:
        problems, notes = other + revoked, []
        if not problems and not binding_broken:  # the validator said Invalid without a code
            problems = ["ingredient.failed" if facts.ingredient_failures else "validation.failed"]
    else:
        problems, notes = revoked, other
    trusted = facts.state is ValidationState.TRUSTED or (
        facts.state is ValidationState.INVALID and UNTRUSTED not in codes
    )
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


def decide(seen: Observations) -> Decision:
    """The one verdict for what was observed (the decision table of docs/design.md)."""
    if seen.manifest is None:
        return _without_manifest(seen)
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
        parts += [*_made(manifest), _signed_by(manifest.claims), *_time(manifest)]
        parts += _ingredients(manifest)
        parts.append(_agreement(mark, manifest.declared))
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
    reasons = [_reason(code, manifest) for code in judged.problems]
    if judged.binding_broken:
        reasons.insert(0, explain_code(next(iter(HARD_BINDING_MISMATCHES & manifest.failures))))
    parts = [*dict.fromkeys(reasons), *_claims(manifest.claims, claimed=True)]
    parts += [_signed_by(manifest.claims), *_time(manifest), *_ingredients(manifest)]
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
    signer = _signed_by(manifest.claims)
    if agrees:
        link = f"its watermark links it to record {mark.payload}"
        claims = ", ".join(_made(manifest))
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
        parts = [*head, _agreement(mark, manifest.declared)]
    parts += [*_claims(manifest.claims, claimed=True), signer]
    return Decision(
        Verdict.INVALID, None, tuple(parts), agrees, "embedded", ValidationState.INVALID
    )


def _agrees(mark: Watermark, declared: frozenset[str]) -> bool | None:
    if not declared or not mark.found:
        return None
    return mark.payload in declared


def _agreement(mark: Watermark, declared: frozenset[str]) -> str:
    """What the watermark says about a manifest that declares one (empty: it declares none)."""
    if not declared:
        return ""
    if mark.status is MarkStatus.NOT_CHECKED:
        return f"its watermark was not checked ({mark.note or 'not looked for'})"
    if mark.status is MarkStatus.NOT_FOUND:
        return "the watermark it declares was not found"
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
        reasons = [_reason(code, record.manifest) for code in judged.problems]
        if not record.declares_mark:
            reasons.append("the record does not declare the watermark it is stored under")
        failed = f"the watermark's record {record.record} failed validation: " + ", ".join(
            dict.fromkeys(reasons)
        )
        said = _claims(record.manifest.claims, claimed=True)
        parts = (head, failed, *said, _signed_by(record.manifest.claims), *_time(record.manifest))
        return Decision(
            Verdict.INVALID, None, parts, None, "record", state, record.manifest.revoked
        )
    claims = ", ".join(_made(record.manifest))
    recovered = f"credentials recovered through the watermark (record {record.record})"
    found_parts = [head, f"{recovered}: {claims}" if claims else recovered]
    found_parts += [_signed_by(record.manifest.claims), *_time(record.manifest)]
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


# --- sentences ---------------------------------------------------------------------------


def _claims(claims: Claims, *, claimed: bool = False) -> list[str]:
    """How the content was made, as the manifest says (``claimed``: its word is not proof)."""
    says = "claims " if claimed else ""
    if claims.ai_generated:
        model = f" by {claims.model}" if claims.model else ""
        made = "AI-edited" if claims.digital_source_type == _COMPOSITE else "AI-generated"
        return [f"{says}{made}{model}"]
    if claims.ai_generated is False:
        source = (claims.digital_source_type or "").removeprefix(_IPTC)
        return [f"{says}not AI-generated (digital source type {source})"]
    return [] if claimed else ["does not say how it was made"]


def _made(manifest: ManifestFacts) -> list[str]:
    """How intact content was made: its manifest's word, and for an edit what it was
    edited from (a silent edit takes its origin from its parent)."""
    parent = manifest.parent
    if parent is None:
        return _claims(manifest.claims)
    silent = manifest.claims.ai_generated is None
    said = not silent or origin(manifest.claims, parent) is None  # else the parent says
    return [*(_claims(manifest.claims) if said else []), _edited_from(parent)]


def _edited_from(parent: IngredientFacts) -> str:
    if parent.state is None:
        return "edited from an original without credentials"
    if parent.state is ValidationState.INVALID:
        reasons = ", ".join(
            dict.fromkeys(
                explain_code(code)
                for code in parent.failures
                if code != UNTRUSTED and not code.startswith("timeStamp.")
            )
        )
        return "edited from an original whose credentials failed validation" + (
            f" ({reasons})" if reasons else ""
        )
    found = origin(parent.claims, parent.parent)
    if found is None:
        return "edited from an original that does not say how it was made"
    if found.ai_generated:
        made = "AI-edited" if found.digital_source_type == _COMPOSITE else "AI-generated"
        model = f" by {found.model}" if found.model else ""
        return f"edited from an {made} original{model}"
    source = (found.digital_source_type or "").removeprefix(_IPTC)
    return f"edited from an original that is not AI-generated (digital source type {source})"


def _signed_by(claims: Claims) -> str:
    if not (claims.signer or claims.issuer):
        return ""
    issuer = f" ({claims.issuer})" if claims.issuer else ""
    return f"signed by {claims.signer or 'an unnamed signer'}{issuer}"


def _reason(code: str, manifest: ManifestFacts) -> str:
    """Plain words for a failure; a revocation says when and who said so."""
    revocation = manifest.revocation
    if code != REVOKED or revocation is None:
        return explain_code(code)
    when = f" on {_moment(revocation.since)}" if revocation.since else ""
    stamped = (
        f", before its time-stamp of {_moment(manifest.stamped_at)}"
        if manifest.stamped_at and revocation.since
        else ", and no trusted time-stamp shows it was signed before"
        if revocation.since
        else ""
    )
    return f"the signing certificate was revoked{when} ({revocation.source}){stamped}"


def _time(manifest: ManifestFacts) -> list[str]:
    """When it was signed, as a trusted time-stamp says; and a revocation it predates."""
    if manifest.stamped_at is None:
        return []
    when = _moment(manifest.stamped_at)
    parts = [f"signed at {when} (time-stamped by {manifest.stamped_by or 'a trusted TSA'})"]
    revocation = manifest.revocation
    if revocation is not None and not manifest.revoked and revocation.since is not None:
        signer = manifest.claims.signer or "the signer"
        parts.append(f"signed before {signer} was revoked on {_moment(revocation.since)}")
    return parts


def _moment(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ingredients(manifest: ManifestFacts) -> list[str]:
    return [
        f"ingredient: {explain_code(code)}"
        for code in dict.fromkeys(manifest.ingredient_failures)
        if code != UNTRUSTED
    ]


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
