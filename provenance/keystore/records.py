"""What the key store tells callers about its contents: plain frozen records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from .signer import Algorithm

__all__ = [
    "IdentityInfo",
    "IdentityStatus",
    "IdentityVersion",
    "Revocation",
    "TrustAnchor",
    "WatermarkKey",
]

IdentityStatus = Literal["active", "retired", "revoked"]


@dataclass(frozen=True)
class IdentityVersion:
    """One key + certificate of an identity; rotation adds a version."""

    version: int
    algorithm: Algorithm
    status: IdentityStatus
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    subject: str
    issuer: str
    fingerprint_sha256: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    has_private_key: bool


@dataclass(frozen=True)
class IdentityInfo:
    """A signing identity as of its newest version (``versions`` holds all of them).

    ``status`` is what the store recorded; ``expired`` and ``not_yet_valid`` come from
    the clock when the record was made, so an "active" identity may still be unusable.
    """

    name: str
    origin: Literal["local", "imported"]
    algorithm: Algorithm
    status: IdentityStatus
    version: int
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    subject: str
    issuer: str
    fingerprint_sha256: str
    is_default: bool
    expired: bool
    not_yet_valid: bool
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    versions: tuple[IdentityVersion, ...]

    @property
    def usable(self) -> bool:
        """Whether this identity may sign now."""
        return self.status == "active" and not self.expired and not self.not_yet_valid


@dataclass(frozen=True)
class Revocation:
    """A certificate this store revoked; verification reports such manifests invalid."""

    identity: str
    serial: int
    revoked_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class TrustAnchor:
    """A CA certificate whose signatures verification treats as trusted.

    ``id`` is the first 16 hex digits of the SHA-256 fingerprint: short enough to
    type, long enough not to collide among a handful of anchors.
    """

    id: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str
    is_local_root: bool
    pem: str


@dataclass(frozen=True)
class WatermarkKey:
    """A secret that keys the invisible watermark (32 random bytes).

    Watermark keys are stored unencrypted (file mode 0600, in the 0700 store) because
    detection must run unattended in batch verification without a passphrase. They
    are detection keys: whoever holds one can find, and with effort forge or erase, the
    watermark, but cannot sign a C2PA manifest.
    """

    name: str
    secret: bytes
    created_at: dt.datetime

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"WatermarkKey(name={self.name!r}, created_at={self.created_at.isoformat()!r})"
