"""`provenance trust ...`: the CA certificates verification treats as trusted."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli._common import handle_errors, home_of, shown
from provenance.keystore import KeyStore

trust_app = typer.Typer(
    name="trust",
    help="Trust anchors: CA certificates whose signers verify as trusted.",
    no_args_is_help=True,
)


@trust_app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    pem: Path = typer.Argument(..., help="PEM file with one or more CA certificates."),
) -> None:
    """Trust every CA certificate in a PEM file (all are checked before any is added)."""
    added = KeyStore.open(home_of(ctx)).add_trust_anchors(pem)
    for anchor, is_new in added:
        state = "added" if is_new else "already trusted"
        typer.echo(f"{state}: {shown(anchor.id)}  {shown(anchor.subject)}")


@trust_app.command("list")
@handle_errors
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """List trust anchors; the local root CA is marked."""
    anchors = KeyStore.open(home_of(ctx)).trust_anchors()
    if as_json:
        rows = [
            {
                "id": a.id,
                "subject": a.subject,
                "not_before": a.not_before.isoformat(),
                "not_after": a.not_after.isoformat(),
                "fingerprint_sha256": a.fingerprint_sha256,
                "local_root": a.is_local_root,
            }
            for a in anchors
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for a in anchors:
        tag = " (local root CA)" if a.is_local_root else ""
        typer.echo(f"{shown(a.id)}  until {a.not_after:%Y-%m-%d}  {shown(a.subject)}{tag}")


@trust_app.command("remove")
@handle_errors
def remove(ctx: typer.Context, anchor_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Stop trusting an anchor (id from `provenance trust list`)."""
    anchor = KeyStore.open(home_of(ctx)).remove_trust_anchor(anchor_id)
    typer.echo(f"removed: {shown(anchor.id)}  {shown(anchor.subject)}")
    if anchor.is_local_root:
        typer.echo(
            "note: this was the local root CA; manifests signed here now read 'valid', "
            "not 'trusted' (re-add it from the key store's certs/root-ca.pem)",
            err=True,
        )
