"""The local engine: this process alone, or a pool of worker processes on this machine.

At most a small window of files is in flight at once, so memory stays flat however many
files the walk produces. Each worker process receives the configuration once (in its
initializer) and builds its ``Verifier`` there.

Worker counts are bounded: never more than ``max_workers()`` (``WORKERS_PER_CPU`` per CPU),
and never more than there are files. Python 3.11's process pool forks every worker at once
with the fork start method, so the count is settled before the pool starts: up to
``workers`` names are read ahead first (a list on standard input therefore starts once that
many names have arrived, or the list ended). Each worker watches its parent and exits when
the parent is gone, so no worker outlives the command, even one killed with SIGKILL.
"""

from __future__ import annotations

import collections
import itertools
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from provenance._internal.batch.task import error_report, failure_report, verify_file, warm_up
from provenance.verify import Report, VerifyConfig

# The process pool (multiprocessing, concurrent.futures.process) loads only when a batch
# starts one: a single file, or --workers 1, is verified in this process without it.
if TYPE_CHECKING:
    import concurrent.futures as cf

__all__ = ["WORKERS_PER_CPU", "max_workers", "verify_locally"]

WINDOW_PER_WORKER = 8
#: The most worker processes per CPU: verifying is CPU-bound, so more only cost memory
#: (each worker holds a verifier and a decoded image) and start-up time.
WORKERS_PER_CPU = 4
#: Seconds between a worker's checks that its parent is still there.
_PARENT_POLL_SECONDS = 0.25
_worker_config: VerifyConfig | None = None
_worker_timeout: float | None = None


def verify_locally(
    items: Iterator[Path | Report],
    config: VerifyConfig,
    *,
    workers: int,
    ordered: bool,
    file_timeout: float | None,
) -> Iterator[Report]:
    """Reports for ``items`` from ``workers`` processes (in this process for one, or one file).

    ``workers`` is capped at ``max_workers()`` and at the number of files: up to that many
    items are read ahead to count them before any process starts.
    """
    workers = min(workers, max_workers())
    head: list[Path | Report] = []
    if workers > 1:
        files = 0
        for item in items:
            head.append(item)
            files += not isinstance(item, Report)
            if files >= workers or len(head) >= workers * WINDOW_PER_WORKER:
                break
        else:
            workers = min(workers, files)  # the whole input is here: no more than its files
    if workers <= 1:
        for item in itertools.chain(head, items):
            yield item if isinstance(item, Report) else verify_file(item, config, file_timeout)
        return
    yield from _in_pool(itertools.chain(head, items), config, workers, ordered, file_timeout)


def max_workers() -> int:
    """The most worker processes a batch starts here: ``WORKERS_PER_CPU`` per CPU."""
    return WORKERS_PER_CPU * (os.cpu_count() or 1)


def _in_pool(
    items: Iterator[Path | Report],
    config: VerifyConfig,
    workers: int,
    ordered: bool,
    file_timeout: float | None,
) -> Iterator[Report]:
    import concurrent.futures as cf

    limit = workers * WINDOW_PER_WORKER
    pool = _Pool(workers, config, file_timeout)
    try:
        if ordered:
            window: collections.deque[tuple[Path | Report, cf.Future[Report] | None]] = (
                collections.deque()
            )
            for item in items:
                future = None if isinstance(item, Report) else pool.submit(item)
                window.append((item, future))
                while len(window) >= limit:
                    yield pool.result(*window.popleft())
            while window:
                yield pool.result(*window.popleft())
            return
        pending: dict[cf.Future[Report], Path] = {}
        for item in items:
            if isinstance(item, Report):
                yield item
                continue
            pending[pool.submit(item)] = item
            if len(pending) >= limit:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    yield pool.result(pending.pop(future), future)
        for future in cf.as_completed(list(pending)):
            yield pool.result(pending.pop(future), future)
    finally:
        pool.close()


class _Pool:
    """Worker processes that outlive a crash: when a file kills its worker (a fault in
    native code), the pool is replaced, and every file that was in flight is verified
    again on its own, so only the file that crashes a fresh process reports the crash."""

    def __init__(self, workers: int, config: VerifyConfig, file_timeout: float | None) -> None:
        self._workers = workers
        self._initargs = (config, file_timeout, os.getpid())
        self._executor = self._start(workers)

    def _start(self, workers: int) -> cf.ProcessPoolExecutor:
        import concurrent.futures as cf
        import multiprocessing

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        return cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=self._initargs,
        )

    def submit(self, path: Path) -> cf.Future[Report]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._executor.submit(_verify_one, path)
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start(self._workers)
            return self._executor.submit(_verify_one, path)

    def result(self, item: Path | Report, future: cf.Future[Report] | None) -> Report:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(item, Report) or future is None:
            assert isinstance(item, Report)
            return item
        try:
            return future.result()
        except BrokenProcessPool:
            return self._alone(item)
        except Exception as exc:  # a task that raised must not take the batch with it
            return failure_report(item, exc)

    def _alone(self, path: Path) -> Report:
        from concurrent.futures.process import BrokenProcessPool

        with self._start(1) as single:
            try:
                return single.submit(_verify_one, path).result()
            except BrokenProcessPool:
                return error_report(path, "the verifier process crashed on this file")
            except Exception as exc:
                return failure_report(path, exc)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _init_worker(config: VerifyConfig, file_timeout: float | None, parent: int) -> None:
    global _worker_config, _worker_timeout
    # Ctrl-C reaches the whole process group: the parent decides when to stop, and a
    # worker finishes the file it holds rather than dying half-way (and printing).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="provenance-parent-watch", daemon=True
    ).start()
    _worker_config, _worker_timeout = config, file_timeout
    warm_up(config)


def _verify_one(path: Path) -> Report:
    assert _worker_config is not None, "worker initializer did not run"
    return verify_file(path, _worker_config, _worker_timeout)


def _exit_with_parent(parent: int) -> None:
    """Exit this worker once ``parent`` is gone (killed, even with SIGKILL, or crashed).

    The pool's own pipes do not tell a forked worker: it holds both of their ends. A
    thread that polls the parent id works wherever ``fork`` does, whichever thread of the
    parent started the pool (unlike Linux's PR_SET_PDEATHSIG, which follows that thread).
    """
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(1)
