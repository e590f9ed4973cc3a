"""The moderator page end to end: the real ``provenance serve`` driven by headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it) and the ``playwright``
package, which drives that browser; Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

import httpx
from playwright import sync_api

from provenance.keystore import KeyStore
from provenance.server import create_token

from conftest import PASSPHRASE, encode, natural_image

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)", allow_module_level=True)

HOSTILE_MODEL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``provenance serve`` in a subprocess on a free loopback port: (base URL, token)."""
    home = tmp_path_factory.mktemp("browser") / "home"
    KeyStore.create(home, PASSPHRASE, org="Test Org")
    token = create_token(home, "browser-test")
    port = free_port()
    env = {**os.environ, "PROVENANCE_PASSPHRASE": PASSPHRASE}
    command = [sys.executable, "-c", "from cli.main import main; main()"]
    command += ["--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = home.parent / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(command, env=env, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        # A persistent context over a fresh, empty profile: Playwright passes it to Chromium
        # as --user-data-dir (it refuses that flag in args).
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield context
        finally:
            context.close()


def signed_jpeg(base: str, token: str, model: str) -> bytes:
    response = httpx.post(
        f"{base}/v1/sign",
        params={"model": model},
        files={"file": ("gen.jpg", encode(natural_image(400, 300), "JPEG", quality=90))},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.content


def check_on_page(browser: Any, base: str, tmp_path: Path, data: bytes) -> Any:
    """Open the page, upload ``data`` through its file input, wait for the verdict."""
    path = tmp_path / "upload.jpg"
    path.write_bytes(data)
    page = browser.new_page()
    page.goto(f"{base}/")
    page.set_input_files("#file", str(path))
    page.wait_for_function(
        "() => !document.getElementById('result').hidden"
        " && !document.getElementById('verdict').textContent.startsWith('Checking')",
        timeout=60_000,
    )
    return page


def test_signed_image_shows_trusted(server: tuple[str, str], browser: Any, tmp_path: Path) -> None:
    base, token = server
    page = check_on_page(browser, base, tmp_path, signed_jpeg(base, token, "sdxl"))
    assert page.get_attribute("#verdict", "class") == "verdict verdict-trusted"
    assert page.text_content("#verdict").startswith("Trusted")
    assert "sdxl" in page.text_content("#facts")
    page.close()


def test_markup_in_a_manifest_shows_as_text(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    page = check_on_page(browser, base, tmp_path, signed_jpeg(base, token, HOSTILE_MODEL))
    assert page.text_content("#verdict").startswith("Trusted")
    assert HOSTILE_MODEL in page.text_content("#facts")
    assert "<script>window.__pwned=1</script>" in page.text_content("#manifest")
    page.wait_for_timeout(500)  # let any injected onerror fire
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#result script, #result img").count() == 0
    page.close()
