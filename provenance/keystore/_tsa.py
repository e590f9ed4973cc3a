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
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import (
    IdentityUnusable,
    KeyStoreError,
    Remedy,
    TimeStampAuthorityMissing,
    UsageError,
)
from ._files import Layout, StoreFiles, now_utc, sha256_hex
from ._index import Index, TsaRecord, VersionRecord
from ._material import load_root_key, load_store_key, require_new_passphrase, require_passphrase
from ._pkcs8 import encrypt_private_key
from ._versions import public_version, retire_versions, version_record, write_version
from .ca import issue_tsa
from .records import TsaInfo
from .signer import Algorithm

if TYPE_CHECKING:
    from ..timestamp import LocalAuthority

#: How ``keys list``, ``show`` and ``rotate`` name the TSA.
TSA_NAME = "tsa"
#: The TSA outlives the signing identities (content is checked years later against its
#: time), but never the root: ``issue_tsa`` cuts it at the root's not_after.
TSA_DAYS = 3650


def missing() -> TimeStampAuthorityMissing:
    return TimeStampAuthorityMissing(
        "this key store has no time-stamping authority yet (it predates them)",
        remedy=Remedy.CREATE_TSA,
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
    versions = tuple(public_version(v) for v in index.tsa.versions)
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
            f"the time-stamping authority's certificate expired on {not_after:%Y-%m-%d}",
            remedy=Remedy.ROTATE_TSA,
        )
    if version.key_file is None:
        raise IdentityUnusable("the time-stamping authority has no private key left in the store")


class TimeStampingAuthority:
    """The store's own RFC 3161 authority and the setting that picks an external one
    instead: ``store.tsa``."""

    def __init__(self, files: StoreFiles) -> None:
        self._files = files

    def info(self) -> TsaInfo | None:
        """The store's time-stamping authority; None: the store predates it."""
        return tsa_info(self._files.index())

    @property
    def url(self) -> str | None:
        """The external time-stamping authority signatures are stamped by; None: the
        store's own."""
        return self._files.index().tsa_url

    def set_url(self, url: str | None) -> None:
        """Stamp with the authority at ``url`` (http or https) from now on; None: the
        store's own authority."""
        checked = None if url is None else check_url(url)
        with self._files.locked():
            index = self._files.index()
            if index.tsa_url == checked:
                return
            index.tsa_url = checked
            self._files.write_index(index)
            self._files.audit("tsa-url", TSA_NAME, {"url": checked or "local"})

    def chain_pem(self) -> bytes:
        """The current TSA's certificate chain, PEM, its certificate first then the root."""
        index = self._files.index()
        if index.tsa is None:
            raise missing()
        return self._files.read(index.tsa.current.chain_file)

    def create(self, passphrase: str | None) -> TsaInfo:
        """Make the time-stamping authority of a store that predates it."""
        if self._files.index().tsa is not None:
            raise UsageError(
                "this key store already has a time-stamping authority", remedy=Remedy.ROTATE_TSA
            )
        # The TSA key shares the passphrase of the keys already in the store, so the
        # length rule for new passphrases cannot apply here.
        secret = require_passphrase(passphrase, "create the time-stamping authority")
        return self._make(secret, rotate=False, days=None)

    def rotate(self, passphrase: str | None, *, days: int | None = None) -> TsaInfo:
        """A new TSA key and certificate; the old certificate stays (old tokens carry it
        and keep verifying while the root is trusted), its key is deleted."""
        if self._files.index().tsa is None:
            raise missing()
        if days is not None and days < 1:
            raise UsageError(f"a certificate is valid for at least 1 day, not {days}")
        secret = require_new_passphrase(passphrase, "rotate the time-stamping authority")
        return self._make(secret, rotate=True, days=days)

    def _make(self, secret: bytes, *, rotate: bool, days: int | None) -> TsaInfo:
        root_key = load_root_key(self._files, secret)
        index = self._files.index()
        root_cert = self._files.root_certificate(index)
        key, chain = issue(root_key, root_cert, index.org, now_utc(), days or TSA_DAYS)
        key_pem = encrypt_private_key(key, secret, self._files.config.scrypt)
        with self._files.locked():
            index = self._files.index()  # re-read: another process may have made one meanwhile
            if not rotate and index.tsa is not None:
                info = tsa_info(index)
                assert info is not None
                return info
            event = "tsa-rotate" if rotate else "tsa-create"
            return commit(self._files.layout, index, key_pem, chain, event)

    def local_authority(self, passphrase: str) -> LocalAuthority:
        """The store's own authority, its key decrypted in memory, chain [TSA, root].

        A store that predates the TSA gets one first (audit event "tsa-create").
        """
        from ..timestamp import LocalAuthority

        secret = require_passphrase(passphrase, "time-stamp with the key store's authority")
        if self._files.index().tsa is None:
            self._make(secret, rotate=False, days=None)
        tsa = self._files.index().tsa
        assert tsa is not None
        current = tsa.current
        ensure_usable(current, now_utc())
        assert current.key_file is not None
        key = load_store_key(
            self._files.layout,
            current.key_file,
            current.key_sha256,
            secret,
            "the key store's time-stamping authority",
        )
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise KeyStoreError(f"{self._files.layout.root / current.key_file}: not a TSA key type")
        chain = x509.load_pem_x509_certificates(self._files.read(current.chain_file))
        return LocalAuthority(key, chain)
