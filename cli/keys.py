"""`provenance keys ...`: the signing key store from the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli._common import handle_errors, home_of, read_passphrase, shown
from provenance.errors import KeyStoreExists, OutputExists, Remedy, UsageError
from provenance.keystore import DEFAULT_CRL_DAYS, Algorithm

# The key store (cryptography, file locks) loads in the commands that open it: --help and
# --version stay cheap (tests/unit/test_startup_imports.py).
if TYPE_CHECKING:
    from provenance.keystore import IdentityInfo, KeyStore, TsaInfo

keys_app = typer.Typer(
    rich_markup_mode=None,  # plain help: rich costs a third of the start-up
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
        "revoked_since": when(info.revoked_since),
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
    """Create the key store: a local root CA, identity "default", watermark key "default".

    The passphrase (PROVENANCE_PASSPHRASE or a prompt) needs at least 12 characters.
    """
    from provenance.keystore import KeyStore

    home = home_of(ctx)
    if KeyStore.exists(home):  # refuse before asking for a passphrase
        raise KeyStoreExists(f"a key store already exists at {home}; nothing was changed")
    passphrase = read_passphrase(confirm=True, purpose="new key store")
    store = KeyStore.create(home, passphrase, org=org)
    info = store.identities.get()
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
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    info = store.identities.create(name, alg, days, passphrase=read_passphrase())
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
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    info = store.identities.import_key(name, key, chain, read_passphrase())
    typer.echo(
        f"imported identity {shown(info.name)} ({info.algorithm.value}, {shown(info.subject)})"
    )
    if not store.trust.chain_is_anchored(store.identities.chain_pem(name)):
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
    """List signing identities with their status and expiry, then the time-stamping
    authority ("tsa"; in JSON the entry whose kind is "time-stamping")."""
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    identities = store.identities.list()
    tsa = store.tsa.info()
    if as_json:
        rows = [{"kind": "signing", **_identity_json(i)} for i in identities]
        if tsa is not None:
            rows.append(_tsa_json(tsa))
        typer.echo(json.dumps(rows, indent=2))
        return
    for info in identities:
        marker = "*" if info.is_default else " "
        typer.echo(
            f"{marker} {shown(info.name):<20} {info.algorithm.value:<8} {_state(info):<13} "
            f"v{info.version}  until {info.not_after:%Y-%m-%d}  {info.fingerprint_sha256[:16]}"
        )
    if tsa is None:
        typer.echo(f"  {TSA:<20} none yet: `provenance keys tsa --create` (signing makes it)")
        return
    state = "expired" if tsa.expired else "active"
    typer.echo(
        f"  {TSA:<20} {'es256':<8} {state:<13} v{tsa.version}  until {tsa.not_after:%Y-%m-%d}"
        f"  {tsa.fingerprint_sha256[:16]}  (time-stamping authority; {_tsa_mode(tsa.url)})"
    )


@keys_app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Identity name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one identity and all its versions ("tsa": the time-stamping authority)."""
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    if _is_tsa(store, name):
        _show_tsa(store, as_json)
        return
    info = store.identities.get(name)
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
        if info.revoked_since is not None and info.revoked_since != info.revoked_at:
            typer.echo(f"untrusted from: {info.revoked_since:%Y-%m-%d %H:%M:%S} UTC")
    for v in info.versions:
        until = f"{v.not_after:%Y-%m-%d}"
        typer.echo(f"version {v.version}:    {shown(v.status)}, serial {v.serial:x}, until {until}")


@keys_app.command("rotate")
@handle_errors
def rotate(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="Identity to rotate ('tsa': the time-stamping authority)."
    ),
    days: int | None = typer.Option(
        None, "--days", min=1, help="Validity (default 365; the TSA 3650, never past the root)."
    ),
) -> None:
    """Replace an identity's key and certificate; the old version is retired.

    `keys rotate tsa` does the same for the time-stamping authority: content it stamped
    keeps verifying, as each token carries its own certificate.
    """
    from provenance.keystore import KeyStore

    store = KeyStore.open(home_of(ctx))
    if _is_tsa(store, name):
        tsa = store.tsa.rotate(read_passphrase(), days=days)
        typer.echo(
            f"rotated the time-stamping authority: version {tsa.version} (serial {tsa.serial:x}, "
            f"until {tsa.not_after:%Y-%m-%d}); time-stamps it made before keep verifying"
        )
        return
    info = store.identities.rotate(name, read_passphrase(), days=days)
    typer.echo(
        f"rotated identity {shown(info.name)}: version {info.version} (serial {info.serial:x})"
    )


@keys_app.command("revoke")
@handle_errors
def revoke(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Identity to revoke."),
    reason: str = typer.Option(
        "unspecified",
        "--reason",
        help="Why, for the record. keyCompromise, caCompromise, affiliationChanged, "
        "superseded, cessationOfOperation or privilegeWithdrawn also set the CRL's reason "
        "code; other text stays in the key store (the CRL says unspecified).",
    ),
    since: str | None = typer.Option(
        None,
        "--since",
        metavar="TIME",
        help="When the key stopped being trustworthy (default: now): ISO 8601 with a zone "
        "(2026-03-01T12:00:00Z) or a date (2026-03-01, midnight UTC). Content whose trusted "
        "time-stamp is earlier stays trusted; later or unstamped content is invalid.",
    ),
) -> None:
    """Revoke every version of an identity; it can never sign again.

    The root CA then issues a new CRL listing it (`keys export --crl` prints it), which
    other homes import with `provenance trust add`.
    """
    from provenance.keystore import KeyStore

    when = _parse_time(since) if since is not None else None
    store = KeyStore.open(home_of(ctx))
    if _is_tsa(store, name):
        raise UsageError(
            "the time-stamping authority is not revoked here: `provenance keys rotate tsa` "
            "replaces its key and certificate"
        )
    info = store.identities.revoke(name, reason, read_passphrase(), since=when)
    revocation = store.identities.revocation(info.serial)
    crl = store.crls.current()
    moment = f" as of {revocation.since:%Y-%m-%d %H:%M:%S} UTC" if revocation else ""
    typer.echo(f"revoked identity {shown(info.name)} ({len(info.versions)} certificate(s)){moment}")
    if revocation is not None and revocation.compromised:
        typer.echo(
            f"note: a compromised key: whatever {shown(info.name)} signed with a time-stamp "
            "from this store's own time-stamping authority is now invalid, whatever its "
            "time, since whoever took the key may hold that authority's key too; only a "
            "time-stamp from an external authority (--tsa URL) earlier than "
            f"{revocation.since:%Y-%m-%d %H:%M:%S} UTC keeps "
            "a signature trusted. If the whole key store was copied, its root CA is "
            "compromised too: start a new key store, and have verifiers remove this root "
            "from their trust anchors.",
            err=True,
        )
    if crl is not None:
        typer.echo(
            f"the root CA issued CRL number {crl.number}: `provenance keys export --crl` "
            "prints it for other verifiers' `provenance trust add`",
            err=True,
        )


@keys_app.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Identity name."),
    root: bool = typer.Option(
        False, "--root", help="Print the local root CA certificate alone (to `trust add`)."
    ),
    tsa: bool = typer.Option(
        False, "--tsa", help="Print the time-stamping authority's certificate chain."
    ),
    crl: bool = typer.Option(
        False,
        "--crl",
        help="Print the root CA's CRL of revoked certificates: the latest one issued (by "
        "`keys revoke` or an earlier export) while it is current, else a new one, signed "
        "with the passphrase.",
    ),
    crl_days: int | None = typer.Option(
        None,
        "--days",
        min=1,
        max=366,
        help=f"With --crl: always issue a new CRL, current for N days (default "
        f"{DEFAULT_CRL_DAYS}).",
    ),
) -> None:
    """Print certificates (PEM): NAME's whole chain, leaf first, ending at its root CA;
    or the root CA alone (--root); or the time-stamping authority's chain (--tsa)."""
    from cryptography import x509

    from provenance.keystore import KeyStore, is_self_signed

    if (name is not None) + root + tsa + crl != 1:
        raise UsageError("name one identity, or pass --root or --tsa or --crl (one of them)")
    if crl_days is not None and not crl:
        raise UsageError("--days goes with --crl")
    store = KeyStore.open(home_of(ctx))
    if crl:
        pem = _crl_pem(store, crl_days)
    elif root:
        pem = store.root_pem()
    elif tsa:
        pem = store.tsa.chain_pem()
    else:
        assert name is not None
        pem = store.identities.full_chain_pem(name)
        top = x509.load_pem_x509_certificates(pem)[-1]
        if not is_self_signed(top):
            typer.echo(
                f"note: the chain ends at {shown(top.subject.rfc4514_string())}, issued by "
                f"{shown(top.issuer.rfc4514_string())}, which is not in this key store; "
                "verifiers need that root CA from its issuer",
                err=True,
            )
    typer.echo(pem.decode(), nl=False)


@keys_app.command("backup")
@handle_errors
def backup(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Backup file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    repository: str | None = typer.Option(
        None,
        "--repository",
        help="The manifest repository to include: a SQLite path (default: "
        "HOME/repository.sqlite, when there is one). A PostgreSQL URL is not included "
        "(back it up with pg_dump: docs/repository.md).",
    ),
    no_repository: bool = typer.Option(
        False, "--no-repository", help="Leave the repository out: the key store only."
    ),
) -> None:
    """Write the whole key store, and the SQLite manifest repository, to one
    passphrase-encrypted file; `keys restore` brings both back."""
    from provenance.keystore import KeyStore, count_records
    from provenance.repository import DEFAULT_FILENAME

    if no_repository and repository is not None:
        raise UsageError("choose one of --repository and --no-repository")
    home = home_of(ctx)
    store = KeyStore.open(home)
    if file.exists() and not force:  # refuse before asking for the passphrase
        raise OutputExists(f"{file} already exists")
    included: Path | None = None
    note: str | None = None
    default = home / DEFAULT_FILENAME
    if repository is not None and repository.startswith(("postgresql://", "postgres://")):
        # Signing went to PostgreSQL; a SQLite repository left in the home still comes along.
        included = default if default.exists() else None
        note = (
            "note: the PostgreSQL repository is not in this backup: back it up with pg_dump "
            "beside it (docs/repository.md)"
        )
    elif repository is not None:
        local = (
            repository.removeprefix("sqlite://")
            if repository.startswith("sqlite:///")
            else repository
        )
        if "://" in local:
            raise UsageError(f"{repository}: not a SQLite repository (a path or sqlite:///PATH)")
        included = Path(local)
        if not included.is_file():
            raise UsageError(f"{local}: no repository there to back up")
    elif not no_repository:
        if default.exists():
            included = default
        else:
            note = f"note: no repository at {shown(default)}: the backup holds the key store only"
    written = store.backup(
        file, read_passphrase(), force=force, repository=included if included else False
    )
    if included is not None:
        typer.echo(
            f"backed up the key store and the repository {shown(included)} "
            f"({_records(count_records(included))}) to {shown(written)}"
        )
    else:
        typer.echo(f"backed up the key store to {shown(written)}")
    if note is not None:
        typer.echo(note, err=True)


def _records(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"


@keys_app.command("restore")
@handle_errors
def restore(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Backup file to restore."),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing store and repository (kept aside)."
    ),
) -> None:
    """Restore the key store, and the repository it holds, from a backup file."""
    from provenance.keystore import KeyStore

    home = home_of(ctx)
    if KeyStore.exists(home) and not force:
        raise KeyStoreExists(
            f"a key store already exists at {home} (replacing it keeps the current store "
            "aside, never deletes it)",
            remedy=Remedy.REPLACE,
        )
    store = KeyStore.restore(home, file, read_passphrase(purpose="backup"), force=force)
    restored = (
        f"restored the key store at {shown(store.path)} ({len(store.identities.list())} identities)"
    )
    repository = store.restored_repository
    if repository is None:
        typer.echo(f"{restored}; the backup holds no repository")
        return
    typer.echo(
        f"{restored} and the repository at {shown(repository.path)} "
        f"({_records(repository.records)})"
    )
    if repository.replaced is not None:
        typer.echo(
            f"note: the repository that was there is kept at {shown(repository.replaced)}",
            err=True,
        )


# -- the time-stamping authority and CRLs -------------------------------------------------

TSA = "tsa"


@keys_app.command("tsa")
@handle_errors
def tsa_command(
    ctx: typer.Context,
    use: str | None = typer.Option(
        None, "--use", metavar="URL", help="Time-stamp with the RFC 3161 service at URL."
    ),
    local: bool = typer.Option(
        False, "--local", help="Time-stamp with the key store's own authority (the default)."
    ),
    create: bool = typer.Option(
        False, "--create", help="Make the authority of a key store that predates it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the time-stamping authority that dates every signature, or switch it.

    The key store's own authority (made by `keys init`, or on first use in older stores)
    has its own key and a certificate from the local root CA with only the time-stamping
    EKU; it never signs manifests.
    """
    from provenance.keystore import KeyStore

    if (use is not None) + local + create > 1:
        raise UsageError("choose one of --use, --local and --create")
    store = KeyStore.open(home_of(ctx))
    if create:
        info = store.tsa.create(read_passphrase())
        typer.echo(f"created the time-stamping authority (serial {info.serial:x})", err=True)
    elif use is not None:
        store.tsa.set_url(use)
        typer.echo(f"signatures are now time-stamped by {shown(store.tsa.url)}", err=True)
    elif local:
        store.tsa.set_url(None)
        typer.echo("signatures are now time-stamped by the key store's own authority", err=True)
    _show_tsa(store, as_json)


def _is_tsa(store: KeyStore, name: str) -> bool:
    """Whether NAME means the TSA (a signing identity of that name, from a store made
    before the name was reserved, keeps it)."""
    return name == TSA and TSA not in {i.name for i in store.identities.list()}


def _tsa_mode(url: str | None) -> str:
    return "local" if url is None else f"external: {shown(url)}"


def _tsa_json(info: TsaInfo) -> dict[str, Any]:
    return {
        "kind": "time-stamping",
        "name": TSA,
        "mode": info.mode,
        "url": info.url,
        "algorithm": "es256",
        "status": "expired" if info.expired else "active",
        "version": info.version,
        "serial": f"{info.serial:x}",
        "subject": info.subject,
        "issuer": info.issuer,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "fingerprint_sha256": info.fingerprint_sha256,
        "versions": [
            {
                "version": v.version,
                "status": v.status,
                "serial": f"{v.serial:x}",
                "not_after": v.not_after.isoformat(),
                "fingerprint_sha256": v.fingerprint_sha256,
                "has_private_key": v.has_private_key,
            }
            for v in info.versions
        ],
    }


def _show_tsa(store: KeyStore, as_json: bool) -> None:
    info = store.tsa.info()
    if as_json:
        row: dict[str, Any] = {"kind": "time-stamping", "name": TSA}
        if info is not None:
            row = _tsa_json(info)
        row.update(mode="local" if store.tsa.url is None else "external", url=store.tsa.url)
        typer.echo(json.dumps(row, indent=2))
        return
    typer.echo(f"mode:         {_tsa_mode(store.tsa.url)}")
    if info is None:
        typer.echo("authority:    none yet: run `provenance keys tsa --create` (signing makes it)")
        return
    typer.echo(f"subject:      {shown(info.subject)}")
    typer.echo(f"issuer:       {shown(info.issuer)}")
    typer.echo(f"serial:       {info.serial:x}")
    typer.echo(
        f"valid:        {info.not_before:%Y-%m-%d %H:%M} to {info.not_after:%Y-%m-%d %H:%M} UTC"
        + (" (expired: run `provenance keys rotate tsa`)" if info.expired else "")
    )
    typer.echo(f"sha256:       {info.fingerprint_sha256}")
    for v in info.versions:
        until = f"{v.not_after:%Y-%m-%d}"
        typer.echo(f"version {v.version}:    {shown(v.status)}, serial {v.serial:x}, until {until}")


def _parse_time(text: str) -> dt.datetime:
    """``--since``: ISO 8601 with a zone, or a date (midnight UTC)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a time: use ISO 8601 with a zone "
            "(2026-03-01T12:00:00Z, 2026-03-01T13:00:00+01:00) or a date (2026-03-01)"
        ) from None
    if when.tzinfo is None:
        raise UsageError(
            f"--since {text!r} has no time zone: add one (Z for UTC, or +HH:MM), or give a date"
        )
    return when


def _crl_pem(store: KeyStore, days: int | None) -> bytes:
    """The stored CRL while it is current (no passphrase), else a newly issued one."""
    if days is None:
        latest = store.crls.current()
        if latest is not None and not latest.stale:
            return latest.pem.encode()
        if latest is not None and latest.next_update is not None:
            typer.echo(
                f"note: the latest CRL was current until {latest.next_update:%Y-%m-%d %H:%M} "
                "UTC; issuing a new one",
                err=True,
            )
    return store.crls.issue(read_passphrase(), days=days or DEFAULT_CRL_DAYS)
