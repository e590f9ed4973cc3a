"""Stripped credentials recovered: watermark payload -> repository record -> its manifest.

A recovered manifest is validated on its own (c2pa-rs reads the bare manifest store):
its signature, certificate chain and assertion hashes must hold. Its hard binding cannot,
having no content to check; ``provenance.verify.verdict`` sets that expected mismatch aside.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from provenance.credentials.read import CredentialReader
from provenance.credentials.softbinding import SoftBinding, soft_bindings
from provenance.credentials.store import ManifestStore
from provenance.errors import RepositoryError, UsageError
from provenance.repository import Record, Repository, open_repository

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Recovered:
    """A repository record, its manifest store as validated on its own, and whether that
    manifest declares the soft binding the record is stored under."""

    record: Record
    store: ManifestStore
    declares_mark: bool


class RecordLookup:
    """Looks watermark payloads up in a repository; one per process (or worker).

    The repository is opened on first use, so a worker that never finds a mark never
    opens it.
    """

    def __init__(self, location: str | None, reader: CredentialReader) -> None:
        self.location = location
        self._repository: Repository | None = None
        self._reader = reader

    @property
    def available(self) -> bool:
        return self.location is not None

    def find(self, alg: str, payload: bytes) -> Recovered | None:
        """The record ``payload`` names, validated; None when there is none.

        ``RepositoryError`` when the repository cannot be read (a server lost, after the
        backend's bounded reconnect, or gone when first opened here): the verifier
        reports that file as an ``error``."""
        if self.location is None or len(payload) != 8:
            return None
        try:
            if self._repository is None:
                self._repository = open_repository(self.location)
            record = self._repository.get(int.from_bytes(payload, "big"))
        except RepositoryError as exc:
            # Checked before the batch (``check_repository``): lost since, it is this
            # file's failure, not the batch's (a server that dropped, after the backend's
            # bounded reconnect).
            raise RepositoryError(
                f"the manifest repository could not be read: {exc.diagnostics()}"
            ) from None
        if record is None:
            return None
        store = self._reader.read(record.manifest, "application/c2pa")
        if store is None:  # an empty or foreign blob in the repository
            return None
        declares = SoftBinding.for_payload(alg, payload) in soft_bindings(store)
        if not declares:
            log.warning("record %s lacks the soft binding it is stored under", record.record_hex)
        return Recovered(record, store, declares)


def check_repository(location: str) -> None:
    """Open ``location`` and read from it once; ``UsageError`` naming it when that fails.

    Run before a batch, so that a missing or corrupt repository is one usage error rather
    than a failure per file. Verification never creates a repository: a path that does
    not exist is refused. A PostgreSQL URL is connected to (a server that cannot be
    reached, or a password it does not take, is the usage error) and read without
    creating anything: a database whose tables were never made reads as empty.
    """
    text = str(location)
    if not text.startswith(("postgresql://", "postgres://")):
        local = text.removeprefix("sqlite://") if text.startswith("sqlite:///") else text
        if "://" not in local and not Path(local).exists():
            raise UsageError(f"{location}: no repository there")
    try:
        repository = open_repository(location)
        try:
            repository.get(0)
        finally:
            close = getattr(repository, "close", None)
            if close is not None:
                close()
    except UsageError:
        raise
    except Exception as exc:
        message = exc.diagnostics() if hasattr(exc, "diagnostics") else str(exc)
        raise UsageError(f"the repository cannot be opened: {message}") from None
