"""Where signatures get their time: the store's own time-stamping authority, or an
external one reached over HTTP, behind one interface."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from provenance.errors import TimeStampError, UsageError

from .protocol import (
    Stamp,
    TimeStampRequest,
    build_response,
    check_response,
    make_request,
    random_serial,
    read_response,
)

log = logging.getLogger(__name__)

#: The time-stamp policy of the store's own authority: an OID under 2.25 (ITU-T X.667),
#: which needs no registration.
TSA_POLICY = "2.25.266193127553164787011693457219347623841"


class Authority(Protocol):
    """Answers time-stamp requests (DER in, DER out) and names itself for messages."""

    @property
    def name(self) -> str: ...

    @property
    def self_checked(self) -> bool:
        """True when the answers come from this toolkit's own code (no need to check)."""
        ...

    def answer(self, request: TimeStampRequest) -> bytes: ...


@dataclasses.dataclass
class LocalAuthority:
    """The key store's time-stamping authority, signing in this process."""

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    chain: list[x509.Certificate]  # the TSA's certificate first
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    name: str = "the key store's time-stamping authority"
    self_checked: bool = True

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def answer(self, request: TimeStampRequest) -> bytes:
        # The token carries the TSA's certificate alone: its root is a trust anchor of
        # every verifier that can trust it, and c2pa-rs validates a token without the root
        # markedly faster (measured by hand while building this; the issue note has it).
        with self._lock:  # one signature at a time, whatever thread asks
            return build_response(
                request,
                self.key,
                self.chain[:1],
                policy=TSA_POLICY,
                serial=random_serial(),
                now=self.clock(),
            )


@dataclasses.dataclass(frozen=True)
class ExternalAuthority:
    """An RFC 3161 service at ``url`` (HTTP POST of ``application/timestamp-query``);
    ``UsageError`` at once for anything but an http(s) URL with a host."""

    url: str
    timeout: float = 10.0
    self_checked: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", check_url(self.url))

    @property
    def name(self) -> str:
        return f"the time-stamping authority at {self.url}"

    def answer(self, request: TimeStampRequest) -> bytes:
        post = urllib.request.Request(
            self.url,
            data=request.der,
            headers={"Content-Type": "application/timestamp-query"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(post, timeout=self.timeout) as reply:
                body: bytes = reply.read(1 << 20)
        except urllib.error.HTTPError as exc:
            raise TimeStampError(f"answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TimeStampError(f"cannot be reached ({reason})") from None
        return body


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; UsageError otherwise."""
    text = url.strip()
    parts = urlsplit(text)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text)
    ):
        raise UsageError(
            f"{url!r} is not a time-stamping authority URL: give an http:// or https:// "
            "URL with a host, e.g. https://timestamp.example.com/tsa"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise UsageError(f"{url!r} has an invalid port") from None
    return text


def stamp(authority: Authority, message: bytes) -> Stamp:
    """A checked time-stamp over ``message`` from ``authority``."""
    request = make_request(message)
    try:
        answer = authority.answer(request)
        if authority.self_checked:
            return read_response(answer)
        return check_response(answer, request)
    except TimeStampError as exc:
        raise TimeStampError(f"{authority.name}: {exc}") from None
