"""What the verdict is decided from: the facts a ``Verifier`` observed, as plain data.

``Observations`` holds them for ``provenance.verify.verdict.decide``: the embedded manifest
(``ManifestFacts``, with its claims and ingredients), the watermark finding, the record a
payload points to (``RecordFacts``) and the LLM watermark test. ``origin`` follows a chain
of edits to the claims that say how the content was made (docs/design.md, "Edits").
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from provenance.credentials.revocation import Revocation
from provenance.credentials.status import ValidationState
from provenance.report import LLMWatermark, Watermark

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AI_SOURCE_TYPES = frozenset(
    IPTC + name
    for name in (
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicMedia",
    )
)
COMPOSITE = IPTC + "compositeWithTrainedAlgorithmicMedia"
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
    time (None: no time-stamp that counts) and ``stamped_by`` its authority; ``own_stamp``
    whether that authority was certified by the revocation's own CA (the key store's own
    authority, whose key a thief of the signing key has too).
    """

    state: ValidationState
    failures: frozenset[str] = frozenset()
    revocation: Revocation | None = None
    own_stamp: bool = False
    declared: frozenset[str] = frozenset()
    claims: Claims = Claims()
    ingredient_failures: tuple[str, ...] = ()
    stamped_at: dt.datetime | None = None
    stamped_by: str | None = None
    ingredients: tuple[IngredientFacts, ...] = ()
    # The identifiers of the watermark keys its marks were made with (empty: not said,
    # manifests made before they were recorded; ``credentials.markkey``).
    mark_keys: frozenset[str] = frozenset()

    @property
    def ai_generated(self) -> bool | None:
        """As the manifest says, or as its chain of intact parents says when it is silent."""
        return self.chain_ai_generated

    @property
    def revoked(self) -> bool:
        """Whether a revocation covers this signature (docs/design.md, "Revocation and
        time"): the key was revoked before the trusted time, or there is no such time, or
        it was taken and the time is its own store's."""
        return self.revocation is not None and self.revocation.covers(
            self.stamped_at, own_stamp=self.own_stamp
        )


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
    ``held_keys``: the identifiers of the watermark keys detection ran with (None: it did
    not run with any, for a reason ``mark`` gives).
    ``other_sidecar``: a sidecar found beside the content whose manifest was made for
    other content, set aside (its name, and what it was made for); ``manifest`` is then
    None.
    """

    manifest: ManifestFacts | None
    mark: Watermark
    record: RecordFacts | None = None
    repository: bool = False
    llm: LLMWatermark | None = None
    held_keys: frozenset[str] | None = None
    other_sidecar: tuple[str, str] | None = None
