"""Stripped credentials recovered: watermark -> record id -> repository -> validated manifest.

A recovered manifest is validated on its own (c2pa-rs reads the bare manifest store):
its signature, certificate chain and assertion hashes must hold. Its hard binding cannot,
since the pixels were re-encoded; that mismatch is expected and reported, never hidden.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from provenance.credentials.read import UNTRUSTED, CredentialReader, ManifestStore
from provenance.credentials.softbinding import SoftBinding, soft_bindings
from provenance.errors import InputError, ProvenanceError
from provenance.imaging import decode_image
from provenance.media import Limits
from provenance.repository import Record, Repository, open_repository
from provenance.watermark.image import ALGORITHM as IMAGE_ALGORITHM
from provenance.watermark.image import WatermarkSecret, detect
from provenance.watermark.text import ALGORITHM as TEXT_ALGORITHM
from provenance.watermark.text import detect_payload

__all__ = [
    "HARD_BINDING_MISMATCHES",
    "Recovered",
    "Recoverer",
    "WatermarkFinding",
    "effective_state",
]

log = logging.getLogger(__name__)

HARD_BINDING_MISMATCHES = frozenset(
    {
        "assertion.dataHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.collectionHash.mismatch",
    }
)
# Formats Pillow decodes here; the watermark detector needs pixels.
_DECODABLE = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff"})


@dataclasses.dataclass(frozen=True)
class WatermarkFinding:
    """What the detector found in one file."""

    detected: bool
    payload: bytes | None
    key: str | None
    p_value: float
    alg: str  # the soft-binding algorithm of the detector that looked
    scale: float = 1.0
    angle: float = 0.0

    @property
    def payload_hex(self) -> str | None:
        return self.payload.hex() if self.payload else None

    @property
    def record_id(self) -> int | None:
        return int.from_bytes(self.payload, "big") if self.payload else None

    def to_json(self, **extra: Any) -> dict[str, Any]:
        found: dict[str, Any] = {
            "detected": self.detected,
            "payload": self.payload.hex() if self.payload else None,
            "key": self.key,
            "p_value": self.p_value,
            "alg": self.alg,
        }
        if self.alg == IMAGE_ALGORITHM:
            found.update(scale=round(self.scale, 4), angle=round(self.angle, 3))
        return {**found, **extra}


@dataclasses.dataclass(frozen=True)
class Recovered:
    """A repository record and its manifest store as validated on its own."""

    record: Record | None  # None: the file's own manifest, confirmed by its watermark
    store: ManifestStore
    state: str  # "Trusted" | "Valid" | "Invalid", hard-binding mismatch aside


def effective_state(store: ManifestStore) -> str:
    """The validation state once an expected hard-binding mismatch is set aside."""
    other = [code for code in store.failure_codes if code not in HARD_BINDING_MISMATCHES]
    if any(code != UNTRUSTED for code in other):
        return "Invalid"
    return "Valid" if UNTRUSTED in other else "Trusted"


class Recoverer:
    """Detects our watermark and recovers manifests; one per process (or worker)."""

    def __init__(
        self,
        secrets: Sequence[WatermarkSecret],
        repository: str | None,
        reader: CredentialReader,
        limits: Limits,
    ) -> None:
        self.secrets = tuple(secrets)
        self._repository_location = repository
        self._repository: Repository | None = None
        self._reader = reader
        self._limits = limits

    def detect_text(self, text: str) -> WatermarkFinding | None:
        """The invisible text payload, or None when no secret is configured."""
        if not self.secrets:
            return None
        found = detect_payload(text, self.secrets)
        return WatermarkFinding(
            detected=found.detected,
            payload=found.payload,
            key=found.secret_name,
            p_value=found.false_positive_bound,
            alg=TEXT_ALGORITHM,
        )

    def detect(
        self, data: bytes, media_type: str, *, strict: bool = False
    ) -> WatermarkFinding | None:
        """The watermark finding, or None when no secret is configured or no pixels.

        With ``strict``, pixels that cannot be decoded (a truncated file) raise
        ``InputError``: without a manifest, they are all there is to judge.
        """
        if not self.secrets or media_type not in _DECODABLE:
            return None
        try:
            image = decode_image(data, "the image", self._limits).image
        except InputError as exc:
            if strict:
                raise
            log.debug("no watermark detection: %s", exc.diagnostics())
            return None
        try:
            found = detect(image, self.secrets)
        except ProvenanceError as exc:
            log.debug("no watermark detection: %s", exc.diagnostics())
            return None
        return WatermarkFinding(
            detected=found.detected,
            payload=found.payload,
            key=found.secret_name,
            p_value=found.p_value,
            alg=IMAGE_ALGORITHM,
            scale=found.scale,
            angle=found.angle,
        )

    def recover(self, finding: WatermarkFinding) -> Recovered | None:
        """The record the watermark points to, validated; None when there is none."""
        if finding.record_id is None or self._repository_location is None:
            return None
        if self._repository is None:
            self._repository = open_repository(self._repository_location)
        record = self._repository.get(finding.record_id)
        if record is None:
            return None
        store = self._reader.read(record.manifest, "application/c2pa")
        if store is None:  # an empty or foreign blob in the repository
            return None
        expected = SoftBinding.for_payload(finding.alg, finding.payload or b"")
        if expected not in soft_bindings(store):
            log.warning("record %s lacks the soft binding it is stored under", record.record_hex)
            return Recovered(record, store, "Invalid")
        return Recovered(record, store, effective_state(store))
