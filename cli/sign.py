"""``provenance sign``: add signed Content Credentials to generated content.

One file (``sign INPUT -o OUTPUT``) or many (``sign INPUT... --out-dir DIR``): the batch
form streams one result per input, as ``verify`` does, with its options, progress line,
Ctrl-C and exit codes (cli/_batch.py).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli._batch import (
    Engine,
    EngineOption,
    FromFile,
    Inputs,
    Jsonl,
    Recursive,
    Scheduler,
    Unordered,
    Workers,
    check_engine,
    default_workers,
    drive,
)
from cli._common import (
    handle_errors,
    home_of,
    read_passphrase,
    shown,
    with_hint,
)
from provenance import TrainingMining
from provenance.errors import InputError, ProvenanceError, UsageError
from provenance.files import read_input

if TYPE_CHECKING:
    from provenance.batch import SignOutcome
    from provenance.signing import SignSettings

_COLOURS = {
    "signed": typer.colors.GREEN,
    "skipped": typer.colors.BLUE,
    "failed": typer.colors.RED,
    "refused": typer.colors.YELLOW,
    "unreadable": typer.colors.YELLOW,
}


@handle_errors
def sign(
    ctx: typer.Context,
    sources: list[Path] = typer.Argument(
        None,
        metavar="INPUT...",
        help="Content to sign (never modified); with --out-dir, several files and, with -r, "
        "directories.",
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="Where to write the signed copy of the one INPUT."
    ),
    out_dir: Path = typer.Option(
        None,
        "--out-dir",
        metavar="DIR",
        help="Sign every INPUT into DIR, at its path as given (made relative): "
        "gen/a.png -> DIR/gen/a.png. Made when missing.",
    ),
    identity: str = typer.Option(
        None, "--identity", "-i", help="Signing identity (default: the store's default)."
    ),
    model: str = typer.Option(None, "--model", help="Name of the model that generated it."),
    model_version: str = typer.Option(None, "--model-version", help="Version of that model."),
    training_mining: TrainingMining = typer.Option(
        TrainingMining.NOT_ALLOWED,
        "--training-mining",
        help="CAWG preference for AI training and data mining of this content.",
    ),
    no_watermark: bool = typer.Option(
        False, "--no-watermark", help="Sign without embedding an invisible watermark."
    ),
    watermark_key: str = typer.Option(
        None, "--watermark-key", help="Watermark key to embed with (default: the store's default)."
    ),
    repository: str = typer.Option(
        None,
        "--repository",
        help="Manifest repository: a SQLite path or a postgresql:// URL (default: "
        "HOME/repository.sqlite).",
    ),
    tsa: str = typer.Option(
        None,
        "--tsa",
        metavar="URL",
        help="Time-stamp with the RFC 3161 authority at URL (default: the store's setting, "
        "else its own authority, offline).",
    ),
    no_timestamp: bool = typer.Option(
        False,
        "--no-timestamp",
        help="Sign without a time-stamp: the content then turns invalid when the signing "
        "certificate expires.",
    ),
    force: bool = typer.Option(
        False, "--force", "-f", help="Replace outputs that exist (regular files only)."
    ),
    skip_existing: bool = typer.Option(
        False,
        "--skip-existing",
        help="With --out-dir: leave outputs that exist as they are, each input reported "
        "'skipped' (exit 0), e.g. to finish an interrupted batch. Not with --force.",
    ),
    parent: Path = typer.Option(
        None,
        "--parent",
        metavar="FILE",
        help="INPUT is an edit of FILE: record FILE, with its credentials, as the parentOf "
        "ingredient (actions c2pa.opened and c2pa.edited).",
    ),
    ai_edit: bool = typer.Option(
        False,
        "--ai-edit",
        help="An AI model made the edit (digital source type "
        "compositeWithTrainedAlgorithmicMedia; naming --model on an edit says so too); "
        "without either an edit claims no source type and keeps its parent's.",
    ),
    keep_invalid_history: bool = typer.Option(
        False,
        "--keep-invalid-history",
        help="Sign over a parent (or an INPUT) whose credentials fail validation, recording "
        "them as an invalid ingredient; without it such input is refused.",
    ),
    sidecar: bool = typer.Option(
        False,
        "--sidecar",
        help="Write the manifest store beside OUTPUT as OUTPUT-NAME.c2pa instead of "
        "embedding it (OUTPUT is the content alone, watermarked unless --no-watermark); "
        "verify finds it there. Images, audio and video; with --out-dir each signed copy "
        "gets its own.",
    ),
    assertions: Path = typer.Option(
        None,
        "--assertions",
        metavar="FILE.json",
        help="Add your own assertions: a JSON list of {label, data} (or a c2patool "
        'manifest definition\'s "assertions"). The AI ones (c2pa.actions, the soft '
        "binding, training-mining, hashes, ingredients) cannot be replaced.",
    ),
    recursive: Recursive = False,
    from_file: FromFile = None,
    workers: Workers = None,
    jsonl: Jsonl = False,
    unordered: Unordered = False,
    engine: EngineOption = Engine.LOCAL,
    scheduler: Scheduler = None,
) -> None:
    """Sign INPUT as AI-generated content into OUTPUT (same format), or many into DIR.

    By default the pixels first get an invisible watermark carrying a new record id, the
    manifest records it, and the signed manifest is stored in the repository under that
    id, so `verify` can recover it after metadata is stripped. With --out-dir: exit 0 all
    signed (or skipped), else the first of 1 (signing, writing or storing the record
    failed), 2 (an output refused, e.g. it exists) and 3 (an input unreadable) that some
    file met; 130 on Ctrl-C.

    An INPUT that already carries credentials is signed as an edit of itself: its
    manifest becomes the parentOf ingredient, never dropped; one whose credentials fail
    validation is refused (exit 1) unless --keep-invalid-history.
    """
    sources = sources or []
    if model_version and not model:
        raise typer.BadParameter("--model-version needs --model")
    if tsa and no_timestamp:
        raise UsageError("choose one of --tsa and --no-timestamp")
    if output is not None and out_dir is not None:
        raise UsageError("choose one of -o OUTPUT (one file) and --out-dir DIR (many)")
    if skip_existing and force:
        raise UsageError("choose one of --force (replace outputs that exist) and --skip-existing")
    from provenance.signing import SignSettings  # here: --help loads no more

    settings = SignSettings(
        home=home_of(ctx),
        identity=identity,
        model=model,
        model_version=model_version,
        training_mining=training_mining,
        ai_edit=ai_edit,
        assertions=_read_assertions(assertions) if assertions is not None else (),
        watermark=not no_watermark,
        watermark_key=watermark_key,
        repository=repository,
        tsa_url=tsa,
        time_stamp=not no_timestamp,
        force=force,
        parent=parent,
        keep_invalid_history=keep_invalid_history,
        sidecar=sidecar,
    )
    if out_dir is None:
        batch_flags = {
            "-r": recursive,
            "--from-file": from_file is not None,
            "--workers": workers is not None,
            "--jsonl": jsonl,
            "--unordered": unordered,
            "--engine": engine is not Engine.LOCAL,
            "--scheduler": scheduler is not None,
            "--skip-existing": skip_existing,
        }
        given = [flag for flag, used in batch_flags.items() if used]
        if given:
            raise UsageError(f"{given[0]} goes with --out-dir DIR (many files), not with -o")
        if output is None:
            raise UsageError("name where the signed copy goes: -o OUTPUT, or --out-dir DIR")
        if len(sources) != 1:
            raise UsageError("-o OUTPUT takes one INPUT; use --out-dir DIR to sign several")
        _sign_one(sources[0], output, settings)
        return
    if not sources and from_file is None:
        raise UsageError("name files or directories to sign, or --from-file LIST")
    if Path("-") in sources:
        raise UsageError(
            "'-' (standard input) cannot be signed into --out-dir; --from-file - reads the "
            "list of files from standard input"
        )
    check_engine(engine, scheduler, workers, sources)
    inputs = Inputs(sources, from_file, recursive, skip=(out_dir,))
    batch = _Batch(inputs, workers, jsonl, unordered, engine, scheduler, skip_existing)
    code = _sign_many(batch, out_dir, settings)
    if code:
        raise typer.Exit(code)


#: The largest --assertions file read.
MAX_ASSERTIONS_FILE = 4 * 1024 * 1024


def _read_assertions(path: Path) -> tuple[dict[str, Any], ...]:
    """``--assertions FILE``: JSON, checked by the library (one line when it is not)."""
    from provenance.credentials import user_assertions

    try:
        data = read_input(path, MAX_ASSERTIONS_FILE)
    except InputError as exc:
        raise InputError(f"{path}: cannot read --assertions ({exc})") from None
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: --assertions is not JSON ({exc})") from None
    try:
        return user_assertions(value)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _passphrase(settings: SignSettings) -> str:
    """Asked by the signing session once its checks passed (one file or a batch)."""
    secret = read_passphrase(purpose="signing key")
    # An edit by a person (--parent without --ai-edit) has no model to name.
    if settings.model is None and (settings.parent is None or settings.ai_edit):
        typer.echo("warning: no --model given; the manifest will not name the model", err=True)
    return secret


def _sign_one(source: Path, output: Path, settings: SignSettings) -> None:
    # Here, not at the top: the key store, c2pa-rs and the watermark load only to sign.
    from provenance.signing import ContentSigner, check_paths, read_asset, sidecar_path

    check_paths(source, output, force=settings.force)
    asset = read_asset(source, limits=settings.limits)  # a bad input: before the passphrase
    assert settings.home is not None
    with ContentSigner(settings.home, lambda: _passphrase(settings), settings) as session:
        files = (source, output, sidecar_path(output), settings.parent)
        named = [f"{path}: " for path in files if isinstance(path, str | Path)]
        try:
            result = session.sign_file(asset, output)
        except ProvenanceError as exc:
            # Every error line names its file once: the input, unless the library named
            # a file already (the output, its sidecar, the parent, the input itself).
            if str(exc).startswith(tuple(named)):
                raise
            raise exc.about(source) from None
        stamped = session.time_stamp_authority
    record = f"{result.record_id:016x}" if result.record_id is not None else None
    mark = f", watermark record {record}" if record else ", no watermark"
    when = f", time-stamped by {stamped}" if stamped else ", no time-stamp"
    beside = f", manifest in {shown(sidecar_path(result.output))}" if settings.sidecar else ""
    typer.echo(
        f"signed {shown(result.output)} ({shown(result.media_type)}, {result.size:,} bytes) "
        f"as {shown(result.signer)}{when}{mark}{beside}"
    )


@dataclasses.dataclass(frozen=True)
class _Batch:
    """The batch options as given."""

    inputs: Inputs
    workers: int | None
    jsonl: bool
    unordered: bool
    engine: Engine
    scheduler: str | None
    skip_existing: bool


def _sign_many(batch: _Batch, out_dir: Path, settings: SignSettings) -> int:
    """Sign the batch, print one line per input; the exit code it calls for."""
    from provenance.batch import SignStatus, sign_many

    stop = threading.Event()
    outcomes = sign_many(
        batch.inputs.names(),
        out_dir,
        settings,
        lambda: _passphrase(settings),  # asked once, after the checks, as for one file
        recursive=batch.inputs.recursive,
        workers=default_workers(batch.workers),
        ordered=not batch.unordered,
        engine=batch.engine.value,
        scheduler=batch.scheduler,
        stop=stop,
        skip_existing=batch.skip_existing,
    )
    colour = not batch.jsonl and sys.stdout.isatty()

    def show(outcome: SignOutcome) -> None:
        if outcome.error is not None:
            outcome = dataclasses.replace(outcome, error=with_hint(outcome.error, outcome.remedy))
        if batch.jsonl:
            typer.echo(json.dumps(outcome.to_json()))
            return
        status = f"{outcome.status!s:<10}"
        if colour:
            status = typer.style(status, fg=_COLOURS[outcome.status], bold=True)
        if outcome.error is not None:
            typer.echo(f"{status} {shown(outcome.input)}  {shown(outcome.error)}")
            return
        if outcome.status is SignStatus.SKIPPED:
            typer.echo(f"{status} {shown(outcome.input)} -> {shown(outcome.output)}  (exists)")
            return
        mark = f", record {outcome.record}" if outcome.record else ", no watermark"
        beside = f", manifest in {shown(outcome.manifest)}" if outcome.manifest else ""
        typer.echo(
            f"{status} {shown(outcome.input)} -> {shown(outcome.output)}  "
            f"({shown(outcome.media_type)}, {outcome.size or 0:,} bytes{mark}{beside})"
        )

    counts = drive(
        outcomes,
        status=lambda outcome: outcome.status,
        show=show,
        inputs=batch.inputs,
        stop_feed=stop.set,
    )
    codes = [status.exit_code for status in counts if counts[status]]
    return min((code for code in codes if code), default=SignStatus.SIGNED.exit_code)
