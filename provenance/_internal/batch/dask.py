"""The Dask engine: the same per-file function, run by the workers of a Dask cluster.

Workers read the files themselves, so they need the same filesystem at the same paths:
each path is sent as an absolute path, and the report shows it as it was given. The
configuration (trust anchors, watermark secrets, the repository's location) is built
here, on the client, and sent once to every worker. ``distributed`` is imported only
when this engine is used; it comes with ``pip install 'provenance-toolkit[dask]'``.

The per-file timeout runs inside the worker thread (``deadline``): it interrupts Python
code, and a native call only when it returns. Dask itself has no per-task time limit.
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from provenance._internal.batch.local import WINDOW_PER_WORKER
from provenance._internal.batch.task import failure_report, verify_file
from provenance._internal.text import safe_text
from provenance._version import __version__
from provenance.errors import UsageError
from provenance.report import path_fields
from provenance.verify import Report, VerifyConfig

if TYPE_CHECKING:
    import distributed

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "connect", "verify_on_dask"]

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
    failure = None
    try:
        client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError (bad address) ...
        failure = _reason(exc)
    if failure is not None:
        # Not chained on purpose: the traceback holds the half-made Client, which must be
        # collected now, while its event loop runs; at interpreter exit its __del__ would
        # wait 20 s and print a traceback.
        gc.collect()
        raise UsageError(f"cannot reach the Dask scheduler at {where}: {failure}")
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception as exc:
        client.close()
        raise UsageError(
            f"the Dask scheduler at {where} has no workers (waited {timeout:g} s)"
        ) from exc
    return client


def verify_on_dask(
    client: distributed.Client,
    items: Iterator[Path | Report],
    config: VerifyConfig,
    *,
    ordered: bool,
    file_timeout: float | None,
    close: bool = True,
) -> Iterator[Report]:
    """Reports for ``items`` verified on the cluster behind ``client`` (closed at the end
    unless ``close`` is false).

    The workers are checked first (same provenance-toolkit version, the repository at
    its path), before any report: a mismatch is a ``UsageError``. Then at most ``8 x``
    the cluster's worker threads files are in flight. A task that fails, or whose workers
    keep dying on it, becomes an ``error`` report for that file only.
    """
    try:
        config = _absolute_repository(config)
        _check_workers(client, config)
        shared = client.scatter(config, broadcast=True, hash=False)
        limit = WINDOW_PER_WORKER * max(sum(client.nthreads().values()), 1)
    except BaseException:
        if close:
            client.close()
        raise
    return _stream(client, items, shared, ordered, file_timeout, limit, close)


def _stream(
    client: distributed.Client,
    items: Iterator[Path | Report],
    shared: distributed.Future[VerifyConfig],
    ordered: bool,
    file_timeout: float | None,
    limit: int,
    close: bool,
) -> Iterator[Report]:
    import distributed

    def submit(path: Path) -> distributed.Future[Report]:
        # pure=False: the same path listed twice is verified twice, like locally.
        return client.submit(verify_file, os.path.abspath(path), shared, file_timeout, pure=False)

    try:
        if ordered:
            window: collections.deque[tuple[Path | Report, distributed.Future[Report] | None]]
            window = collections.deque()
            for item in items:
                window.append((item, None if isinstance(item, Report) else submit(item)))
                while len(window) >= limit:
                    yield _result(*window.popleft())
            while window:
                yield _result(*window.popleft())
            return
        finished = distributed.as_completed(loop=client.loop)
        pending: dict[object, Path] = {}  # by task key
        for item in items:
            if isinstance(item, Report):
                yield item
                continue
            future = submit(item)
            pending[future.key] = item
            finished.add(future)
            if finished.count() >= limit:
                done = next(finished)
                yield _result(pending.pop(done.key), done)
        for done in finished:
            yield _result(pending.pop(done.key), done)
    finally:
        if close:
            client.close()


def _check_workers(client: distributed.Client, config: VerifyConfig) -> None:
    """Every worker runs this version and sees the repository where the client does."""
    needs_repository = config.check_watermark and config.watermark_secrets
    repository = _repository_file(config.repository) if needs_repository else None
    try:
        facts: dict[str, tuple[str, bool]] = client.run(_worker_facts, repository)
    except Exception as exc:  # the worker could not even unpickle the function
        raise UsageError(
            f"the Dask workers cannot run provenance-toolkit ({_reason(exc)}): "
            f"install provenance-toolkit {__version__} on every worker"
        ) from exc
    for worker, (version, has_repository) in sorted(facts.items()):
        if version != __version__:
            raise UsageError(
                f"Dask worker {worker} has provenance-toolkit {safe_text(version, 40)}, this "
                f"client {__version__}: install the same version on every worker"
            )
        if not has_repository:
            raise UsageError(
                f"the manifest repository {safe_text(repository, 4096)} is not on Dask worker "
                f"{worker}: workers read it at the same path (or verify with --no-watermark)"
            )


def _worker_facts(repository: str | None) -> tuple[str, bool]:  # runs on each worker
    return __version__, repository is None or os.path.isfile(repository)


def _result(item: Path | Report, future: distributed.Future[Report] | None) -> Report:
    if isinstance(item, Report) or future is None:
        assert isinstance(item, Report)
        return item
    try:
        report = future.result()
    except Exception as exc:  # KilledWorker, a lost scheduler, an unexpected bug
        return failure_report(item, exc)
    # The worker saw the absolute path; show the path as given, as the local engine does.
    path, raw = path_fields(item)
    return dataclasses.replace(report, path=path, path_bytes=raw)


def _absolute_repository(config: VerifyConfig) -> VerifyConfig:
    """A relative repository path means nothing in a worker's directory: make it absolute."""
    location = config.repository
    if location is None or "://" in location:
        return config
    return dataclasses.replace(config, repository=os.path.abspath(location))


def _repository_file(location: str | None) -> str | None:
    """The SQLite file behind a repository location (None: not a local file)."""
    if location is not None and location.startswith("sqlite:///"):
        return location.removeprefix("sqlite://")
    return None if location is None or "://" in location else location


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return safe_text(lines[0] if lines else type(exc).__name__, 300)
