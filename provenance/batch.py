"""Walk inputs and verify them in parallel, streaming reports in input order.

Memory stays flat with the number of files: paths are produced lazily by a walk, and at
most a small window of files is in flight at once. Two engines run the same per-file
function (``_internal/batch/task.py``), each worker building its ``Verifier`` (c2pa
Context, trust anchors) once, not once per file: ``local``, a process pool on this
machine, and ``dask``, the workers of a Dask cluster (the optional extra ``[dask]``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from provenance._internal.batch.local import WORKERS_PER_CPU, max_workers, verify_locally
from provenance.verify import Report, VerifyConfig

if TYPE_CHECKING:
    import distributed

__all__ = [
    "WORKERS_PER_CPU",
    "count_files",
    "iter_files",
    "max_workers",
    "paths_from_lines",
    "verify_many",
]

Engine = Literal["local", "dask"]
ENGINES: tuple[Engine, ...] = ("local", "dask")


def iter_files(inputs: Iterable[Path], *, recursive: bool = False) -> Iterator[Path | Report]:
    """Files named or found under ``inputs``, depth-first in sorted order.

    A directory without ``recursive`` becomes an ``error`` report rather than being
    silently skipped. Symbolic links to directories are followed once: a directory
    already visited (by device and inode) is not entered again, so a link loop ends.
    """
    for item in inputs:
        path = Path(item)
        if recursive and path.is_dir():
            yield from _walk(path)
        elif path.is_dir():
            message = "is a directory (use --recursive)"
            yield Report.failed(path, message)
        else:
            yield path


def _walk(root: Path) -> Iterator[Path | Report]:
    seen: set[tuple[int, int]] = set()
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
            message = f"cannot list directory: {exc.strerror or exc}"
            yield Report.failed(directory, message)
            continue
        subdirs: list[Path] = []
        for entry in entries:
            try:
                mode = os.stat(entry.path).st_mode  # follows links
            except OSError:
                mode = 0  # dangling link or unreadable: report it as a file
            if stat.S_ISDIR(mode):
                subdirs.append(Path(entry.path))
            else:
                yield Path(entry.path)
        stack.extend(reversed(subdirs))


def count_files(inputs: Iterable[Path], *, recursive: bool = False) -> int:
    """How many reports ``iter_files`` gives for ``inputs``, holding none of them.

    A second walk, for a progress total: it costs file-system calls only, so it can run in
    a thread beside the verification. Memory is that of the walk (the directories seen), not
    the number of files. A tree that changes meanwhile makes the total slightly off.
    """
    return sum(1 for _ in iter_files(inputs, recursive=recursive))


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
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if (engine == "dask") != (scheduler is not None):
        raise ValueError("a scheduler goes with engine='dask', and only with it")
    iterator = iter(items)
    if engine == "local":
        return verify_locally(
            iterator, config, workers=workers, ordered=ordered, file_timeout=file_timeout
        )
    from provenance._internal.batch.dask import connect, verify_on_dask

    assert scheduler is not None
    client = connect(scheduler) if isinstance(scheduler, str) else scheduler
    return verify_on_dask(
        client,
        iterator,
        config,
        ordered=ordered,
        file_timeout=file_timeout,
        close=isinstance(scheduler, str),
    )
