"""`provenance trust ...`: the CA certificates verification treats as trusted."""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli._common import HINTS, fail, handle_errors, home_of, shown
from provenance.errors import InputError, ProvenanceError, Remedy
from provenance.files import read_input

# The key store and cryptography load in the commands: --help and --version stay cheap.
if TYPE_CHECKING:
    from provenance.keystore import KeyStore

trust_app = typer.Typer(
    rich_markup_mode=None,  # plain help: rich costs a third of the start-up
    name="trust",
    help="Trust anchors (CA certificates whose signers verify as trusted) and allowed "
    "signing certificates (trusted one by one).",
    no_args_is_help=True,
)


@trust_app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    pem: Path = typer.Argument(
        ..., help="PEM file: CA certificates, or a chain from `provenance keys export NAME`."
    ),
) -> None:
    """Trust the CA certificates in a PEM file: every one of a bundle of CAs, the root of
    an exported chain (all are checked before any is added)."""
    from provenance.credentials import CRL_PEM_MARKER
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    crls = _holds(pem, CRL_PEM_MARKER)
    if crls and not _holds(pem, b"-----BEGIN CERTIFICATE-----"):
        _add_crls(store, pem)
        return
    with _hint_names(pem):
        added = store.trust.add(pem)
    for anchor, is_new in added:
        state = "added" if is_new else "already trusted"
        typer.echo(f"{state}: {shown(anchor.id)}  {shown(anchor.subject)}")
    for subject in added.skipped:
        typer.echo(f"note: left out, not a root CA: {shown(subject)}", err=True)
    for anchor, other in added.namesakes:
        typer.echo(
            f"warning: {shown(anchor.id)} has the name of trust anchor {shown(other.id)} "
            f"({shown(other.subject)}): their signers read alike here; only their keys tell "
            "them apart (a CRL revokes only certificates its own CA issued)",
            err=True,
        )
    if crls:
        _add_crls(store, pem)


@contextlib.contextmanager
def _hint_names(path: Path) -> Iterator[None]:
    """A refusal's hint names the file given where it says FILE (`trust allow leaf.pem`)."""
    try:
        yield
    except ProvenanceError as exc:
        if exc.remedy not in (Remedy.ALLOW_CERTIFICATE, Remedy.ADD_ANCHOR):
            raise
        hint = HINTS[Remedy(exc.remedy)].replace("FILE", shlex.quote(str(path)))
        fail(f"{exc.diagnostics()} ({hint})", exc.exit_code)


def _holds(path: Path, marker: bytes) -> bool:
    """Whether the file has ``marker``; unreadable: False (the import says why)."""
    try:
        return marker in read_input(path, 64 * 1024 * 1024)
    except InputError:
        return False


def _add_crls(store: KeyStore, path: Path) -> None:
    """Import the CRLs (-----BEGIN X509 CRL-----) of ``path``, newest per issuer."""
    states = {
        "added": "added CRL",
        "updated": "updated CRL",
        "unchanged": "CRL already imported",
        "older": "kept the newer CRL already imported instead of",
    }
    for info, status in store.crls.add(path):
        number = f" number {info.number}" if info.number is not None else ""
        typer.echo(
            f"{states[status]}: {shown(info.id)}  {shown(info.issuer)}{number}, "
            f"{info.entries} revoked, issued {info.last_update:%Y-%m-%d %H:%M} UTC"
        )
        problem = store.crls.problem(info)
        if problem is not None:
            typer.echo(
                f"note: verify ignores this CRL until its issuer is trusted ({problem}): "
                "`provenance trust add` the issuer's root CA",
                err=True,
            )
        elif info.stale and info.next_update is not None:
            typer.echo(
                f"note: this CRL is stale (its next update was due {info.next_update:%Y-%m-%d});"
                " verify applies it and reports it as stale: get a newer one",
                err=True,
            )


@trust_app.command("allow")
@handle_errors
def allow(
    ctx: typer.Context,
    pem: Path = typer.Argument(
        ..., help="PEM file with a signing certificate (or a chain: its signing certificate)."
    ),
) -> None:
    """Trust signing (end-entity) certificates one by one, whoever issued them.

    Manifests signed with exactly such a certificate verify as trusted (c2pa-rs's
    allowed list); it vouches for no other certificate.
    """
    from provenance.keystore import KeyStore

    with _hint_names(pem):
        added = KeyStore.open(home_of(ctx)).allowed.add(pem)
    for entry, is_new in added:
        state = "allowed" if is_new else "already allowed"
        typer.echo(f"{state}: {shown(entry.id)}  {shown(entry.subject)}")
    for subject in added.skipped:
        typer.echo(f"note: left out, a CA certificate: {shown(subject)}", err=True)


@trust_app.command("list")
@handle_errors
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """List trust anchors (the local root CA is marked), allowed certificates, then
    imported CRLs."""
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    anchors = store.trust.list()
    allowed = store.allowed.list()
    crls = store.crls.list()
    if as_json:
        rows: list[dict[str, Any]] = [
            {
                "id": a.id,
                "kind": "anchor",
                "subject": a.subject,
                "not_before": a.not_before.isoformat(),
                "not_after": a.not_after.isoformat(),
                "fingerprint_sha256": a.fingerprint_sha256,
                "local_root": a.is_local_root,
            }
            for a in anchors
        ]
        rows += [
            {
                "id": c.id,
                "kind": "allowed",
                "subject": c.subject,
                "issuer": c.issuer,
                "not_before": c.not_before.isoformat(),
                "not_after": c.not_after.isoformat(),
                "fingerprint_sha256": c.fingerprint_sha256,
                "local_root": False,
            }
            for c in allowed
        ]
        rows += [
            {
                "id": c.id,
                "kind": "crl",
                "issuer": c.issuer,
                "number": c.number,
                "last_update": c.last_update.isoformat(),
                "next_update": c.next_update.isoformat() if c.next_update else None,
                "entries": c.entries,
                "stale": c.stale,
                "usable": store.crls.problem(c) is None,
            }
            for c in crls
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for a in anchors:
        tag = " (local root CA)" if a.is_local_root else ""
        typer.echo(f"{shown(a.id)}  until {a.not_after:%Y-%m-%d}  {shown(a.subject)}{tag}")
    for c in allowed:
        typer.echo(
            f"{shown(c.id)}  until {c.not_after:%Y-%m-%d}  {shown(c.subject)} (allowed signer)"
        )
    for crl in crls:
        next_update = f"{crl.next_update:%Y-%m-%d %H:%M}" if crl.next_update else "none"
        notes = [f"{crl.entries} revoked"] + ["STALE"] * crl.stale
        if store.crls.problem(crl) is not None:
            notes.append("ignored: issuer not a trust anchor")
        typer.echo(
            f"{shown(crl.id)}  CRL {shown(crl.issuer)}"
            + (f" number {crl.number}" if crl.number is not None else "")
            + f", issued {crl.last_update:%Y-%m-%d %H:%M}, next update {next_update} UTC"
            + f" ({', '.join(notes)})"
        )


@trust_app.command("remove")
@handle_errors
def remove(ctx: typer.Context, anchor_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Stop trusting an anchor or an allowed certificate, or drop an imported CRL (id
    from `provenance trust list`)."""
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    crl = store.crls.remove(anchor_id)
    if crl is not None:
        typer.echo(f"removed: {shown(crl.id)}  CRL {shown(crl.issuer)}")
        return
    allowed = store.allowed.remove(anchor_id)
    if allowed is not None:
        typer.echo(f"removed: {shown(allowed.id)}  {shown(allowed.subject)} (allowed signer)")
        return
    anchor = store.trust.remove(anchor_id)
    typer.echo(f"removed: {shown(anchor.id)}  {shown(anchor.subject)}")
    if anchor.is_local_root:
        typer.echo(
            "note: this was the local root CA; manifests signed here now read 'valid', "
            "not 'trusted' (re-add it from the key store's certs/root-ca.pem)",
            err=True,
        )
