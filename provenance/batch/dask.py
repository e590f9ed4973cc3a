"""The Dask engine: the same per-file job, run by the workers of a Dask cluster.

Workers read (and write) the files themselves, so they need the same filesystem at the
same paths: the job carries this process's working directory and absolute paths
(``FileJob.on_cluster``), and results name each file as it was given. The job
(configuration, secrets) is built here, on the client, and sent once to every worker.
``distributed`` is imported only when this engine is used; it comes with
``pip install 'provenance-toolkit[dask]'``.

A verification's per-file timeout runs inside the worker thread (``deadline``): it
interrupts Python code, and a native call only when it returns. Dask itself has no
per-task time limit.
"""

from __future__ import annotations

import collections
import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from provenance._internal.text import safe_text
from provenance._version import __version__
from provenance.batch.job import FileJob, failure, run_file
from provenance.batch.local import WINDOW_PER_WORKER
from provenance.errors import UsageError

if TYPE_CHECKING:
    import distributed

R = TypeVar("R")

DEFAULT_CONNECT_TIMEOUT = 10.0
INSTALL_HINT = "the dask engine needs: pip install 'provenance-toolkit[dask]'"


def connect(scheduler: str, timeout: float | None = None) -> distributed.Client:
    """A client of the scheduler at ``scheduler`` with at least one worker, or ``UsageError``
    within ``timeout`` seconds (default ``DEFAULT_CONNECT_TIMEOUT``) for each of the two."""
    if timeout is None:
        timeout = DEFAULT_CONNECT_TIMEOUT
    try:
        import distributed
    except ImportError as exc:
        raise UsageError(INSTALL_HINT) from exc
    where = safe_text(scheduler, 200)
    problem = None
    try:
        client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError (bad address) ...
        problem = _reason(exc)
    if problem is not None:
        # Not chained on purpose: the traceback holds the half-made Client, which must be
        # collected now, while its event loop runs; at interpreter exit its __del__ would
        # wait 20 s and print a traceback.
        gc.collect()
        raise UsageError(f"cannot reach the Dask scheduler at {where}: {problem}")
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception as exc:
        client.close()
        raise UsageError(
            f"the Dask scheduler at {where} has no workers (waited {timeout:g} s)"
        ) from exc
    return client


def run_on_dask(
    client: distributed.Client,
    items: Iterator[Path | R],
    job: FileJob[R],
    *,
    ordered: bool,
    close: bool = True,
) -> Iterator[R]:
    """Results of ``job`` for ``items``, run on the cluster behind ``client`` (closed at the
    end unless ``close`` is false); items that are already results pass through.

    The workers are checked first (same provenance-toolkit version, and whatever the job
    needs there: ``job.worker_problem``), before any result: a problem is a
    ``UsageError``. The job is sent to every worker once; then at most ``8 x`` the
    cluster's worker threads files are in flight. A task that fails, or whose workers
    keep dying on it, becomes an error result for that file only.
    """
    try:
        job = job.on_cluster()
        _check_workers(client, job)
        shared = client.scatter(job, broadcast=True, hash=False)
        limit = WINDOW_PER_WORKER * max(sum(client.nthreads().values()), 1)
    except BaseException:
        if close:
            client.close()
        raise
    return _stream(client, items, job, shared, ordered, limit, close)


def _stream(
    client: distributed.Client,
    items: Iterator[Path | R],
    job: FileJob[R],
    shared: distributed.Future[FileJob[R]],
    ordered: bool,
    limit: int,
    close: bool,
) -> Iterator[R]:
    import distributed

    done = job.result_type

    def submit(path: Path) -> distributed.Future[R]:
        # pure=False: the same path listed twice is run twice, like locally. The path goes
        # as given: the job knows the client's working directory.
        return client.submit(run_file, shared, path, pure=False)

    try:
        if ordered:
            window: collections.deque[tuple[Path | R, distributed.Future[R] | None]]
            window = collections.deque()
            for item in items:
                window.append((item, None if isinstance(item, done) else submit(cast(Path, item))))
                while len(window) >= limit:
                    yield _result(job, *window.popleft())
            while window:
                yield _result(job, *window.popleft())
            return
        finished = distributed.as_completed(loop=client.loop)
        pending: dict[object, Path] = {}  # by task key
        for item in items:
            if isinstance(item, done):
                yield item
                continue
            path = cast(Path, item)
            future = submit(path)
            pending[future.key] = path
            finished.add(future)
            if finished.count() >= limit:
                ready = next(finished)
                yield _result(job, pending.pop(ready.key), ready)
        for ready in finished:
            yield _result(job, pending.pop(ready.key), ready)
    finally:
        try:
            if job.release_on_workers:
                with contextlib.suppress(Exception):
                    client.run(_release, job)
        finally:
            if close:
                client.close()


def _release(job: FileJob[Any]) -> None:  # runs on each worker
    job.release()


def _check_workers(client: distributed.Client, job: FileJob[Any]) -> None:
    """Every worker runs this version and has what the job needs there."""
    try:
        facts: dict[str, tuple[str, str | None]] = client.run(_worker_facts, job)
    except Exception as exc:  # the worker could not even unpickle the function
        raise UsageError(
            f"the Dask workers cannot run provenance-toolkit ({_reason(exc)}): "
            f"install provenance-toolkit {__version__} on every worker"
        ) from exc
    for worker, (version, problem) in sorted(facts.items()):
        if version != __version__:
            raise UsageError(
                f"Dask worker {worker} has provenance-toolkit {safe_text(version, 40)}, this "
                f"client {__version__}: install the same version on every worker"
            )
        if problem is not None:
            raise UsageError(problem)


def _worker_facts(job: FileJob[Any], dask_worker: Any = None) -> tuple[str, str | None]:
    # Runs on each worker; Dask passes the worker itself as ``dask_worker``.
    address = getattr(dask_worker, "address", "?")
    return __version__, job.worker_problem(str(address))


def _result(job: FileJob[R], item: Path | R, future: distributed.Future[R] | None) -> R:
    if isinstance(item, job.result_type) or future is None:
        return cast(R, item)
    try:
        return future.result()
    except Exception as exc:  # KilledWorker, a lost scheduler, an unexpected bug
        return failure(job, cast(Path, item), exc)


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return safe_text(lines[0] if lines else type(exc).__name__, 300)
