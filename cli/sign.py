"""``provenance sign``: add signed Content Credentials to generated content."""

from __future__ import annotations

from pathlib import Path

import typer

from cli._common import (
    handle_errors,
    home_of,
    read_passphrase,
    repository_location,
    shown,
)
from provenance.credentials.manifest import AIContent, TrainingMining
from provenance.errors import UsageError


@handle_errors
def sign(
    ctx: typer.Context,
    source: Path = typer.Argument(..., metavar="INPUT", help="Image to sign (never modified)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the signed copy."),
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
    force: bool = typer.Option(False, "--force", "-f", help="Replace OUTPUT if it exists."),
) -> None:
    """Sign INPUT as AI-generated content into OUTPUT (same format).

    By default the pixels first get an invisible watermark carrying a new record id, the
    manifest records it, and the signed manifest is stored in the repository under that
    id, so `verify` can recover it after metadata is stripped.
    """
    # Here, not at the top: the key store, c2pa-rs and the watermark load only to sign.
    from provenance.home import manifest_signer, watermark_secret
    from provenance.keystore import KeyStore
    from provenance.repository import open_repository
    from provenance.sign import Watermarking, check_paths, read_asset, sign_asset

    if model_version and not model:
        raise typer.BadParameter("--model-version needs --model")
    if tsa and no_timestamp:
        raise UsageError("choose one of --tsa and --no-timestamp")
    check_paths(source, output, force=force)
    store = KeyStore.open(home_of(ctx))
    asset = read_asset(source)  # a bad input fails before the passphrase is asked for
    watermarking = None
    if not no_watermark:
        secret = watermark_secret(store, watermark_key)
        watermarking = Watermarking(secret, open_repository(repository_location(ctx, repository)))
    passphrase = read_passphrase(purpose="signing key")
    if model is None:
        typer.echo("warning: no --model given; the manifest will not name the model", err=True)
    content = AIContent(model=model, model_version=model_version, training_mining=training_mining)
    with manifest_signer(
        store, identity, passphrase, tsa_url=tsa, time_stamp=not no_timestamp
    ) as signer:
        result = sign_asset(asset, output, signer, content, watermarking=watermarking, force=force)
        stamped = signer.time_stamps.name if signer.time_stamps else ""
    record = f"{result.record_id:016x}" if result.record_id is not None else ""
    store.audit_event(
        "sign",
        identity=result.signer,
        output=str(result.output),
        media_type=result.media_type,
        record=record,
        time_stamp=stamped,
    )
    mark = f", watermark record {record}" if record else ", no watermark"
    when = f", time-stamped by {stamped}" if stamped else ", no time-stamp"
    typer.echo(
        f"signed {shown(result.output)} ({shown(result.media_type)}, {result.size:,} bytes) "
        f"as {shown(result.signer)}{when}{mark}"
    )
