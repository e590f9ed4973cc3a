"""`provenance keys ...`: the signing key store from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cli._common import handle_errors, home_of, read_passphrase, shown
from provenance.errors import KeyStoreExists, OutputExists
from provenance.keystore import Algorithm, IdentityInfo, KeyStore

keys_app = typer.Typer(
    name="keys",
    help="Signing identities, the local CA and backups of the key store.",
    no_args_is_help=True,
)


def _identity_json(info: IdentityInfo) -> dict[str, Any]:
    def when(value: Any) -> Any:
        return value.isoformat() if value is not None else None

    return {
        "name": info.name,
        "origin": info.origin,
        "algorithm": info.algorithm.value,
        "status": info.status,
        "usable": info.usable,
        "expired": info.expired,
        "is_default": info.is_default,
        "version": info.version,
        "serial": f"{info.serial:x}",
        "subject": info.subject,
        "issuer": info.issuer,
        "not_before": when(info.not_before),
        "not_after": when(info.not_after),
        "fingerprint_sha256": info.fingerprint_sha256,
        "revoked_at": when(info.revoked_at),
        "revocation_reason": info.revocation_reason,
        "versions": [
            {
                "version": v.version,
                "status": v.status,
                "serial": f"{v.serial:x}",
                "not_after": when(v.not_after),
                "fingerprint_sha256": v.fingerprint_sha256,
                "has_private_key": v.has_private_key,
            }
            for v in info.versions
        ],
    }


def _state(info: IdentityInfo) -> str:
    if info.status != "active":
        return info.status
    if info.expired:
        return "expired"
    return "not yet valid" if info.not_yet_valid else "active"


@keys_app.command("init")
@handle_errors
def init(
    ctx: typer.Context,
    org: str = typer.Option("Provenance Toolkit", "--org", help="Organisation in certificates."),
) -> None:
    """Create the key store: a local root CA, identity "default", watermark key "default"."""
    home = home_of(ctx)
    if KeyStore.exists(home):  # refuse before asking for a passphrase
        raise KeyStoreExists(f"a key store already exists at {home}; nothing was changed")
    passphrase = read_passphrase(confirm=True, purpose="new key store")
    store = KeyStore.create(home, passphrase, org=org)
    info = store.identity()
    typer.echo(f"created key store at {shown(store.path)}")
    until = f"{info.not_after:%Y-%m-%d}"
    typer.echo(f"identity {shown(info.name)}: {info.algorithm.value}, valid until {until}")
    typer.echo("the local root CA is a trust anchor: see `provenance trust list`")


@keys_app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the new identity."),
    alg: Algorithm = typer.Option(Algorithm.ES256, "--alg", help="Signature algorithm."),
    days: int | None = typer.Option(None, "--days", min=1, help="Validity (default 365)."),
) -> None:
    """Create a signing identity with a certificate from the local CA."""
    store = KeyStore.open(home_of(ctx))
    info = store.create_identity(name, alg, days, passphrase=read_passphrase())
    typer.echo(
        f"created identity {shown(info.name)} ({info.algorithm.value}, serial {info.serial:x})"
    )


@keys_app.command("import")
@handle_errors
def import_(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name for the imported identity."),
    key: Path = typer.Option(..., "--key", help="Private key, PEM (PKCS#8 or traditional)."),
    chain: Path = typer.Option(..., "--chain", help="Certificate chain, PEM, leaf first."),
) -> None:
    """Import a key and certificate chain issued by another CA."""
    store = KeyStore.open(home_of(ctx))
    info = store.import_identity(name, key, chain, read_passphrase())
    typer.echo(
        f"imported identity {shown(info.name)} ({info.algorithm.value}, {shown(info.subject)})"
    )
    if not store.chain_is_anchored(name):
        typer.echo(
            "note: no trust anchor here issued this chain, so its manifests read 'valid', "
            "not 'trusted': add the CA with `provenance trust add ROOT.pem`",
            err=True,
        )


@keys_app.command("list")
@handle_errors
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """List signing identities with their status and expiry."""
    identities = KeyStore.open(home_of(ctx)).identities()
    if as_json:
        typer.echo(json.dumps([_identity_json(i) for i in identities], indent=2))
        return
    for info in identities:
        marker = "*" if info.is_default else " "
        typer.echo(
            f"{marker} {shown(info.name):<20} {info.algorithm.value:<8} {_state(info):<13} "
            f"v{info.version}  until {info.not_after:%Y-%m-%d}  {info.fingerprint_sha256[:16]}"
        )


@keys_app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Identity name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one identity and all its versions."""
    info = KeyStore.open(home_of(ctx)).identity(name)
    if as_json:
        typer.echo(json.dumps(_identity_json(info), indent=2))
        return
    typer.echo(f"identity:     {shown(info.name)}{' (default)' if info.is_default else ''}")
    typer.echo(f"origin:       {shown(info.origin)}")
    typer.echo(f"status:       {_state(info)}")
    typer.echo(f"algorithm:    {info.algorithm.value}")
    typer.echo(f"subject:      {shown(info.subject)}")
    typer.echo(f"issuer:       {shown(info.issuer)}")
    typer.echo(f"serial:       {info.serial:x}")
    typer.echo(
        f"valid:        {info.not_before:%Y-%m-%d %H:%M} to {info.not_after:%Y-%m-%d %H:%M} UTC"
    )
    typer.echo(f"sha256:       {info.fingerprint_sha256}")
    if info.revoked_at is not None:
        typer.echo(
            f"revoked:      {info.revoked_at:%Y-%m-%d %H:%M} UTC ({shown(info.revocation_reason)})"
        )
    for v in info.versions:
        until = f"{v.not_after:%Y-%m-%d}"
        typer.echo(f"version {v.version}:    {shown(v.status)}, serial {v.serial:x}, until {until}")


@keys_app.command("rotate")
@handle_errors
def rotate(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Identity to rotate."),
    days: int | None = typer.Option(None, "--days", min=1, help="Validity (default 365)."),
) -> None:
    """Replace an identity's key and certificate; the old version is retired."""
    store = KeyStore.open(home_of(ctx))
    info = store.rotate(name, read_passphrase(), days=days)
    typer.echo(
        f"rotated identity {shown(info.name)}: version {info.version} (serial {info.serial:x})"
    )


@keys_app.command("revoke")
@handle_errors
def revoke(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Identity to revoke."),
    reason: str = typer.Option("unspecified", "--reason", help="Why, for the record."),
) -> None:
    """Revoke every version of an identity; it can never sign again."""
    store = KeyStore.open(home_of(ctx))
    info = store.revoke(name, reason, read_passphrase())
    typer.echo(f"revoked identity {shown(info.name)} ({len(info.versions)} certificate(s))")


@keys_app.command("export")
@handle_errors
def export(ctx: typer.Context, name: str = typer.Argument(..., help="Identity name.")) -> None:
    """Print an identity's public certificate chain (PEM, leaf first)."""
    chain = KeyStore.open(home_of(ctx)).export_chain(name)
    typer.echo(chain.decode(), nl=False)


@keys_app.command("backup")
@handle_errors
def backup(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Backup file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write the whole key store to one passphrase-encrypted file."""
    store = KeyStore.open(home_of(ctx))
    if file.exists() and not force:  # refuse before asking for the passphrase
        raise OutputExists(f"{file} already exists; pass --force to overwrite it")
    written = store.backup(file, read_passphrase(), force=force)
    typer.echo(f"backed up the key store to {shown(written)}")


@keys_app.command("restore")
@handle_errors
def restore(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Backup file to restore."),
    force: bool = typer.Option(False, "--force", help="Replace an existing store (kept aside)."),
) -> None:
    """Restore the key store from a backup file."""
    home = home_of(ctx)
    if KeyStore.exists(home) and not force:
        raise KeyStoreExists(
            f"a key store already exists at {home}; pass --force to replace it "
            "(the current store is kept aside, not deleted)"
        )
    store = KeyStore.restore(home, file, read_passphrase(purpose="backup"), force=force)
    typer.echo(
        f"restored the key store at {shown(store.path)} ({len(store.identities())} identities)"
    )
