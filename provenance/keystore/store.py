"""The local key store: its lifecycle, and one object per concern it holds.

``KeyStore`` creates, opens, restores and backs up a store, and hands out a signer. What
the store holds is reached through its concerns, each a small class in the module that
holds that concern's logic, all sharing the store's files, settings and lock
(``_files.StoreFiles``):

- ``store.identities``: signing identities (create, import, rotate, revoke, chains);
- ``store.trust``: trust anchors; ``store.allowed``: allowed signing certificates;
- ``store.crls``: the CRL the local root issues, and imported ones;
- ``store.tsa``: the store's time-stamping authority, or the external one it uses;
- ``store.watermark_keys``: watermark detection secrets.

Readers never lock (every file is replaced atomically, so a reader sees the old or the
new version, never half of one). Writers take the store lock, re-read the index under
it and write the index last: the index is the commit point, so a failed write leaves
at worst an unreferenced new file, never a store that points at something missing.
Expensive work (key generation, scrypt) happens before the lock is taken.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import IdentityUnusable, KeyStoreExists, KeyStoreMissing, Remedy, UsageError
from . import _tsa, watermark_keys
from ._files import PRIVATE_MODE, PUBLIC_MODE, STORE_DIR, Layout, StoreFiles, now_utc, sha256_hex
from ._identities import DEFAULT_NAME, Identities, ensure_usable, find
from ._index import IdentityRecord, Index, RootRecord
from ._material import load_store_key, require_new_passphrase, require_passphrase
from ._pkcs8 import encrypt_private_key
from ._versions import version_record
from .allowed import AllowedCertificates
from .ca import generate_key, issue_leaf, issue_root
from .config import KeyStoreConfig
from .crl import Crls
from .local_signer import LocalSigner
from .signer import Algorithm, Signer
from .trust import TrustAnchors, add_anchors, fingerprint

if TYPE_CHECKING:
    from .backup import RestoredRepository

logger = logging.getLogger(__name__)


class KeyStore:
    """A key store under ``home``; get one with ``create``, ``open`` or ``restore``.

    Its concerns are attributes: ``identities``, ``trust``, ``allowed``, ``crls``,
    ``tsa`` and ``watermark_keys``.
    """

    #: Set on the store ``restore`` returns: the repository it put back (None: the backup
    #: held none, and a repository in the home was left as it was).
    restored_repository: RestoredRepository | None = None

    def __init__(self, layout: Layout, config: KeyStoreConfig) -> None:
        self._files = files = StoreFiles(layout, config)
        self.trust = TrustAnchors(files)
        self.allowed = AllowedCertificates(files)
        self.identities = Identities(files, self.trust)
        self.crls = Crls(files, self.trust)
        self.tsa = _tsa.TimeStampingAuthority(files)
        self.watermark_keys = watermark_keys.WatermarkKeys(files)

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
        """A new store: local root CA (trusted), identity and watermark key "default", and
        the time-stamping authority.

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
                _initialise(staged, secret, org, config)
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
            raise KeyStoreMissing(f"no key store at {layout.home}", remedy=Remedy.CREATE_STORE)
        store = cls(layout, config or KeyStoreConfig())
        store._files.index()  # a corrupt index is reported now, not at first use
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
        layout = self._files.layout
        if repository is True:
            default = layout.home / DEFAULT_FILENAME
            included: Path | None = default if default.exists() else None
        else:
            included = Path(repository) if repository is not False else None
        return write_backup(
            layout,
            Path(destination),
            secret,
            force=force,
            config=self._files.config,
            repository=included,
        )

    @property
    def home(self) -> Path:
        return self._files.layout.home

    @property
    def path(self) -> Path:
        """The key store directory itself (``home/keystore``)."""
        return self._files.layout.root

    @property
    def org(self) -> str:
        return self._files.index().org

    def root_pem(self) -> bytes:
        """The local root CA certificate (PEM): the trust anchor verifiers add."""
        return self._files.root_pem()

    # -- signing ---------------------------------------------------------------------

    def signer(self, identity: str | None, passphrase: str | None) -> Signer:
        """A signer for ``identity`` (None: the default) with its key decrypted in memory.

        Status and validity are checked before the passphrase, so a revoked identity
        is refused without asking for it.
        """
        index = self._files.index()
        name = index.default_identity if identity is None else identity
        current = find(index, name).current
        ensure_usable(name, current, now_utc())
        secret = require_passphrase(passphrase, f"decrypt the key for identity {name!r}")
        if current.key_file is None:
            raise IdentityUnusable(f"identity {name!r} has no private key left in the store")
        key = load_store_key(
            self._files.layout, current.key_file, current.key_sha256, secret, f"identity {name!r}"
        )
        chain = self._files.read(current.chain_file)
        return LocalSigner(name, Algorithm(current.algorithm), chain, key)

    def audit_event(self, event: str, **fields: str) -> None:
        """Append ``event`` to the audit log; ``identity=`` is recorded in its own field."""
        identity = fields.pop("identity", None)
        with self._files.locked():
            self._files.audit(event, identity, dict(fields))


def _initialise(layout: Layout, secret: bytes, org: str, config: KeyStoreConfig) -> None:
    """The first contents of a new store (in its staging directory): the root CA, trusted;
    identity "default"; watermark key "default"; the time-stamping authority."""
    now = now_utc()
    root_key = ec.generate_private_key(ec.SECP384R1())
    root_cert = issue_root(root_key, org, days=config.root_days, now=now)
    root_key_pem = encrypt_private_key(root_key, secret, config.scrypt)
    layout.write(layout.private / "root-ca.key.pem", root_key_pem, PRIVATE_MODE)
    root_pem = root_cert.public_bytes(serialization.Encoding.PEM)
    layout.write(layout.certs / "root-ca.pem", root_pem, PUBLIC_MODE)
    add_anchors(layout, [root_cert], fingerprint(root_cert))
    index = Index(
        org=org,
        created_at=now.isoformat(),
        default_identity=DEFAULT_NAME,
        root=RootRecord(
            cert_file="certs/root-ca.pem",
            key_file="private/root-ca.key.pem",
            key_sha256=sha256_hex(root_key_pem),
            fingerprint_sha256=fingerprint(root_cert),
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
    tsa_key, tsa_chain = _tsa.issue(root_key, root_cert, org, now)
    tsa_key_pem = encrypt_private_key(tsa_key, secret, config.scrypt)
    _tsa.commit(layout, index, tsa_key_pem, tsa_chain, "tsa-create")
