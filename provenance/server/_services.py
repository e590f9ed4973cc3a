"""What the app builds once at startup: verifier, signing session, repository, worker threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from provenance.errors import (
    InputError,
    InvalidParent,
    ProvenanceError,
    Remedy,
    UnsupportedMedia,
    UsageError,
)
from provenance.home import default_repository, verify_config_for_home
from provenance.keystore import KeyStore
from provenance.kinds import MediaKind, identify, identify_stream
from provenance.kinds.media import Limits
from provenance.repository import Repository, open_repository
from provenance.server.errors import ApiError
from provenance.server.settings import ServerSettings
from provenance.signing.session import ContentSigner
from provenance.signing.settings import SignSettings
from provenance.verify.verifier import Verifier

log = logging.getLogger(__name__)

T = TypeVar("T")


class Workers:
    """At most ``size`` jobs at once in worker threads; more are refused (503), and a
    job slower than ``timeout`` is answered 504 (its thread finishes in the background
    and keeps its slot until then, so the limit stays honest)."""

    def __init__(self, size: int, timeout: float) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix="provenance")
        self._size = size
        self._timeout = timeout
        self._busy = 0
        self._lock = threading.Lock()

    def _release(self, _: object) -> None:
        with self._lock:
            self._busy -= 1

    async def run(self, job: Callable[[], T]) -> T:
        with self._lock:
            if self._busy >= self._size:
                raise ApiError(503, "server busy; retry shortly", {"Retry-After": "1"})
            self._busy += 1
        try:
            future = self._pool.submit(job)
        except RuntimeError:
            self._release(None)
            raise ApiError(503, "server shutting down") from None
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self._timeout)
        except TimeoutError:
            raise ApiError(504, f"processing took longer than {self._timeout:g} s") from None
        except ProvenanceError as exc:
            raise ApiError(_status_of(exc), _with_hint(exc)) from None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


#: The library's remedies in this API's own terms (the CLI names its flags instead).
_HINTS = {
    Remedy.NO_WATERMARK: "watermark=false signs it without the watermark",
}


def _with_hint(exc: ProvenanceError) -> str:
    hint = _HINTS.get(exc.remedy) if exc.remedy else None
    return f"{exc.diagnostics()} ({hint})" if hint else exc.diagnostics()


def _status_of(exc: ProvenanceError) -> int:
    if isinstance(exc, UnsupportedMedia):
        return 415
    if isinstance(exc, InputError | UsageError | InvalidParent):
        return 422  # the upload (or the request) is what cannot be signed
    return 500


def check_media(data: bytes) -> tuple[MediaKind, str]:
    """The kind and sniffed media type of a supported upload; 415 otherwise."""
    try:
        return identify(data)
    except UnsupportedMedia as exc:
        raise ApiError(415, exc.diagnostics()) from None


def check_media_file(path: Path) -> tuple[MediaKind, str]:
    """``check_media`` for an upload in a file, from its first bytes."""
    try:
        with path.open("rb") as stream:
            return identify_stream(stream)
    except UnsupportedMedia as exc:
        raise ApiError(415, exc.diagnostics()) from None


class Services:
    """The long-lived objects behind the endpoints."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        home = settings.home
        location = settings.repository or default_repository(home)
        self.limits = Limits(max_file_bytes=settings.max_upload_bytes)
        self.has_key_store = KeyStore.exists(home)
        #: The signing session of ``/v1/sign`` (None: this server does not sign).
        self.signer: ContentSigner | None = None
        self.sign_unavailable = "signing is disabled: the server was started without a passphrase"
        if self.has_key_store and settings.passphrase:
            # Unlock once at startup: a wrong passphrase stops the server, not a request.
            sign = SignSettings(
                identity=settings.identity, repository=str(location), limits=self.limits
            )
            self.signer = ContentSigner(home, settings.passphrase, sign)
        elif not self.has_key_store:
            self.sign_unavailable = "signing is disabled: no key store in the server's home"
        self.repository: Repository | None = None
        # Serving only verification never creates a SQLite file; a URL is opened as given.
        is_url = "://" in str(location) and not str(location).startswith("sqlite://")
        if self.signer is not None or is_url or Path(location).exists():
            self.repository = open_repository(location)
        config = verify_config_for_home(home)
        config = dataclasses.replace(config, repository=str(location) if self.repository else None)
        self.verifier = Verifier(dataclasses.replace(config, limits=self.limits))
        self.workers = Workers(settings.max_concurrency, settings.request_timeout_seconds)

    def manifest_json(self, path: Path) -> dict[str, Any] | None:
        """The full manifest store of the upload in ``path`` as c2pa-rs reports it, or
        None (also when it cannot be read: the report says why)."""
        try:
            store = self.verifier.manifest_store(path)
        except InputError:
            return None
        return store.store if store is not None else None
