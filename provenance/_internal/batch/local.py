"""The local engine: this process alone, or a pool of worker processes on this machine.

At most a small window of files is in flight at once, so memory stays flat however many
files the walk produces. Each worker process receives the configuration once (in its
initializer) and builds its ``Verifier`` there.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import multiprocessing
import os
import signal
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from provenance._internal.batch.task import error_report, failure_report, verify_file, warm_up
from provenance.verify import Report, VerifyConfig

__all__ = ["verify_locally"]

WINDOW_PER_WORKER = 8
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
    """Reports for ``items`` from ``workers`` processes (in this process for one, or one file)."""
    head = list(itertools.islice(items, 2))
    if workers <= 1 or len(head) < 2:
        for item in itertools.chain(head, items):
            yield item if isinstance(item, Report) else verify_file(item, config, file_timeout)
        return
    yield from _in_pool(itertools.chain(head, items), config, workers, ordered, file_timeout)


def _in_pool(
    items: Iterator[Path | Report],
    config: VerifyConfig,
    workers: int,
    ordered: bool,
    file_timeout: float | None,
) -> Iterator[Report]:
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
        self._initargs = (config, file_timeout)
        self._executor = self._start(workers)

    def _start(self, workers: int) -> cf.ProcessPoolExecutor:
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        return cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=self._initargs,
        )

    def submit(self, path: Path) -> cf.Future[Report]:
        try:
            return self._executor.submit(_verify_one, path)
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start(self._workers)
            return self._executor.submit(_verify_one, path)

    def result(self, item: Path | Report, future: cf.Future[Report] | None) -> Report:
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
        with self._start(1) as single:
            try:
                return single.submit(_verify_one, path).result()
            except BrokenProcessPool:
                return error_report(path, "the verifier process crashed on this file")
            except Exception as exc:
                return failure_report(path, exc)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _init_worker(config: VerifyConfig, file_timeout: float | None) -> None:
    global _worker_config, _worker_timeout
    # Ctrl-C reaches the whole process group: the parent decides when to stop, and a
    # worker finishes the file it holds rather than dying half-way (and printing).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_config, _worker_timeout = config, file_timeout
    warm_up(config)


def _verify_one(path: Path) -> Report:
    assert _worker_config is not None, "worker initializer did not run"
    return verify_file(path, _worker_config, _worker_timeout)
