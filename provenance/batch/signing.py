"""Signing as a batch job: ``SignJob`` signs one file into the output folder.

Each worker (a pool process, or a thread of a Dask worker) opens one signing session
(``ContentSigner``) for the batch from the batch's ``SignSettings``: it unlocks the
signing key (and the store's time-stamping key) once, opens the repository once and
starts its loopback time-stamp responder once, then signs every file it is given with
them, each with its audit line. The session is closed, and its responder stopped, when
the batch ends (``release``); the unlocked key never outlives the batch in a worker.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from provenance._internal.fs import (
    check_input,
    check_output,
    output_error,
)
from provenance._internal.text import safe_text
from provenance.batch.job import FileJob, failure
from provenance.batch.outputs import SignOutcome, SignStatus, mirrored
from provenance.credentials.read import sidecar_path
from provenance.errors import (
    InputError,
    OutputExists,
    OutputRefused,
    ProvenanceError,
    RepositoryError,
    RepositoryUnreachable,
)
from provenance.keystore import KeyStore
from provenance.kinds import open_content
from provenance.kinds.media import Limits
from provenance.signing.session import ContentSigner
from provenance.signing.settings import SignSettings
from provenance.signing.sign import check_sidecar_output, open_asset

log = logging.getLogger(__name__)

#: Batches whose signers a process keeps at once: a Dask worker serves one client's batch
#: after another, and a client that vanished never released its own.
_KEPT_BATCHES = 2
_lock = threading.Lock()
_signers: dict[tuple[str, int], ContentSigner] = {}  # by (batch, thread)
_signers_pid: int | None = None
_built = 0


def output_folder(out_dir: Path) -> Path:
    """The output folder, made when missing and checked before the passphrase is asked
    for: a file there, or a folder where nothing can be made, is refused."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputRefused(f"{out_dir}: is not a directory (the output folder)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(out_dir, exc) from None
    check_output(out_dir / ".prov-check", force=False)  # can files be made there?
    return out_dir


def open_session(
    settings: SignSettings, passphrase: str | Callable[[], str]
) -> tuple[ContentSigner, str]:
    """The session this process signs the batch with, and the passphrase it was unlocked
    with (which the workers need): the session checks everything first, then asks."""
    asked: list[str] = []

    def ask() -> str:
        asked.append(passphrase() if callable(passphrase) else passphrase)
        return asked[0]

    assert settings.home is not None
    return ContentSigner(settings.home, ask, settings), asked[0]


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
    #: An output that exists is this file's ``skipped`` outcome (exit 0), not ``refused``:
    #: a batch run again after an interruption signs only what it had not yet signed.
    skip_existing: bool = False

    @property
    def home(self) -> Path:
        """The key store's folder: the settings of a session always name it."""
        if self.settings.home is None:
            raise ValueError("a batch's settings name the key store's folder (home)")
        return self.settings.home

    def adopt(self, session: ContentSigner) -> None:
        """Sign this batch in this thread with ``session``, opened (and unlocked) by the
        caller before any file: a wrong passphrase or an unusable identity is one error
        then, and in this process that unlock serves the batch."""
        global _built
        with _lock:
            self._forget_if_forked()
            _signers[(self.batch, threading.get_ident())] = session
            _built += 1

    def run(self, path: Path) -> SignOutcome:
        given = Path(path)
        output: Path | None = None
        # What the input is, for every outcome (a tally by kind), whatever becomes of it.
        media_type = _media_type(self._here(given), self.settings.limits)
        try:
            output = self.out_dir / mirrored(given)
            return self._sign(given, output, media_type)
        except ProvenanceError as exc:
            status = SignStatus.for_exit_code(exc.exit_code)
            # The outcome names the input: a message naming it again drops that.
            message = exc.diagnostics().removeprefix(f"{self._here(given)}: ")
            if output is not None and self.cwd is not None:  # name the output as given
                message = message.replace(str(self._here(output)), str(output))
            remedy = str(exc.remedy) if exc.remedy else None
            return SignOutcome.make(
                given, output, status=status, media_type=media_type, error=message, remedy=remedy
            )
        except Exception as exc:  # a fault of this file alone must not end the batch
            log.debug("signing %s failed", safe_text(given, 4096), exc_info=True)
            return dataclasses.replace(failure(self, given, exc), media_type=media_type)

    def _here(self, path: Path) -> Path:
        """``path`` as this worker opens it: against the client's working directory."""
        return Path(self.cwd, path) if self.cwd is not None else path

    def _sign(self, given: Path, output: Path, media_type: str | None) -> SignOutcome:
        source, target = self._here(given), self._here(output)
        force = self.settings.force
        # Input errors do not name the file (the outcome does), as in verify's reports.
        check_input(source)  # before anything is made for it
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(target, exc) from None
        try:
            check_output(target, force=force, source=source)
        except OutputExists:
            if not self.skip_existing:
                raise
            # Signed by an earlier run (outputs appear whole or not at all): left as it is.
            return SignOutcome.make(given, output, status=SignStatus.SKIPPED, media_type=media_type)
        sidecar = self.settings.sidecar
        if sidecar:
            check_sidecar_output(target, force=force)
        session = self._signer()
        # Audio and video stay on disk and are signed from a stream, as with one file.
        asset = open_asset(source, limits=self.settings.limits)
        signed = session.sign_file(asset, target)
        return SignOutcome.make(
            given,
            output,
            status=SignStatus.SIGNED,
            media_type=signed.media_type,
            record=f"{signed.record_id:016x}" if signed.record_id is not None else None,
            signer=signed.signer,
            time_stamp=session.time_stamp_authority,
            size=signed.size,
            manifest=str(sidecar_path(output)) if sidecar else None,
        )

    def failed(self, path: Path | str, message: str) -> SignOutcome:
        try:
            output: Path | None = self.out_dir / mirrored(Path(path))
        except OutputRefused:
            output = None
        media_type = _media_type(self._here(Path(path)), self.settings.limits)
        return SignOutcome.make(
            path, output, status=SignStatus.FAILED, media_type=media_type, error=message
        )

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
            settings, home=Path(os.path.abspath(self.home)), repository=location
        )
        return dataclasses.replace(self, settings=settings, cwd=os.getcwd())

    def worker_problem(self, worker: str) -> str | None:
        home, location = self.home, self.settings.repository
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
        """This thread's session for this batch, opened (and the key unlocked) once."""
        global _built
        key = (self.batch, threading.get_ident())
        with _lock:
            self._forget_if_forked()
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

    @staticmethod
    def _forget_if_forked() -> None:
        """A forked worker: its parent's sessions are not its own (call with ``_lock``)."""
        global _signers_pid
        if _signers_pid != os.getpid():
            _signers.clear()
            _signers_pid = os.getpid()

    def _open(self) -> ContentSigner:
        settings, parent = self.settings, self.settings.parent
        if isinstance(parent, Path):  # named as the client gave it
            settings = dataclasses.replace(settings, parent=self._here(parent))
        try:
            return ContentSigner(self.home, self.passphrase, settings)
        except RepositoryUnreachable as exc:
            # The batch reached it before the first file: lost since, it fails this file
            # (exit 1), as a statement that loses it does; it is not the caller's to fix.
            raise RepositoryError(exc.diagnostics()) from None


def _media_type(path: Path, limits: Limits) -> str | None:
    """The media type of the input at ``path`` from its first bytes; None when it cannot
    be read or identified (signing it then says why)."""
    try:
        with open_content(path, limits) as (_, media_type, _handle):
            return media_type
    except InputError:
        return None


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
