"""The local engine: this process alone, or a pool of worker processes on this machine.

It runs any ``FileJob`` (``job.py``). At most a small window of files is in flight at once,
so memory stays flat however many files the walk produces. Each worker process receives
the job once (in its initializer) and builds its state there (a ``Verifier``, an unlocked
signing key), once.

Worker counts are bounded: never more than ``max_workers()`` (``WORKERS_PER_CPU`` per CPU),
and never more than there are files. Python 3.11's process pool forks every worker at once
with the fork start method, so the count is settled before the pool starts: up to
``workers`` names are read ahead first (a list on standard input therefore starts once that
many names have arrived, or the list ended). Each worker watches its parent and exits when
the parent is gone, so no worker outlives the command, even one killed with SIGKILL.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from provenance.batch.job import FileJob, crashed, failure, run_file

# The process pool (multiprocessing, concurrent.futures.process) loads only when a batch
# starts one: a single file, or --workers 1, is handled in this process without it.
if TYPE_CHECKING:
    import concurrent.futures as cf

log = logging.getLogger(__name__)
R = TypeVar("R")

WINDOW_PER_WORKER = 8
#: The most worker processes per CPU: the work is CPU-bound, so more only cost memory
#: (each worker holds its state and a decoded image) and start-up time.
WORKERS_PER_CPU = 4
#: Seconds between a worker's checks that its parent is still there.
_PARENT_POLL_SECONDS = 0.25
_worker_job: FileJob[Any] | None = None


def run_locally(
    items: Iterator[Path | R], job: FileJob[R], *, workers: int, ordered: bool
) -> Iterator[R]:
    """Results of ``job`` for ``items`` from ``workers`` processes (in this process for
    one worker, or one file); items that are already results pass through.

    ``workers`` is capped at ``max_workers()`` and at the number of files: up to that many
    items are read ahead to count them before any process starts. What the job built in
    this process is released when the batch ends, or before a pool starts.
    """
    done = job.result_type
    workers = min(workers, max_workers())
    head: list[Path | R] = []
    if workers > 1:
        files = 0
        for item in items:
            head.append(item)
            files += not isinstance(item, done)
            if files >= workers or len(head) >= workers * WINDOW_PER_WORKER:
                break
        else:
            workers = min(workers, files)  # the whole input is here: no more than its files
    if workers <= 1:
        try:
            for item in itertools.chain(head, items):
                yield item if isinstance(item, done) else run_file(job, cast(Path, item))
        finally:
            job.release()
        return
    job.release()  # the workers build their own; nothing of it need stay here
    yield from _in_pool(itertools.chain(head, items), job, workers, ordered)


def max_workers() -> int:
    """The most worker processes a batch starts here: ``WORKERS_PER_CPU`` per CPU."""
    return WORKERS_PER_CPU * (os.cpu_count() or 1)


def _in_pool(
    items: Iterator[Path | R], job: FileJob[R], workers: int, ordered: bool
) -> Iterator[R]:
    import concurrent.futures as cf

    done = job.result_type
    limit = workers * WINDOW_PER_WORKER
    pool = _Pool(workers, job)
    try:
        if ordered:
            window: collections.deque[tuple[Path | R, cf.Future[R] | None]] = collections.deque()
            for item in items:
                future = None if isinstance(item, done) else pool.submit(cast(Path, item))
                window.append((item, future))
                while len(window) >= limit:
                    yield pool.result(*window.popleft())
            while window:
                yield pool.result(*window.popleft())
            return
        pending: dict[cf.Future[R], Path] = {}
        for item in items:
            if isinstance(item, done):
                yield item
                continue
            path = cast(Path, item)
            pending[pool.submit(path)] = path
            if len(pending) >= limit:
                finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    yield pool.result(pending.pop(future), future)
        for future in cf.as_completed(list(pending)):
            yield pool.result(pending.pop(future), future)
    finally:
        pool.close()


class _Pool:
    """Worker processes that outlive a crash: when a file kills its worker (a fault in
    native code), the pool is replaced, and every file that was in flight is run again
    on its own, so only the file that crashes a fresh process reports the crash."""

    def __init__(self, workers: int, job: FileJob[Any]) -> None:
        self._workers = workers
        self._job = job
        self._initargs = (job, os.getpid())
        self._executor = self._start(workers)

    def _start(self, workers: int) -> cf.ProcessPoolExecutor:
        import concurrent.futures as cf
        import multiprocessing

        method = self._job.start_method if os.name == "posix" else "spawn"
        context = multiprocessing.get_context(method)
        return cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=self._initargs,
        )

    def submit(self, path: Path) -> cf.Future[Any]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            with _sigint_held():
                return self._executor.submit(_run_one, path)
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start(self._workers)
            with _sigint_held():
                return self._executor.submit(_run_one, path)

    def result(self, item: Path | Any, future: cf.Future[Any] | None) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(item, self._job.result_type) or future is None:
            return item
        try:
            return future.result()
        except BrokenProcessPool:
            return self._alone(item)
        except Exception as exc:  # a task that raised must not take the batch with it
            return failure(self._job, item, exc)

    def _alone(self, path: Path) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        with self._start(1) as single:
            try:
                with _sigint_held():
                    future = single.submit(_run_one, path)
                return future.result()
            except BrokenProcessPool:
                return crashed(self._job, path)
            except Exception as exc:
                return failure(self._job, path, exc)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT held back in this thread meanwhile: a worker process started here (a submit
    may start one) begins with it blocked, so a Ctrl-C that comes while a spawned worker
    is still starting up cannot kill it; ``_init_worker`` ignores it, then lets it in."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _init_worker(job: FileJob[Any], parent: int) -> None:
    global _worker_job
    # Ctrl-C reaches the whole process group: the parent decides when to stop, and a
    # worker finishes the file it holds rather than dying half-way (and printing).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="provenance-parent-watch", daemon=True
    ).start()
    _worker_job = job
    if job.start_method == "spawn":  # a forked worker has its parent's allocator already
        from provenance._internal.allocator import keep_freed_memory

        keep_freed_memory()  # this process is the batch's: it owns its lifetime
    try:
        job.warm_up()
    except Exception:  # raised here it would break the pool; the first file reports it
        log.debug("worker warm-up failed", exc_info=True)


def _run_one(path: Path) -> Any:
    assert _worker_job is not None, "worker initializer did not run"
    return run_file(_worker_job, path)


def _exit_with_parent(parent: int) -> None:
    """Exit this worker once ``parent`` is gone (killed, even with SIGKILL, or crashed).

    The pool's own pipes do not tell a forked worker: it holds both of their ends. A
    thread that polls the parent id works wherever ``fork`` does, whichever thread of the
    parent started the pool (unlike Linux's PR_SET_PDEATHSIG, which follows that thread).
    """
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(1)
