"""Signing identities (``store.identities``): creating, importing, rotating and revoking
them, their records and the rules on them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..errors import IdentityNotFound, IdentityUnusable, ProvenanceError, Remedy, UsageError
from . import crl as crl_files
from ._files import Layout, StoreFiles, now_utc, sha256_hex
from ._index import NAME_PATTERN, IdentityRecord, Index, VersionRecord
from ._material import (
    load_root_key,
    prepare_import,
    require_new_passphrase,
    require_passphrase,
)
from ._pkcs8 import encrypt_private_key
from ._versions import public_version, retire_versions, version_record, write_version
from .ca import SigningKey, generate_key, issue_leaf
from .records import DEFAULT_CRL_DAYS, IdentityInfo, Revocation
from .signer import Algorithm
from .trust import TrustAnchors, is_self_signed, parse_certificates

DEFAULT_NAME = "default"


def retire(record: IdentityRecord) -> list[str]:
    """Retire the active versions; returns the key files nothing may use any more."""
    return retire_versions(record.versions)


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"{name!r} is not a valid identity name: use up to 64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    if name.lower() == "tsa":
        raise UsageError(
            "'tsa' names the key store's time-stamping authority; choose another identity name"
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
            f"the certificate of identity {name!r} expired on {not_after:%Y-%m-%d %H:%M} UTC",
            remedy=Remedy.ROTATE,
        )
    not_before = dt.datetime.fromisoformat(version.not_before)
    if not_before > now:
        raise IdentityUnusable(
            f"the certificate of identity {name!r} is valid only from "
            f"{not_before:%Y-%m-%d %H:%M} UTC (check the system clock)"
        )


def identity_info(name: str, record: IdentityRecord, index: Index) -> IdentityInfo:
    versions = tuple(public_version(v) for v in record.versions)
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


class Identities:
    """The store's signing identities: ``store.identities``.

    Writers check what they can before the passphrase, do the expensive work (key
    generation, scrypt) before the lock, then re-read the index under it and write it last.
    """

    def __init__(self, files: StoreFiles, trust: TrustAnchors) -> None:
        self._files = files
        self._trust = trust

    # -- reading ---------------------------------------------------------------------

    def get(self, name: str | None = None) -> IdentityInfo:
        """The named identity, or the default one."""
        index = self._files.index()
        name = index.default_identity if name is None else name
        return identity_info(name, find(index, name), index)

    def chain_pem(self, name: str, version: int | None = None) -> bytes:
        """The certificate chain (leaf first, PEM) manifests signed by ``name`` carry."""
        record = find(self._files.index(), name)
        chosen = record.current if version is None else find_version(record, name, version)
        return self._files.read(chosen.chain_file)

    def full_chain_pem(self, name: str, version: int | None = None) -> bytes:
        """``name``'s whole chain, leaf first, ending at its root when the store has it.

        The chain manifests carry, plus the root CA that issued its top certificate when
        the chain lacks it (the local root, or a trust anchor here for an imported
        chain): what a verifier takes as its trust anchor.
        """
        chain = self.chain_pem(name, version)
        top = parse_certificates(chain, name)[-1]
        if is_self_signed(top):
            return chain
        candidates = [self._files.root_certificate(), *self._trust.certificates()]
        for cert in candidates:
            if cert.subject != top.issuer or not is_self_signed(cert):
                continue
            try:
                top.verify_directly_issued_by(cert)
            except Exception:
                continue
            separator = b"" if chain.endswith(b"\n") else b"\n"
            return chain + separator + cert.public_bytes(serialization.Encoding.PEM)
        return chain

    def revocation(self, serial: int) -> Revocation | None:
        """The revocation of the certificate with this serial number; None: not revoked."""
        for revocation in self.revocations():
            if revocation.serial == serial:
                return revocation
        return None

    def revocations(self) -> list[Revocation]:
        """Every certificate revoked here, with the time it stopped being trustworthy
        (``since``; for revocations recorded before ``since`` existed, ``revoked_at``)."""
        found = []
        for name, record in sorted(self._files.index().identities.items()):
            for version in record.versions:
                if version.revoked_at is None:
                    continue
                revoked_at = dt.datetime.fromisoformat(version.revoked_at)
                since = version.revoked_since
                found.append(
                    Revocation(
                        identity=name,
                        serial=int(version.serial, 16),
                        revoked_at=revoked_at,
                        reason=version.revocation_reason or "",
                        since=revoked_at if since is None else dt.datetime.fromisoformat(since),
                        issuer=version.issuer,
                        issuer_der=self._issuer_of(name, version.version),
                        compromised=crl_files.compromised(version.revocation_reason or ""),
                    )
                )
        return found

    def _issuer_of(self, name: str, version: int) -> bytes | None:
        """The certificate of the CA that issued ``name``'s ``version`` (DER), from its
        whole chain; None when the store does not hold it."""
        try:
            chain = parse_certificates(self.full_chain_pem(name, version), name)
        except (OSError, ValueError, ProvenanceError):
            return None
        leaf = chain[0]
        issuers = [c for c in chain[1:] if c.subject == leaf.issuer] or (
            [leaf] if is_self_signed(leaf) else []
        )
        return issuers[0].public_bytes(serialization.Encoding.DER) if issuers else None

    def revoked_serials(self) -> dict[int, str]:
        """Serial number -> revocation reason for every certificate revoked here."""
        return {
            int(version.serial, 16): version.revocation_reason or "unspecified"
            for record in self._files.index().identities.values()
            for version in record.versions
            if version.revoked_at is not None
        }

    # -- changing ----------------------------------------------------------------------

    def create(
        self,
        name: str,
        algorithm: Algorithm | str = Algorithm.ES256,
        days: int | None = None,
        passphrase: str | None = None,
    ) -> IdentityInfo:
        """A new identity with a key and a certificate from the local CA."""
        check_name(name)
        algorithm = Algorithm(algorithm)
        if name in self._files.index().identities:  # fail before the expensive part
            raise UsageError(f"identity {name!r} already exists", remedy=Remedy.ROTATE)
        secret = require_new_passphrase(passphrase, f"create identity {name!r}")
        key, chain = self._issue(name, algorithm, days, secret)
        return self._commit(name, "local", algorithm, key, chain, secret, "create", rotate=False)

    def import_key(
        self, name: str, key: Path | bytes, chain: Path | bytes, passphrase: str | None
    ) -> IdentityInfo:
        """An identity from an external CA's key and chain, checked against the c2pa-rs
        certificate profile."""
        check_name(name)
        if name in self._files.index().identities:
            raise UsageError(f"identity {name!r} already exists; import under another name")
        secret = require_new_passphrase(passphrase, f"import identity {name!r}")
        load_root_key(self._files, secret)  # every key in the store shares its passphrase
        material = prepare_import(name, key, chain, secret)
        return self._commit(
            name,
            "imported",
            material.algorithm,
            material.key,
            material.chain_pem(),
            secret,
            "import",
            rotate=False,
        )

    def rotate(self, name: str, passphrase: str | None, *, days: int | None = None) -> IdentityInfo:
        """A new key and certificate under ``name``; older versions become retired.

        Retired certificates stay in the store so manifests signed with them keep
        verifying; their private keys are deleted, as nothing may sign with them again.
        """
        record = find(self._files.index(), name)
        if record.origin == "imported":
            raise UsageError(
                f"identity {name!r} was imported: its CA must issue the new certificate; "
                "import the new key and chain under a new name"
            )
        if record.current.status == "revoked":
            raise IdentityUnusable(f"identity {name!r} is revoked and cannot be rotated")
        secret = require_new_passphrase(passphrase, f"rotate identity {name!r}")
        algorithm = Algorithm(record.current.algorithm)
        key, chain = self._issue(name, algorithm, days, secret)
        return self._commit(name, "local", algorithm, key, chain, secret, "rotate", rotate=True)

    def revoke(
        self,
        name: str,
        reason: str,
        passphrase: str | None,
        *,
        since: dt.datetime | None = None,
    ) -> IdentityInfo:
        """Mark every version of ``name`` revoked and delete its private keys.

        ``since`` (default: now) is when the key stopped being trustworthy: content whose
        trusted time-stamp is before it stays trusted. It must have a zone, must not be in
        the future nor before the identity's first certificate was valid. The root then
        issues a new CRL (``store.crls.current_pem()``) that lists the revocation.
        """
        find(self._files.index(), name)  # an unknown name is a usage error before the passphrase
        secret = require_passphrase(passphrase, f"revoke identity {name!r}")
        root_key = load_root_key(self._files, secret)  # only the store's owner may revoke
        reason = reason.strip() or "unspecified"
        files = self._files
        with files.locked():
            index = files.index()
            record = find(index, name)
            if record.current.status == "revoked":
                raise UsageError(f"identity {name!r} is already revoked")
            now = now_utc()
            when = _revocation_time(name, since, now, record.versions[0].not_before)
            doomed = [v.key_file for v in record.versions if v.key_file]
            for version in record.versions:
                version.status = "revoked"
                version.revoked_at = now.isoformat()
                version.revoked_since = when.isoformat()
                version.revocation_reason = reason
                version.key_file = version.key_sha256 = None
            crl, replaced = crl_files.stage_root_crl(files, index, root_key, now, DEFAULT_CRL_DAYS)
            files.write_index(index)
            for relpath in doomed + replaced:
                files.layout.remove(files.layout.root / relpath)
            serials = ",".join(v.serial for v in record.versions)
            files.audit(
                "revoke",
                name,
                {"reason": reason, "serials": serials, "since": when.isoformat()},
            )
            crl_files.audit_issued(files, crl)
            return identity_info(name, record, index)

    def _issue(
        self, name: str, algorithm: Algorithm, days: int | None, secret: bytes
    ) -> tuple[SigningKey, bytes]:
        days = self._files.config.leaf_days if days is None else days
        if days < 1:
            raise UsageError(f"a certificate is valid for at least 1 day, not {days}")
        index = self._files.index()
        root_cert = self._files.root_certificate(index)
        now = now_utc()
        if now + dt.timedelta(days=days) > root_cert.not_valid_after_utc:
            raise UsageError(
                f"a {days}-day certificate would outlive the root CA, which expires on "
                f"{root_cert.not_valid_after_utc:%Y-%m-%d}; choose fewer days"
            )
        root_key = load_root_key(self._files, secret)
        key = generate_key(algorithm, rsa_bits=self._files.config.rsa_bits)
        cert = issue_leaf(
            issuer_key=root_key,
            issuer_cert=root_cert,
            public_key=key.public_key(),
            common_name=name,
            organization=index.org,
            days=days,
            now=now,
        )
        return key, cert.public_bytes(serialization.Encoding.PEM)

    def _commit(
        self,
        name: str,
        origin: Literal["local", "imported"],
        algorithm: Algorithm,
        key: SigningKey,
        chain_pem: bytes,
        secret: bytes,
        event: str,
        *,
        rotate: bool,
    ) -> IdentityInfo:
        key_pem = encrypt_private_key(key, secret, self._files.config.scrypt)
        with self._files.locked():
            index = self._files.index()  # re-read: another process may have written meanwhile
            return commit_version(
                self._files.layout,
                index,
                name,
                origin,
                algorithm,
                key_pem,
                chain_pem,
                event,
                rotate,
            )

    # Last: below this method, ``list`` in an annotation would name it.
    def list(self) -> list[IdentityInfo]:
        """Every signing identity, by name."""
        index = self._files.index()
        return [
            identity_info(name, record, index) for name, record in sorted(index.identities.items())
        ]


def _revocation_time(
    name: str, since: dt.datetime | None, now: dt.datetime, first_not_before: str
) -> dt.datetime:
    """``since`` checked (zone, not in the future, not before the first certificate), UTC."""
    if since is None:
        return now
    if since.tzinfo is None or since.utcoffset() is None:
        raise UsageError(
            "the revocation time needs a time zone (e.g. 2026-03-01T12:00:00Z) or a date"
        )
    when = since.astimezone(dt.UTC)
    if when > now:
        raise UsageError(
            f"the revocation time {when:%Y-%m-%d %H:%M:%S} UTC is in the future: a revocation "
            "records when the key stopped being trustworthy, which has already happened"
        )
    valid_from = dt.datetime.fromisoformat(first_not_before)
    if when < valid_from:
        raise UsageError(
            f"the revocation time {when:%Y-%m-%d %H:%M:%S} UTC is before identity {name!r} "
            f"had a valid certificate (from {valid_from:%Y-%m-%d %H:%M:%S} UTC); give a later time"
        )
    return when
