"""Watermark detection secrets: one JSON file, 0600, readable without a passphrase.

Detection runs unattended (batch verification, the HTTP API), so these secrets cannot
sit behind the signing passphrase. They only key the invisible watermark; none of
them can sign a C2PA manifest.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from pathlib import Path

from ..errors import IdentityNotFound, KeyStoreCorrupt, UsageError
from ._files import PRIVATE_MODE, Layout, StoreFiles, now_utc
from ._index import NAME_PATTERN
from .records import WatermarkKey

FORMAT = "provenance-watermark-keys"
VERSION = 1
SECRET_BYTES = 32
# The LLM watermark modes a key may record (provenance.watermark.llm.modes; not imported
# here, that package needs NumPy and SciPy). The field is optional within version 1: a key
# without it predates modes and reads as the only mode there was, LEGACY_LLM_MODE.
LLM_MODES = ("distortion-free", "green-list")
DEFAULT_LLM_MODE = "distortion-free"
LEGACY_LLM_MODE = "green-list"


def _path(layout: Layout) -> Path:
    return layout.watermark / "keys.json"


def _dump(default: str, keys: dict[str, WatermarkKey]) -> bytes:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "default": default,
        "keys": {
            name: {
                "secret": base64.b64encode(key.secret).decode(),
                "created_at": key.created_at.isoformat(),
                "llm_mode": key.llm_mode,
            }
            for name, key in sorted(keys.items())
        },
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def load_keys(layout: Layout) -> tuple[str, dict[str, WatermarkKey]]:
    """The default key's name and every key; KeyStoreCorrupt names a bad file."""
    path = _path(layout)
    data = layout.read(path)

    def bad(what: str) -> KeyStoreCorrupt:
        return KeyStoreCorrupt(f"{path}: {what}; it was left untouched")

    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad("not valid JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise bad("not a provenance watermark key file")
    if document.get("version") != VERSION:
        raise bad(f"version {document.get('version')!r} is not supported")
    default, raw_keys = document.get("default"), document.get("keys")
    if not isinstance(default, str) or not isinstance(raw_keys, dict):
        raise bad("'default' must be a string and 'keys' an object")
    keys = {}
    for name, raw in raw_keys.items():
        if not NAME_PATTERN.match(name) or not isinstance(raw, dict):
            raise bad(f"key {name!r} is malformed")
        try:
            secret = base64.b64decode(raw["secret"], validate=True)
            created = dt.datetime.fromisoformat(raw["created_at"])
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise bad(f"key {name!r} is malformed") from None
        if len(secret) != SECRET_BYTES:
            raise bad(f"key {name!r} is not {SECRET_BYTES} bytes long")
        llm_mode = raw.get("llm_mode", LEGACY_LLM_MODE)
        if llm_mode not in LLM_MODES:
            raise bad(f"key {name!r} records an unknown LLM watermark mode {llm_mode!r}")
        keys[name] = WatermarkKey(name, secret, created, llm_mode)
    if default not in keys:
        raise bad(f"the default key {default!r} is not in the file")
    return default, keys


def _new_key(name: str, llm_mode: str) -> WatermarkKey:
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"{name!r} is not a valid key name: use up to 64 letters, digits, '.', '_' or '-'"
        )
    if llm_mode not in LLM_MODES:
        raise UsageError(f"unknown LLM watermark mode {llm_mode!r} (valid: {', '.join(LLM_MODES)})")
    return WatermarkKey(name, secrets.token_bytes(SECRET_BYTES), now_utc(), llm_mode)


def write_initial(layout: Layout, name: str, llm_mode: str = DEFAULT_LLM_MODE) -> WatermarkKey:
    """A new key file holding one fresh default key."""
    key = _new_key(name, llm_mode)
    layout.write(_path(layout), _dump(name, {name: key}), PRIVATE_MODE)
    return key


def create_key(layout: Layout, name: str, llm_mode: str = DEFAULT_LLM_MODE) -> WatermarkKey:
    """Add a fresh key. The caller holds the lock."""
    key = _new_key(name, llm_mode)
    default, keys = load_keys(layout)
    if name in keys:
        raise UsageError(f"a watermark key named {name!r} already exists")
    keys[name] = key
    layout.write(_path(layout), _dump(default, keys), PRIVATE_MODE)
    return key


def find_key(layout: Layout, name: str | None) -> WatermarkKey:
    default, keys = load_keys(layout)
    wanted = default if name is None else name
    if wanted not in keys:
        known = ", ".join(sorted(keys)) or "none"
        raise IdentityNotFound(f"no watermark key named {wanted!r} (known: {known})")
    return keys[wanted]


class WatermarkKeys:
    """The watermark detection secrets: ``store.watermark_keys``. No passphrase: detection
    runs unattended (the file is 0600)."""

    def __init__(self, files: StoreFiles) -> None:
        self._files = files

    def get(self, name: str | None = None) -> WatermarkKey:
        """The named watermark secret, or the default one."""
        return find_key(self._files.layout, name)

    def create(self, name: str) -> WatermarkKey:
        """A fresh secret under ``name``."""
        with self._files.locked():
            key = create_key(self._files.layout, name)
            self._files.audit("watermark-key-create", None, {"key": name})
        return key

    # Last: below this method, ``list`` in an annotation would name it.
    def list(self) -> list[WatermarkKey]:
        """Every watermark secret, by name."""
        _, keys = load_keys(self._files.layout)
        return [keys[name] for name in sorted(keys)]
