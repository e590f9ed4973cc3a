"""Identity records: turning index entries into public records, and the rules on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import IdentityNotFound, IdentityUnusable, UsageError
from . import trust as trust_anchors
from . import watermark_keys
from ._files import PRIVATE_MODE, PUBLIC_MODE, Layout, now_utc, sha256_hex
from ._index import NAME_PATTERN, IdentityRecord, Index, RootRecord, VersionRecord
from ._pkcs8 import encrypt_private_key
from .ca import generate_key, issue_leaf, issue_root
from .config import KeyStoreConfig
from .records import IdentityInfo, IdentityVersion
from .signer import Algorithm

__all__ = [
    "DEFAULT_NAME",
    "check_name",
    "commit_version",
    "ensure_usable",
    "find",
    "find_version",
    "identity_info",
    "initialise",
    "retire",
    "version_record",
]

DEFAULT_NAME = "default"


def initialise(layout: Layout, secret: bytes, org: str, config: KeyStoreConfig) -> None:
    now = now_utc()
    root_key = ec.generate_private_key(ec.SECP384R1())
    root_cert = issue_root(root_key, org, days=config.root_days, now=now)
    root_key_pem = encrypt_private_key(root_key, secret, config.scrypt)
    layout.write(layout.private / "root-ca.key.pem", root_key_pem, PRIVATE_MODE)
    root_pem = root_cert.public_bytes(serialization.Encoding.PEM)
    layout.write(layout.certs / "root-ca.pem", root_pem, PUBLIC_MODE)
    trust_anchors.add_anchors(layout, [root_cert], trust_anchors.fingerprint(root_cert))
    index = Index(
        org=org,
        created_at=now.isoformat(),
        default_identity=DEFAULT_NAME,
        root=RootRecord(
            cert_file="certs/root-ca.pem",
            key_file="private/root-ca.key.pem",
            key_sha256=sha256_hex(root_key_pem),
            fingerprint_sha256=trust_anchors.fingerprint(root_cert),
        ),
    )
    key = generate_key(Algorithm.ES256)
    leaf = issue_leaf(
        issuer_key=root_key,
        issuer_cert=root_cert,
        public_key=key.public_key(),
        common_name=DEFAULT_NAME,
        organization=org,
        days=config.leaf_days,
        now=now,
    )
    key_pem = encrypt_private_key(key, secret, config.scrypt)
    version = version_record(
        1, Algorithm.ES256, leaf, f"{DEFAULT_NAME}.v1.{leaf.serial_number:x}", sha256_hex(key_pem)
    )
    assert version.key_file is not None
    layout.write(layout.root / version.key_file, key_pem, PRIVATE_MODE)
    layout.write(
        layout.root / version.chain_file, leaf.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE
    )
    index.identities[DEFAULT_NAME] = IdentityRecord("local", [version])
    watermark_keys.write_initial(layout, DEFAULT_NAME)
    layout.write(layout.index, index.to_json(), PUBLIC_MODE)
    layout.append_audit("init", None, {"org": org, "root": index.root.fingerprint_sha256})
    layout.append_audit("create", DEFAULT_NAME, {"version": "1", "serial": version.serial})
    from . import _tsa  # it builds on this module

    tsa_key, tsa_chain = _tsa.issue(root_key, root_cert, org, now)
    tsa_key_pem = encrypt_private_key(tsa_key, secret, config.scrypt)
    _tsa.commit(layout, index, tsa_key_pem, tsa_chain, "tsa-create")


def version_record(
    number: int, algorithm: Algorithm, leaf: x509.Certificate, stem: str, key_sha256: str
) -> VersionRecord:
    return VersionRecord(
        version=number,
        algorithm=algorithm.value,
        status="active",
        serial=f"{leaf.serial_number:x}",
        not_before=leaf.not_valid_before_utc.isoformat(),
        not_after=leaf.not_valid_after_utc.isoformat(),
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        fingerprint_sha256=trust_anchors.fingerprint(leaf),
        chain_file=f"certs/{stem}.pem",
        key_file=f"private/{stem}.key.pem",
        key_sha256=key_sha256,
        created_at=now_utc().isoformat(),
    )


def retire(record: IdentityRecord) -> list[str]:
    """Retire the active versions; returns the key files nothing may use any more."""
    return retire_versions(record.versions)


def retire_versions(versions: list[VersionRecord]) -> list[str]:
    """Retire the active ``versions``; returns the key files nothing may use any more."""
    stamp = now_utc().isoformat()
    doomed = []
    for version in versions:
        if version.status == "active":
            version.status = "retired"
            version.retired_at = stamp
        if version.key_file:
            doomed.append(version.key_file)
            version.key_file = version.key_sha256 = None
    return doomed


def write_version(
    layout: Layout,
    index: Index,
    version: VersionRecord,
    key_pem: bytes,
    chain_pem: bytes,
    attach: Callable[[], list[str]],
) -> None:
    """Write a version's key and chain, then the index that ``attach`` changed (the
    commit point). If any write fails, the new files are removed and the old index stays
    in force; the key files ``attach`` retired are deleted only after the index no
    longer uses them."""
    assert version.key_file is not None
    written: list[Path] = []
    try:
        for relpath, data, mode in (
            (version.key_file, key_pem, PRIVATE_MODE),
            (version.chain_file, chain_pem, PUBLIC_MODE),
        ):
            layout.write(layout.root / relpath, data, mode)
            written.append(layout.root / relpath)
        doomed = attach()
        layout.write(layout.index, index.to_json(), PUBLIC_MODE)
    except BaseException:
        for path in written:
            layout.remove(path)
        raise
    for relpath in doomed:
        layout.remove(layout.root / relpath)


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"{name!r} is not a valid identity name: use up to 64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    if name.lower() == "tsa":
        raise UsageError(
            "'tsa' names the key store's time-stamping authority (`provenance keys tsa`); "
            "choose another identity name"
        )


def find(index: Index, name: str) -> IdentityRecord:
    record = index.identities.get(name)
    if record is None:
        known = ", ".join(sorted(index.identities)) or "none"
        raise IdentityNotFound(f"no signing identity named {name!r} (known: {known})")
    return record


def find_version(record: IdentityRecord, name: str, number: int) -> VersionRecord:
    for version in record.versions:
        if version.version == number:
            return version
    raise IdentityNotFound(f"identity {name!r} has no version {number}")


def ensure_usable(name: str, version: VersionRecord, now: dt.datetime) -> None:
    if version.status == "revoked":
        raise IdentityUnusable(
            f"identity {name!r} was revoked on {version.revoked_at} "
            f"({version.revocation_reason}); it can no longer sign: create a new identity"
        )
    if version.status == "retired":
        raise IdentityUnusable(f"identity {name!r} is retired and can no longer sign")
    not_after = dt.datetime.fromisoformat(version.not_after)
    if not_after <= now:
        raise IdentityUnusable(
            f"the certificate of identity {name!r} expired on {not_after:%Y-%m-%d %H:%M} UTC: "
            f"run `provenance keys rotate {name}`"
        )
    not_before = dt.datetime.fromisoformat(version.not_before)
    if not_before > now:
        raise IdentityUnusable(
            f"the certificate of identity {name!r} is valid only from "
            f"{not_before:%Y-%m-%d %H:%M} UTC (check the system clock)"
        )


def _public_version(v: VersionRecord) -> IdentityVersion:
    def when(value: str | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)

    return IdentityVersion(
        version=v.version,
        algorithm=Algorithm(v.algorithm),
        status=v.status,
        serial=int(v.serial, 16),
        not_before=dt.datetime.fromisoformat(v.not_before),
        not_after=dt.datetime.fromisoformat(v.not_after),
        subject=v.subject,
        issuer=v.issuer,
        fingerprint_sha256=v.fingerprint_sha256,
        created_at=dt.datetime.fromisoformat(v.created_at),
        retired_at=when(v.retired_at),
        revoked_at=when(v.revoked_at),
        revocation_reason=v.revocation_reason,
        has_private_key=v.key_file is not None,
        revoked_since=when(v.revoked_since) or when(v.revoked_at),
    )


def identity_info(name: str, record: IdentityRecord, index: Index) -> IdentityInfo:
    versions = tuple(_public_version(v) for v in record.versions)
    current = versions[-1]
    now = now_utc()
    return IdentityInfo(
        name=name,
        origin=record.origin,
        algorithm=current.algorithm,
        status=current.status,
        version=current.version,
        serial=current.serial,
        not_before=current.not_before,
        not_after=current.not_after,
        subject=current.subject,
        issuer=current.issuer,
        fingerprint_sha256=current.fingerprint_sha256,
        is_default=name == index.default_identity,
        expired=current.not_after <= now,
        not_yet_valid=current.not_before > now,
        revoked_at=current.revoked_at,
        revocation_reason=current.revocation_reason,
        versions=versions,
        revoked_since=current.revoked_since,
    )


def commit_version(
    layout: Layout,
    index: Index,
    name: str,
    origin: Literal["local", "imported"],
    algorithm: Algorithm,
    key_pem: bytes,
    chain_pem: bytes,
    event: str,
    rotate: bool,
) -> IdentityInfo:
    """Write a new version's key and chain, then the index (the commit point).

    The caller holds the lock and passes the index it read under it. If any write
    fails, the new files are removed and the old index stays in force; the keys of
    versions retired by a rotation are deleted only after the index no longer uses them.
    """
    leaf = x509.load_pem_x509_certificate(chain_pem)
    record = index.identities.get(name)
    if rotate:
        record = find(index, name)
        if record.current.status == "revoked":
            raise IdentityUnusable(f"identity {name!r} was revoked meanwhile")
    elif record is not None:
        raise UsageError(f"identity {name!r} already exists")
    number = 1 if record is None else record.versions[-1].version + 1
    stem = f"{name}.v{number}.{leaf.serial_number:x}"[:100]
    version = version_record(number, algorithm, leaf, stem, sha256_hex(key_pem))
    assert version.key_file is not None

    def attach() -> list[str]:
        nonlocal record
        doomed = retire(record) if record is not None else []
        if record is None:
            record = index.identities[name] = IdentityRecord(origin, [])
        record.versions.append(version)
        return doomed

    write_version(layout, index, version, key_pem, chain_pem, attach)
    assert record is not None
    details = {"version": str(number), "serial": version.serial, "algorithm": algorithm.value}
    layout.append_audit(event, name, details)
    return identity_info(name, record, index)
