"""One-file encrypted backups of the whole key store, and restoring them.

File format (all integers unsigned, big-endian)::

    magic    8 bytes  b"PVKSBAK\\0"
    version  1 byte   1
    log2_n   1 byte   scrypt cost parameters
    r        1 byte
    p        1 byte
    salt     16 bytes scrypt salt
    nonce    12 bytes AES-GCM nonce
    body     rest     AES-256-GCM(JSON payload), the 40 header bytes as associated data

Binding the header as associated data means a changed cost parameter or version fails
authentication like any other tampering. The payload lists every file of the store
(relative path, mode, base64 bytes); private keys inside stay encrypted under their own
passphrase as well.

Payload version 2 adds ``repository``: a consistent copy of the home's SQLite manifest
repository (taken with SQLite's backup API, so a write-ahead log is included and a
signer writing meanwhile does no harm), its mode and its number of records. Without it
stripped copies signed before the backup read ``watermarked`` after a restore instead of
``recovered``. A backup without a repository is written as version 1, which older
toolkits read; an older toolkit refuses a version 2 payload rather than drop the
repository. A PostgreSQL repository is never in the backup (docs/repository.md).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import os
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._internal.fs import atomic_write_bytes, read_input
from ..errors import (
    InputError,
    KeyStoreCorrupt,
    KeyStoreError,
    KeyStoreExists,
    OutputExists,
    Remedy,
    UsageError,
    WrongPassphrase,
)
from ..repository.base import DEFAULT_FILENAME
from ._files import PRIVATE_MODE, Layout, now_utc
from ._index import parse_index
from ._material import load_store_key, require_passphrase
from ._pkcs8 import ScryptCost
from .config import KeyStoreConfig

MAGIC = b"PVKSBAK\0"
VERSION = 1
#: Payload layouts: 1 the store's files; 2 also the SQLite repository.
PAYLOAD_VERSIONS = (1, 2)
_HEADER = struct.Struct(">8sBBBB16s12s")
_PAYLOAD_FORMAT = "provenance-keystore-backup"
#: Restoring reads the whole backup into memory; a real store (keys, certificates, the
#: audit log) is far smaller.
MAX_BACKUP_BYTES = 1024 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class RestoredRepository:
    """The SQLite repository a restore put back, and where the one it replaced went."""

    path: Path
    records: int
    replaced: Path | None


def count_records(path: Path) -> int:
    """Signed records (reserved ids not counted) in the SQLite repository at ``path``."""
    with _open_sqlite(path) as db:
        return _count(db)


def write_backup(
    layout: Layout,
    destination: Path,
    secret: bytes,
    *,
    force: bool,
    config: KeyStoreConfig,
    repository: Path | None = None,
) -> Path:
    """Encrypt every file of the store, and the SQLite ``repository`` when given, into
    ``destination`` (atomic, mode 0600)."""
    if destination.exists() and not force:
        raise OutputExists(f"{destination} already exists")
    if destination.resolve().is_relative_to(layout.root.resolve()):
        raise UsageError("the backup must be written outside the key store directory")
    with layout.locked(config.lock_timeout_seconds):
        files = []
        for path in sorted(layout.root.rglob("*")):
            if path.is_file() and not path.name.endswith(".tmp"):
                files.append(
                    {
                        "path": path.relative_to(layout.root).as_posix(),
                        "mode": path.stat().st_mode & 0o777,
                        "data": base64.b64encode(layout.read(path)).decode(),
                    }
                )
        payload: dict[str, Any] = {
            "format": _PAYLOAD_FORMAT,
            "version": 1,
            "created_at": now_utc().isoformat(),
            "files": files,
        }
        details = {"file": str(destination), "files": str(len(files))}
        if repository is not None:
            data, records = _snapshot(repository)
            payload["version"] = 2
            payload["repository"] = {
                "name": DEFAULT_FILENAME,
                "mode": repository.stat().st_mode & 0o777,
                "records": records,
                "data": base64.b64encode(data).decode(),
            }
            details |= {"repository": str(repository), "records": str(records)}
        plaintext = json.dumps(payload).encode()
        if len(plaintext) + _HEADER.size + 16 > MAX_BACKUP_BYTES:
            raise UsageError(
                f"the backup would be {len(plaintext) // 2**20} MiB, more than restore reads "
                f"({MAX_BACKUP_BYTES // 2**20} MiB): back the repository up apart "
                "(docs/repository.md)",
                remedy=Remedy.NO_REPOSITORY,
            )
        blob = _seal(plaintext, secret, config.scrypt)
        try:
            atomic_write_bytes(destination, blob, PRIVATE_MODE)
        except OSError as exc:
            raise KeyStoreError(f"could not write {destination}: {exc.strerror}") from exc
        layout.append_audit("backup", None, details)
    return destination


def restore_backup(
    layout: Layout, source: Path, passphrase: str, *, force: bool, config: KeyStoreConfig
) -> RestoredRepository | None:
    """Replace the store with the backup in ``source``; the repository too, when the
    backup holds one (returned; None: it holds none, and a repository in the home is
    left as it is).

    The backup is decrypted, parsed and checked (index readable, root key decrypts, the
    repository opens) in a staging directory before the live store is touched. An existing
    store is moved aside to ``keystore.replaced-TIMESTAMP``, an existing repository copied
    aside to ``repository.replaced-TIMESTAMP.sqlite``: never deleted.
    """
    secret = require_passphrase(passphrase, "decrypt the backup")
    if layout.root.exists() and not force:
        raise KeyStoreExists(
            f"a key store already exists at {layout.root} (replacing it keeps the current "
            "store aside, never deletes it)",
            remedy=Remedy.REPLACE,
        )
    try:
        blob = read_input(Path(source), MAX_BACKUP_BYTES)
    except InputError as exc:
        raise InputError(f"{source}: cannot read the backup ({exc})") from None
    files, repository = _parse_payload(source, _open(source, blob, secret))
    target = layout.home / DEFAULT_FILENAME
    if repository is not None and target.exists() and not force:
        raise KeyStoreExists(
            f"a repository already exists at {target} (replacing it keeps the current "
            "one aside, never deletes it)",
            remedy=Remedy.REPLACE,
        )
    layout.home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".keystore.restore-", dir=layout.home))
    staged_repository: Path | None = None
    try:
        staged = Layout(layout.home, staging)
        for relpath, mode, data in files:
            target_file = staging / relpath
            target_file.parent.mkdir(parents=True, exist_ok=True)
            staged.write(target_file, data, mode)
        staged.make_dirs()
        index = parse_index(staged.index, staged.read(staged.index))
        load_store_key(staged, index.root.key_file, index.root.key_sha256, secret, "the root CA")
        records = 0
        if repository is not None:
            mode, data = repository
            staged_repository = layout.home / f".repository.restore-{os.getpid()}.sqlite"
            atomic_write_bytes(staged_repository, data, mode)
            try:
                records = count_records(staged_repository)
            except sqlite3.DatabaseError as exc:
                raise KeyStoreCorrupt(
                    f"{source}: the repository in the backup does not open ({exc}); "
                    "nothing was restored"
                ) from None
        aside: Path | None = None
        restored: RestoredRepository | None = None
        with layout.locked(config.lock_timeout_seconds):
            if layout.root.exists():
                if not force:
                    raise KeyStoreExists(f"a key store appeared at {layout.root} meanwhile")
                aside = _aside_name(layout)
                layout.root.rename(aside)
            staging.rename(layout.root)
            details = {"file": str(source)}
            if aside is not None:
                details["previous_store"] = str(aside)
            if staged_repository is not None:
                try:
                    replaced = _install_repository(staged_repository, target)
                except (OSError, sqlite3.DatabaseError) as exc:
                    layout.append_audit("restore", None, details | {"repository": "failed"})
                    raise KeyStoreError(
                        f"the key store was restored, but not the repository at {target} "
                        f"({exc}); restore again, replacing the key store",
                        remedy=Remedy.REPLACE,
                    ) from None
                restored = RestoredRepository(target, records, replaced)
                details |= {"repository": str(target), "records": str(records)}
                if replaced is not None:
                    details["previous_repository"] = str(replaced)
            layout.append_audit("restore", None, details)
        return restored
    except WrongPassphrase:
        shutil.rmtree(staging, ignore_errors=True)
        raise KeyStoreCorrupt(
            f"{source}: the backup opened but its root key does not decrypt with the same "
            "passphrase; the backup is inconsistent and was not restored"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if staged_repository is not None:
            staged_repository.unlink(missing_ok=True)


@contextlib.contextmanager
def _open_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """An existing SQLite file (never created), closed afterwards."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    try:
        yield db
    finally:
        db.close()


def _count(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT count(*) FROM records WHERE manifest IS NOT NULL").fetchone()
    return int(row[0])


def _snapshot(repository: Path) -> tuple[bytes, int]:
    """A consistent copy of the SQLite repository (its write-ahead log folded in) and its
    number of records: SQLite's backup API, not a copy of the file."""
    if not repository.is_file():
        raise UsageError(f"{repository}: no repository there to back up")
    try:
        with _open_sqlite(repository) as source:
            copy = sqlite3.connect(":memory:")
            try:
                source.backup(copy)
                records = _count(copy)
                return copy.serialize(), records
            finally:
                copy.close()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{repository}: not a usable repository to back up ({exc})") from None


def _install_repository(staged: Path, target: Path) -> Path | None:
    """Put the staged repository at ``target``; a repository already there is copied aside
    first (its aside path returned) and then overwritten through SQLite, so its write-ahead
    log and any open connection stay consistent."""
    if not target.exists():
        os.replace(staged, target)
        return None
    stamp = now_utc().strftime("%Y%m%dT%H%M%SZ")
    aside = target.with_name(f"repository.replaced-{stamp}.sqlite")
    counter = 1
    while aside.exists():
        counter += 1
        aside = target.with_name(f"repository.replaced-{stamp}-{counter}.sqlite")
    with _open_sqlite(target) as live:
        keep = sqlite3.connect(aside)
        try:
            live.backup(keep)
        finally:
            keep.close()
        os.chmod(aside, target.stat().st_mode & 0o777)
        with _open_sqlite(staged) as restored:
            restored.backup(live)
    return aside


def _aside_name(layout: Layout) -> Path:
    stamp = now_utc().strftime("%Y%m%dT%H%M%SZ")
    candidate = layout.home / f"keystore.replaced-{stamp}"
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = layout.home / f"keystore.replaced-{stamp}-{counter}"
    return candidate


def _seal(plaintext: bytes, secret: bytes, cost: ScryptCost) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = _HEADER.pack(MAGIC, VERSION, cost.log2_n, cost.r, cost.p, salt, nonce)
    key = cost.derive(secret, salt)
    return header + AESGCM(key).encrypt(nonce, plaintext, header)


def _open(source: Path, blob: bytes, secret: bytes) -> bytes:
    if len(blob) < _HEADER.size or not blob.startswith(MAGIC):
        raise InputError(f"{source}: not a provenance key store backup")
    _magic, version, log2_n, r, p, salt, nonce = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise InputError(
            f"{source}: backup format version {version} is not supported (this toolkit "
            f"reads version {VERSION})"
        )
    try:
        cost = ScryptCost(log2_n=log2_n, r=r, p=p)
    except ValueError:
        raise InputError(f"{source}: the backup header is damaged") from None
    header = blob[: _HEADER.size]
    try:
        return AESGCM(cost.derive(secret, salt)).decrypt(nonce, blob[_HEADER.size :], header)
    except InvalidTag:
        raise WrongPassphrase(
            f"the passphrase does not decrypt the backup {source} (or the file was altered)"
        ) from None


def _parse_payload(
    source: Path, plaintext: bytes
) -> tuple[list[tuple[str, int, bytes]], tuple[int, bytes] | None]:
    """The store's files (path, mode, bytes) and the repository (mode, bytes) if any."""

    def bad(what: str) -> InputError:
        return InputError(f"{source}: {what}")

    try:
        payload: Any = json.loads(plaintext)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad("the decrypted backup is not valid JSON") from None
    if not isinstance(payload, dict) or payload.get("format") != _PAYLOAD_FORMAT:
        raise bad("the decrypted backup is not a key store backup")
    if payload.get("version") not in PAYLOAD_VERSIONS or not isinstance(payload.get("files"), list):
        raise bad("the decrypted backup has an unsupported layout")
    files = []
    for entry in payload["files"]:
        try:
            relpath, mode = entry["path"], entry["mode"]
            data = base64.b64decode(entry["data"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            raise bad("a file entry in the backup is malformed") from None
        parts = Path(relpath).parts if isinstance(relpath, str) else ()
        if not parts or Path(relpath).is_absolute() or ".." in parts:
            raise bad(f"the backup names a path outside the store: {relpath!r}")
        if not isinstance(mode, int) or mode & ~0o777:
            raise bad(f"the backup has an invalid mode for {relpath!r}")
        files.append((relpath, mode, data))
    if not any(relpath == "index.json" for relpath, _, _ in files):
        raise bad("the backup has no index.json")
    repository: tuple[int, bytes] | None = None
    entry = payload.get("repository")
    if entry is not None:
        try:
            mode = entry["mode"]
            data = base64.b64decode(entry["data"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            raise bad("the repository entry in the backup is malformed") from None
        if not isinstance(mode, int) or mode & ~0o777:
            raise bad("the backup has an invalid mode for the repository")
        if not data.startswith(b"SQLite format 3\0"):
            raise bad("the repository in the backup is not a SQLite database")
        repository = (mode, data)
    return files, repository
