"""``provenance watermark``: embed and detect the invisible image watermark."""

from __future__ import annotations

import json
import secrets as token
from pathlib import Path

import typer

from cli._common import handle_errors, home_of
from cli._options import Json, WatermarkKey
from provenance.errors import InputError
from provenance.files import read_input
from provenance.watermark.image import PAYLOAD_BITS

__all__ = ["watermark_app"]

watermark_app = typer.Typer(
    rich_markup_mode=None,  # plain help: rich costs a third of the start-up
    help="Embed and detect the invisible, keyed image watermark (64-bit payload).",
    no_args_is_help=True,
)

_PAYLOAD_BYTES = PAYLOAD_BITS // 8


def _parse_payload(text: str | None) -> bytes:
    if text is None:
        return token.token_bytes(_PAYLOAD_BYTES)
    cleaned = text.lower().removeprefix("0x")
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        raise typer.BadParameter("must be hexadecimal, e.g. 00112233aabbccdd") from None
    if len(value) != _PAYLOAD_BYTES:
        raise typer.BadParameter(
            f"must be {_PAYLOAD_BYTES} bytes ({2 * _PAYLOAD_BYTES} hex digits)"
        )
    return value


_EMBED_HELP = (
    "Mark INPUT into OUTPUT (same format and metadata; JPEG keeps its quantisation tables)."
    "\n\n"
    "The mark is read back from OUTPUT's bytes before they are written: where the image's "
    "own encoding would erase it, it is embedded stronger (down to 40 dB PSNR) or refused "
    "(exit 3). An INPUT that carries a C2PA manifest is refused (exit 2) without --force, "
    "since the marked copy has none."
)


@watermark_app.command("embed", no_args_is_help=True, help=_EMBED_HELP)
@handle_errors
def embed_command(
    ctx: typer.Context,
    source: Path = typer.Argument(..., metavar="INPUT", help="Image to mark (never modified)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the marked copy."),
    payload: str = typer.Option(
        None, "--payload", help="64-bit payload as 16 hex digits (default: random)."
    ),
    key: WatermarkKey = None,
    force: bool = typer.Option(
        False,
        "--force",
        "-f",
        help="Replace OUTPUT if it exists, and mark an INPUT that carries a C2PA manifest "
        "(the marked copy has none: its pixels are new).",
    ),
) -> None:
    """Mark INPUT into OUTPUT (same format; JPEG keeps its quantisation tables)."""
    # Here, not at the top: the engine needs NumPy, SciPy and Pillow, the store cryptography.
    from provenance.home import watermark_secret
    from provenance.keystore import KeyStore
    from provenance.watermark.image import embed_file

    value = _parse_payload(payload)
    store = KeyStore.open(home_of(ctx))
    secret = watermark_secret(store, key)
    result = embed_file(source, output, value, secret, force=force)
    typer.echo(
        f"marked {result.output} ({result.format}, {result.width}x{result.height}, "
        f"{result.size:,} bytes) payload={value.hex()} key={secret.name}"
    )


_DETECT_HELP = (
    "Look for the watermark in INPUT (an image, or text's invisible payload) with the "
    "store's watermark keys.\n\n"
    "Exit status: 0 when the check ran, whether or not a mark was found (read "
    '"status", or the first word of the output: found / not found / not checked); 2 on a '
    "usage error or a missing key store; 3 when INPUT cannot be read.\n\n"
    "p_value bounds the chance of such a report on an unmarked input, counting every "
    "key tried. --json prints the `watermark` part of `verify --json`'s report."
)


@watermark_app.command("detect", no_args_is_help=True, help=_DETECT_HELP)
@handle_errors
def detect_command(
    ctx: typer.Context,
    source: Path = typer.Argument(..., metavar="INPUT", help="Image or text to check."),
    as_json: Json = False,
    key: WatermarkKey = None,
) -> None:
    """Look for the watermark in INPUT with the store's watermark keys."""
    from provenance import Limits
    from provenance.home import watermark_secrets
    from provenance.keystore import KeyStore
    from provenance.kinds import identify
    from provenance.report import Watermark, to_json

    store = KeyStore.open(home_of(ctx))
    secrets = watermark_secrets(store, key)
    if not secrets:
        typer.echo("error: the key store has no watermark keys", err=True)
        raise typer.Exit(2)
    limits = Limits()
    try:
        data = read_input(source, limits.max_file_bytes)
        kind, media_type = identify(data)
        if kind.mark is None:
            found = Watermark.not_checked(f"no watermark check for {kind.name} content")
        else:
            found = kind.mark.detect(data, media_type, secrets, limits, strict=True)
    except InputError as exc:
        raise exc.about(source) from None
    if as_json:
        typer.echo(json.dumps(to_json(found)))
    elif found.found:
        geometry, place = "", found.geometry
        if place and place.scale is not None and place.angle is not None and place.offset:
            x, y = place.offset
            geometry = f" scale={place.scale} angle={place.angle} offset=({x:.1f}, {y:.1f})"
        typer.echo(
            f"found payload={found.payload} key={found.key} p<={found.p_value:.1e}{geometry}"
        )
        regions = place.altered_regions if place else ()
        unknown = [r for r in regions if r.state != "altered"]
        for region in regions:
            if region.state == "altered":
                typer.echo(
                    f"  altered: x={region.x} y={region.y} {region.width}x{region.height} "
                    f"({100 * region.share:.1f}% of the image)"
                )
        if unknown:
            share = 100 * sum(r.share for r in unknown)
            typer.echo(
                f"  unknown: {len(unknown)} cells ({share:.0f}% of the image) have too "
                "little texture to tell (--json lists them)"
            )
    elif found.note:
        typer.echo(f"not checked ({found.note})")
    else:
        typer.echo(f"not found ({len(secrets)} key(s) tried)")
