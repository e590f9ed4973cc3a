"""``provenance serve`` through CliRunner, on a root app like cli.main's (uvicorn faked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from cli.serve import serve
from provenance.server.settings import load_token_hashes

app = typer.Typer()


@app.callback()
def root(ctx: typer.Context, home: Path = typer.Option(..., "--home")) -> None:
    ctx.obj = {"home": home}


app.command()(serve)


def test_new_token_is_printed_once_and_stored_hashed(env_store: object, home: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(home), "serve", "--new-token", "ci"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) >= 40
    assert list(load_token_hashes(home).values()) == ["ci"]
    assert token not in (home / "server" / "tokens").read_text()


def test_serve_runs_uvicorn_with_signing(
    env_store: object, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: dict[str, Any] = {}

    async def no_main_loop(server: uvicorn.Server) -> None:  # started, then stops at once
        calls.update(
            app=server.config.app, sockets=[s.getsockname() for s in server.servers[0].sockets]
        )

    monkeypatch.setattr(uvicorn.Server, "main_loop", no_main_loop)
    result = CliRunner().invoke(app, ["--home", str(home), "serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    ((host, port),) = calls["sockets"]
    assert host == "127.0.0.1" and port > 0
    assert calls["app"].state.services.signer is not None
    assert f"serving on http://127.0.0.1:{port}/ (signing enabled)" in result.stderr


def test_wrong_passphrase_stops_the_server_with_one_line(
    env_store: object, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", "wrong")
    result = CliRunner().invoke(app, ["--home", str(home), "serve"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_a_revoked_token_is_refused_by_a_running_server(home: Path) -> None:
    """Issue 23, item 18: `serve --revoke-token NAME` counts from the next request, with no
    restart (the server reads the tokens file again when it changes)."""
    from fastapi.testclient import TestClient

    from provenance.server import ServerSettings, create_app

    runner = CliRunner()
    kept = runner.invoke(app, ["--home", str(home), "serve", "--new-token", "kept"])
    gone = runner.invoke(app, ["--home", str(home), "serve", "--new-token", "gone"])
    tokens = {"kept": kept.stdout.strip(), "gone": gone.stdout.strip()}

    def status(client: TestClient, name: str) -> int:
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        return client.post("/v1/sign", content=b"some text", headers=headers).status_code

    # No key store here: a valid token gets as far as "signing disabled" (503).
    with TestClient(create_app(ServerSettings.from_home(home))) as client:
        assert status(client, "kept") == status(client, "gone") == 503
        result = runner.invoke(app, ["--home", str(home), "serve", "--revoke-token", "gone"])
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith("token for gone revoked")
        assert status(client, "gone") == 403
        assert status(client, "kept") == 503
        added = runner.invoke(app, ["--home", str(home), "serve", "--new-token", "late"])
        tokens["late"] = added.stdout.strip()
        assert status(client, "late") == 503
    assert sorted(load_token_hashes(home).values()) == ["kept", "late"]
    again = runner.invoke(app, ["--home", str(home), "serve", "--revoke-token", "gone"])
    assert again.exit_code == 2 and "no token named 'gone'" in again.stderr


def test_public_url_is_checked(home: Path) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(home), "serve", "--public-url", "ftp://x.example"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --public-url: must be an http:// or https://")
