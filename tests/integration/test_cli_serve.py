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

    def fake_run(asgi: Any, **kwargs: Any) -> None:
        calls.update(kwargs, app=asgi)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    result = CliRunner().invoke(app, ["--home", str(home), "serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8123
    assert calls["app"].state.services.signer is not None
    assert "signing enabled" in result.stderr


def test_wrong_passphrase_stops_the_server_with_one_line(
    env_store: object, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", "wrong")
    result = CliRunner().invoke(app, ["--home", str(home), "serve"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
