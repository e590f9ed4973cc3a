"""The contract between the batch engines and the work they run: a per-file job.

A job is a small picklable object that says what to do with one file (``run``) and how a
file the engine could not finish reads (``failed``). It holds configuration only; what is
costly to build (a ``Verifier``, an unlocked signing key) it builds in each worker, once,
and keeps there (``warm_up``) until the batch ends (``release``). The engines (``local``,
``dask``) know nothing else of it: verification (``task.VerifyJob``) and signing
(``signing.SignJob``) run on both.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from provenance._internal.text import safe_text
from provenance.errors import ProvenanceError

R = TypeVar("R")


class FileJob(abc.ABC, Generic[R]):
    """What a batch does with each file; engines call ``run`` in their workers."""

    #: Who does the work, for the engine's messages ("the verifier process crashed ...").
    what: ClassVar[str]
    #: The type of ``run``'s results. Items of this type among the inputs (a walk's error
    #: for a directory it could not list) pass through the engines as they are.
    result_type: ClassVar[type[Any]]
    #: Whether ``release`` must also run on Dask workers when the batch ends (their state
    #: holds secrets, such as an unlocked key, that must not outlive it).
    release_on_workers: ClassVar[bool] = False
    #: How the local engine starts its worker processes on POSIX: "fork" is quick, and
    #: right while the parent holds nothing that a fork breaks; "spawn" starts them clean.
    start_method: ClassVar[str] = "fork"

    @abc.abstractmethod
    def run(self, path: Path) -> R:
        """The result for one file, named as given; a bad file is an error result, never
        an exception."""

    @abc.abstractmethod
    def failed(self, path: Path | str, message: str) -> R:
        """The error result for a file the engine could not finish (its worker crashed,
        its task raised)."""

    def warm_up(self) -> None:
        """Build this worker's state now (in a pool's initializer), not on the first file."""

    def release(self) -> None:
        """Drop what this job built in this process; called when the batch ends here."""

    def on_cluster(self) -> FileJob[R]:
        """This job as Dask workers run it: paths that mean the same on another machine
        (absolute, against this process's working directory)."""
        return self

    def worker_problem(self, worker: str) -> str | None:
        """Why this job cannot run on the Dask worker ``worker`` (run there, before any
        file); None when it can."""
        return None


def run_file(job: FileJob[R], path: Path) -> R:
    """What every engine calls in its workers: one file, one result."""
    return job.run(path)


def crashed(job: FileJob[R], path: Path | str) -> R:
    """The result for a file on which a fresh worker process died too."""
    return job.failed(path, f"the {job.what} process crashed on this file")


def failure(job: FileJob[R], path: Path | str, exc: BaseException) -> R:
    """A task that raised (or whose worker died): an error for that file, in one line."""
    detail = exc.diagnostics() if isinstance(exc, ProvenanceError) else type(exc).__name__
    return job.failed(path, f"{job.what} failed on this file: {safe_text(detail, 300)}")
