"""Where the key store keeps things, and the only code that reads or writes them.

Layout under ``HOME`` (private material apart from public material)::

    HOME/.keystore.lock           the lock every writer takes (outside the store, so
                                  restore can swap the whole directory under it)
    HOME/keystore/          0700
        index.json          0644  identities, the TSA, versions, status, serials (no secrets)
        audit.log           0600  append-only JSON lines
        private/            0700  encrypted PKCS#8 keys (scrypt), 0600 each (tsa.*: the TSA's)
        certs/              0755  certificate chains, leaf first, PEM; root-ca.crl.N.pem:
                                  the root's newest CRL
        crls/               0755  imported CRLs, one PEM per issuer (made on first import)
        trust/              0755  trust anchors, one PEM per anchor, named by id
        allowed/            0755  allowed end-entity certificates, one PEM each, by id
                                  (made when the first one is added)
        watermark/          0700  keys.json (0600): watermark detection secrets
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509

from .._internal.fs import atomic_write_bytes
from .._internal.fs import read_input as read_bounded
from ..errors import InputError, KeyStoreCorrupt, KeyStoreError
from ._index import Index, parse_index
from .config import KeyStoreConfig

logger = logging.getLogger(__name__)

STORE_DIR = "keystore"
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
PRIVATE_DIR_MODE = 0o700
PUBLIC_DIR_MODE = 0o755


#: A PEM key, chain, CA bundle or CRL file (the whole Mozilla bundle is about 220 kB).
MAX_PEM_BYTES = 8 * 1024 * 1024


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Layout:
    """Paths of one key store and the locked, atomic I/O on them."""

    def __init__(self, home: Path, store_dir: Path | None = None) -> None:
        self.home = Path(home)
        self.root = store_dir or self.home / STORE_DIR
        self.lock_path = self.home / ".keystore.lock"

    @property
    def index(self) -> Path:
        return self.root / "index.json"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    @property
    def private(self) -> Path:
        return self.root / "private"

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def trust(self) -> Path:
        return self.root / "trust"

    @property
    def allowed(self) -> Path:
        return self.root / "allowed"

    @property
    def watermark(self) -> Path:
        return self.root / "watermark"

    def make_dirs(self) -> None:
        """Create the store's directories with their modes (umask does not apply)."""
        for path, mode in (
            (self.root, PRIVATE_DIR_MODE),
            (self.private, PRIVATE_DIR_MODE),
            (self.certs, PUBLIC_DIR_MODE),
            (self.trust, PUBLIC_DIR_MODE),
            (self.watermark, PRIVATE_DIR_MODE),
        ):
            path.mkdir(exist_ok=True)
            os.chmod(path, mode)

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[None]:
        """Hold the store's lock; a second writer waits up to ``timeout`` seconds."""
        import filelock  # here: reading a store (verify) takes no lock

        self.home.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.lock_path, timeout=timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise KeyStoreError(
                f"the key store at {self.home} is busy: another provenance process has held "
                f"{self.lock_path} for over {timeout:g} s; try again when it finishes"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def read(self, path: Path) -> bytes:
        """A store file's bytes; a missing or unreadable file makes the store corrupt."""
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreCorrupt(f"{path}: missing from the key store") from None
        except OSError as exc:
            raise KeyStoreCorrupt(f"{path}: cannot be read ({exc.strerror})") from exc

    def write(self, path: Path, data: bytes, mode: int) -> None:
        """Atomically replace ``path``; the old file survives any failure."""
        try:
            atomic_write_bytes(path, data, mode)
        except OSError as exc:
            raise _write_error(path, exc) from exc

    def remove(self, path: Path) -> None:
        """Best-effort removal of a file that nothing refers to any more."""
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("could not remove %s: %s", path, exc.strerror)

    def append_audit(self, event: str, identity: str | None, details: dict[str, str]) -> None:
        """Append one JSON line to the audit log.

        Appending (O_APPEND, one write, fsync) rather than replacing is deliberate: the
        log only grows, rewriting it per event would cost O(size), and a crash can at
        worst leave a torn last line, never lose earlier ones.
        """
        record = {
            "time": now_utc().isoformat(),
            "event": event,
            "identity": identity,
            "details": details,
        }
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        try:
            fd = os.open(
                self.audit_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise _write_error(self.audit_log, exc) from exc

    def warn_if_exposed(self) -> None:
        """Log when the store directory is readable by others (someone chmod-ed it)."""
        for directory in (self.root, self.private, self.watermark):
            with contextlib.suppress(OSError):
                if stat.S_IMODE(directory.stat().st_mode) & 0o077:
                    logger.warning(
                        "%s is accessible to other users; run chmod 700 on it", directory
                    )


class StoreFiles:
    """What every concern of one store shares: its layout, its settings, its lock, its index.

    Writers take ``locked()``, re-read ``index()`` under it and call ``write_index`` last:
    the index is the commit point.
    """

    def __init__(self, layout: Layout, config: KeyStoreConfig) -> None:
        self.layout = layout
        self.config = config

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return self.layout.locked(self.config.lock_timeout_seconds)

    def index(self) -> Index:
        return parse_index(self.layout.index, self.layout.read(self.layout.index))

    def write_index(self, index: Index) -> None:
        self.layout.write(self.layout.index, index.to_json(), PUBLIC_MODE)

    def read(self, relpath: str) -> bytes:
        """A file of the store by its path relative to the store (as the index names it)."""
        return self.layout.read(self.layout.root / relpath)

    def audit(self, event: str, identity: str | None, details: dict[str, str]) -> None:
        """Append to the audit log; the caller holds the lock."""
        self.layout.append_audit(event, identity, details)

    def root_certificate(self, index: Index | None = None) -> x509.Certificate:
        """The local root CA's certificate (from ``index``, or the current one)."""
        index = self.index() if index is None else index
        return x509.load_pem_x509_certificate(self.read(index.root.cert_file))

    def root_pem(self) -> bytes:
        return self.read(self.index().root.cert_file)


def read_input(source: Path | bytes, what: str) -> tuple[bytes, str]:
    """Bytes of a user-supplied file (or the bytes given) and a name for messages.

    Read through the bounded reader: a regular file of at most ``MAX_PEM_BYTES``.
    """
    if isinstance(source, bytes):
        return source, what
    try:
        return read_bounded(Path(source), MAX_PEM_BYTES), str(source)
    except InputError as exc:
        raise InputError(f"{source}: cannot read the {what} ({exc})") from None


def _write_error(path: Path, exc: OSError) -> KeyStoreError:
    hint = " (the disk is full)" if exc.errno == errno.ENOSPC else ""
    return KeyStoreError(
        f"could not write {path}: {exc.strerror or exc}{hint}; the key store is unchanged"
    )
