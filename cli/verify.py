"""``provenance verify`` and ``provenance inspect``: one honest verdict per file."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

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
from cli._common import handle_errors, home_of, repository_location, with_hint
from cli._options import AllowedList, Json, Repository, TrustAnchors, TrustConfig
from provenance.errors import InputError, UsageError
from provenance.files import read_input, read_stdin, safe_text
from provenance.report import Report, Verdict
from provenance.verify import Requirement, meets

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


@handle_errors
def verify(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        None, metavar="PATH...", help="Files or directories; '-' reads one file from stdin."
    ),
    from_file: FromFile = None,
    unordered: Unordered = False,
    file_timeout: float = typer.Option(
        None,
        "--timeout",
        min=0.1,
        help="Seconds allowed per file; slower files report error. It interrupts Python code "
        "(also in Dask worker threads); a native call only once it returns.",
    ),
    max_size_mb: float = typer.Option(
        None,
        "--max-size",
        min=0.001,
        help="Largest file to read, in MiB (default: 512; audio and video, streamed: 65,536).",
    ),
    recursive: Recursive = False,
    as_json: Json = False,
    as_jsonl: Jsonl = False,
    workers: Workers = None,
    engine: EngineOption = Engine.LOCAL,
    scheduler: Scheduler = None,
    trust_anchors: TrustAnchors = None,
    trust_config: TrustConfig = None,
    allowed_list: AllowedList = None,
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
    repository: Repository = None,
    manifest: Path = typer.Option(
        None,
        "--manifest",
        metavar="STORE.c2pa",
        help="Validate PATH (one file) against this manifest store instead of its own "
        "or its sidecar.",
    ),
    tokenizer: str = typer.Option(
        None,
        "--tokenizer",
        metavar="PATH_OR_NAME",
        envvar="PROVENANCE_TOKENIZER",
        help="Also test text for the LLM watermark of the store's keys, tokenised as the "
        "generating model does: tokenizer.json, a folder of tokenizer files or a known name "
        "(gpt2). Never downloads.",
    ),
) -> None:
    """Verify the provenance of files; exit 0 all fine, 1 invalid, 3 unreadable."""
    from provenance.batch import iter_files, verify_many
    from provenance.verify import Verifier, check_repository

    if as_json and as_jsonl:
        raise UsageError("choose one of --json and --jsonl")
    paths = paths or []
    if not paths and from_file is None:
        raise UsageError("name files or directories to verify, or --from-file LIST")
    if manifest is not None:
        _check_one_file(paths, from_file, recursive)
    check_engine(engine, scheduler, workers, paths)
    config = _config(
        home_of(ctx), trust_anchors or [], trust_config, allowed_list or [], crls or []
    )
    limits = config.limits
    if max_size_mb is not None:
        cap = int(max_size_mb * 2**20)  # every kind: read whole or streamed
        limits = dataclasses.replace(limits, max_file_bytes=cap, max_stream_bytes=cap)
    config = dataclasses.replace(
        config,
        limits=limits,
        check_watermark=not no_watermark,
        repository=_existing_repository(repository_location(ctx, repository), repository),
        llm_tokenizer=tokenizer,
    )
    if tokenizer is not None and not no_watermark:
        from provenance.watermark.llm import load_tokenizer

        load_tokenizer(tokenizer)  # a tokenizer that cannot be had is one error, not one a file
    if config.repository is not None:
        check_repository(config.repository)
    inputs = Inputs(paths, from_file, recursive)
    if Path("-") in paths:
        if len(paths) != 1 or from_file is not None:
            raise UsageError("'-' (standard input) cannot be combined with other inputs")
        try:
            data = read_stdin(config.limits.max_file_bytes)
        except InputError as exc:
            raise InputError(f"standard input: {exc}") from None
        reports: Iterable[Report] = [Verifier(config).verify_bytes(data, "-")]
    elif manifest is not None:
        try:
            reports = [Verifier(config).verify_path(paths[0], manifest=manifest)]
        except UsageError as exc:  # text with --manifest: the report line never came
            raise exc.about(paths[0]) from None
    else:
        reports = verify_many(
            iter_files(inputs.names(), recursive=recursive),
            config,
            workers=default_workers(workers),
            ordered=not unordered,
            file_timeout=file_timeout,
            engine=engine.value,
            scheduler=scheduler,
        )
    unmet = 0

    def count_unmet(report: Report) -> None:
        nonlocal unmet
        unmet += require is not None and not meets(report.verdict, require)

    style = "json" if as_json else "jsonl" if as_jsonl else "text"
    show, finish = _printer(style, count_unmet)
    counts = drive(
        reports, status=lambda report: report.verdict, show=show, inputs=inputs, finish=finish
    )
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
    trust_anchors: TrustAnchors = None,
    trust_config: TrustConfig = None,
    allowed_list: AllowedList = None,
    tree: bool = typer.Option(
        False, "--tree", help="Print what FILE was made from, as a tree of ingredients."
    ),
    detailed: bool = typer.Option(
        False, "--detailed", help="Print c2pa-rs's detailed report of the store as JSON."
    ),
    certs: bool = typer.Option(
        False,
        "--certs",
        help="Print the active manifest's signing certificate chain as PEM, leaf first "
        "(without the time-stamping authority's).",
    ),
    manifest: Path = typer.Option(
        None,
        "--manifest",
        metavar="STORE.c2pa",
        help="Validate FILE against this manifest store instead of its own or its sidecar.",
    ),
) -> None:
    """Print the full C2PA manifest store of FILE as JSON (exit 1: none)."""
    from provenance.credentials import manifest_tree, render_tree
    from provenance.verify import Verifier

    views = [
        flag for flag, on in (("--tree", tree), ("--detailed", detailed), ("--certs", certs)) if on
    ]
    if len(views) > 1:
        raise UsageError(f"choose one of {' and '.join(views)}")
    if manifest is not None:
        _check_one_file([file], None, False)
    config = _config(home_of(ctx), trust_anchors or [], trust_config, allowed_list or [])
    try:
        found = Verifier(config).inspect_store(file, manifest=manifest)
        if found is None:
            typer.echo(f"{safe_text(file, 4096)}: no C2PA manifest", err=True)
            raise typer.Exit(1)
        if found.source:
            typer.echo(f"{safe_text(file, 4096)}: {found.source}", err=True)
        if certs:
            from cryptography.hazmat.primitives.serialization import Encoding

            chain = found.signing_chain()
            typer.echo(b"".join(c.public_bytes(Encoding.PEM) for c in chain).decode(), nl=False)
            return
        if detailed:
            typer.echo(json.dumps(found.detailed(), indent=2))
            return
    except (InputError, UsageError) as exc:
        raise exc.about(file) from None
    store = found.store
    if tree:
        root = manifest_tree(store)
        if root is None:
            raise InputError(f"{file}: the manifest store has no active manifest")
        typer.echo("\n".join(render_tree(root)))
        return
    typer.echo(json.dumps(store.store or {"validation_state": store.state}, indent=2))


def _check_one_file(paths: list[Path], from_file: object, recursive: bool) -> None:
    """``--manifest`` is about one file: refuse it with several, a list, -r or a folder."""
    if from_file is not None or recursive or len(paths) != 1:
        raise UsageError("--manifest takes exactly one file (not -r, --from-file or several)")
    if paths[0] == Path("-"):
        raise UsageError("--manifest takes a file, not standard input")
    if paths[0].is_dir():
        raise UsageError("--manifest takes a file, not a directory")


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
    from provenance.credentials import load_crls

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

    from provenance.keystore import is_ca_or_root

    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        return [], []  # c2pa-rs reports what it cannot parse
    subjects = [(safe_text(c.subject.rfc4514_string(), 512), is_ca_or_root(c)) for c in certs]
    return [s for s, ca in subjects if not ca], [s for s, ca in subjects if ca]


def _warn(message: str) -> None:
    typer.echo(f"warning: {safe_text(message, 4096)}", err=True)


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


def _printer(
    style: str, also: Callable[[Report], None]
) -> tuple[Callable[[Report], None], Callable[[], None] | None]:
    """How each report is printed as it arrives (streaming) and how the output ends.

    A JSON list is opened before the first report and closed at the end, also when the
    batch is interrupted."""
    colour = style == "text" and sys.stdout.isatty()
    first = True

    def show(report: Report) -> None:
        nonlocal first
        also(report)
        if style == "json":
            typer.echo(("\n  " if first else ",\n  ") + json.dumps(report.to_json()), nl=False)
        elif style == "jsonl":
            typer.echo(json.dumps(report.to_json()))
        else:
            verdict = f"{report.verdict!s:<11}"
            if colour:
                verdict = typer.style(verdict, fg=_COLOURS[report.verdict], bold=True)
            summary = with_hint(report.summary, report.remedy)
            path, summary = safe_text(report.path, 4096), safe_text(summary, 2000)
            typer.echo(f"{verdict} {path}  {summary}")
        first = False

    if style != "json":
        return show, None
    typer.echo("[", nl=False)
    return show, lambda: typer.echo("\n]")
