"""``provenance text``: detect the statistical watermark in LLM-generated text."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli._common import handle_errors, home_of, shown
from cli._options import Json, WatermarkKey
from provenance.errors import InputError, UsageError
from provenance.files import read_input, read_stdin

__all__ = ["text_app"]

MAX_TEXT_BYTES = 16 * 1024 * 1024

text_app = typer.Typer(
    rich_markup_mode=None,  # plain help: rich costs a third of the start-up
    help="The statistical watermark in LLM-generated text.",
    no_args_is_help=True,
)


def _read_text(source: str) -> str:
    """FILE as UTF-8 text; ``-`` reads standard input. Bounded, regular files only."""
    name = "standard input" if source == "-" else source
    try:
        if source == "-":
            data = read_stdin(MAX_TEXT_BYTES)
        else:
            data = read_input(Path(source), MAX_TEXT_BYTES)
    except InputError as exc:
        raise InputError(f"cannot read {name}: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text (byte {exc.start})") from None


@text_app.command("detect", no_args_is_help=True)
@handle_errors
def detect_command(
    ctx: typer.Context,
    source: str = typer.Argument(..., metavar="FILE", help="UTF-8 text to check; - for stdin."),
    tokenizer: str = typer.Option(
        "gpt2",
        "--tokenizer",
        "-t",
        metavar="PATH_OR_NAME",
        help="The generating model's tokenizer: tokenizer.json, a folder of tokenizer files, "
        "a known name (gpt2) or a model in the local Hugging Face cache. Never downloads.",
    ),
    key: WatermarkKey = None,
    mode: str = typer.Option(
        None,
        "--mode",
        metavar="MODE",
        help="distortion-free or green-list (default: the mode the key records; keys made "
        "before modes existed are green-list).",
    ),
    gamma: float = typer.Option(
        0.25,
        "--gamma",
        min=0.001,
        max=0.999,
        help="Green fraction used when generating (green-list mode).",
    ),
    context_width: int = typer.Option(
        1, "--context-width", min=1, max=3, help="Previous tokens seeding each keyed choice."
    ),
    as_json: Json = False,
) -> None:
    """Test FILE for the text watermark of one key, in the mode the key records.

    distortion-free: exact Gamma test on the keyed uniforms of the tokens
    whose context comes for the first time. green-list: exact binomial test
    on distinct (previous token, token) pairs.

    p-value: the chance that text written without the key scores this high.

    Verdicts:
    watermarked: p <= 1e-6.
    inconclusive: 1e-6 < p <= 1e-2.
    not watermarked: p > 1e-2; no evidence of this key's mark (not proof
    of human authorship).
    too short: fewer than 30 scored tokens.

    Exit status: 0 when the check ran, whatever the verdict; 1 a missing
    optional package (the llm extra); 2 usage error (unknown mode), no key
    store or unknown tokenizer; 3 unreadable FILE or tokenizer files.
    """
    # Here, not at the top: the detector needs NumPy and SciPy, the key store cryptography.
    from provenance.keystore import KeyStore
    from provenance.watermark.llm import (
        DetectionConfig,
        ExponentialDetection,
        ExponentialScheme,
        WatermarkScheme,
        detect_with_key,
        load_tokenizer,
        parse_mode,
    )

    try:
        chosen = None if mode is None else parse_mode(mode)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    text = _read_text(source)
    wm_key = KeyStore.open(home_of(ctx)).watermark_keys.get(key)
    encoder = load_tokenizer(tokenizer)  # last: it may import transformers
    config = DetectionConfig()
    found = detect_with_key(
        text,
        wm_key,
        encoder,
        config,
        mode=chosen,
        green_list_scheme=WatermarkScheme(gamma=gamma, context_width=context_width),
        exponential_scheme=ExponentialScheme(context_width=context_width),
    )
    result = found.result
    report = {"tokenizer": encoder.name, **found.as_dict()}
    report["context_width"] = context_width
    if as_json:
        typer.echo(json.dumps(report))  # ensure_ascii: control characters come out as \uXXXX
        return
    typer.echo(f"verdict: {result.verdict}")
    typer.echo(f"p-value: {result.p_value:.3g}")
    typer.echo(f"mode: {found.mode}")
    if isinstance(result, ExponentialDetection):
        typer.echo(
            f"scored tokens: {result.scored_tokens} of {result.tokens} "
            f"({result.repeated_contexts} after a repeated context ignored; "
            f"minimum {config.min_scored_tokens})"
        )
        typer.echo(
            f"score: {result.score:.1f} ({result.mean_score:.3f} per token, "
            "1.000 expected without the watermark)"
        )
    else:
        typer.echo(
            f"scored tokens: {result.scored_tokens} of {result.tokens} "
            f"({result.repeated_pairs} repeated pairs ignored; "
            f"minimum {config.min_scored_tokens})"
        )
        typer.echo(
            f"green: {result.green_tokens} ({100 * result.green_fraction:.1f}%, "
            f"{100 * gamma:.1f}% expected without the watermark)"
        )
    typer.echo(f"key: {shown(wm_key.name)}  tokenizer: {shown(encoder.name)}")
