"""``provenance sign``: add signed Content Credentials to generated content."""

from __future__ import annotations

from pathlib import Path

import typer

from cli._common import handle_errors, home_of, read_passphrase
from provenance.credentials.manifest import AIContent, TrainingMining
from provenance.credentials.sign import ManifestSigner
from provenance.keystore import KeyStore
from provenance.sign import check_paths, read_asset, sign_asset


@handle_errors
def sign(
    ctx: typer.Context,
    source: Path = typer.Argument(..., metavar="INPUT", help="Image to sign (never modified)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the signed copy."),
    identity: str = typer.Option(None, "--identity", "-i", help="Signing identity [default]."),
    model: str = typer.Option(None, "--model", help="Name of the model that generated it."),
    model_version: str = typer.Option(None, "--model-version", help="Version of that model."),
    training_mining: TrainingMining = typer.Option(
        TrainingMining.NOT_ALLOWED,
        "--training-mining",
        help="CAWG preference for AI training and data mining of this content.",
    ),
    force: bool = typer.Option(False, "--force", "-f", help="Replace OUTPUT if it exists."),
) -> None:
    """Sign INPUT as AI-generated content into OUTPUT (same format)."""
    if model_version and not model:
        raise typer.BadParameter("--model-version needs --model")
    check_paths(source, output, force=force)
    store = KeyStore.open(home_of(ctx))
    asset = read_asset(source)  # a bad input fails before the passphrase is asked for
    signer = ManifestSigner(store.signer(identity, read_passphrase(purpose="signing key")))
    if model is None:
        typer.echo("warning: no --model given; the manifest will not name the model", err=True)
    content = AIContent(model=model, model_version=model_version, training_mining=training_mining)
    result = sign_asset(asset, output, signer, content, force=force)
    store.audit_event(
        "sign", identity=result.signer, output=str(result.output), media_type=result.media_type
    )
    typer.echo(
        f"signed {result.output} ({result.media_type}, {result.size:,} bytes) as {result.signer}"
    )
