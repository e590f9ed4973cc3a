"""Walk inputs and verify them in parallel, streaming reports in input order.

Memory stays flat with the number of files: paths are produced lazily by a walk, and at
most a small window of files is in flight at once. Each worker process builds its
``Verifier`` (c2pa Context, trust anchors) once, not once per file.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import multiprocessing
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from provenance._internal.text import safe_text
from provenance.verify import Report, Verdict, Verifier, VerifyConfig

__all__ = ["iter_files", "verify_many"]

_WINDOW_PER_WORKER = 8
_worker_verifier: Verifier | None = None


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
            yield Report(safe_text(path, 4096), Verdict.ERROR, message, error=message)
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
            yield Report(safe_text(directory, 4096), Verdict.ERROR, message, error=message)
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


def verify_many(
    items: Iterable[Path | Report], config: VerifyConfig, *, workers: int = 1
) -> Iterator[Report]:
    """Reports for ``items`` in input order, verified by ``workers`` processes."""
    iterator = iter(items)
    head = list(itertools.islice(iterator, 2))
    if workers <= 1 or len(head) < 2:
        verifier = Verifier(config)
        for item in itertools.chain(head, iterator):
            yield item if isinstance(item, Report) else verifier.verify_path(item)
        return
    yield from _verify_parallel(itertools.chain(head, iterator), config, workers)


def _verify_parallel(
    items: Iterator[Path | Report], config: VerifyConfig, workers: int
) -> Iterator[Report]:
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    window: collections.deque[tuple[Path | Report, cf.Future[Report] | None]] = collections.deque()
    limit = workers * _WINDOW_PER_WORKER
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(config,)
    ) as pool:
        for item in items:
            future = None if isinstance(item, Report) else pool.submit(_verify_one, item)
            window.append((item, future))
            while len(window) >= limit:
                yield _result(*window.popleft())
        while window:
            yield _result(*window.popleft())


def _result(item: Path | Report, future: cf.Future[Report] | None) -> Report:
    if isinstance(item, Report) or future is None:
        assert isinstance(item, Report)
        return item
    try:
        return future.result()
    except Exception as exc:  # a worker that died must not take the batch with it
        message = f"verifier failed on this file: {type(exc).__name__}"
        return Report(safe_text(item, 4096), Verdict.ERROR, message, error=message)


def _init_worker(config: VerifyConfig) -> None:
    global _worker_verifier
    _worker_verifier = Verifier(config)


def _verify_one(path: Path) -> Report:
    assert _worker_verifier is not None, "worker initializer did not run"
    return _worker_verifier.verify_path(path)
