"""The server says what it does (issue 14, item 9): it announces itself only once it listens,
says why signing is off, and keeps an access log that holds no upload and no token.

The real ``provenance serve`` runs in a subprocess on loopback, on a port the kernel picks
(``--port 0``) or one a test holds; the access log's content is also checked in-process.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from provenance.server import ServerSettings, create_app
from provenance.server.app import ACCESS_LOGGER
from provenance.server.settings import hash_token

CLI = Path(sys.executable).with_name("provenance")
TOKEN = "tok-" + "s3cret" * 8
MARK = "UPLOAD-BODY-MARKER-7f3a"
ACCESS_LINE = re.compile(r"^(GET|POST) (/\S*) (\d{3}) (\d+) bytes \d+\.\d ms$")


class Server:
    """``provenance serve`` in a subprocess, its stderr read line by line."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [str(CLI), "--home", str(home), "serve", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line(self, timeout: float = 60) -> str | None:
        return self.lines.get(timeout=timeout)

    def stop(self) -> list[str]:
        """SIGTERM, then every line it printed since the last ``line()``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        rest = []
        while (line := self.line(timeout=10)) is not None:
            rest.append(line)
        return rest


def no_passphrase() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PROVENANCE_PASSPHRASE"}


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


def get(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def post(url: str, data: bytes, **headers: str) -> int:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


def test_a_busy_port_is_one_line_and_exit_2_without_announcing(
    tmp_path: Path, busy_port: int
) -> None:
    result = subprocess.run(
        [str(CLI), "--home", str(tmp_path / "none"), "serve", "--port", str(busy_port)],
        capture_output=True,
        text=True,
        timeout=60,
        env=no_passphrase(),
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{busy_port}: address already in use\n"
    )
    assert "serving" not in result.stdout + result.stderr


def test_it_announces_once_listening_and_logs_each_request(tmp_path: Path) -> None:
    home = tmp_path / "no-such-home"
    server = Server(home, "--port", "0", env=no_passphrase())
    try:
        first = server.line()
        assert first is not None, "the server exited without a word"
        match = re.fullmatch(
            r"serving on http://127\.0\.0\.1:(\d+)/ \(signing disabled: no key store at (.+)\)",
            first,
        )
        assert match, first
        assert match.group(2) == str(home)
        base = f"http://127.0.0.1:{match.group(1)}"
        # Announced means listening: the first request right after the line is answered.
        status, body = get(f"{base}/healthz?model=secret-model", Authorization=f"Bearer {TOKEN}")
        assert status == 200 and b'"signing":false' in body
        upload = f"{MARK} some text to verify".encode()
        assert post(f"{base}/v1/verify", upload, **{"Content-Type": "text/plain"}) == 200
        assert (
            post(f"{base}/v1/sign?model=secret-model", upload, Authorization=f"Bearer {TOKEN}")
            == 403
        )
        logged = [server.line(), server.line(), server.line()]
    finally:
        rest = server.stop()
    everything = "\n".join(str(line) for line in [first, *logged, *rest])
    access = [ACCESS_LINE.match(line.split(" ", 1)[1]) for line in logged if line]
    assert all(access), logged
    assert [(m.group(1), m.group(2), m.group(3)) for m in access if m] == [
        ("GET", "/healthz", "200"),
        ("POST", "/v1/verify", "200"),
        ("POST", "/v1/sign", "403"),
    ]
    for secret in (TOKEN, MARK, "secret-model", "Bearer", "?"):
        assert secret not in everything.replace(first, "")
    assert "Traceback" not in everything


def test_no_access_log_turns_it_off(tmp_path: Path) -> None:
    server = Server(tmp_path / "home", "--port", "0", "--no-access-log", env=no_passphrase())
    try:
        first = server.line()
        assert first is not None and first.startswith("serving on http://127.0.0.1:")
        port = re.search(r":(\d+)/", first)
        assert port
        assert get(f"http://127.0.0.1:{port.group(1)}/healthz")[0] == 200
    finally:
        rest = server.stop()
    assert not [line for line in rest if "/healthz" in line], rest


def test_signing_disabled_says_the_passphrase_is_missing(
    env_store: object, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from cli.main import app

    async def no_main_loop(server: uvicorn.Server) -> None:
        pass

    monkeypatch.setattr(uvicorn.Server, "main_loop", no_main_loop)
    monkeypatch.delenv("PROVENANCE_PASSPHRASE")
    result = CliRunner().invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        r"serving on http://127\.0\.0\.1:\d+/ \(signing disabled: PROVENANCE_PASSPHRASE is "
        r"not set\)\n",
        result.stderr,
    ), result.stderr


def test_a_startup_that_fails_never_announces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from uvicorn.lifespan.on import LifespanOn

    from cli.main import app

    async def failing_startup(self: Any) -> None:
        self.should_exit = True  # what uvicorn's lifespan does when the app fails to start

    monkeypatch.setattr(LifespanOn, "startup", failing_startup)
    monkeypatch.delenv("PROVENANCE_PASSPHRASE", raising=False)
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "serve", "--port", "0"])
    assert "serving" not in result.stderr


def test_the_access_log_holds_no_body_no_token_no_query(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServerSettings(home=tmp_path / "home", token_hashes={hash_token(TOKEN): "ci"})
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz", params={"model": "secret-model"}).status_code == 200
        upload = f"{MARK} hello".encode()
        verified = client.post("/v1/verify", content=upload)
        assert verified.status_code == 200
        signed = client.post(
            "/v1/sign",
            params={"model": "secret-model"},
            files={"file": ("secret-name.txt", upload, "text/plain")},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert signed.status_code == 503  # valid token, signing off
        assert client.get("/no/such/page").status_code == 404
    messages = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    parsed = [ACCESS_LINE.match(m) for m in messages]
    assert all(parsed), messages
    assert [(m.group(1), m.group(2), m.group(3)) for m in parsed if m] == [
        ("GET", "/healthz", "200"),
        ("POST", "/v1/verify", "200"),
        ("POST", "/v1/sign", "503"),
        ("GET", "/no/such/page", "404"),
    ]
    sizes = [int(m.group(4)) for m in parsed if m]
    assert sizes[1] == len(verified.content) and sizes[2] == len(signed.content)
    joined = "\n".join(messages)
    for secret in (TOKEN, MARK, "secret-model", "secret-name", "Bearer"):
        assert secret not in joined


def test_the_access_log_can_be_turned_off_in_settings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServerSettings(home=tmp_path / "home", access_log=False)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
    assert [r for r in caplog.records if r.name == ACCESS_LOGGER] == []


@pytest.mark.parametrize(
    "command",
    [[], ["serve"], ["sign"], ["verify"], ["keys"], ["keys", "init"], ["watermark", "embed"]],
)
def test_h_is_help_everywhere(command: list[str]) -> None:
    from cli.main import app

    result = CliRunner().invoke(app, [*command, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout and "--help" in result.stdout
