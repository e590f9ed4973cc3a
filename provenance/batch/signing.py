"""Signing as a batch job: ``SignJob`` signs one file into the output folder.

Each worker (a pool process, or a thread of a Dask worker) builds one ``ContentSigner``
for the batch: it unlocks the signing key (and the store's time-stamping key) once, opens
the repository once and starts its loopback time-stamp responder once, then signs every
file it is given with them. The signer is dropped, and its responder stopped, when the
batch ends (``release``); the unlocked key never outlives the batch in a worker.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import ClassVar

from provenance._internal.fs import (
    check_input,
    check_output,
    output_error,
)
from provenance._internal.text import safe_text
from provenance.batch.job import FileJob, failure
from provenance.batch.many import SignOutcome, SignSettings, SignStatus
from provenance.errors import OutputRefused, ProvenanceError
from provenance.home import default_repository, watermark_secret
from provenance.keystore import KeyStore
from provenance.repository import open_repository
from provenance.signing.session import ContentSigner
from provenance.signing.sign import check_sidecar_output, open_asset, sidecar_path

__all__ = ["SignJob", "mirrored", "prepare", "signers_built"]

log = logging.getLogger(__name__)

#: Batches whose signers a process keeps at once: a Dask worker serves one client's batch
#: after another, and a client that vanished never released its own.
_KEPT_BATCHES = 2
_lock = threading.Lock()
_signers: dict[tuple[str, int], ContentSigner] = {}  # by (batch, thread)
_signers_pid: int | None = None
_built = 0


def prepare(out_dir: Path, settings: SignSettings) -> tuple[Path, str]:
    """Check, before the passphrase is asked for, what every file of the batch needs: the
    output folder (made when missing), the key store, the watermark key and the
    repository. Returns the output folder and the repository's location."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputRefused(f"{out_dir}: is not a directory (the output folder)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(out_dir, exc) from None
    check_output(out_dir / ".prov-check", force=False)  # can files be made there?
    store = KeyStore.open(settings.home)
    location = settings.repository or str(default_repository(settings.home))
    if settings.watermark:
        watermark_secret(store, settings.watermark_key)
        open_repository(location).close()
    return out_dir, location


def mirrored(path: Path) -> Path:
    """Where the signed copy of ``path`` goes under the output folder: the path as given,
    made relative (the root and leading ``..`` dropped, as tar does)."""
    normal = Path(os.path.normpath(path))
    parts = normal.parts[1:] if normal.anchor else normal.parts
    while parts and parts[0] == os.pardir:
        parts = parts[1:]
    if not parts:
        raise OutputRefused(f"{path}: names no file to write under the output folder")
    return Path(*parts)


@dataclasses.dataclass(frozen=True)
class SignJob(FileJob[SignOutcome]):
    """Sign each file with ``settings`` into ``out_dir`` (``mirrored``); ``batch`` tells
    one batch's signers from another's in a worker, ``cwd`` is where relative names (of
    inputs and outputs) are found: set for a Dask cluster, whose workers have working
    directories of their own. Outcomes name files as given."""

    what: ClassVar[str] = "signer"
    result_type: ClassVar[type[SignOutcome]] = SignOutcome
    release_on_workers: ClassVar[bool] = True
    #: c2pa-rs's HTTP client (which posts to the loopback time-stamp responder) does not
    #: survive a fork once this process has signed: workers start as fresh interpreters.
    start_method: ClassVar[str] = "spawn"

    settings: SignSettings
    out_dir: Path
    passphrase: str = dataclasses.field(repr=False)
    batch: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    cwd: str | None = None

    def check(self) -> None:
        """Unlock here, once, so that a wrong passphrase or an unusable identity is one
        error before any file; in this process the signer then serves the batch."""
        self._signer()

    def run(self, path: Path) -> SignOutcome:
        given = Path(path)
        output: Path | None = None
        try:
            output = self.out_dir / mirrored(given)
            return self._sign(given, output)
        except ProvenanceError as exc:
            status = SignStatus.for_exit_code(exc.exit_code)
            message = exc.diagnostics()
            if output is not None and self.cwd is not None:  # name the output as given
                message = message.replace(str(self._here(output)), str(output))
            remedy = str(exc.remedy) if exc.remedy else None
            return SignOutcome.make(given, output, status=status, error=message, remedy=remedy)
        except Exception as exc:  # a fault of this file alone must not end the batch
            log.debug("signing %s failed", safe_text(given, 4096), exc_info=True)
            return failure(self, given, exc)

    def _here(self, path: Path) -> Path:
        """``path`` as this worker opens it: against the client's working directory."""
        return Path(self.cwd, path) if self.cwd is not None else path

    def _sign(self, given: Path, output: Path) -> SignOutcome:
        source, target = self._here(given), self._here(output)
        force = self.settings.force
        # Input errors do not name the file (the outcome does), as in verify's reports.
        check_input(source)  # before anything is made for it
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(target, exc) from None
        check_output(target, force=force, source=source)
        sidecar = self.settings.sidecar
        if sidecar:
            check_sidecar_output(target, force=force)
        signer = self._signer()
        # Audio and video stay on disk and are signed from a stream, as with one file.
        asset = open_asset(source, limits=self.settings.limits)
        signed = signer.sign_file(asset, target, force=force, sidecar=sidecar)
        record = f"{signed.record_id:016x}" if signed.record_id is not None else None
        stamped = signer.time_stamp_authority
        signer.store.audit_event(
            "sign",
            identity=signer.identity,
            output=str(target),
            media_type=signed.media_type,
            record=record or "",
            time_stamp=stamped or "",
        )
        return SignOutcome.make(
            given,
            output,
            status=SignStatus.SIGNED,
            media_type=signed.media_type,
            record=record,
            signer=signer.identity,
            time_stamp=stamped,
            size=signed.size,
            manifest=str(sidecar_path(output)) if sidecar else None,
        )

    def failed(self, path: Path | str, message: str) -> SignOutcome:
        try:
            output: Path | None = self.out_dir / mirrored(Path(path))
        except OutputRefused:
            output = None
        return SignOutcome.make(path, output, status=SignStatus.FAILED, error=message)

    def warm_up(self) -> None:
        self._signer()

    def release(self) -> None:
        with _lock:
            mine = [key for key in _signers if key[0] == self.batch]
            dropped = [_signers.pop(key) for key in mine]
        for signer in dropped:
            signer.close()

    def on_cluster(self) -> SignJob:
        settings, location = self.settings, self.settings.repository
        if location is not None and "://" not in location:
            location = os.path.abspath(location)
        settings = dataclasses.replace(
            settings, home=Path(os.path.abspath(settings.home)), repository=location
        )
        return dataclasses.replace(self, settings=settings, cwd=os.getcwd())

    def worker_problem(self, worker: str) -> str | None:
        home, location = self.settings.home, self.settings.repository
        if not KeyStore.exists(home):
            return (
                f"the key store {safe_text(home, 4096)} is not on Dask worker {worker}: "
                "workers sign with the key store at the same path"
            )
        out_dir = self._here(self.out_dir)
        if not out_dir.is_dir():
            return (
                f"the output folder {safe_text(out_dir, 4096)} is not on Dask worker "
                f"{worker}: workers write the signed copies at the same path (a shared "
                "filesystem)"
            )
        repository = location.removeprefix("sqlite://") if location else None
        local = repository is not None and "://" not in repository
        if self.settings.watermark and local and not os.path.isfile(str(repository)):
            return (
                f"the manifest repository {safe_text(repository, 4096)} is not on Dask "
                f"worker {worker}: every worker must store its records in the same "
                "repository (a postgresql:// URL when the workers are on other machines)"
            )
        return None

    def _signer(self) -> ContentSigner:
        """This thread's signer for this batch, built (and the key unlocked) once."""
        global _signers_pid, _built
        key = (self.batch, threading.get_ident())
        with _lock:
            if _signers_pid != os.getpid():  # a forked worker: its parent's are not its own
                _signers.clear()
                _signers_pid = os.getpid()
            signer = _signers.get(key)
        if signer is not None:
            return signer
        signer = self._open()
        with _lock:
            _signers[key] = signer
            _built += 1
            stale = _stale_batches(self.batch)
            dropped = [_signers.pop(k) for k in list(_signers) if k[0] in stale]
        for old in dropped:
            old.close()
        return signer

    def _open(self) -> ContentSigner:
        settings = self.settings
        return ContentSigner(
            settings.home,
            self.passphrase,
            identity=settings.identity,
            model=settings.model,
            model_version=settings.model_version,
            training_mining=settings.training_mining,
            watermark=settings.watermark,
            watermark_key=settings.watermark_key,
            repository=settings.repository,
            tsa_url=settings.tsa_url,
            time_stamp=settings.time_stamp,
            limits=settings.limits,
            audit=False,  # the job writes each event itself, naming the output
            parent=self._here(settings.parent) if settings.parent is not None else None,
            ai_edit=settings.ai_edit,
            keep_invalid_history=settings.keep_invalid_history,
            assertions=settings.assertions,
        )


def _stale_batches(current: str) -> set[str]:
    """Batches beyond the ``_KEPT_BATCHES`` most recent (call with ``_lock`` held)."""
    order: list[str] = []
    for batch, _ in _signers:  # insertion order: oldest first
        if batch not in order:
            order.append(batch)
    keep = set(order[-_KEPT_BATCHES:]) | {current}
    return set(order) - keep


def signers_built() -> int:
    """How many signers (key unlocks) this process has built; tests check reuse with it."""
    return _built
