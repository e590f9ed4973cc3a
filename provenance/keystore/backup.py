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
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import struct
import tempfile
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
    UsageError,
    WrongPassphrase,
)
from ._files import PRIVATE_MODE, Layout, now_utc
from ._index import parse_index
from ._material import load_store_key, require_passphrase
from ._pkcs8 import ScryptCost
from .config import KeyStoreConfig

__all__ = ["MAGIC", "restore_backup", "write_backup"]

MAGIC = b"PVKSBAK\0"
VERSION = 1
_HEADER = struct.Struct(">8sBBBB16s12s")
_PAYLOAD_FORMAT = "provenance-keystore-backup"
#: Restoring reads the whole backup into memory; a real store (keys, certificates, the
#: audit log) is far smaller.
MAX_BACKUP_BYTES = 1024 * 1024 * 1024


def write_backup(
    layout: Layout, destination: Path, secret: bytes, *, force: bool, config: KeyStoreConfig
) -> Path:
    """Encrypt every file of the store into ``destination`` (atomic, mode 0600)."""
    if destination.exists() and not force:
        raise OutputExists(f"{destination} already exists; pass --force to overwrite it")
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
        payload = {
            "format": _PAYLOAD_FORMAT,
            "version": VERSION,
            "created_at": now_utc().isoformat(),
            "files": files,
        }
        blob = _seal(json.dumps(payload).encode(), secret, config.scrypt)
        try:
            atomic_write_bytes(destination, blob, PRIVATE_MODE)
        except OSError as exc:
            raise KeyStoreError(f"could not write {destination}: {exc.strerror}") from exc
        layout.append_audit("backup", None, {"file": str(destination), "files": str(len(files))})
    return destination


def restore_backup(
    layout: Layout, source: Path, passphrase: str, *, force: bool, config: KeyStoreConfig
) -> None:
    """Replace the store with the backup in ``source``.

    The backup is decrypted, parsed and checked (index readable, root key decrypts) in
    a staging directory before the live store is touched. An existing store is moved
    aside to ``keystore.replaced-TIMESTAMP``, never deleted.
    """
    secret = require_passphrase(passphrase, "decrypt the backup")
    if layout.root.exists() and not force:
        raise KeyStoreExists(
            f"a key store already exists at {layout.root}; pass --force to replace it "
            "(the current store is kept aside, not deleted)"
        )
    try:
        blob = read_input(Path(source), MAX_BACKUP_BYTES)
    except InputError as exc:
        raise InputError(f"{source}: cannot read the backup ({exc})") from None
    files = _parse_payload(source, _open(source, blob, secret))
    layout.home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".keystore.restore-", dir=layout.home))
    try:
        staged = Layout(layout.home, staging)
        for relpath, mode, data in files:
            target = staging / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.write(target, data, mode)
        staged.make_dirs()
        index = parse_index(staged.index, staged.read(staged.index))
        load_store_key(staged, index.root.key_file, index.root.key_sha256, secret, "the root CA")
        aside: Path | None = None
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
            layout.append_audit("restore", None, details)
    except WrongPassphrase:
        shutil.rmtree(staging, ignore_errors=True)
        raise KeyStoreCorrupt(
            f"{source}: the backup opened but its root key does not decrypt with the same "
            "passphrase; the backup is inconsistent and was not restored"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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


def _parse_payload(source: Path, plaintext: bytes) -> list[tuple[str, int, bytes]]:
    def bad(what: str) -> InputError:
        return InputError(f"{source}: {what}")

    try:
        payload: Any = json.loads(plaintext)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad("the decrypted backup is not valid JSON") from None
    if not isinstance(payload, dict) or payload.get("format") != _PAYLOAD_FORMAT:
        raise bad("the decrypted backup is not a key store backup")
    if payload.get("version") != VERSION or not isinstance(payload.get("files"), list):
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
    return files
