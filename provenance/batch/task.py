"""Verification as a batch job: ``VerifyJob`` runs ``verify_file(path, config, timeout)``.

A ``Verifier`` (c2pa Context, trust anchors, repository connection) is built once per
thread of a worker process and configuration, not once per file: the local pool's
processes and a Dask worker's threads each keep their own, because a SQLite
connection must stay in the thread that opened it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import threading
from pathlib import Path
from typing import ClassVar

from provenance._internal.text import safe_text
from provenance.batch.deadline import DeadlineExceeded, call_with_deadline
from provenance.batch.job import FileJob
from provenance.report import Report, path_fields
from provenance.verify.verifier import Verifier, VerifyConfig

_CACHED_CONFIGS = 4  # a process rarely sees more than one configuration
_cache = threading.local()
_built = 0
_built_lock = threading.Lock()


def verify_file(path: str | Path, config: VerifyConfig, timeout: float | None = None) -> Report:
    """Verify one file with this thread's cached ``Verifier`` for ``config``.

    Never raises for bad input; a file slower than ``timeout`` seconds becomes an
    ``error`` report (see ``deadline`` for what can and cannot be interrupted).
    """
    verifier = _verifier_for(config)
    try:
        return call_with_deadline(lambda: verifier.verify_path(Path(path)), timeout)
    except DeadlineExceeded:
        _forget(config)  # interrupted half-way through a call: do not trust its state
        assert timeout is not None
        return error_report(path, f"verification took longer than the {timeout:g}-second limit")


def warm_up(config: VerifyConfig) -> None:
    """Build this thread's ``Verifier`` now (a pool initializer), not on the first file."""
    _verifier_for(config)


def verifiers_built() -> int:
    """How many ``Verifier`` objects this process has built (tests check reuse with it)."""
    return _built


def error_report(path: str | Path, message: str) -> Report:
    return Report.failed(path, message)


@dataclasses.dataclass(frozen=True)
class VerifyJob(FileJob[Report]):
    """Verify each file with ``config``; a file slower than ``timeout`` seconds is an
    ``error``. ``cwd``: where relative names are found (set for a Dask cluster, whose
    workers have working directories of their own); reports name files as given."""

    what: ClassVar[str] = "verifier"
    result_type: ClassVar[type[Report]] = Report

    config: VerifyConfig
    timeout: float | None = None
    cwd: str | None = None

    def run(self, path: Path) -> Report:
        if self.cwd is None:
            return verify_file(path, self.config, self.timeout)
        report = verify_file(os.path.join(self.cwd, path), self.config, self.timeout)
        shown, raw = path_fields(path)
        return dataclasses.replace(report, path=shown, path_bytes=raw)

    def failed(self, path: Path | str, message: str) -> Report:
        return error_report(path, message)

    def warm_up(self) -> None:
        warm_up(self.config)

    def on_cluster(self) -> VerifyJob:
        # A relative repository path means nothing in a worker's directory.
        config, location = self.config, self.config.repository
        if location is not None and "://" not in location:
            config = dataclasses.replace(config, repository=os.path.abspath(location))
        return dataclasses.replace(self, config=config, cwd=os.getcwd())

    def worker_problem(self, worker: str) -> str | None:
        needs_repository = self.config.check_watermark and self.config.watermark_secrets
        repository = _repository_file(self.config.repository) if needs_repository else None
        if repository is None or os.path.isfile(repository):
            return None
        return (
            f"the manifest repository {safe_text(repository, 4096)} is not on Dask worker "
            f"{worker}: workers read it at the same path; without watermark detection "
            "none is needed"
        )


def _repository_file(location: str | None) -> str | None:
    """The SQLite file behind a repository location (None: not a local file)."""
    if location is not None and location.startswith("sqlite:///"):
        return location.removeprefix("sqlite://")
    return None if location is None or "://" in location else location


def _fingerprint(config: VerifyConfig) -> bytes:
    # VerifyConfig is frozen but holds a dict (revoked serials), so it cannot be hashed;
    # its pickle can, and it arrives in a worker as a pickle anyway.
    return hashlib.sha256(pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)).digest()


def _verifiers() -> dict[bytes, Verifier]:
    # After a fork the child must not use its parent's Verifiers (open connections).
    if getattr(_cache, "pid", None) != os.getpid():
        _cache.pid = os.getpid()
        _cache.verifiers = {}
        _cache.last = None
    verifiers: dict[bytes, Verifier] = _cache.verifiers
    return verifiers


def _verifier_for(config: VerifyConfig) -> Verifier:
    global _built
    verifiers = _verifiers()
    last = _cache.last
    if last is not None and last[0] is config:  # the local pool passes the same object
        return verifiers[last[1]]
    key = _fingerprint(config)
    verifier = verifiers.pop(key, None)
    if verifier is None:
        verifier = Verifier(config)
        with _built_lock:
            _built += 1
    verifiers[key] = verifier  # most recently used last
    while len(verifiers) > _CACHED_CONFIGS:
        del verifiers[next(iter(verifiers))]
    _cache.last = (config, key)
    return verifier


def _forget(config: VerifyConfig) -> None:
    _verifiers().pop(_fingerprint(config), None)
    _cache.last = None
