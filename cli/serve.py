"""``provenance serve``: the HTTP API and moderator page (needs the ``server`` extra)."""

from __future__ import annotations

import os

import typer

from cli._common import PASSPHRASE_ENV, handle_errors, home_of, shown
from provenance.errors import UsageError


@handle_errors
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    identity: str = typer.Option(
        None, "--identity", "-i", help="Identity /v1/sign signs with (default: the store's)."
    ),
    max_upload_mb: int = typer.Option(50, "--max-upload-mb", min=1, help="Upload size limit."),
    timeout: float = typer.Option(60.0, "--timeout", min=1, help="Seconds per request."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="Jobs at once."),
    new_token: str = typer.Option(
        None, "--new-token", metavar="NAME", help="Create an API token for NAME, print it, exit."
    ),
) -> None:
    """Serve the HTTP API (verify, sign, soft-binding resolution) and the moderator page.

    /v1/sign is enabled when PROVENANCE_PASSPHRASE is set; it unlocks the signing key
    once, at startup.
    """
    try:
        import uvicorn

        from provenance.server import ServerSettings, create_app, create_token
    except ImportError:
        raise UsageError(
            "the server needs its extra: pip install 'provenance-toolkit[server]'"
        ) from None
    home = home_of(ctx)
    if new_token:
        token = create_token(home, new_token)
        typer.echo(token)
        typer.echo(f"token for {shown(new_token)} created; it is shown only once", err=True)
        return
    settings = ServerSettings.from_home(
        home,
        identity=identity,
        passphrase=os.environ.get(PASSPHRASE_ENV) or None,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        request_timeout_seconds=timeout,
        max_concurrency=concurrency,
    )
    app = create_app(settings)
    signing = "enabled" if app.state.services.signer else "disabled"
    typer.echo(f"serving on http://{shown(host)}:{port}/ (signing {signing})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
