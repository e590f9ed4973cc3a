"""The local key store: signing identities, the local CA, trust anchors, watermark keys.

Readers never lock (every file is replaced atomically, so a reader sees the old or the
new version, never half of one). Writers take the store lock, re-read the index under
it and write the index last: the index is the commit point, so a failed write leaves
at worst an unreferenced new file, never a store that points at something missing.
Expensive work (key generation, scrypt) happens before the lock is taken.
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import (
    IdentityUnusable,
    KeyStoreError,
    KeyStoreExists,
    KeyStoreMissing,
    Remedy,
    UsageError,
)
from . import _tsa, watermark_keys
from . import allowed as allowed_list
from . import crl as crl_files
from . import trust as trust_anchors
from ._files import PUBLIC_MODE, STORE_DIR, Layout, now_utc
from ._identities import (
    check_name,
    commit_version,
    ensure_usable,
    find,
    find_version,
    identity_info,
    initialise,
)
from ._index import CrlRecord, Index, parse_index
from ._material import (
    load_store_key,
    prepare_import,
    read_input,
    require_new_passphrase,
    require_passphrase,
)
from ._pkcs8 import encrypt_private_key
from .ca import SigningKey, generate_key, issue_leaf
from .config import KeyStoreConfig
from .local_signer import LocalSigner
from .records import (
    Added,
    AllowedCertificate,
    CrlInfo,
    IdentityInfo,
    Revocation,
    TrustAnchor,
    TsaInfo,
    WatermarkKey,
)
from .signer import Algorithm, Signer

if TYPE_CHECKING:
    from ..timestamp import LocalAuthority
    from .backup import RestoredRepository

__all__ = ["KeyStore"]

logger = logging.getLogger(__name__)


class KeyStore:
    """A key store under ``home``; get one with ``create``, ``open`` or ``restore``."""

    def __init__(self, layout: Layout, config: KeyStoreConfig) -> None:
        self._layout = layout
        self._config = config

    # -- lifecycle -------------------------------------------------------------------

    @staticmethod
    def exists(home: Path) -> bool:
        return (Path(home) / STORE_DIR).exists()

    @classmethod
    def create(
        cls,
        home: Path,
        passphrase: str,
        *,
        org: str = "Provenance Toolkit",
        config: KeyStoreConfig | None = None,
    ) -> KeyStore:
        """A new store: local root CA (trusted), identity and watermark key "default".

        The store is built in a temporary directory beside its final place and renamed
        into place, so a failure midway leaves no half-made store behind.
        """
        config = config or KeyStoreConfig()
        secret = require_new_passphrase(passphrase, "protect the new key store")
        if not org.strip():
            raise UsageError("the organisation name must not be empty")
        final = Layout(Path(home))
        with final.locked(config.lock_timeout_seconds):
            if final.root.exists():
                raise KeyStoreExists(
                    f"a key store already exists at {final.root}; use it", remedy=Remedy.OTHER_HOME
                )
            work = Path(tempfile.mkdtemp(prefix=".keystore.new-", dir=final.home))
            try:
                staged = Layout(final.home, work)
                staged.make_dirs()
                initialise(staged, secret, org, config)
                work.rename(final.root)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        logger.info("created key store at %s", final.root)
        return cls(final, config)

    @classmethod
    def open(cls, home: Path, *, config: KeyStoreConfig | None = None) -> KeyStore:
        layout = Layout(Path(home))
        if not layout.root.exists():
            raise KeyStoreMissing(
                f"no key store at {layout.home}: run `provenance keys init` to create one",
                remedy=Remedy.OTHER_HOME,
            )
        store = cls(layout, config or KeyStoreConfig())
        store._index()  # a corrupt index is reported now, not at first use
        layout.warn_if_exposed()
        return store

    @classmethod
    def restore(
        cls,
        home: Path,
        source: Path,
        passphrase: str,
        *,
        force: bool = False,
        config: KeyStoreConfig | None = None,
    ) -> KeyStore:
        """Replace the store under ``home`` with a backup (see ``backup.restore_backup``),
        and the SQLite repository when the backup holds one (``restored_repository``)."""
        from .backup import restore_backup

        config = config or KeyStoreConfig()
        repository = restore_backup(
            Layout(Path(home)), Path(source), passphrase, force=force, config=config
        )
        store = cls.open(home, config=config)
        store.restored_repository = repository
        return store

    #: Set on the store ``restore`` returns: the repository it put back (None: the backup
    #: held none, and a repository in the home was left as it was).
    restored_repository: RestoredRepository | None = None

    @property
    def home(self) -> Path:
        return self._layout.home

    @property
    def path(self) -> Path:
        """The key store directory itself (``home/keystore``)."""
        return self._layout.root

    @property
    def org(self) -> str:
        return self._index().org

    # -- reading ---------------------------------------------------------------------

    def _index(self) -> Index:
        return parse_index(self._layout.index, self._layout.read(self._layout.index))

    def _root_fingerprint(self) -> str:
        return self._index().root.fingerprint_sha256

    def identities(self) -> list[IdentityInfo]:
        index = self._index()
        return [
            identity_info(name, record, index) for name, record in sorted(index.identities.items())
        ]

    def identity(self, name: str | None = None) -> IdentityInfo:
        index = self._index()
        name = index.default_identity if name is None else name
        return identity_info(name, find(index, name), index)

    def revocation(self, serial: int) -> Revocation | None:
        for revocation in self.revocations():
            if revocation.serial == serial:
                return revocation
        return None

    def revocations(self) -> list[Revocation]:
        """Every certificate revoked here, with the time it stopped being trustworthy
        (``since``; for revocations recorded before ``--since`` existed, ``revoked_at``)."""
        found = []
        for name, record in sorted(self._index().identities.items()):
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
                    )
                )
        return found

    def revoked_serials(self) -> dict[int, str]:
        """Serial number -> revocation reason for every certificate revoked here."""
        return {
            int(version.serial, 16): version.revocation_reason or "unspecified"
            for record in self._index().identities.values()
            for version in record.versions
            if version.revoked_at is not None
        }

    def export_chain(self, name: str, version: int | None = None) -> bytes:
        """The certificate chain (leaf first, PEM) manifests signed by ``name`` carry."""
        record = find(self._index(), name)
        chosen = record.current if version is None else find_version(record, name, version)
        return self._layout.read(self._layout.root / chosen.chain_file)

    def export_full_chain(self, name: str, version: int | None = None) -> bytes:
        """``name``'s whole chain, leaf first, ending at its root when the store has it.

        The chain manifests carry, plus the root CA that issued its top certificate when
        the chain lacks it (the local root, or a trust anchor here for an imported
        chain): what a verifier's ``provenance trust add`` takes the root from.
        """
        chain = self.export_chain(name, version)
        top = trust_anchors.parse_certificates(chain, name)[-1]
        if trust_anchors.is_self_signed(top):
            return chain
        candidates = [self.export_root()] + [a.pem.encode() for a in self.trust_anchors()]
        for pem in candidates:
            cert = x509.load_pem_x509_certificate(pem)
            if cert.subject != top.issuer or not trust_anchors.is_self_signed(cert):
                continue
            try:
                top.verify_directly_issued_by(cert)
            except Exception:
                continue
            separator = b"" if chain.endswith(b"\n") else b"\n"
            return chain + separator + cert.public_bytes(serialization.Encoding.PEM)
        return chain

    def export_root(self) -> bytes:
        """The local root CA certificate (PEM): the trust anchor verifiers add."""
        return self._layout.read(self._layout.root / self._index().root.cert_file)

    def trust_anchors(self) -> list[TrustAnchor]:
        return trust_anchors.list_anchors(self._layout, self._root_fingerprint())

    def trust_anchors_pem(self) -> str:
        return "".join(anchor.pem for anchor in self.trust_anchors())

    def chain_is_anchored(self, name: str) -> bool:
        """Whether the top of ``name``'s chain is, or was issued by, a trust anchor here."""
        certs = trust_anchors.parse_certificates(self.export_chain(name), name)
        top = certs[-1]
        for anchor in self.trust_anchors():
            cert = x509.load_pem_x509_certificate(anchor.pem.encode())
            if cert == top:
                return True
            try:
                top.verify_directly_issued_by(cert)
                return True
            except Exception:
                continue
        return False

    def watermark_keys(self) -> list[WatermarkKey]:
        """All watermark secrets. No passphrase: detection runs unattended (file 0600)."""
        _, keys = watermark_keys.load_keys(self._layout)
        return [keys[name] for name in sorted(keys)]

    def watermark_key(self, name: str | None = None) -> WatermarkKey:
        """The named watermark secret, or the default one."""
        return watermark_keys.find_key(self._layout, name)

    # -- signing ---------------------------------------------------------------------

    def signer(self, identity: str | None, passphrase: str | None) -> Signer:
        """A signer for ``identity`` (None: the default) with its key decrypted in memory.

        Status and validity are checked before the passphrase, so a revoked identity
        is refused without asking for it.
        """
        index = self._index()
        name = index.default_identity if identity is None else identity
        record = find(index, name)
        current = record.current
        ensure_usable(name, current, now_utc())
        secret = require_passphrase(passphrase, f"decrypt the key for identity {name!r}")
        if current.key_file is None:
            raise IdentityUnusable(f"identity {name!r} has no private key left in the store")
        key = load_store_key(
            self._layout, current.key_file, current.key_sha256, secret, f"identity {name!r}"
        )
        chain = self._layout.read(self._layout.root / current.chain_file)
        return LocalSigner(name, Algorithm(current.algorithm), chain, key)

    def audit_event(self, event: str, **fields: str) -> None:
        """Append ``event`` to the audit log; ``identity=`` is recorded in its own field."""
        identity = fields.pop("identity", None)
        with self._layout.locked(self._config.lock_timeout_seconds):
            self._layout.append_audit(event, identity, dict(fields))

    # -- changing identities -----------------------------------------------------------

    def create_identity(
        self,
        name: str,
        algorithm: Algorithm | str = Algorithm.ES256,
        days: int | None = None,
        passphrase: str | None = None,
    ) -> IdentityInfo:
        """A new identity with a key and a certificate from the local CA."""
        check_name(name)
        algorithm = Algorithm(algorithm)
        if name in self._index().identities:  # fail before the expensive part
            raise UsageError(f"identity {name!r} already exists; use `provenance keys rotate`")
        secret = require_new_passphrase(passphrase, f"create identity {name!r}")
        key, chain = self._issue(name, algorithm, days, secret)
        return self._commit(name, "local", algorithm, key, chain, secret, "create", rotate=False)

    def import_identity(
        self, name: str, key: Path | bytes, chain: Path | bytes, passphrase: str | None
    ) -> IdentityInfo:
        """An identity from an external CA, checked against the c2pa-rs profile."""
        check_name(name)
        if name in self._index().identities:
            raise UsageError(f"identity {name!r} already exists; import under another name")
        secret = require_new_passphrase(passphrase, f"import identity {name!r}")
        self._root_key(secret)  # every key in the store shares the store's passphrase
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
        record = find(self._index(), name)
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
        issues a new CRL (``crl_pem``) that lists the revocation.
        """
        find(self._index(), name)  # an unknown name is a usage error before the passphrase
        secret = require_passphrase(passphrase, f"revoke identity {name!r}")
        root_key = self._root_key(secret)  # only the store's owner may revoke
        reason = reason.strip() or "unspecified"
        with self._layout.locked(self._config.lock_timeout_seconds):
            index = self._index()
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
            crl, replaced = self._stage_crl(index, root_key, now, crl_files.DEFAULT_CRL_DAYS)
            self._layout.write(self._layout.index, index.to_json(), PUBLIC_MODE)
            for relpath in doomed + replaced:
                self._layout.remove(self._layout.root / relpath)
            serials = ",".join(v.serial for v in record.versions)
            self._layout.append_audit(
                "revoke",
                name,
                {"reason": reason, "serials": serials, "since": when.isoformat()},
            )
            self._audit_crl(crl)
            return identity_info(name, record, index)

    def _root_key(self, secret: bytes) -> ec.EllipticCurvePrivateKey:
        root = self._index().root
        key = load_store_key(
            self._layout, root.key_file, root.key_sha256, secret, "the key store's root CA"
        )
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"{self._layout.root / root.key_file}: not an EC root key")
        return key

    def _issue(
        self, name: str, algorithm: Algorithm, days: int | None, secret: bytes
    ) -> tuple[SigningKey, bytes]:
        days = self._config.leaf_days if days is None else days
        if days < 1:
            raise UsageError("--days must be at least 1")
        index = self._index()
        root_cert = x509.load_pem_x509_certificate(
            self._layout.read(self._layout.root / index.root.cert_file)
        )
        now = now_utc()
        if now + dt.timedelta(days=days) > root_cert.not_valid_after_utc:
            raise UsageError(
                f"a {days}-day certificate would outlive the root CA, which expires on "
                f"{root_cert.not_valid_after_utc:%Y-%m-%d}; choose fewer --days"
            )
        root_key = self._root_key(secret)
        key = generate_key(algorithm, rsa_bits=self._config.rsa_bits)
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
        key_pem = encrypt_private_key(key, secret, self._config.scrypt)
        with self._layout.locked(self._config.lock_timeout_seconds):
            index = self._index()  # re-read: another process may have written meanwhile
            return commit_version(
                self._layout, index, name, origin, algorithm, key_pem, chain_pem, event, rotate
            )

    # -- trust anchors and watermark keys --------------------------------------------

    def add_trust_anchors(self, source: Path | bytes) -> Added[TrustAnchor]:
        """Trust the CA certificates in ``source``; True marks the ones that were new.

        A bundle of CA certificates is taken whole; an exported chain gives its root
        (``trust.select_anchors``); a signing certificate alone is refused with advice.
        """
        data, name = read_input(source, "trust anchor file")
        certs = trust_anchors.parse_certificates(data, name)
        shown = shlex.quote(name) if isinstance(source, Path) else "FILE"
        chosen, skipped = trust_anchors.select_anchors(certs, shown)
        with self._layout.locked(self._config.lock_timeout_seconds):
            added = trust_anchors.add_anchors(self._layout, chosen, self._root_fingerprint())
            for anchor, is_new in added:
                if is_new:
                    self._layout.append_audit(
                        "trust-add", None, {"anchor": anchor.id, "subject": anchor.subject}
                    )
        return Added(added, [cert.subject.rfc4514_string() for cert in skipped])

    def add_trust_anchor(self, pem: bytes) -> str:
        """Trust the one CA certificate in ``pem``; returns its id."""
        certs = trust_anchors.parse_certificates(pem, "the certificate")
        if len(certs) != 1:
            raise ValueError("add_trust_anchor takes one certificate; use add_trust_anchors")
        return self.add_trust_anchors(pem)[0][0].id

    def allowed_certificates(self) -> list[AllowedCertificate]:
        """End-entity certificates trusted one by one (c2pa-rs ``allowed_list``)."""
        return allowed_list.list_allowed(self._layout)

    def allowed_list_pem(self) -> str:
        return "".join(entry.pem for entry in self.allowed_certificates())

    def allow_certificates(self, source: Path | bytes) -> Added[AllowedCertificate]:
        """Trust the signing certificates in ``source`` alone; True marks the new ones.

        An exported chain gives its leaf (``skipped`` names the CAs left out); a file of
        CA certificates only is refused: those are trust anchors.
        """
        data, name = read_input(source, "certificate file")
        certs = trust_anchors.parse_certificates(data, name)
        shown = shlex.quote(name) if isinstance(source, Path) else "FILE"
        chosen, skipped = allowed_list.select_allowed(certs, shown)
        with self._layout.locked(self._config.lock_timeout_seconds):
            added = allowed_list.add_allowed(self._layout, chosen)
            for entry, is_new in added:
                if is_new:
                    self._layout.append_audit(
                        "trust-allow", None, {"certificate": entry.id, "subject": entry.subject}
                    )
        return Added(added, [cert.subject.rfc4514_string() for cert in skipped])

    def remove_allowed_certificate(self, certificate_id: str) -> AllowedCertificate | None:
        """Stop trusting the allowed certificate with this id; None if there is none."""
        with self._layout.locked(self._config.lock_timeout_seconds):
            removed = allowed_list.remove_allowed(self._layout, certificate_id)
            if removed is not None:
                self._layout.append_audit(
                    "trust-disallow", None, {"certificate": removed.id, "subject": removed.subject}
                )
        return removed

    def remove_trust_anchor(self, anchor_id: str) -> TrustAnchor:
        with self._layout.locked(self._config.lock_timeout_seconds):
            anchor = trust_anchors.remove_anchor(self._layout, anchor_id, self._root_fingerprint())
            self._layout.append_audit(
                "trust-remove", None, {"anchor": anchor.id, "subject": anchor.subject}
            )
        return anchor

    def create_watermark_key(self, name: str) -> WatermarkKey:
        with self._layout.locked(self._config.lock_timeout_seconds):
            key = watermark_keys.create_key(self._layout, name)
            self._layout.append_audit("watermark-key-create", None, {"key": name})
        return key

    def backup(
        self,
        destination: Path,
        passphrase: str | None,
        *,
        force: bool = False,
        repository: Path | bool = True,
    ) -> Path:
        """Write the whole store, encrypted with ``passphrase``, to one file (0600).

        ``repository``: True (the default) includes the home's SQLite repository
        (``HOME/repository.sqlite``) when there is one, a path that SQLite file, False none.
        Restoring puts it back as the home's repository."""
        from ..repository.base import DEFAULT_FILENAME
        from .backup import write_backup

        secret = require_new_passphrase(passphrase, "encrypt the backup")
        if repository is True:
            default = self._layout.home / DEFAULT_FILENAME
            included: Path | None = default if default.exists() else None
        else:
            included = Path(repository) if repository is not False else None
        return write_backup(
            self._layout,
            Path(destination),
            secret,
            force=force,
            config=self._config,
            repository=included,
        )

    # -- the time-stamping authority ---------------------------------------------------

    def tsa(self) -> TsaInfo | None:
        """The store's time-stamping authority; None: the store predates it."""
        return _tsa.tsa_info(self._index())

    @property
    def tsa_url(self) -> str | None:
        """The external time-stamping authority signatures are stamped by; None: the
        store's own."""
        return self._index().tsa_url

    def set_tsa_url(self, url: str | None) -> None:
        """Stamp with the authority at ``url`` (http or https) from now on; None: the
        store's own authority."""
        checked = None if url is None else _tsa.check_url(url)
        with self._layout.locked(self._config.lock_timeout_seconds):
            index = self._index()
            if index.tsa_url == checked:
                return
            index.tsa_url = checked
            self._layout.write(self._layout.index, index.to_json(), PUBLIC_MODE)
            self._layout.append_audit("tsa-url", _tsa.TSA_NAME, {"url": checked or "local"})

    def tsa_chain_pem(self) -> bytes:
        """The current TSA's certificate chain, PEM, its certificate first then the root."""
        index = self._index()
        if index.tsa is None:
            raise _tsa.missing()
        return self._layout.read(self._layout.root / index.tsa.current.chain_file)

    def export_tsa_chain(self) -> bytes:
        """``tsa_chain_pem``: what ``keys export --tsa`` prints."""
        return self.tsa_chain_pem()

    def create_tsa(self, passphrase: str | None) -> TsaInfo:
        """Make the time-stamping authority of a store that predates it."""
        if self._index().tsa is not None:
            raise UsageError(
                "this key store already has a time-stamping authority; "
                "`provenance keys rotate tsa` gives it a new key and certificate"
            )
        # The TSA key shares the passphrase of the keys already in the store, so the
        # length rule for new passphrases cannot apply here.
        secret = require_passphrase(passphrase, "create the time-stamping authority")
        return self._make_tsa(secret, rotate=False, days=None)

    def rotate_tsa(self, passphrase: str | None, *, days: int | None = None) -> TsaInfo:
        """A new TSA key and certificate; the old certificate stays (old tokens carry it
        and keep verifying while the root is trusted), its key is deleted."""
        if self._index().tsa is None:
            raise _tsa.missing()
        if days is not None and days < 1:
            raise UsageError("--days must be at least 1")
        secret = require_new_passphrase(passphrase, "rotate the time-stamping authority")
        return self._make_tsa(secret, rotate=True, days=days)

    def _make_tsa(self, secret: bytes, *, rotate: bool, days: int | None) -> TsaInfo:
        root_key = self._root_key(secret)
        index = self._index()
        root_cert = x509.load_pem_x509_certificate(
            self._layout.read(self._layout.root / index.root.cert_file)
        )
        key, chain = _tsa.issue(root_key, root_cert, index.org, now_utc(), days or _tsa.TSA_DAYS)
        key_pem = encrypt_private_key(key, secret, self._config.scrypt)
        with self._layout.locked(self._config.lock_timeout_seconds):
            index = self._index()  # re-read: another process may have made one meanwhile
            if not rotate and index.tsa is not None:
                info = _tsa.tsa_info(index)
                assert info is not None
                return info
            event = "tsa-rotate" if rotate else "tsa-create"
            return _tsa.commit(self._layout, index, key_pem, chain, event)

    def time_stamp_authority(self, passphrase: str) -> LocalAuthority:
        """The store's own authority, its key decrypted in memory, chain [TSA, root].

        A store that predates the TSA gets one first (audit event "tsa-create").
        """
        from ..timestamp import LocalAuthority

        secret = require_passphrase(passphrase, "time-stamp with the key store's authority")
        if self._index().tsa is None:
            self._make_tsa(secret, rotate=False, days=None)
        tsa = self._index().tsa
        assert tsa is not None
        current = tsa.current
        _tsa.ensure_usable(current, now_utc())
        assert current.key_file is not None
        key = load_store_key(
            self._layout,
            current.key_file,
            current.key_sha256,
            secret,
            "the key store's time-stamping authority",
        )
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise KeyStoreError(f"{self._layout.root / current.key_file}: not a TSA key type")
        chain = x509.load_pem_x509_certificates(
            self._layout.read(self._layout.root / current.chain_file)
        )
        return LocalAuthority(key, chain)

    # -- certificate revocation lists --------------------------------------------------

    def crl_pem(self) -> bytes | None:
        """The newest CRL the root issued (PEM; it may be stale); None: none yet."""
        record = self._index().crl
        return None if record is None else self._layout.read(self._layout.root / record.file)

    def crl(self) -> CrlInfo | None:
        """What ``crl_pem`` holds."""
        pem = self.crl_pem()
        if pem is None:
            return None
        return crl_files.crl_info(x509.load_pem_x509_crl(pem), now_utc())

    def issue_crl(
        self,
        passphrase: str | None,
        *,
        days: int = crl_files.DEFAULT_CRL_DAYS,
        now: dt.datetime | None = None,
    ) -> bytes:
        """A new CRL signed by the root (PEM): every certificate it issued that was
        revoked here, next update in ``days``. It becomes the one ``crl_pem`` returns."""
        secret = require_passphrase(passphrase, "sign a CRL with the key store's root CA")
        root_key = self._root_key(secret)
        with self._layout.locked(self._config.lock_timeout_seconds):
            index = self._index()
            crl, replaced = self._stage_crl(index, root_key, now or now_utc(), days)
            self._layout.write(self._layout.index, index.to_json(), PUBLIC_MODE)
            for relpath in replaced:
                self._layout.remove(self._layout.root / relpath)
            self._audit_crl(crl)
        return crl.public_bytes(serialization.Encoding.PEM)

    def _stage_crl(
        self, index: Index, root_key: ec.EllipticCurvePrivateKey, now: dt.datetime, days: int
    ) -> tuple[x509.CertificateRevocationList, list[str]]:
        """Write the next CRL's file and point ``index`` at it (the caller writes the
        index, then removes the files returned, which it no longer names)."""
        root_cert = x509.load_pem_x509_certificate(
            self._layout.read(self._layout.root / index.root.cert_file)
        )
        root_subject = root_cert.subject.rfc4514_string()
        revoked = [
            (
                int(v.serial, 16),
                dt.datetime.fromisoformat(v.revoked_since or v.revoked_at),
                v.revocation_reason or "unspecified",
            )
            for record in index.identities.values()
            for v in record.versions
            if v.revoked_at is not None and v.issuer == root_subject
        ]
        number = 1 if index.crl is None else index.crl.number + 1
        crl = crl_files.build_crl(
            root_key=root_key,
            root_cert=root_cert,
            revoked=revoked,
            number=number,
            now=now,
            days=days,
        )
        relpath = f"certs/root-ca.crl.{number}.pem"
        self._layout.write(
            self._layout.root / relpath, crl.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE
        )
        replaced = [] if index.crl is None or index.crl.file == relpath else [index.crl.file]
        next_update = crl.next_update_utc
        assert next_update is not None
        index.crl = CrlRecord(
            number, relpath, crl.last_update_utc.isoformat(), next_update.isoformat()
        )
        return crl, replaced

    def _audit_crl(self, crl: x509.CertificateRevocationList) -> None:
        info = crl_files.crl_info(crl, now_utc())
        details = {"number": str(info.number), "entries": str(info.entries)}
        self._layout.append_audit("crl-issue", None, details)

    def crls(self) -> list[CrlInfo]:
        """The CRLs imported with ``add_crls``, one per issuer."""
        now = now_utc()
        return [crl_files.crl_info(crl, now) for crl in crl_files.list_imported(self._layout)]

    def crls_pem(self) -> list[bytes]:
        """The imported CRLs as PEM, for the verifier (docs/design.md, "Revocation")."""
        return [info.pem.encode() for info in self.crls()]

    def crl_problem(self, info: CrlInfo) -> str | None:
        """Why verification here would ignore this CRL (None: a trust anchor signed it)."""
        from ..credentials.crl import anchor_problem

        anchors = [x509.load_pem_x509_certificate(a.pem.encode()) for a in self.trust_anchors()]
        return anchor_problem(x509.load_pem_x509_crl(info.pem.encode()), anchors)

    def add_crls(self, source: Path | bytes) -> list[tuple[CrlInfo, str]]:
        """Import every CRL in ``source``, keeping the newest per issuer.

        Each comes back with what happened: "added", "updated", "unchanged" or "older"
        (a newer one of that issuer is kept). A CRL whose issuer is a trust anchor here
        must verify with the anchor's key; one from any other issuer is kept, and
        verification ignores it until its issuer is trusted.
        """
        from ..credentials.crl import anchor_problem, load_crls

        data, name = read_input(source, "CRL file")
        crls = load_crls(data, name)
        anchors = [x509.load_pem_x509_certificate(a.pem.encode()) for a in self.trust_anchors()]
        for crl in crls:
            issuers = [a for a in anchors if crl_files.same_issuer(crl, a)]
            if issuers and anchor_problem(crl, issuers):
                raise KeyStoreError(
                    f"{name}: the CRL of {crl_files.describe(crl)} does not verify with the "
                    "trust anchor of its issuer (forged or damaged); nothing was imported"
                )
        now = now_utc()
        results = []
        with self._layout.locked(self._config.lock_timeout_seconds):
            for crl in crls:
                status = crl_files.add_imported(self._layout, crl)
                info = crl_files.crl_info(crl, now)
                if status in ("added", "updated"):
                    self._layout.append_audit(
                        "crl-import",
                        None,
                        {"crl": info.id, "issuer": info.issuer, "number": str(info.number)},
                    )
                results.append((info, status))
        return results

    def remove_crl(self, crl_id: str) -> CrlInfo | None:
        """Remove the imported CRL with this id; None when there is none."""
        with self._layout.locked(self._config.lock_timeout_seconds):
            removed = crl_files.remove_imported(self._layout, crl_id)
            if removed is None:
                return None
            info = crl_files.crl_info(removed, now_utc())
            self._layout.append_audit("crl-remove", None, {"crl": info.id, "issuer": info.issuer})
        return info


def _revocation_time(
    name: str, since: dt.datetime | None, now: dt.datetime, first_not_before: str
) -> dt.datetime:
    """``since`` checked (zone, not in the future, not before the first certificate), UTC."""
    if since is None:
        return now
    if since.tzinfo is None or since.utcoffset() is None:
        raise UsageError("--since needs a time zone (e.g. 2026-03-01T12:00:00Z) or a date")
    when = since.astimezone(dt.UTC)
    if when > now:
        raise UsageError(
            f"--since {when:%Y-%m-%d %H:%M:%S} UTC is in the future: a revocation records "
            "when the key stopped being trustworthy, which has already happened"
        )
    valid_from = dt.datetime.fromisoformat(first_not_before)
    if when < valid_from:
        raise UsageError(
            f"--since {when:%Y-%m-%d %H:%M:%S} UTC is before identity {name!r} had a valid "
            f"certificate (from {valid_from:%Y-%m-%d %H:%M:%S} UTC); give a later time"
        )
    return when
