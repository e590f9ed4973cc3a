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
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import (
    IdentityUnusable,
    KeyStoreError,
    KeyStoreExists,
    KeyStoreMissing,
    UsageError,
)
from . import trust as trust_anchors
from . import watermark_keys
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
from ._index import Index, parse_index
from ._material import load_store_key, prepare_import, read_input, require_passphrase
from ._pkcs8 import encrypt_private_key
from .ca import SigningKey, generate_key, issue_leaf
from .config import KeyStoreConfig
from .local_signer import LocalSigner
from .records import IdentityInfo, Revocation, TrustAnchor, WatermarkKey
from .signer import Algorithm, Signer

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
        secret = require_passphrase(passphrase, "protect the new key store")
        if not org.strip():
            raise UsageError("the organisation name must not be empty")
        final = Layout(Path(home))
        with final.locked(config.lock_timeout_seconds):
            if final.root.exists():
                raise KeyStoreExists(
                    f"a key store already exists at {final.root}; use it, or choose another --home"
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
                f"no key store at {layout.home}: run `provenance keys init` to create one "
                "(or point --home / PROVENANCE_HOME at an existing one)"
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
        """Replace the store under ``home`` with a backup (see ``backup.restore_backup``)."""
        from .backup import restore_backup

        config = config or KeyStoreConfig()
        restore_backup(Layout(Path(home)), Path(source), passphrase, force=force, config=config)
        return cls.open(home, config=config)

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
        for name, record in self._index().identities.items():
            for version in record.versions:
                if int(version.serial, 16) == serial and version.revoked_at is not None:
                    return Revocation(
                        identity=name,
                        serial=serial,
                        revoked_at=dt.datetime.fromisoformat(version.revoked_at),
                        reason=version.revocation_reason or "",
                    )
        return None

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
        secret = require_passphrase(passphrase, f"create identity {name!r}")
        key, chain = self._issue(name, algorithm, days, secret)
        return self._commit(name, "local", algorithm, key, chain, secret, "create", rotate=False)

    def import_identity(
        self, name: str, key: Path | bytes, chain: Path | bytes, passphrase: str | None
    ) -> IdentityInfo:
        """An identity from an external CA, checked against the c2pa-rs profile."""
        check_name(name)
        if name in self._index().identities:
            raise UsageError(f"identity {name!r} already exists; import under another name")
        secret = require_passphrase(passphrase, f"import identity {name!r}")
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
        secret = require_passphrase(passphrase, f"rotate identity {name!r}")
        algorithm = Algorithm(record.current.algorithm)
        key, chain = self._issue(name, algorithm, days, secret)
        return self._commit(name, "local", algorithm, key, chain, secret, "rotate", rotate=True)

    def revoke(self, name: str, reason: str, passphrase: str | None) -> IdentityInfo:
        """Mark every version of ``name`` revoked and delete its private keys."""
        secret = require_passphrase(passphrase, f"revoke identity {name!r}")
        self._root_key(secret)  # only the store's owner may revoke
        reason = reason.strip() or "unspecified"
        with self._layout.locked(self._config.lock_timeout_seconds):
            index = self._index()
            record = find(index, name)
            if record.current.status == "revoked":
                raise UsageError(f"identity {name!r} is already revoked")
            stamp = now_utc().isoformat()
            doomed = [v.key_file for v in record.versions if v.key_file]
            for version in record.versions:
                version.status = "revoked"
                version.revoked_at = stamp
                version.revocation_reason = reason
                version.key_file = version.key_sha256 = None
            self._layout.write(self._layout.index, index.to_json(), PUBLIC_MODE)
            for relpath in doomed:
                self._layout.remove(self._layout.root / relpath)
            serials = ",".join(v.serial for v in record.versions)
            self._layout.append_audit("revoke", name, {"reason": reason, "serials": serials})
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

    def add_trust_anchors(self, source: Path | bytes) -> list[tuple[TrustAnchor, bool]]:
        """Trust every CA certificate in ``source``; True marks the ones that were new."""
        data, name = read_input(source, "trust anchor file")
        certs = trust_anchors.parse_certificates(data, name)
        with self._layout.locked(self._config.lock_timeout_seconds):
            added = trust_anchors.add_anchors(self._layout, certs, self._root_fingerprint())
            for anchor, is_new in added:
                if is_new:
                    self._layout.append_audit(
                        "trust-add", None, {"anchor": anchor.id, "subject": anchor.subject}
                    )
        return added

    def add_trust_anchor(self, pem: bytes) -> str:
        """Trust the one CA certificate in ``pem``; returns its id."""
        certs = trust_anchors.parse_certificates(pem, "the certificate")
        if len(certs) != 1:
            raise ValueError("add_trust_anchor takes one certificate; use add_trust_anchors")
        return self.add_trust_anchors(pem)[0][0].id

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

    def backup(self, destination: Path, passphrase: str | None, *, force: bool = False) -> Path:
        """Write the whole store, encrypted with ``passphrase``, to one file (0600)."""
        from .backup import write_backup

        secret = require_passphrase(passphrase, "encrypt the backup")
        return write_backup(
            self._layout, Path(destination), secret, force=force, config=self._config
        )
