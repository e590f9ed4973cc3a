"""``provenance serve``: the HTTP API and moderator page (needs the ``server`` extra)."""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli._common import PASSPHRASE_ENV, handle_errors, home_of, shown
from provenance.errors import UsageError

if TYPE_CHECKING:
    import socket

    import uvicorn
    from fastapi import FastAPI

#: Connections the kernel queues before the server accepts them (uvicorn's default).
BACKLOG = 2048


@handle_errors
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(
        8000, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."
    ),
    identity: str = typer.Option(
        None, "--identity", "-i", help="Identity /v1/sign signs with (default: the store's)."
    ),
    max_upload_mb: int = typer.Option(
        50, "--max-upload-mb", min=1, help="Upload size limit, in MiB."
    ),
    timeout: float = typer.Option(60.0, "--timeout", min=1, help="Seconds per request."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="Jobs at once."),
    no_access_log: bool = typer.Option(
        False,
        "--no-access-log",
        help="Do not log requests (by default one line each on stderr: method, path, "
        "status, bytes, time).",
    ),
    public_url: str = typer.Option(
        None,
        "--public-url",
        metavar="URL",
        help="The address clients reach this server at (e.g. https://provenance.example.org), "
        "given as the endpoint of soft-binding matches (default: the address a request came "
        "in on).",
    ),
    new_token: str = typer.Option(
        None, "--new-token", metavar="NAME", help="Create an API token for NAME, print it, exit."
    ),
    revoke_token: str = typer.Option(
        None,
        "--revoke-token",
        metavar="NAME",
        help="Revoke NAME's API token and exit; a running server refuses it from its next request.",
    ),
) -> None:
    """Serve the HTTP API (verify, sign, soft-binding resolution) and the moderator page.

    /v1/sign is enabled when PROVENANCE_PASSPHRASE is set; it unlocks the signing key
    once, at startup. "serving on URL" is printed once the port is listened on.
    """
    try:
        import uvicorn

        from provenance.server import ACCESS_LOGGER, ServerSettings, create_app, create_token
        from provenance.server import revoke_token as revoke
    except ImportError:
        raise UsageError(
            "the server needs its extra: pip install 'provenance-toolkit[server]'"
        ) from None
    home = home_of(ctx)
    if new_token and revoke_token:
        raise UsageError("--new-token and --revoke-token are separate commands")
    if revoke_token:
        revoke(home, revoke_token)
        typer.echo(
            f"token for {shown(revoke_token)} revoked; a running server refuses it from its "
            "next request",
            err=True,
        )
        return
    if new_token:
        token = create_token(home, new_token)
        typer.echo(token)
        typer.echo(f"token for {shown(new_token)} created; it is shown only once", err=True)
        return
    passphrase = os.environ.get(PASSPHRASE_ENV) or None
    try:
        settings = ServerSettings.from_home(
            home,
            identity=identity,
            passphrase=passphrase,
            max_upload_bytes=max_upload_mb * 1024 * 1024,
            request_timeout_seconds=timeout,
            max_concurrency=concurrency,
            access_log=not no_access_log,
            public_url=public_url,
        )
    except ValueError as exc:  # the only setting a user can give out of range
        raise UsageError(f"--public-url: {str(exc).removeprefix('public_url ')}") from None
    app = create_app(settings)  # a wrong passphrase stops here, with its reason
    try:
        sock = _listen(host, port)
    except BaseException:
        _close(app)
        raise
    with sock:
        url = f"http://{_host_in_url(host)}:{sock.getsockname()[1]}/"
        line = f"serving on {shown(url)} ({_signing_state(app, home, passphrase)})"
        if not no_access_log:
            _log_access_to_stderr(ACCESS_LOGGER)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        _announcing_server(config, lambda: typer.echo(line, err=True)).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, or one ``UsageError`` line saying why not."""
    import socket  # here: --help and the other commands need no sockets

    where = f"{_host_in_url(host)}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise UsageError(f"cannot listen on {where}: {reason}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # As uvicorn does: a restart may reuse a port whose old connections are closing
        # (on Linux this never lets two servers listen on one port).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {where}: {_bind_reason(exc, port)}") from None
    return sock


def _bind_reason(exc: OSError, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "no such address on this machine"
    if exc.errno == errno.EACCES and 0 < port < 1024:
        return "permission denied (ports below 1024 need privileges)"
    return (exc.strerror or str(exc)).lower()


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _signing_state(app: FastAPI, home: Path, passphrase: str | None) -> str:
    """``signing enabled``, or why not: the reasons a person can act on."""
    services = app.state.services
    if services.signer is not None:
        return "signing enabled"
    if not services.has_key_store:
        return f"signing disabled: no key store at {shown(home)}"
    if passphrase is None:
        return f"signing disabled: {PASSPHRASE_ENV} is not set"
    return "signing disabled"


def _log_access_to_stderr(name: str) -> None:
    """The access log's lines go to stderr, timestamped, whatever --verbose says."""
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _close(app: FastAPI) -> None:
    """What the app's shutdown would release, for a server that never started."""
    services = app.state.services
    services.workers.shutdown()
    if services.signer is not None:
        services.signer.close()


def _announcing_server(config: uvicorn.Config, announce: Callable[[], None]) -> uvicorn.Server:
    """A uvicorn server that calls ``announce`` once it has started (socket served,
    application started), and not at all if it never does."""
    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                announce()

    return Announcing(config)
