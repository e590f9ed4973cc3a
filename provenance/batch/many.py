"""Walk inputs and verify or sign them in parallel, streaming results in input order.

Memory stays flat with the number of files: paths are produced lazily by a walk, and at
most a small window of files is in flight at once. Two engines run the same per-file job
(``batch/job.py``), each worker building what is costly once, not once per file (a
``Verifier``; for signing, a signing session: the unlocked key, the repository and the
time-stamp responder): ``local``, a process pool on this machine, and ``dask``, the
workers of a Dask cluster (the optional extra ``[dask]``).
"""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from provenance._internal.text import safe_text
from provenance.batch.job import FileJob
from provenance.batch.local import run_locally
from provenance.batch.outputs import SignOutcome, SignStatus, mirrored
from provenance.batch.task import VerifyJob
from provenance.errors import OutputRefused, Remedy, UsageError
from provenance.report import Report
from provenance.verify.verifier import VerifyConfig

if TYPE_CHECKING:
    import distributed

    from provenance.signing.settings import SignSettings

Engine = Literal["local", "dask"]
ENGINES: tuple[Engine, ...] = ("local", "dask")
R = TypeVar("R")
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Unwalkable:
    """A named input the walk could not turn into files: a directory (without
    ``recursive``) or one it could not list."""

    path: Path
    message: str
    remedy: Remedy | None = None


def iter_files(
    inputs: Iterable[Path], *, recursive: bool = False, skip: Iterable[Path] = ()
) -> Iterator[Path | Report]:
    """Files named or found under ``inputs``, depth-first in sorted order.

    A directory without ``recursive`` becomes an ``error`` report rather than being
    silently skipped. Symbolic links to directories are followed once: a directory
    already visited (by device and inode) is not entered again, so a link loop ends;
    neither is a directory of ``skip`` (an output folder inside the input tree).
    """
    for item in walk(inputs, recursive=recursive, skip=skip):
        if isinstance(item, Unwalkable):
            yield Report.failed(item.path, item.message, remedy=item.remedy)
        else:
            yield item


def walk(
    inputs: Iterable[Path], *, recursive: bool = False, skip: Iterable[Path] = ()
) -> Iterator[Path | Unwalkable]:
    """``iter_files`` with the inputs it could not walk as ``Unwalkable``."""
    skipped = {key for key in map(_identity, skip) if key is not None}
    for item in inputs:
        path = Path(item)
        if recursive and path.is_dir():
            yield from _walk(path, skipped)
        elif path.is_dir():
            yield Unwalkable(path, "is a directory", Remedy.RECURSE)
        else:
            yield path


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


#: The suffix of a sidecar manifest store (``credentials.read.sidecar_path``).
SIDECAR_SUFFIX = ".c2pa"


def _walk(root: Path, skipped: set[tuple[int, int]]) -> Iterator[Path | Unwalkable]:
    seen = set(skipped)
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            info = directory.stat()
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue
            seen.add(key)
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            yield Unwalkable(directory, f"cannot list directory: {exc.strerror or exc}")
            continue
        subdirs: list[Path] = []
        # A sidecar (NAME.c2pa beside NAME.jpg) is read with its content, not on its own.
        stems = {Path(e.name).stem for e in entries if not e.name.endswith(SIDECAR_SUFFIX)}
        for entry in entries:
            if entry.name.endswith(SIDECAR_SUFFIX) and Path(entry.name).stem in stems:
                continue
            try:
                mode = os.stat(entry.path).st_mode  # follows links
            except OSError:
                mode = 0  # dangling link or unreadable: report it as a file
            if stat.S_ISDIR(mode):
                subdirs.append(Path(entry.path))
            else:
                yield Path(entry.path)
        stack.extend(reversed(subdirs))


def count_files(
    inputs: Iterable[Path], *, recursive: bool = False, skip: Iterable[Path] = ()
) -> int:
    """How many results ``iter_files`` gives for ``inputs``, holding none of them.

    A second walk, for a progress total: it costs file-system calls only, so it can run in
    a thread beside the batch. Memory is that of the walk (the directories seen), not the
    number of files. A tree that changes meanwhile makes the total slightly off.
    """
    return sum(1 for _ in walk(inputs, recursive=recursive, skip=skip))


def paths_from_lines(lines: Iterable[bytes]) -> Iterator[Path]:
    """Paths listed one a line (bytes, so names that are not UTF-8 survive).

    Only the line ending (``\\n`` or ``\\r\\n``) is removed: a name may begin or end with a
    space. Blank lines (nothing before the line ending) are skipped.
    """
    for line in lines:
        name = line[:-1] if line.endswith(b"\n") else line
        if name.endswith(b"\r"):
            name = name[:-1]
        if name:
            yield Path(os.fsdecode(name))


def verify_many(
    items: Iterable[Path | Report],
    config: VerifyConfig,
    *,
    workers: int = 1,
    ordered: bool = True,
    file_timeout: float | None = None,
    engine: Engine = "local",
    scheduler: str | distributed.Client | None = None,
) -> Iterator[Report]:
    """Reports for ``items``, verified by ``workers`` local processes or on a Dask cluster.

    In input order by default; with ``ordered=False`` each report comes as soon as it is
    ready. ``file_timeout`` (seconds) turns a file that takes longer into an ``error``
    report; it interrupts Python code and takes effect once a native call returns.
    Locally, ``workers`` is capped at ``max_workers()`` (``WORKERS_PER_CPU`` per CPU) and
    at the number of files, and no worker outlives the batch or this process.

    With ``engine="dask"``, ``scheduler`` is the scheduler's address (``tcp://host:8786``,
    ``tls://...``) or a ``distributed.Client`` (left open); ``workers`` is ignored, the
    cluster's workers do the work. The cluster is reached here, before the first report:
    an unreachable scheduler or one without workers raises ``UsageError`` at once.
    """
    if file_timeout is not None and file_timeout <= 0:
        raise ValueError("file_timeout must be positive")
    _check_engine(engine, scheduler)
    return _run(items, VerifyJob(config, file_timeout), workers, ordered, engine, scheduler)


def sign_many(
    inputs: Iterable[Path],
    out_dir: Path,
    settings: SignSettings,
    passphrase: str | Callable[[], str],
    *,
    recursive: bool = False,
    workers: int = 1,
    ordered: bool = True,
    engine: Engine = "local",
    scheduler: str | distributed.Client | None = None,
    stop: threading.Event | None = None,
    skip_existing: bool = False,
) -> Iterator[SignOutcome]:
    """Sign every file named or found (with ``recursive``) under ``inputs`` into ``out_dir``.

    Each signed copy goes to ``out_dir`` joined with its input's path as given, made
    relative (a leading ``/`` and leading ``..`` dropped, like tar): ``gen/a/x.png`` to
    ``OUT/gen/a/x.png``, ``/data/x.png`` to ``OUT/data/x.png``; folders are made as needed,
    and ``out_dir`` is never walked as an input. An existing output is that file's
    ``refused`` outcome unless ``settings.force`` (replaced) or ``skip_existing`` (its
    ``skipped`` outcome: a batch run again after an interruption signs only the rest);
    the two contradict each other. It is never overwritten otherwise. Every
    file gets its watermark record in the repository and its line in the key store's
    audit log, as `provenance sign` does. Outcomes stream in input order (``ordered``)
    or as they finish, from ``workers`` local processes or on a Dask cluster
    (``engine``, ``scheduler``: as ``verify_many``). Once ``stop`` is set no further file
    is started; those in flight are finished and their outcomes still come, so every
    output written is reported.

    Checked here, before any file: the output folder (made when missing), then what the
    signing session checks (the key store, the identity, the parent, the watermark key,
    the repository); then ``passphrase`` (a callable is called once, only then) unlocks
    the signing key once, so a wrong passphrase or an unusable identity raises at once.
    Each worker then opens its own session from ``settings`` (unlocking the key once for
    the whole batch) and drops it when the batch ends. On Dask the passphrase travels to
    the workers with the job (docs/pipelines.md says what that exposes).
    """
    from provenance.batch.signing import SignJob, open_session, output_folder

    _check_engine(engine, scheduler)
    if settings.home is None:
        raise ValueError("settings.home must name the key store a batch signs with")
    if skip_existing and settings.force:
        raise UsageError("existing outputs are either replaced (force) or skipped, not both")
    out_dir = output_folder(out_dir)
    session, secret = open_session(settings, passphrase)
    job = SignJob(session.settings, out_dir, secret, skip_existing=skip_existing)
    job.adopt(session)
    try:
        items: Iterator[Path | SignOutcome] = (
            SignOutcome.make(
                item.path,
                None,
                status=SignStatus.UNREADABLE,
                error=item.message,
                remedy=item.remedy,
            )
            if isinstance(item, Unwalkable)
            else item
            for item in _until(stop, walk(inputs, recursive=recursive, skip=[out_dir]))
        )
        if settings.sidecar:
            items = _one_input_a_sidecar(items, out_dir)
        if engine == "dask":
            job.release()  # the client signs nothing itself
        return _run(items, job, workers, ordered, engine, scheduler)
    except BaseException:
        job.release()
        raise


def _one_input_a_sidecar(
    items: Iterator[Path | SignOutcome], out_dir: Path
) -> Iterator[Path | SignOutcome]:
    """Refuse an input whose sidecar another input of the batch already takes: ``x.jpg``
    and ``x.png`` both keep their manifest in ``x.c2pa``. Keeps the sidecar names seen
    (one path per input signed with a sidecar)."""
    from provenance.credentials.read import sidecar_path

    taken: dict[Path, Path] = {}
    for item in items:
        if isinstance(item, Path):
            try:
                output = out_dir / mirrored(item)
            except OutputRefused:
                yield item  # the job says why
                continue
            manifest = sidecar_path(output)
            first = taken.setdefault(manifest, item)
            if first is not item:
                yield SignOutcome.make(
                    item,
                    output,
                    status=SignStatus.REFUSED,
                    error=f"its sidecar {safe_text(manifest, 4096)} is that of "
                    f"{safe_text(first, 4096)}, signed in this batch",
                )
                continue
        yield item


def _until(stop: threading.Event | None, items: Iterable[T]) -> Iterator[T]:
    """``items`` until ``stop`` is set."""
    for item in items:
        if stop is not None and stop.is_set():
            return
        yield item


def _check_engine(engine: Engine, scheduler: object) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if (engine == "dask") != (scheduler is not None):
        raise ValueError("a scheduler goes with engine='dask', and only with it")


def _run(
    items: Iterable[Path | R],
    job: FileJob[R],
    workers: int,
    ordered: bool,
    engine: Engine,
    scheduler: str | distributed.Client | None,
) -> Iterator[R]:
    iterator = iter(items)
    if engine == "local":
        return run_locally(iterator, job, workers=workers, ordered=ordered)
    from provenance.batch.dask import connect, run_on_dask

    assert scheduler is not None
    client = connect(scheduler) if isinstance(scheduler, str) else scheduler
    return run_on_dask(client, iterator, job, ordered=ordered, close=isinstance(scheduler, str))
