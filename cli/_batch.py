"""What the batch commands (`verify`, `sign --out-dir`) share: their options, declared once,
their inputs, the progress line on a terminal, Ctrl-C and the tally on stderr."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import enum
import itertools
import os
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from provenance.errors import UsageError

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)


class Engine(enum.StrEnum):
    LOCAL = "local"
    DASK = "dask"


# -- options ----------------------------------------------------------------------------

Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Walk directories.")]
FromFile = Annotated[
    str | None,
    typer.Option(
        "--from-file",
        metavar="LIST",
        help="Also the paths in LIST, one a line (blank lines skipped); '-' reads the list "
        "from stdin.",
    ),
]
Jsonl = Annotated[bool, typer.Option("--jsonl", help="Print one JSON object a line, per input.")]
Unordered = Annotated[
    bool,
    typer.Option("--unordered", help="Print each result as it finishes, not in input order."),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        min=1,
        help="Worker processes (default: the CPU count); capped at 4 per CPU and at one "
        "per file (up to N names are read before the workers start).",
    ),
]
EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="local: worker processes here; dask: the workers of the Dask cluster at "
        "--scheduler (needs the toolkit's 'dask' extra; docs/batch.md).",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://host:8786. Its workers open the files themselves, "
        "at the same absolute paths: they need the same (shared) filesystem.",
    ),
]


def check_engine(
    engine: Engine, scheduler: str | None, workers: int | None, paths: Iterable[Path]
) -> None:
    """Flags that only mean something together, checked before any work."""
    if engine is Engine.LOCAL:
        if scheduler is not None:
            raise UsageError("--scheduler goes with --engine dask")
        return
    if scheduler is None:
        raise UsageError("--engine dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    if workers is not None:
        raise UsageError(
            "--workers is for --engine local; a Dask cluster has the workers it was started "
            "with (dask worker --nworkers N)"
        )
    if Path("-") in paths:
        raise UsageError("'-' (standard input) is verified here, not with --engine dask")


def default_workers(workers: int | None) -> int:
    """The worker count asked for (default: the CPU count); one line on stderr when it is
    over what a batch starts here, which then starts that many."""
    if workers is None:
        return os.cpu_count() or 1
    from provenance.batch import WORKERS_PER_CPU, max_workers

    if workers > (cap := max_workers()):
        typer.echo(
            f"note: --workers {workers} is over this machine's limit of {cap} "
            f"({WORKERS_PER_CPU} per CPU); at most {cap} run at once",
            err=True,
        )
    return workers


# -- inputs -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The names a batch command was given: arguments, then the ``--from-file`` list."""

    paths: list[Path]
    from_file: str | None
    recursive: bool
    #: Folders never walked (an output folder inside the input tree).
    skip: tuple[Path, ...] = ()

    def names(self) -> Iterator[Path]:
        """The names, the list read lazily."""
        listed = _listed(self.from_file) if self.from_file is not None else ()
        return itertools.chain(self.paths, listed)

    def countable(self) -> bool:
        """The list can be read twice (once to count it): not stdin, a pipe or a FIFO."""
        if self.from_file is None:
            return True
        try:
            return self.from_file != "-" and stat.S_ISREG(os.stat(self.from_file).st_mode)
        except OSError:
            return False


def _listed(source: str) -> Iterator[Path]:
    """Paths from a list file or stdin, one a line, read lazily."""
    from provenance.batch import paths_from_lines

    if source == "-":
        yield from paths_from_lines(sys.stdin.buffer)
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed when the generator ends
    except OSError as exc:
        raise UsageError(f"{source}: cannot read --from-file list ({exc.strerror})") from None
    with handle:
        yield from paths_from_lines(handle)


# -- running a batch ----------------------------------------------------------------------


def drive(
    results: Iterable[T],
    *,
    status: Callable[[T], E],
    show: Callable[[T], None],
    inputs: Inputs,
    finish: Callable[[], None] | None = None,
    stop_feed: Callable[[], None] | None = None,
) -> collections.Counter[E]:
    """Show each result as it arrives and tally it by ``status``; the tally goes to stderr.

    On a terminal a progress line is kept on stderr. Ctrl-C stops after the result in hand,
    so every result shown is whole and counted; or, with ``stop_feed`` (signing, where
    every output written must be reported), it calls ``stop_feed`` so that no file is
    started any more and shows the results of those in flight as they finish. Then
    ``finish`` closes the output (a JSON list), the tally so far is printed and the
    command exits 130. A second Ctrl-C stops at once (the workers still finish the files
    they hold; a further one skips that wait). ``finish`` also runs at the end.
    """
    counts: collections.Counter[E] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    progress = Progress(counts) if sys.stderr.isatty() else None
    if progress and inputs.countable():
        progress.count_in_background(inputs)
    stop = StopOnInterrupt(hint=progress is not None, then=stop_feed)
    with stop:
        try:
            for result in results:
                show(result)
                sys.stdout.flush()
                counts[status(result)] += 1
                kinds[_kind_of(result)] += 1
                if progress:
                    progress.update()
                if stop.requested and stop_feed is None:
                    break
        except KeyboardInterrupt:
            stop.requested = True  # a second Ctrl-C: stop now, whatever is in flight
        if stop.requested:
            if progress:
                progress.clear()
            if finish:
                finish()
            typer.echo(f"interrupted after {tally(counts)}", err=True)
            sys.stdout.flush()
            with contextlib.suppress(KeyboardInterrupt):
                close = getattr(results, "close", None)
                if close is not None:
                    close()
            raise typer.Exit(130)
    if progress:
        progress.clear()
    if finish:
        finish()
    typer.echo(tally(counts, kinds), err=True)
    return counts


class StopOnInterrupt:
    """Ctrl-C asks the batch to stop after the result it is waiting for, so every result
    printed is whole and counted; a second Ctrl-C raises ``KeyboardInterrupt`` at once."""

    def __init__(self, *, hint: bool, then: Callable[[], None] | None = None) -> None:
        self.requested = False
        self._hint = hint
        self._then = then  # called on the first Ctrl-C
        self._previous: Any = None

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_interrupt(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self._then is not None:
            self._then()
        if self._hint:
            sys.stderr.write("\r\x1b[Kstopping after the files in progress (Ctrl-C again: now)\n")


def _in_order(counts: collections.Counter[E]) -> list[E]:
    """The keys counted, in the order their enum defines (verdicts, sign statuses)."""
    keys = [key for key, n in counts.items() if n]
    return [key for key in type(keys[0]) if counts[key]] if keys else []


def tally(counts: collections.Counter[E], kinds: collections.Counter[str] | None = None) -> str:
    """``3 files: 2 trusted, 1 error``; with ``kinds``, what kinds of content they were
    (``; by kind: 1 image, 1 video, 1 unknown``: unknown is what could not be identified)."""
    total = sum(counts.values())
    parts = ", ".join(f"{counts[key]} {key}" for key in _in_order(counts))
    line = f"{total} file{'s' * (total != 1)}: {parts or 'none'}"
    if kinds:
        order = {name: i for i, name in enumerate(_KIND_ORDER)}
        named = sorted(kinds, key=lambda name: (order.get(name, len(order)), name))
        line += "; by kind: " + ", ".join(f"{kinds[name]} {name}" for name in named)
    return line


#: The kinds of content in the order tallies list them; "unknown" last.
_KIND_ORDER = ("image", "text", "audio", "video", "unknown")


def _kind_of(result: object) -> str:
    """The kind of content a report or sign outcome is about, from its media type."""
    from provenance.kinds import kind_name  # here: the registry loads only once a file is done

    media_type = getattr(result, "media_type", None)
    name = kind_name(media_type) if isinstance(media_type, str) else None
    return name or "unknown"


def progress_line(
    done: int,
    total: int | None,
    elapsed: float,
    counts: collections.Counter[E],
    *,
    counting: bool = False,
) -> str:
    """``1,234/10,000 files, 250 files/s, ETA 0:35 — 1,200 trusted, 30 error``.

    ``total`` is None while the inputs are being counted (``counting``) and for good when
    they cannot be (a list on standard input): then there is no ETA.
    """
    rate = done / elapsed if elapsed > 0 else 0.0
    if total is None:
        head = f"{done:,} files{' (counting...)' * counting}, {rate:,.0f} files/s"
    else:
        total = max(total, done)  # files added after the count
        eta = _duration((total - done) / rate) if rate > 0 else "--:--"
        head = f"{done:,}/{total:,} files, {rate:,.0f} files/s, ETA {eta}"
    parts = ", ".join(f"{counts[key]:,} {key}" for key in _in_order(counts))
    return f"{head} — {parts}" if parts else head


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """One self-rewriting line on a terminal's stderr: files, rate, ETA, the tally."""

    def __init__(self, counts: collections.Counter[Any]) -> None:
        self._counts = counts
        self._start = time.monotonic()
        self._shown = 0.0
        self._total: int | None = None
        self._counting = False

    def count_in_background(self, inputs: Inputs) -> None:
        """Count the inputs in a daemon thread (a second walk) for a total and an ETA."""

        def count() -> None:
            from provenance.batch import count_files

            try:
                self._total = count_files(
                    inputs.names(), recursive=inputs.recursive, skip=inputs.skip
                )
            except Exception:  # only the ETA is lost; the batch itself reports the cause
                pass
            finally:
                self._counting = False

        self._counting = True
        threading.Thread(target=count, name="count-inputs", daemon=True).start()

    def update(self) -> None:
        now = time.monotonic()
        if now - self._shown < 0.2:
            return
        self._shown = now
        done = sum(self._counts.values())
        elapsed = now - self._start
        line = progress_line(done, self._total, elapsed, self._counts, counting=self._counting)
        width = shutil.get_terminal_size().columns - 1
        sys.stderr.write("\r\x1b[K" + line[:width])
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
