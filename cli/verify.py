"""``provenance verify`` and ``provenance inspect``: one honest verdict per file."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import enum
import itertools
import json
import os
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli._common import handle_errors, home_of, repository_location
from provenance._internal.fs import read_input, read_stdin
from provenance._internal.text import safe_text
from provenance.errors import InputError, UsageError
from provenance.report import Report, Verdict
from provenance.verdict import Requirement, meets

# The verifier (c2pa-rs, the key store, cryptography) loads in the commands; the watermark
# engine (NumPy, SciPy, Pillow) only when a file's watermark is looked for.
if TYPE_CHECKING:
    from provenance.verify import VerifyConfig

_COLOURS = {
    Verdict.TRUSTED: typer.colors.GREEN,
    Verdict.VALID: typer.colors.CYAN,
    Verdict.RECOVERED: typer.colors.GREEN,
    Verdict.WATERMARKED: typer.colors.CYAN,
    Verdict.INVALID: typer.colors.RED,
    Verdict.NONE: typer.colors.WHITE,
    Verdict.ERROR: typer.colors.YELLOW,
}


#: The largest CRL file ``--crl`` reads (a big public CA's CRL is a few MB).
MAX_CRL_BYTES = 64 * 1024 * 1024


class Engine(enum.StrEnum):
    LOCAL = "local"
    DASK = "dask"


@handle_errors
def verify(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        None, metavar="PATH...", help="Files or directories; '-' reads one file from stdin."
    ),
    from_file: str = typer.Option(
        None,
        "--from-file",
        metavar="LIST",
        help="Also verify the paths in LIST, one a line; '-' reads the list from stdin.",
    ),
    unordered: bool = typer.Option(
        False, "--unordered", help="Print each result as it finishes, not in input order."
    ),
    file_timeout: float = typer.Option(
        None,
        "--timeout",
        min=0.1,
        help="Seconds allowed per file; slower files report error. It interrupts Python code "
        "(also in Dask worker threads); a native call only once it returns.",
    ),
    max_size_mb: float = typer.Option(
        None, "--max-size", min=0.001, help="Largest file to read, in MB (default: 512)."
    ),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Walk directories."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of reports."),
    as_jsonl: bool = typer.Option(False, "--jsonl", help="Print one JSON report a line."),
    workers: int = typer.Option(
        None,
        "--workers",
        "-w",
        min=1,
        help="Worker processes (default: the CPU count); capped at 4 per CPU and at one "
        "per file (up to N names are read before the workers start).",
    ),
    engine: Engine = typer.Option(
        Engine.LOCAL,
        "--engine",
        help="local: worker processes here; dask: the workers of the Dask cluster at "
        "--scheduler (needs the toolkit's 'dask' extra; docs/batch.md).",
    ),
    scheduler: str = typer.Option(
        None,
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://host:8786. Its workers read the files themselves, "
        "at the same absolute paths: they need the same (shared) filesystem.",
    ),
    trust_anchors: list[Path] = typer.Option(
        None, "--trust-anchors", help="PEM file of extra trust anchors (repeatable)."
    ),
    trust_config: Path = typer.Option(
        None, "--trust-config", help="File of accepted signer EKU OIDs, one a line."
    ),
    allowed_list: list[Path] = typer.Option(
        None,
        "--allowed-list",
        help="PEM file of signing (end-entity) certificates trusted alone (repeatable).",
    ),
    crls: list[Path] = typer.Option(
        None,
        "--crl",
        metavar="FILE",
        help="Also honour this CRL (PEM or DER; repeatable) when a trust anchor signed it, "
        "besides those imported with `trust add`.",
    ),
    require: Requirement = typer.Option(
        None,
        "--require",
        help="Also fail (exit 1) unless every file meets it: 'trusted' admits only trusted; "
        "'any' admits trusted, valid, recovered and watermarked.",
    ),
    no_watermark: bool = typer.Option(
        False, "--no-watermark", help="Do not look for watermarks (faster; nothing recovered)."
    ),
    repository: str = typer.Option(
        None, "--repository", help="Manifest repository (default: HOME/repository.sqlite)."
    ),
) -> None:
    """Verify the provenance of files; exit 0 all fine, 1 invalid, 3 unreadable."""
    from provenance.batch import iter_files, verify_many
    from provenance.recovery import check_repository
    from provenance.verify import Verifier

    if as_json and as_jsonl:
        raise UsageError("choose one of --json and --jsonl")
    paths = paths or []
    if not paths and from_file is None:
        raise UsageError("name files or directories to verify, or --from-file LIST")
    _check_engine(engine, scheduler, workers, paths)
    config = _config(
        home_of(ctx), trust_anchors or [], trust_config, allowed_list or [], crls or []
    )
    limits = config.limits
    if max_size_mb is not None:
        limits = dataclasses.replace(limits, max_file_bytes=int(max_size_mb * 1_000_000))
    config = dataclasses.replace(
        config,
        limits=limits,
        check_watermark=not no_watermark,
        repository=_existing_repository(repository_location(ctx, repository), repository),
    )
    if config.repository is not None:
        check_repository(config.repository)
    if Path("-") in paths:
        if len(paths) != 1 or from_file is not None:
            raise UsageError("'-' (standard input) cannot be combined with other inputs")
        try:
            data = read_stdin(config.limits.max_file_bytes)
        except InputError as exc:
            raise InputError(f"standard input: {exc}") from None
        reports: Iterable[Report] = [Verifier(config).verify_bytes(data, "-")]
    else:
        inputs = itertools.chain(paths, _listed(from_file) if from_file is not None else ())
        reports = verify_many(
            iter_files(inputs, recursive=recursive),
            config,
            workers=workers or os.cpu_count() or 1,
            ordered=not unordered,
            file_timeout=file_timeout,
            engine=engine.value,
            scheduler=scheduler,
        )
    counts: collections.Counter[Verdict] = collections.Counter()
    unmet = 0
    progress = _Progress(counts) if sys.stderr.isatty() else None
    if progress and (from_file is None or _is_regular_file(from_file)):
        progress.count_in_background(paths, from_file, recursive)
    stop = _StopOnInterrupt(hint=progress is not None)
    with stop:
        try:
            for report in _emit(reports, "json" if as_json else "jsonl" if as_jsonl else "text"):
                counts[report.verdict] += 1
                unmet += require is not None and not meets(report.verdict, require)
                if progress:
                    progress.update()
                if stop.requested:
                    break
        except KeyboardInterrupt:
            stop.requested = True  # a second Ctrl-C: stop now, whatever is in flight
        if stop.requested:
            # Everything verified so far is printed: close the JSON list, say so, then let
            # the workers finish the files they hold (a further Ctrl-C skips that wait).
            if progress:
                progress.clear()
            if as_json:
                typer.echo("\n]")
            typer.echo(f"interrupted after {_tally(counts)}", err=True)
            sys.stdout.flush()
            with contextlib.suppress(KeyboardInterrupt):
                close = getattr(reports, "close", None)
                if close is not None:
                    close()
            raise typer.Exit(130)
    if progress:
        progress.clear()
    typer.echo(_tally(counts), err=True)
    if counts[Verdict.INVALID]:
        raise typer.Exit(1)
    if counts[Verdict.ERROR]:
        raise typer.Exit(3)
    if unmet:
        typer.echo(f"{unmet} file(s) do not meet --require {require}", err=True)
        raise typer.Exit(1)


@handle_errors
def inspect(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="File whose manifest store to print."),
    trust_anchors: list[Path] = typer.Option(
        None, "--trust-anchors", help="PEM file of extra trust anchors (repeatable)."
    ),
    trust_config: Path = typer.Option(None, "--trust-config", help="EKU OID list."),
    allowed_list: list[Path] = typer.Option(
        None, "--allowed-list", help="PEM file of signing certificates trusted alone."
    ),
) -> None:
    """Print the full C2PA manifest store of an image or text FILE as JSON (exit 1: none)."""
    from provenance.verify import Verifier

    config = _config(home_of(ctx), trust_anchors or [], trust_config, allowed_list or [])
    try:
        store = Verifier(config).manifest_store(file)
    except InputError as exc:
        raise type(exc)(f"{file}: {exc}") from None
    if store is None:
        typer.echo(f"{safe_text(file, 4096)}: no C2PA manifest", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(store.store or {"validation_state": store.state}, indent=2))


def _config(
    home: Path,
    anchors: Iterable[Path],
    trust_config: Path | None,
    allowed: Iterable[Path] = (),
    crls: Iterable[Path] = (),
) -> VerifyConfig:
    """Trust anchors and allowed certificates from the key store at ``home`` (if any)
    plus the flags; a certificate in the wrong flag is warned about on stderr."""
    from provenance.home import verify_config_for_home

    pems: list[str] = []
    for path in anchors:
        text = _read_pem(path, "--trust-anchors")
        leaves, cas = _split(text)
        for subject in leaves:
            effect = (
                "it is ignored as an anchor (the file's CA certificates count)"
                if cas
                else "as a trust anchor it makes nothing trusted (c2pa-rs trusts the CAs "
                "that issue signers): pass its root CA to --trust-anchors, or this "
                "certificate to --allowed-list"
            )
            _warn(f"{path}: {subject} is an end-entity (signing) certificate; {effect}")
        pems.append(text)
    allowed_pems: list[str] = []
    for path in allowed:
        text = _read_pem(path, "--allowed-list")
        for subject in _split(text)[1]:
            _warn(
                f"{path}: {subject} is a CA certificate; the allowed list trusts only the "
                "signing certificates in it, not those a CA issues: pass a CA to "
                "--trust-anchors"
            )
        allowed_pems.append(text)
    eku = _read_text(trust_config, "--trust-config") if trust_config else None
    crl_data = [_read_crl(path) for path in crls]
    return verify_config_for_home(home, pems, eku, allowed_pems, extra_crls_pem=crl_data)


def _read_crl(path: Path) -> bytes:
    from provenance.credentials.crl import load_crls

    try:
        data = read_input(path, MAX_CRL_BYTES)
    except InputError as exc:
        raise UsageError(f"{path}: cannot read --crl file ({exc})") from None
    try:
        load_crls(data, str(path))
    except InputError as exc:
        raise UsageError(f"--crl {exc}") from None
    return data


def _read_pem(path: Path, flag: str) -> str:
    text = _read_text(path, flag)
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise UsageError(f"{path}: no PEM certificate in {flag} file")
    return text


def _split(text: str) -> tuple[list[str], list[str]]:
    """Subjects of the end-entity and of the CA certificates in PEM ``text``."""
    from cryptography import x509

    from provenance.keystore.trust import is_ca_or_root

    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        return [], []  # c2pa-rs reports what it cannot parse
    subjects = [(safe_text(c.subject.rfc4514_string(), 512), is_ca_or_root(c)) for c in certs]
    return [s for s, ca in subjects if not ca], [s for s, ca in subjects if ca]


def _warn(message: str) -> None:
    typer.echo(f"warning: {safe_text(message, 4096)}", err=True)


def _check_engine(
    engine: Engine, scheduler: str | None, workers: int | None, paths: list[Path]
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


class _StopOnInterrupt:
    """Ctrl-C asks the batch to stop after the report it is waiting for, so every report
    printed is whole and counted; a second Ctrl-C raises ``KeyboardInterrupt`` at once."""

    def __init__(self, *, hint: bool) -> None:
        self.requested = False
        self._hint = hint
        self._previous: Any = None

    def __enter__(self) -> _StopOnInterrupt:
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
        if self._hint:
            sys.stderr.write("\r\x1b[Kstopping after the files in progress (Ctrl-C again: now)\n")


def _tally(counts: collections.Counter[Verdict]) -> str:
    total = sum(counts.values())
    tally = ", ".join(f"{counts[v]} {v}" for v in Verdict if counts[v])
    return f"{total} file{'s' * (total != 1)}: {tally or 'none'}"


def progress_line(
    done: int,
    total: int | None,
    elapsed: float,
    counts: collections.Counter[Verdict],
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
    tally = ", ".join(f"{counts[v]:,} {v}" for v in Verdict if counts[v])
    return f"{head} — {tally}" if tally else head


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _Progress:
    """One self-rewriting line on a terminal's stderr: files, rate, ETA, verdict counts."""

    def __init__(self, counts: collections.Counter[Verdict]) -> None:
        self._counts = counts
        self._start = time.monotonic()
        self._shown = 0.0
        self._total: int | None = None
        self._counting = False

    def count_in_background(
        self, paths: Iterable[Path], from_file: str | None, recursive: bool
    ) -> None:
        """Count the inputs in a daemon thread (a second walk) for a total and an ETA."""

        def count() -> None:
            from provenance.batch import count_files

            try:
                listed = _listed(from_file) if from_file is not None else ()
                self._total = count_files(itertools.chain(paths, listed), recursive=recursive)
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


def _is_regular_file(path: str) -> bool:
    """A list that can be read twice (once to count it): not stdin, a pipe or a FIFO."""
    try:
        return path != "-" and stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _existing_repository(location: str, given: str | None) -> str | None:
    """Verification never creates a repository: a missing default one means none."""
    if given is None and not Path(location).exists():
        return None
    return location


def _read_text(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read {flag} file ({exc})") from None


def _emit(reports: Iterable[Report], style: str) -> Iterator[Report]:
    """Print each report as it arrives (streaming) and pass it on."""
    colour = style == "text" and sys.stdout.isatty()
    if style == "json":
        typer.echo("[", nl=False)
    for index, report in enumerate(reports):
        if style == "json":
            prefix = "\n  " if index == 0 else ",\n  "
            typer.echo(prefix + json.dumps(report.to_json()), nl=False)
        elif style == "jsonl":
            typer.echo(json.dumps(report.to_json()))
        else:
            verdict = f"{report.verdict!s:<11}"
            if colour:
                verdict = typer.style(verdict, fg=_COLOURS[report.verdict], bold=True)
            path, summary = safe_text(report.path, 4096), safe_text(report.summary, 2000)
            typer.echo(f"{verdict} {path}  {summary}")
        sys.stdout.flush()
        yield report
    if style == "json":
        typer.echo("\n]")
