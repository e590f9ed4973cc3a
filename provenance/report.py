"""The verification report, defined once: the CLI's JSON, the HTTP API and its OpenAPI
schema (pydantic reads these dataclasses) and ``watermark detect --json`` all use it.

docs/design.md, "The JSON report", describes every field.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from provenance.credentials.status import ValidationState


class Verdict(enum.StrEnum):
    """The verdict vocabulary, exactly these words (docs/design.md, "Verdicts")."""

    TRUSTED = "trusted"
    VALID = "valid"
    INVALID = "invalid"
    RECOVERED = "recovered"
    WATERMARKED = "watermarked"
    NONE = "none"
    ERROR = "error"


class MarkStatus(enum.StrEnum):
    """Whether a watermark (or text payload) was looked for, and what came of it."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    NOT_CHECKED = "not_checked"


@dataclasses.dataclass(frozen=True)
class Region:
    """A part of an image, in input pixels, that no longer carries the watermark found in
    the rest (``altered``), or where that cannot be told (``unknown``: too little texture
    or signal, clipped colours). ``share`` is its share of the image area (0..1)."""

    x: int
    y: int
    width: int
    height: int
    share: float
    state: Literal["altered", "unknown"]


@dataclasses.dataclass(frozen=True)
class ImageGeometry:
    """The image engine's part of a watermark finding.

    ``scale``, ``angle`` and ``offset`` are where the found mark's tile lies in the image;
    ``altered_regions`` the cells of a coarse grid over the image where the found mark is
    missing or cannot be checked (empty: intact throughout, or not localised). A finding
    without one reports these fields empty (None, no regions).
    """

    scale: float | None = None
    angle: float | None = None
    offset: tuple[float, float] | None = None
    altered_regions: tuple[Region, ...] = ()


@dataclasses.dataclass(frozen=True)
class Watermark:
    """What a watermark detector found in one input, and how it relates to the manifest.

    ``payload`` and ``record`` are hex. ``agrees`` compares the payload with the soft
    bindings the embedded manifest declares (None: nothing to compare with). ``note`` says
    why nothing was checked. ``geometry`` is the image engine's part of a finding (None
    for the other engines); in JSON its fields sit beside these, as they always have
    (``to_json``, docs/design.md "The JSON report").
    """

    status: MarkStatus
    detected: bool = False
    alg: str | None = None
    payload: str | None = None
    key: str | None = None
    p_value: float | None = None
    record: str | None = None
    agrees: bool | None = None
    note: str | None = None
    geometry: ImageGeometry | None = dataclasses.field(
        default=None, metadata={"inline": ImageGeometry}
    )

    def __post_init__(self) -> None:
        if self.detected != (self.status is MarkStatus.FOUND):
            raise ValueError("detected must be true exactly when the status is found")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Pydantic reads and writes the JSON as ``to_json`` writes it: an ``inline``
        part's fields are gathered into the part when read, spread beside the others
        when written (pydantic calls this; the library never imports pydantic)."""
        from pydantic_core import core_schema

        return core_schema.no_info_before_validator_function(
            _gathered,
            handler(source),
            serialization=core_schema.wrap_serializer_function_ser_schema(
                _spread, schema=handler(source)
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """The OpenAPI schema as the JSON is written: an ``inline`` part's properties in
        place of the part (pydantic calls this; the library never imports pydantic)."""
        schema = handler(core_schema)
        own = handler.resolve_ref_schema(schema)
        properties = own.get("properties", {})
        for field in dataclasses.fields(cls):
            if field.metadata.get("inline") is None or field.name not in properties:
                continue
            part = properties.pop(field.name)
            ref = next(item for item in part.get("anyOf", [part]) if "$ref" in item)
            properties.update(handler.resolve_ref_schema(ref).get("properties", {}))
        return schema

    @classmethod
    def not_checked(cls, note: str, alg: str | None = None) -> Watermark:
        return cls(MarkStatus.NOT_CHECKED, alg=alg, note=note)

    @property
    def found(self) -> bool:
        return self.status is MarkStatus.FOUND


def _gathered(value: Any) -> Any:
    """JSON of a ``Watermark`` with each ``inline`` part's fields gathered into the part."""
    if not isinstance(value, Mapping):
        return value
    found = dict(value)
    for field in dataclasses.fields(Watermark):
        inline = field.metadata.get("inline")
        if inline is None or field.name in found:
            continue
        part = {f.name: found.pop(f.name) for f in dataclasses.fields(inline) if f.name in found}
        empty = to_json(inline())
        found[field.name] = None if all(part.get(k) == v for k, v in empty.items()) else part
    return found


def _spread(value: Any, serialize: Any) -> Any:
    """The JSON of a ``Watermark`` as ``to_json`` writes it."""
    return to_json(value) if isinstance(value, Watermark) else serialize(value)


@dataclasses.dataclass(frozen=True)
class LLMWatermark:
    """The statistical watermark a language model wrote into text under a key of this
    store (docs/llm-watermark.md), tested with every such key in the mode it records.

    ``p_value`` is the best key's exact p-value times the keys tried (Bonferroni), so it
    holds for the whole test; ``verdict`` is ``watermarked`` (p <= 1e-6), ``inconclusive``
    (p <= 1e-2), ``not watermarked`` or ``too short`` (under 30 scored tokens).
    """

    key: str
    mode: str
    p_value: float
    scored_tokens: int
    verdict: str
    keys_tried: int = 1

    @property
    def found(self) -> bool:
        return self.verdict == "watermarked"


@dataclasses.dataclass(frozen=True)
class Ingredient:
    """An ingredient of the manifest: what the content was made from.

    ``relationship`` is C2PA's (``parentOf``: edited from it; ``componentOf``: placed in
    it). ``state`` is how its own credentials validated (None: it carries none);
    ``ai_generated`` what they say across their own chain (None: unknown, or they failed);
    ``failures`` their codes (plain words in the credentials' ``explanations``);
    ``ingredients`` its own, as its manifest records them (the chain, as a tree).
    """

    title: str | None
    relationship: str | None
    state: ValidationState | None
    ai_generated: bool | None
    failures: tuple[str, ...] = ()
    ingredients: tuple[Ingredient, ...] = ()


@dataclasses.dataclass(frozen=True)
class Credentials:
    """The report's view of a manifest: who, what, when, and what failed.

    ``state`` is the state after this toolkit's own checks (a revoked signer is
    ``Invalid``); ``explanations`` has plain words for every code in ``failures`` and
    ``ingredient_failures``.
    """

    state: ValidationState
    signer: str | None = None
    issuer: str | None = None
    signed_at: str | None = None
    created_at: str | None = None
    generator: str | None = None
    model: str | None = None
    digital_source_type: str | None = None
    failures: tuple[str, ...] = ()
    ingredient_failures: tuple[str, ...] = ()
    explanations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Where the verifier looked for revocations: "this key store", and a line per CRL
    # consulted (used, stale, or ignored and why).
    revocation_sources: tuple[str, ...] = ()
    ingredients: tuple[Ingredient, ...] = ()


@dataclasses.dataclass(frozen=True)
class Report:
    """The result for one input.

    ``path`` is the name exactly as given (JSON escapes what it must); a name that is not
    UTF-8 has its undecodable bytes as U+FFFD in ``path`` and its exact bytes, base64, in
    ``path_bytes`` (present only then).
    """

    path: str
    verdict: Verdict
    summary: str
    media_type: str | None = None
    ai_generated: bool | None = None
    credentials: Credentials | None = None
    watermark: Watermark | None = None
    error: str | None = None
    path_bytes: str | None = dataclasses.field(default=None, metadata={"omit_if_none": True})
    # What would let an ``error`` be checked after all (``provenance.errors.Remedy``).
    remedy: str | None = dataclasses.field(default=None, metadata={"omit_if_none": True})
    # Text tested for an LLM watermark (``verify --tokenizer``): the finding.
    llm_watermark: LLMWatermark | None = dataclasses.field(
        default=None, metadata={"omit_if_none": True}
    )

    @classmethod
    def failed(
        cls,
        name: str | Path,
        message: str,
        media_type: str | None = None,
        remedy: str | None = None,
    ) -> Report:
        """An ``error`` report: the input could not be checked."""
        path, raw = path_fields(name)
        return cls(
            path, Verdict.ERROR, message, media_type, error=message, path_bytes=raw, remedy=remedy
        )

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = to_json(self)
        return found


def path_fields(name: str | Path) -> tuple[str, str | None]:
    """``(path, path_bytes)`` for a report: the name as text, and its bytes when not UTF-8."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), base64.b64encode(raw).decode("ascii")


def to_json(value: Any) -> Any:
    """A report (or any part of it) as JSON-ready data: enums as their values, tuples as
    lists, fields marked ``omit_if_none`` left out when None, the fields of a part marked
    ``inline`` (its type) in place of the part (its empty value when None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            inline = field.metadata.get("inline")
            if inline is not None:  # a part whose fields sit beside the others in JSON
                found.update(to_json(inline() if item is None else item))
            elif not (field.metadata.get("omit_if_none") and item is None):
                found[field.name] = to_json(item)
        return found
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    return value
