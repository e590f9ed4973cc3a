"""The server's limits and secrets in one typed, validated object, and its API tokens.

Tokens are random 256-bit strings handed to clients once; the home keeps only their
SHA-256 (a fast hash suffices for a high-entropy secret, unlike a password), one
``name sha256:HEX`` a line in ``HOME/server/tokens``, 0600.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from provenance._internal.fs import atomic_write_bytes
from provenance.errors import UsageError

__all__ = ["ServerSettings", "create_token", "hash_token", "load_token_hashes", "tokens_file"]

_PREFIX = "sha256:"


def tokens_file(home: Path) -> Path:
    return home / "server" / "tokens"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return _PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_token_hashes(home: Path) -> dict[str, str]:
    """Stored token hash -> token name; empty when no token was ever created."""
    path = tokens_file(home)
    if not path.exists():
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].startswith(_PREFIX):
            raise UsageError(f"{path}:{number}: expected 'NAME sha256:HEX'")
        found[parts[1]] = parts[0]
    return found


def create_token(home: Path, name: str) -> str:
    """A new token for client ``name``; only its hash is stored."""
    if not name or any(ch.isspace() for ch in name):
        raise UsageError("a token name must be one word")
    existing = load_token_hashes(home)
    if name in existing.values():
        raise UsageError(f"a token named {name!r} already exists")
    token = secrets.token_urlsafe(32)
    lines = [f"{n} {h}" for h, n in existing.items()] + [f"{name} {hash_token(token)}"]
    path = tokens_file(home)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o600)
    return token


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Everything ``create_app`` needs; validated on construction."""

    home: Path
    max_upload_bytes: int = 50 * 1024 * 1024
    request_timeout_seconds: float = 60.0
    max_concurrency: int = 4
    # Stored token hash -> client name (see ``load_token_hashes``).
    token_hashes: dict[str, str] = dataclasses.field(default_factory=dict)
    # Signing: identity (None = the store's default) and its passphrase; no passphrase
    # means /v1/sign answers 503.
    identity: str | None = None
    passphrase: str | None = dataclasses.field(default=None, repr=False)
    # A SQLite path or a postgresql:// URL; default: HOME/repository.sqlite.
    repository: str | Path | None = None
    # One line per request on the ``provenance.server.access`` logger (INFO): method, path
    # (never the query), status, response bytes, milliseconds; never a body or a header.
    access_log: bool = True

    def __post_init__(self) -> None:
        if self.max_upload_bytes <= 0:
            raise ValueError("max_upload_bytes must be positive")
        if self.request_timeout_seconds <= 0:
            raise ValueError("request_timeout_seconds must be positive")
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")

    @classmethod
    def from_home(cls, home: Path, **overrides: Any) -> ServerSettings:
        """Settings with the tokens stored under ``home``."""
        return cls(home=home, token_hashes=load_token_hashes(home), **overrides)

    def token_name(self, token: str) -> str | None:
        """The client a presented token belongs to, compared in constant time."""
        presented = hash_token(token)
        name = None
        for stored, client in self.token_hashes.items():
            if hmac.compare_digest(stored, presented):
                name = client
        return name
