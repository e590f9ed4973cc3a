"""The key store's JSON index: schema, strict parsing and serialisation.

Parsing is strict on purpose: a field of the wrong type, an unknown format or a newer
version means the file is not one this code wrote, and writing back an index it only
half understood would destroy what it did not understand. Every such problem raises
KeyStoreCorrupt naming the file; nothing is ever "repaired" in place.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from ..errors import KeyStoreCorrupt
from .signer import Algorithm

INDEX_FORMAT = "provenance-keystore"
#: Version 2 added the time-stamping authority (``tsa``, ``tsa_url``), the CRL the root
#: last issued (``crl``) and each revocation's ``revoked_since``. Version 1 indexes are
#: read as they are (no TSA, no CRL, since = revoked_at) and written back as version 2,
#: so an older toolkit refuses the store instead of dropping what it does not know.
INDEX_VERSION = 2
_READABLE_VERSIONS = (1, 2)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_T = TypeVar("_T")


@dataclass
class VersionRecord:
    version: int
    algorithm: str
    status: Literal["active", "retired", "revoked"]
    serial: str  # hex: JSON numbers lose precision beyond 2**53 in many readers
    not_before: str
    not_after: str
    subject: str
    issuer: str
    fingerprint_sha256: str
    chain_file: str
    key_file: str | None
    key_sha256: str | None
    created_at: str
    retired_at: str | None = None
    revoked_at: str | None = None
    revocation_reason: str | None = None
    # When the key stopped being trustworthy (--since); None in version 1: revoked_at.
    revoked_since: str | None = None


@dataclass
class IdentityRecord:
    origin: Literal["local", "imported"]
    versions: list[VersionRecord]

    @property
    def current(self) -> VersionRecord:
        return self.versions[-1]


@dataclass
class RootRecord:
    cert_file: str
    key_file: str
    key_sha256: str
    fingerprint_sha256: str


@dataclass
class TsaRecord:
    """The store's time-stamping authority: versions like an identity's (rotation keeps
    the old certificates), kept apart so that it can never sign a manifest."""

    versions: list[VersionRecord]

    @property
    def current(self) -> VersionRecord:
        return self.versions[-1]


@dataclass
class CrlRecord:
    """The CRL the root CA issued last (``file``, PEM) and its number."""

    number: int
    file: str
    last_update: str
    next_update: str


@dataclass
class Index:
    org: str
    created_at: str
    default_identity: str
    root: RootRecord
    identities: dict[str, IdentityRecord] = field(default_factory=dict)
    tsa: TsaRecord | None = None
    tsa_url: str | None = None  # None: time-stamps come from the store's own TSA
    crl: CrlRecord | None = None

    def to_json(self) -> bytes:
        document = {"format": INDEX_FORMAT, "version": INDEX_VERSION, **asdict(self)}
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def parse_index(path: Path, data: bytes) -> Index:
    """The index in ``data`` (read from ``path``), or KeyStoreCorrupt naming ``path``."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyStoreCorrupt(f"{path}: not valid JSON ({exc}); it was left untouched") from exc
    reader = _Reader(path)
    top = reader.mapping(document, "the document")
    if top.get("format") != INDEX_FORMAT:
        raise KeyStoreCorrupt(
            f"{path}: not a provenance key store index (format {top.get('format')!r})"
        )
    if top.get("version") not in _READABLE_VERSIONS:
        raise KeyStoreCorrupt(
            f"{path}: index version {top.get('version')!r} is not supported "
            f"(this toolkit reads version {INDEX_VERSION}); upgrade the toolkit"
        )
    root = reader.mapping(top.get("root"), "root")
    identities: dict[str, IdentityRecord] = {}
    for name, raw in reader.mapping(top.get("identities"), "identities").items():
        if not NAME_PATTERN.match(name):
            raise KeyStoreCorrupt(f"{path}: identity name {name!r} is not allowed")
        identities[name] = reader.identity(name, raw)
    tsa = None
    if top.get("tsa") is not None:
        tsa = TsaRecord(reader.versions(reader.mapping(top["tsa"], "tsa"), "the TSA"))
    crl = None
    if top.get("crl") is not None:
        raw_crl = reader.mapping(top["crl"], "crl")
        crl = CrlRecord(
            number=reader.field(raw_crl, "number", int),
            file=reader.relpath(raw_crl, "file"),
            last_update=reader.time(raw_crl, "last_update"),
            next_update=reader.time(raw_crl, "next_update"),
        )
    return Index(
        org=reader.field(top, "org", str),
        created_at=reader.time(top, "created_at"),
        default_identity=reader.field(top, "default_identity", str),
        root=RootRecord(
            cert_file=reader.relpath(root, "cert_file"),
            key_file=reader.relpath(root, "key_file"),
            key_sha256=reader.field(root, "key_sha256", str),
            fingerprint_sha256=reader.field(root, "fingerprint_sha256", str),
        ),
        identities=identities,
        tsa=tsa,
        tsa_url=reader.optional(top, "tsa_url"),
        crl=crl,
    )


class _Reader:
    """Typed field access that names the file and the field in every complaint."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, what: str) -> KeyStoreCorrupt:
        return KeyStoreCorrupt(f"{self.path}: {what}; it was left untouched")

    def mapping(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a JSON object")
        return cast(dict[str, Any], value)

    def field(self, obj: dict[str, Any], key: str, kind: type[_T]) -> _T:
        value = obj.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(f"field {key!r} must be a {kind.__name__}")
        return value

    def optional(self, obj: dict[str, Any], key: str) -> str | None:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"field {key!r} must be a string or null")
        return value

    def time(self, obj: dict[str, Any], key: str) -> str:
        value = self.field(obj, key, str)
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(f"field {key!r} is not an ISO 8601 time") from None
        return value

    def relpath(self, obj: dict[str, Any], key: str) -> str:
        value = self.field(obj, key, str)
        parts = Path(value).parts
        if Path(value).is_absolute() or ".." in parts or not parts:
            raise self.fail(f"field {key!r} points outside the key store")
        return value

    def identity(self, name: str, raw: object) -> IdentityRecord:
        obj = self.mapping(raw, f"identity {name!r}")
        origin = obj.get("origin")
        if origin not in ("local", "imported"):
            raise self.fail(f"identity {name!r} has unknown origin {origin!r}")
        return IdentityRecord(origin=origin, versions=self.versions(obj, f"identity {name!r}"))

    def versions(self, obj: dict[str, Any], owner: str) -> list[VersionRecord]:
        versions_raw = obj.get("versions")
        if not isinstance(versions_raw, list) or not versions_raw:
            raise self.fail(f"{owner} must have a non-empty list of versions")
        return [self.version(self.mapping(v, f"a version of {owner}")) for v in versions_raw]

    def version(self, obj: dict[str, Any]) -> VersionRecord:
        status = obj.get("status")
        if status not in ("active", "retired", "revoked"):
            raise self.fail(f"unknown identity status {status!r}")
        algorithm = self.field(obj, "algorithm", str)
        if algorithm not in {a.value for a in Algorithm}:
            raise self.fail(f"unknown algorithm {algorithm!r}")
        serial = self.field(obj, "serial", str)
        try:
            int(serial, 16)
        except ValueError:
            raise self.fail(f"serial {serial!r} is not hexadecimal") from None
        key_file = obj.get("key_file")
        return VersionRecord(
            version=self.field(obj, "version", int),
            algorithm=algorithm,
            status=status,
            serial=serial,
            not_before=self.time(obj, "not_before"),
            not_after=self.time(obj, "not_after"),
            subject=self.field(obj, "subject", str),
            issuer=self.field(obj, "issuer", str),
            fingerprint_sha256=self.field(obj, "fingerprint_sha256", str),
            chain_file=self.relpath(obj, "chain_file"),
            key_file=None if key_file is None else self.relpath(obj, "key_file"),
            key_sha256=self.optional(obj, "key_sha256"),
            created_at=self.time(obj, "created_at"),
            retired_at=self.optional(obj, "retired_at"),
            revoked_at=self.optional(obj, "revoked_at"),
            revocation_reason=self.optional(obj, "revocation_reason"),
            revoked_since=self.optional(obj, "revoked_since"),
        )
