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
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from provenance._internal.text import safe_text
from provenance.verify import Report, Verdict, Verifier, VerifyConfig

__all__ = ["iter_files", "paths_from_lines", "verify_many"]

_WINDOW_PER_WORKER = 8
_worker_verifier: Verifier | None = None
_worker_timeout: float | None = None


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


def paths_from_lines(lines: Iterable[bytes]) -> Iterator[Path]:
    """Paths listed one a line (bytes, so names that are not UTF-8 survive)."""
    for line in lines:
        name = line.rstrip(b"\r\n")
        if name:
            yield Path(os.fsdecode(name))


def verify_many(
    items: Iterable[Path | Report],
    config: VerifyConfig,
    *,
    workers: int = 1,
    ordered: bool = True,
    file_timeout: float | None = None,
) -> Iterator[Report]:
    """Reports for ``items``, verified by ``workers`` processes.

    In input order by default; with ``ordered=False`` each report comes as soon as it is
    ready. ``file_timeout`` (seconds) turns a file that takes longer into an ``error``
    report; it interrupts Python code and takes effect once a native call returns.
    """
    if file_timeout is not None and file_timeout <= 0:
        raise ValueError("file_timeout must be positive")
    iterator = iter(items)
    head = list(itertools.islice(iterator, 2))
    if workers <= 1 or len(head) < 2:
        verifier = Verifier(config)
        for item in itertools.chain(head, iterator):
            if isinstance(item, Report):
                yield item
            else:
                yield _verify_with_deadline(verifier, item, file_timeout)
        return
    yield from _verify_parallel(
        itertools.chain(head, iterator), config, workers, ordered, file_timeout
    )


def _verify_parallel(
    items: Iterator[Path | Report],
    config: VerifyConfig,
    workers: int,
    ordered: bool,
    file_timeout: float | None,
) -> Iterator[Report]:
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    limit = workers * _WINDOW_PER_WORKER
    with cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(config, file_timeout),
    ) as pool:
        if ordered:
            window: collections.deque[tuple[Path | Report, cf.Future[Report] | None]] = (
                collections.deque()
            )
            for item in items:
                future = None if isinstance(item, Report) else pool.submit(_verify_one, item)
                window.append((item, future))
                while len(window) >= limit:
                    yield _result(*window.popleft())
            while window:
                yield _result(*window.popleft())
            return
        pending: dict[cf.Future[Report], Path] = {}
        for item in items:
            if isinstance(item, Report):
                yield item
                continue
            pending[pool.submit(_verify_one, item)] = item
            if len(pending) >= limit:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    yield _result(pending.pop(future), future)
        for future in cf.as_completed(list(pending)):
            yield _result(pending.pop(future), future)


def _result(item: Path | Report, future: cf.Future[Report] | None) -> Report:
    if isinstance(item, Report) or future is None:
        assert isinstance(item, Report)
        return item
    try:
        return future.result()
    except Exception as exc:  # a worker that died must not take the batch with it
        message = f"verifier failed on this file: {type(exc).__name__}"
        return Report(safe_text(item, 4096), Verdict.ERROR, message, error=message)


class _Deadline(BaseException):  # not an Exception: no handler on the way may swallow it
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Deadline


def _verify_with_deadline(verifier: Verifier, path: Path, seconds: float | None) -> Report:
    """``verifier.verify_path`` under a timer (only in a main thread, where signals work)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        return verifier.verify_path(path)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return verifier.verify_path(path)
    except _Deadline:
        message = f"verification took longer than the {seconds:g}-second limit"
        return Report(safe_text(path, 4096), Verdict.ERROR, message, error=message)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _init_worker(config: VerifyConfig, file_timeout: float | None) -> None:
    global _worker_verifier, _worker_timeout
    _worker_verifier = Verifier(config)
    _worker_timeout = file_timeout


def _verify_one(path: Path) -> Report:
    assert _worker_verifier is not None, "worker initializer did not run"
    return _verify_with_deadline(_worker_verifier, path, _worker_timeout)
