"""The key store's time-stamping authority (TSA): its key, certificate and versions.

The TSA is kept like a signing identity (encrypted PKCS#8 under the store passphrase, a
chain file, versions for rotation) but in its own index section (``tsa``), so it is never
a choice for ``sign --identity`` and no signing identity can stamp: its certificate has
the time-stamping EKU alone (``ca.issue_tsa``), theirs never have it.

Files: ``private/tsa.vN.SERIAL.key.pem`` and ``certs/tsa.vN.SERIAL.pem`` (the TSA's
certificate, then the root's). Rotation retires the old version and deletes its key but
keeps its certificate: old time-stamp tokens carry their own certificate and keep
verifying as long as the root is trusted.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import IdentityUnusable, TimeStampAuthorityMissing, UsageError
from ._files import Layout, now_utc, sha256_hex
from ._identities import _public_version, retire_versions, version_record, write_version
from ._index import Index, TsaRecord, VersionRecord
from .ca import issue_tsa
from .records import TsaInfo
from .signer import Algorithm

__all__ = [
    "TSA_DAYS",
    "TSA_NAME",
    "check_url",
    "commit",
    "ensure_usable",
    "issue",
    "missing",
    "tsa_info",
]

#: How ``keys list``, ``show`` and ``rotate`` name the TSA.
TSA_NAME = "tsa"
#: The TSA outlives the signing identities (content is checked years later against its
#: time), but never the root: ``issue_tsa`` cuts it at the root's not_after.
TSA_DAYS = 3650


def missing() -> TimeStampAuthorityMissing:
    return TimeStampAuthorityMissing(
        "this key store has no time-stamping authority yet (it predates them): run "
        "`provenance keys tsa --create`, or sign once, which makes it"
    )


def issue(
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    org: str,
    now: dt.datetime,
    days: int = TSA_DAYS,
) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A new P-256 TSA key and its chain (TSA certificate, root), PEM."""
    if root_cert.not_valid_after_utc <= now + dt.timedelta(days=1):
        raise UsageError(
            f"the root CA expires on {root_cert.not_valid_after_utc:%Y-%m-%d}: too soon to "
            "issue a time-stamping certificate under it"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_tsa(
        issuer_key=root_key,
        issuer_cert=root_cert,
        public_key=key.public_key(),
        organization=org,
        days=days,
        now=now,
    )
    pem = serialization.Encoding.PEM
    return key, cert.public_bytes(pem) + root_cert.public_bytes(pem)


def commit(layout: Layout, index: Index, key_pem: bytes, chain_pem: bytes, event: str) -> TsaInfo:
    """Write a new TSA version's key and chain, then the index (the commit point).

    The caller holds the lock and passes the index it read under it; the previous
    version is retired and its key deleted once the index no longer uses it.
    """
    leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    number = 1 if index.tsa is None else index.tsa.current.version + 1
    stem = f"{TSA_NAME}.v{number}.{leaf.serial_number:x}"
    version = version_record(number, Algorithm.ES256, leaf, stem, sha256_hex(key_pem))
    assert version.key_file is not None

    def attach() -> list[str]:
        if index.tsa is None:
            index.tsa = TsaRecord([])
        doomed = retire_versions(index.tsa.versions)
        index.tsa.versions.append(version)
        return doomed

    write_version(layout, index, version, key_pem, chain_pem, attach)
    details = {"version": str(number), "serial": version.serial, "not_after": version.not_after}
    layout.append_audit(event, TSA_NAME, details)
    info = tsa_info(index)
    assert info is not None
    return info


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host (``timestamp.check_url``, loaded only
    when a URL is set: it brings the RFC 3161 code with it)."""
    from ..timestamp.authority import check_url as check

    return check(url)


def tsa_info(index: Index) -> TsaInfo | None:
    if index.tsa is None:
        return None
    versions = tuple(_public_version(v) for v in index.tsa.versions)
    current = versions[-1]
    return TsaInfo(
        subject=current.subject,
        issuer=current.issuer,
        serial=current.serial,
        not_before=current.not_before,
        not_after=current.not_after,
        fingerprint_sha256=current.fingerprint_sha256,
        version=current.version,
        expired=current.not_after <= now_utc(),
        versions=versions,
        url=index.tsa_url,
    )


def ensure_usable(version: VersionRecord, now: dt.datetime) -> None:
    not_after = dt.datetime.fromisoformat(version.not_after)
    if not_after <= now:
        raise IdentityUnusable(
            f"the time-stamping authority's certificate expired on {not_after:%Y-%m-%d}: "
            "run `provenance keys rotate tsa`"
        )
    if version.key_file is None:
        raise IdentityUnusable("the time-stamping authority has no private key left in the store")
