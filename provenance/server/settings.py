"""The server's limits and secrets in one typed, validated object, and its API tokens.

Tokens are random 256-bit strings handed to clients once; the home keeps only their
SHA-256 (a fast hash suffices for a high-entropy secret, unlike a password), one
``name sha256:HEX`` a line in ``HOME/server/tokens``, 0600. A server started with
``from_home`` reads that file again whenever it changes, so a token created or revoked
while it runs counts from the next request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import secrets
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from provenance._internal.fs import atomic_write_bytes
from provenance.errors import UsageError

log = logging.getLogger(__name__)
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
    _write_tokens(home, {**existing, hash_token(token): name})
    return token


def revoke_token(home: Path, name: str) -> None:
    """Remove client ``name``'s token; a server reading ``home`` refuses it from its next
    request on."""
    existing = load_token_hashes(home)
    if name not in existing.values():
        raise UsageError(f"no token named {name!r} in {tokens_file(home)}")
    _write_tokens(home, {h: n for h, n in existing.items() if n != name})


def _write_tokens(home: Path, hashes: dict[str, str]) -> None:
    lines = [f"{n} {h}\n" for h, n in hashes.items()]
    path = tokens_file(home)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write_bytes(path, "".join(lines).encode("utf-8"), mode=0o600)


class _TokenFile:
    """The tokens file's hashes, read again whenever the file changes (its inode, size or
    modification time), so that a token created or revoked while the server runs counts
    from the next request. A file that cannot be read accepts no token (fail closed)."""

    def __init__(self, home: Path) -> None:
        self._home = home
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._hashes: dict[str, str] = {}

    def hashes(self) -> dict[str, str]:
        try:
            info = os.stat(tokens_file(self._home))
            seen = (info.st_ino, info.st_size, info.st_mtime_ns)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("API tokens unreadable, none accepted: %s", exc)
            return {}
        with self._lock:
            if seen != self._seen:
                try:
                    self._hashes = load_token_hashes(self._home)
                except (OSError, UnicodeError, UsageError) as exc:
                    log.warning("API tokens unreadable, none accepted: %s", exc)
                    self._hashes = {}
                self._seen = seen
            return self._hashes


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Everything ``create_app`` needs; validated on construction."""

    home: Path
    max_upload_bytes: int = 50 * 1024 * 1024
    request_timeout_seconds: float = 60.0
    max_concurrency: int = 4
    # Stored token hash -> client name (see ``load_token_hashes``); with ``from_home``, as
    # read at start-up: requests are checked against HOME/server/tokens as it is then.
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
    # The address clients reach this server at (``https://provenance.example.org``), the
    # ``endpoint`` of soft-binding matches; default: the address the request came in on
    # (the listening socket's, never the client's Host header).
    public_url: str | None = None
    _token_file: _TokenFile | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_upload_bytes <= 0:
            raise ValueError("max_upload_bytes must be positive")
        if self.request_timeout_seconds <= 0:
            raise ValueError("request_timeout_seconds must be positive")
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if self.public_url is not None:
            object.__setattr__(self, "public_url", _checked_url(self.public_url))

    @classmethod
    def from_home(cls, home: Path, **overrides: Any) -> ServerSettings:
        """Settings with the tokens stored under ``home``, read again when they change."""
        # Read once now (a malformed file stops here, with its line), then as it changes.
        hashes = load_token_hashes(home)
        return cls(home=home, token_hashes=hashes, _token_file=_TokenFile(home), **overrides)

    def token_name(self, token: str) -> str | None:
        """The client a presented token belongs to, compared in constant time."""
        presented = hash_token(token)
        hashes = self._token_file.hashes() if self._token_file else self.token_hashes
        name = None
        for stored, client in hashes.items():
            if hmac.compare_digest(stored, presented):
                name = client
        return name


def _checked_url(url: str) -> str:
    """``url`` without a trailing slash; ``ValueError`` unless it is an http(s) address
    with a host and nothing after the path."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"public_url must be an http:// or https:// address, not {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("public_url takes no query, fragment or credentials")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise ValueError(f"public_url has an invalid port: {url!r}") from None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
