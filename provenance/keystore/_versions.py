"""Key versions, shared by signing identities and the time-stamping authority: the index
record of a new version, retiring the old ones, and the write that commits a version.

Both kinds of key keep every certificate they ever had and only the current private key,
so they share these rules; each keeps its own records (``_identities``, ``_tsa``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from ._files import PRIVATE_MODE, PUBLIC_MODE, Layout, now_utc
from ._index import Index, VersionRecord
from .records import IdentityVersion
from .signer import Algorithm
from .trust import fingerprint


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
        fingerprint_sha256=fingerprint(leaf),
        chain_file=f"certs/{stem}.pem",
        key_file=f"private/{stem}.key.pem",
        key_sha256=key_sha256,
        created_at=now_utc().isoformat(),
    )


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


def public_version(v: VersionRecord) -> IdentityVersion:
    """The public record of one version."""

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
