"""What the key store tells callers about its contents: plain frozen records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from .signer import Algorithm

IdentityStatus = Literal["active", "retired", "revoked"]
_T = TypeVar("_T")

#: How long a CRL is current: its next update is this many days after it is issued (here,
#: not in crl.py, so that the CLI's help names it without importing cryptography).
DEFAULT_CRL_DAYS = 7


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
    #: When the key stopped being trustworthy (``keys revoke --since``); else revoked_at.
    revoked_since: dt.datetime | None = None


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
    revoked_since: dt.datetime | None = None

    @property
    def usable(self) -> bool:
        """Whether this identity may sign now."""
        return self.status == "active" and not self.expired and not self.not_yet_valid


@dataclass(frozen=True)
class Revocation:
    """A certificate this store revoked; verification reports such manifests invalid
    unless a trusted time-stamp shows they were signed before ``since``.

    ``revoked_at`` is when the store recorded it; ``since`` when the key stopped being
    trustworthy (``keys revoke --since``; stores from before the option: ``revoked_at``).
    ``issuer`` is the certificate's issuer (RFC 4514); ``issuer_der`` the certificate of
    the CA that issued it (DER; None when the store does not hold it), so that the
    revocation is matched to this certificate only, not to another CA's with its serial.
    ``compromised``: the reason says the key (or its CA's) was taken (``crl.compromised``).
    """

    identity: str
    serial: int
    revoked_at: dt.datetime
    reason: str
    since: dt.datetime
    issuer: str
    issuer_der: bytes | None = None
    compromised: bool = False


@dataclass(frozen=True)
class TsaInfo:
    """The key store's time-stamping authority as of its newest version.

    It stamps signatures; it never signs manifests (and no signing identity stamps).
    ``url`` is the external authority time-stamps come from instead, when one is set.
    """

    subject: str
    issuer: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str
    version: int
    expired: bool
    versions: tuple[IdentityVersion, ...]
    url: str | None

    @property
    def mode(self) -> Literal["local", "external"]:
        return "local" if self.url is None else "external"


@dataclass(frozen=True)
class CrlInfo:
    """A certificate revocation list: imported (``trust add``) or the store's own.

    ``id`` is the first 16 hex digits of the SHA-256 of the issuer's name, so a store
    keeps one CRL per issuer (the newest). ``stale``: past its next update when read.
    """

    id: str
    issuer: str
    number: int | None
    last_update: dt.datetime
    next_update: dt.datetime | None
    entries: int
    stale: bool
    pem: str


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


class Added(list[tuple[_T, bool]]):
    """What ``add_trust_anchors`` or ``allow_certificates`` took from a file, each entry
    with True if it was new.

    ``skipped`` names (by subject) the certificates of the file left out: the signing
    certificate and intermediates of an exported chain whose root became the anchor, or
    the CAs of a chain whose signing certificate was allowed. ``namesakes`` pairs each
    new entry with every other one held here under the same name (subject, or
    organisation): signers under either read alike, and only their keys tell them apart.
    """

    def __init__(
        self,
        added: Iterable[tuple[_T, bool]],
        skipped: Iterable[str] = (),
        namesakes: Iterable[tuple[_T, _T]] = (),
    ) -> None:
        super().__init__(added)
        self.skipped: tuple[str, ...] = tuple(skipped)
        self.namesakes: tuple[tuple[_T, _T], ...] = tuple(namesakes)


@dataclass(frozen=True)
class AllowedCertificate:
    """An end-entity (signing) certificate trusted by itself, c2pa-rs's ``allowed_list``.

    Manifests signed with exactly this certificate read ``trusted``; it vouches for no
    other certificate. ``id`` is the first 16 hex digits of its SHA-256 fingerprint.
    """

    id: str
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str
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
    # The LLM watermark mode (provenance.watermark.llm.modes): "distortion-free" for new keys;
    # a key written before modes existed reads as "green-list".
    llm_mode: str = "distortion-free"

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return (
            f"WatermarkKey(name={self.name!r}, created_at={self.created_at.isoformat()!r}, "
            f"llm_mode={self.llm_mode!r})"
        )
