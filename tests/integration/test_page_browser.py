"""The moderator page end to end: the real ``provenance serve`` driven by headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it) and the ``playwright``
package, which drives that browser; Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

import httpx
from playwright import sync_api

from fixtures.media import bmff_head, mp4, wav
from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.keystore import KeyStore
from provenance.server import create_token

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
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's key store (the CLI signs with it too)."""
    home = tmp_path_factory.mktemp("browser") / "home"
    KeyStore.create(home, PASSPHRASE, org="Test Org")
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[tuple[str, str]]:
    """``provenance serve`` in a subprocess on a free loopback port: (base URL, token)."""
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


# Issue 11: every answer says exactly what it knows.


def fact(page: Any, term: str) -> str | None:
    """The text of the facts row named ``term`` ("AI-generated", "Watermark"), or None."""
    value: str | None = page.evaluate(
        """(term) => {
            for (const dt of document.querySelectorAll('#facts dt'))
                if (dt.textContent === term) return dt.nextElementSibling.textContent;
            return null;
        }""",
        term,
    )
    return value


def failures_on_page(page: Any) -> list[tuple[str, str | None]]:
    """Each "What failed and why" item as (its text, the code in its tooltip or None)."""
    items: list[tuple[str, str | None]] = page.evaluate(
        """() => [...document.querySelectorAll('#failures li')].map((li) => [
            li.textContent, li.getAttribute('title'),
        ])"""
    )
    return [(words, code) for words, code in items]


def sign_bytes(base: str, token: str, data: bytes, model: str = "sdxl") -> tuple[bytes, str]:
    """Sign ``data`` through the API: (signed file, its watermark record)."""
    response = httpx.post(
        f"{base}/v1/sign",
        params={"model": model},
        files={"file": ("gen.jpg", data)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.content, response.headers["x-provenance-record"]


def jpeg_segments(data: bytes) -> tuple[list[bytes], bytes]:
    """A JPEG's marker segments before its scan, and the rest (SOS onwards)."""
    assert data[:2] == b"\xff\xd8"
    segments, at = [], 2
    while data[at + 1] != 0xDA:
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        segments.append(data[at : at + 2 + length])
        at += 2 + length
    return segments, data[at:]


def transplant_manifest(donor: bytes, pixels: bytes) -> bytes:
    """``pixels``' JPEG with ``donor``'s C2PA manifest (APP11 segments) in place of its own."""
    donor_segments, _ = jpeg_segments(donor)
    manifest = [s for s in donor_segments if s[1] == 0xEB]
    own, scan = jpeg_segments(pixels)
    first = next(i for i, s in enumerate(own) if s[1] == 0xEB)
    kept = [s for s in own if s[1] != 0xEB]
    return b"\xff\xd8" + b"".join(kept[:first] + manifest + kept[first:]) + scan


def page_with_report(
    browser: Any, base: str, tmp_path: Path, report: Any, status: int = 200, raw: str | None = None
) -> Any:
    """The page showing ``report`` as if the server had answered it (``raw``: a non-JSON body)."""
    import json

    page = browser.new_page()
    body = raw if raw is not None else json.dumps(report)
    kind = "text/html" if raw is not None else "application/json"
    page.route(
        "**/v1/verify*", lambda route: route.fulfill(status=status, content_type=kind, body=body)
    )
    path = tmp_path / "mocked.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    page.goto(f"{base}/")
    page.set_input_files("#file", str(path))
    page.wait_for_function(
        "() => !document.getElementById('result').hidden"
        " && !document.getElementById('verdict').textContent.startsWith('Checking')",
        timeout=30_000,
    )
    return page


def new_report(**fields: Any) -> dict[str, Any]:
    """A report in the issue-11 shape, with ``fields`` replacing the defaults."""
    report: dict[str, Any] = {
        "path": "upload.jpg",
        "media_type": "image/jpeg",
        "verdict": "trusted",
        "ai_generated": True,
        "summary": "signed by default",
        "error": None,
        "manifest": None,
        "credentials": {
            "state": "Trusted",
            "signer": "default",
            "issuer": "Test Org",
            "signed_at": None,
            "created_at": None,
            "generator": None,
            "model": "sdxl",
            "digital_source_type": None,
            "failures": [],
            "ingredient_failures": [],
            "explanations": {},
        },
        "watermark": None,
    }
    report.update(fields)
    return report


def watermark(**fields: Any) -> dict[str, Any]:
    mark: dict[str, Any] = {
        "status": "found", "detected": True, "payload": "00ab12", "key": "k1", "p_value": 1e-9,
        "alg": "com.example.wm", "record": "00ab12", "agrees": None, "note": None,
        "scale": 1.0, "angle": 0.0,
    }  # fmt: skip
    mark.update(fields)
    return mark


def test_unsupported_upload_is_not_checked_never_no(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, _ = server
    junk = random.Random(11).randbytes(4096)
    page = check_on_page(browser, base, tmp_path, junk)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-error"
    assert "not a supported" in page.text_content("#summary")
    assert fact(page, "AI-generated") == "not checked"
    assert fact(page, "Watermark") == "not checked"
    page.close()


@pytest.mark.parametrize(
    ("status", "body", "raw", "reason"),
    [
        (413, {"error": "upload is over the 50 MiB limit"}, None, "over the 50 MiB limit"),
        (415, {"error": "not a supported image or audio type"}, None, "not a supported"),
        (502, None, "<html>Bad Gateway</html>", "502"),
    ],
)
def test_http_errors_are_not_checked(
    server: tuple[str, str],
    browser: Any,
    tmp_path: Path,
    status: int,
    body: Any,
    raw: str | None,
    reason: str,
) -> None:
    page = page_with_report(browser, server[0], tmp_path, body, status=status, raw=raw)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-error"
    assert reason in page.text_content("#summary")
    assert fact(page, "AI-generated") == "not checked"
    assert "no" not in (fact(page, "AI-generated") or "").split()
    page.close()


@pytest.mark.parametrize(
    ("verdict", "ai_generated", "shown"),
    [
        ("trusted", True, "yes"),
        ("valid", False, "no"),
        ("valid", None, "unknown"),
        ("none", None, "unknown"),
        ("error", None, "not checked"),
    ],
)
def test_ai_generated_row_says_what_is_known(
    server: tuple[str, str],
    browser: Any,
    tmp_path: Path,
    verdict: str,
    ai_generated: bool | None,
    shown: str,
) -> None:
    report = new_report(verdict=verdict, ai_generated=ai_generated)
    page = page_with_report(browser, server[0], tmp_path, report)
    assert fact(page, "AI-generated") == shown
    page.close()


@pytest.mark.parametrize(
    ("mark", "shown"),
    [
        (watermark(agrees=True), "found, record 00ab12, matches the credentials"),
        (watermark(agrees=False), "found, record 00ab12, does NOT match the credentials"),
        (watermark(agrees=None), "found, record 00ab12"),
        (
            watermark(status="not_found", detected=False, payload=None, record=None, agrees=False),
            "not found",
        ),
        (
            watermark(
                status="not_checked",
                detected=False,
                payload=None,
                record=None,
                note="no watermark key here",
            ),
            "not checked (no watermark key here)",
        ),
        (None, "not checked"),
    ],
)
def test_watermark_row_wording(
    server: tuple[str, str], browser: Any, tmp_path: Path, mark: Any, shown: str
) -> None:
    page = page_with_report(browser, server[0], tmp_path, new_report(watermark=mark))
    assert fact(page, "Watermark") == shown
    page.close()


def test_failures_show_plain_words_with_the_code_as_a_tooltip(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    credentials = new_report()["credentials"]
    credentials.update(
        state="Invalid",
        failures=["assertion.dataHash.mismatch", "x.unexplained"],
        ingredient_failures=["ingredient.hashedURI.mismatch"],
        explanations={
            "assertion.dataHash.mismatch": "content was altered after signing",
            "ingredient.hashedURI.mismatch": "<b>an ingredient's</b> manifest was altered",
        },
    )
    report = new_report(verdict="invalid", credentials=credentials)
    page = page_with_report(browser, server[0], tmp_path, report)
    assert failures_on_page(page) == [
        ("content was altered after signing", "assertion.dataHash.mismatch"),
        ("x.unexplained", None),  # no plain words sent: the code itself
        (
            "ingredient: <b>an ingredient's</b> manifest was altered",
            "ingredient.hashedURI.mismatch",
        ),
    ]
    assert page.locator("#failures b").count() == 0
    page.close()


def test_failures_without_explanations_fall_back_to_codes(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    credentials = new_report()["credentials"]
    del credentials["explanations"]
    credentials.update(failures=["constructor", "assertion.dataHash.mismatch"])
    page = page_with_report(
        browser, server[0], tmp_path, new_report(verdict="invalid", credentials=credentials)
    )
    assert failures_on_page(page) == [
        ("constructor", None),
        ("assertion.dataHash.mismatch", None),
    ]
    page.close()


def test_forged_claim_failure_has_plain_words(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    """Waits for the issue-11 server: needs ``credentials.explanations``."""
    base, token = server
    forged = signed_jpeg(base, token, "sdxl").replace(b"sdxl", b"SDXL")
    page = check_on_page(browser, base, tmp_path, forged)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-invalid"
    assert failures_on_page(page) == [
        ("the manifest was altered after signing", "assertion.hashedURI.mismatch")
    ]
    page.close()


def test_signed_image_watermark_matches(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    signed, record = sign_bytes(base, token, encode(natural_image(400, 300), "JPEG", quality=90))
    page = check_on_page(browser, base, tmp_path, signed)
    assert fact(page, "Watermark") == f"found, record {record}, matches the credentials"
    page.close()


def test_transplanted_manifest_watermark_does_not_match(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    donor, donor_record = sign_bytes(base, token, encode(natural_image(400, 300, seed=1), "JPEG"))
    pixels, record = sign_bytes(base, token, encode(natural_image(400, 300, seed=2), "JPEG"))
    assert donor_record != record
    page = check_on_page(browser, base, tmp_path, transplant_manifest(donor, pixels))
    assert page.get_attribute("#verdict", "class") == "verdict verdict-invalid"
    assert fact(page, "Watermark") == f"found, record {record}, does NOT match the credentials"
    page.close()


def test_unsigned_image_watermark_not_found_and_ai_unknown(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, _ = server
    page = check_on_page(browser, base, tmp_path, encode(natural_image(400, 300, seed=3), "JPEG"))
    assert page.get_attribute("#verdict", "class") == "verdict verdict-none"
    assert fact(page, "Watermark") == "not found"
    assert fact(page, "AI-generated") == "unknown"
    page.close()


# Issue 13: where it was edited.


def painted_jpeg(data: bytes, box: tuple[int, int, int, int]) -> bytes:
    """``data`` (a JPEG) with a solid rectangle painted over ``box``, saved again."""
    import io

    from PIL import Image, ImageDraw

    image = Image.open(io.BytesIO(data)).convert("RGB")
    ImageDraw.Draw(image).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=(200, 40, 40))
    return encode(image, "JPEG", quality=90)


def drawn_regions(page: Any) -> list[dict[str, Any]]:
    """The boxes drawn over the preview: state and geometry in image pixels."""
    page.wait_for_function("() => !document.getElementById('preview-box').hidden", timeout=10_000)
    boxes: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll('#regions rect')].map((r) => ({
            state: r.getAttribute('class').replace('region region-', ''),
            x: +r.getAttribute('x'), y: +r.getAttribute('y'),
            width: +r.getAttribute('width'), height: +r.getAttribute('height'),
        }))"""
    )
    return boxes


def test_painted_rectangle_shows_its_box(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    signed, _ = sign_bytes(base, token, encode(natural_image(640, 480), "JPEG", quality=90))
    box = (160, 120, 320, 240)
    page = check_on_page(browser, base, tmp_path, painted_jpeg(signed, box))
    assert (fact(page, "Watermark") or "").startswith("found")
    altered = [r for r in drawn_regions(page) if r["state"] == "altered"]
    assert altered, "no box drawn over the painted rectangle"
    for r in altered:  # every box lies on the rectangle
        assert box[0] <= r["x"] + r["width"] / 2 <= box[2]
        assert box[1] <= r["y"] + r["height"] / 2 <= box[3]
    where = fact(page, "Watermark coverage") or ""
    assert "no longer carr" in where and "of the image" in where
    assert "no longer carr" in page.text_content("#regions-caption")
    assert page.is_visible("#regions-legend")
    page.close()


def test_regions_from_the_report_are_drawn_and_counted(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    regions = [
        {"x": 0, "y": 0, "width": 50, "height": 40, "share": 0.0625, "state": "altered"},
        {"x": 50, "y": 0, "width": 50, "height": 40, "share": 0.0625, "state": "altered"},
        {"x": 0, "y": 40, "width": 50, "height": 40, "share": 0.0625, "state": "unknown"},
        {"x": "<b>", "y": 0, "width": 1, "height": 1, "share": 0.1, "state": "altered"},
        {"x": 0, "y": 0, "width": 1, "height": 1, "share": 0.1, "state": "<script>"},
    ]
    import json

    report = new_report(watermark=watermark(altered_regions=regions))
    page = browser.new_page()
    page.route(
        "**/v1/verify*",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(report)
        ),
    )
    path = tmp_path / "picture.png"
    path.write_bytes(encode(natural_image(200, 160), "PNG"))
    page.goto(f"{server[0]}/")
    page.set_input_files("#file", str(path))
    drawn = drawn_regions(page)
    assert sorted(r["state"] for r in drawn) == ["altered", "altered", "unknown"]
    assert page.get_attribute("#overlay", "viewBox") == "0 0 200 160"
    assert page.text_content("#regions-caption") == (
        "Watermark coverage: 2 regions (13% of the image) no longer carry the watermark; "
        "1 region (6%) cannot be checked (too little texture)"
    )
    page.close()


def test_no_regions_no_overlay(server: tuple[str, str], browser: Any, tmp_path: Path) -> None:
    base, token = server
    signed, record = sign_bytes(base, token, encode(natural_image(640, 480), "JPEG", quality=90))
    page = check_on_page(browser, base, tmp_path, signed)
    assert fact(page, "Watermark") == f"found, record {record}, matches the credentials"
    assert [r for r in drawn_regions(page) if r["state"] == "altered"] == []
    assert "no longer" not in page.text_content("#regions-caption")
    page.close()


# Issue 15, item 8: the page shows what was checked.


def signed_media(base: str, token: str, data: bytes, name: str) -> bytes:
    """``data`` (audio or video) signed through the API with C2PA alone (no mark for A/V)."""
    response = httpx.post(
        f"{base}/v1/sign",
        params={"model": "clip-gen", "watermark": "false"},
        files={"file": (name, data)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.content


def playable_mp4() -> bytes:
    """An MP4 (brand isom, so video/mp4) Chromium plays: one 16-bit PCM track. The fixture's
    uncompressed-video MP4 is valid but no browser decodes it."""
    samples = random.Random(15).randbytes(4000)
    head, _ = bmff_head(b"isom", (b"isom", b"mp41"), len(samples), audio=True, sample_size=2)
    return head + samples


def open_with(page: Any, base: str, paths: list[Path]) -> None:
    """Open the page and pick ``paths`` through its file input."""
    page.goto(f"{base}/")
    page.set_input_files("#file", [str(p) for p in paths])


def drop_files(page: Any, base: str, paths: list[Path]) -> None:
    """Open the page and drop ``paths`` onto it at once, as a file manager does."""
    import base64

    page.goto(f"{base}/")
    files = [(p.name, base64.b64encode(p.read_bytes()).decode()) for p in paths]
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, data] of files) {
                const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], name));
            }
            return transfer;
        }""",
        files,
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def wait_for_verdict(page: Any) -> None:
    page.wait_for_function(
        "() => !document.getElementById('result').hidden"
        " && !document.getElementById('verdict').textContent.startsWith('Checking')",
        timeout=60_000,
    )


def wait_for_name(page: Any, name: str) -> None:
    """Wait until the detail view is of the file ``name``."""
    page.wait_for_function(
        "(name) => document.getElementById('result-name').textContent === name", arg=name
    )


def media_state(page: Any, tag: str) -> dict[str, Any]:
    """The preview's ``tag`` element once the browser has read the file's metadata."""
    page.wait_for_function(
        f"() => document.querySelector('#media {tag}')?.readyState >= 1", timeout=20_000
    )
    state: dict[str, Any] = page.evaluate(
        """(tag) => {
            const all = document.querySelectorAll('#media ' + tag);
            const e = all[0];
            return {
                count: all.length, src: e.src, autoplay: e.hasAttribute('autoplay'),
                controls: e.controls, preload: e.preload, muted: e.muted,
                paused: e.paused, duration: e.duration,
            };
        }""",
        tag,
    )
    return state


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_signed_mp4_shows_a_video_of_the_local_file(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    path = write(tmp_path, "clip-42.mp4", signed_media(base, token, playable_mp4(), "clip.mp4"))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_with(page, base, [path])
    wait_for_verdict(page)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-trusted"
    assert page.text_content("#result-name") == "clip-42.mp4"
    assert fact(page, "File") == "clip-42.mp4"
    assert fact(page, "Type") == "video/mp4"
    video = media_state(page, "video")  # the page's CSP lets it play the blob: URL
    assert video["count"] == 1
    assert video["src"].startswith(f"blob:{base}/")
    assert video["autoplay"] is False and video["paused"] is True
    assert video["controls"] is True and video["preload"] == "metadata" and video["muted"]
    assert video["duration"] == pytest.approx(0.25, abs=0.01)
    assert page.locator("#media audio, #result img").count() == 0
    assert page.is_hidden("#no-preview") and page.is_hidden("#preview-box")
    assert errors == []
    page.close()


def test_a_video_the_browser_cannot_play_says_no_preview(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    clip = mp4()  # uncompressed RGB frames: valid, signed, but Chromium has no decoder
    path = write(tmp_path, clip.name, signed_media(base, token, clip.data, clip.name))
    page = browser.new_page()
    open_with(page, base, [path])
    wait_for_verdict(page)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-trusted"
    page.wait_for_selector("#no-preview", state="visible", timeout=20_000)
    assert page.text_content("#no-preview") == "No preview: this browser cannot play this video."
    assert page.locator("#media video").count() == 0  # no broken player left behind
    page.close()


def test_signed_wav_shows_an_audio_player(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    tone = wav()
    path = write(tmp_path, "voice note.wav", signed_media(base, token, tone.data, tone.name))
    page = browser.new_page()
    open_with(page, base, [path])
    wait_for_verdict(page)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-trusted"
    assert page.text_content("#result-name") == "voice note.wav"
    audio = media_state(page, "audio")
    assert audio["count"] == 1 and audio["src"].startswith("blob:")
    assert audio["autoplay"] is False and audio["paused"] is True and audio["controls"] is True
    assert audio["duration"] == pytest.approx(0.25, abs=0.01)
    assert page.locator("#media video").count() == 0
    page.close()


def test_text_shows_its_first_lines(server: tuple[str, str], browser: Any, tmp_path: Path) -> None:
    lines = [f"line {n}: <b>not markup</b>" for n in range(40)]
    path = write(tmp_path, "notes.txt", "\n".join(lines).encode())
    page = browser.new_page()
    open_with(page, server[0], [path])
    wait_for_verdict(page)
    shown = page.text_content("#media .text-preview")
    assert shown.splitlines()[:12] == lines[:12]
    assert "line 12:" not in shown and shown.endswith("…")
    assert page.locator("#media b").count() == 0
    page.close()


def test_a_new_file_replaces_the_preview_and_revokes_its_url(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    first = write(tmp_path, "first.wav", signed_media(base, token, wav().data, "a.wav"))
    page = browser.new_page()
    open_with(page, base, [first])
    wait_for_verdict(page)
    url = media_state(page, "audio")["src"]
    page.set_input_files("#file", str(write(tmp_path, "second.txt", b"plain words\n")))
    wait_for_name(page, "second.txt")
    wait_for_verdict(page)
    assert page.locator("#media audio").count() == 0
    revoked = page.evaluate("(url) => fetch(url).then(() => false, () => true)", url)
    assert revoked is True
    page.close()


def cli_sign(home: Path, source: Path, output: Path, *options: str) -> None:
    """``provenance sign`` in a subprocess with the server's key store."""
    command = [sys.executable, "-c", "from cli.main import main; main()", "--home", str(home)]
    command += ["sign", str(source), "-o", str(output), *options]
    env = {**os.environ, "PROVENANCE_PASSPHRASE": PASSPHRASE}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def ingredient_tree(page: Any) -> list[Any]:
    """The drawn tree as nested [title, facts, [children...]] lists."""
    tree: list[Any] = page.evaluate(
        """() => {
            const walk = (ul) => [...ul.children].filter((li) => li.tagName === 'LI'
                && li.querySelector(':scope > .ingredient-title')).map((li) => [
                li.querySelector(':scope > .ingredient-title').textContent,
                li.querySelector(':scope > .ingredient-facts').textContent,
                li.querySelector(':scope > ul:not(.ingredient-failures)')
                    ? walk(li.querySelector(':scope > ul:not(.ingredient-failures)')) : [],
            ]);
            return walk(document.getElementById('ingredients'));
        }"""
    )
    return tree


def test_edit_chain_shows_the_ingredient_tree(
    home: Path, server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    edit_of: list[str] = []  # an AI original, an edit of it, an edit of that edit
    for seed, name in enumerate(("original", "retouch", "crop")):
        source = write(
            tmp_path, f"{name}.jpg", encode(natural_image(400, 300, seed=20 + seed), "JPEG")
        )
        signed = tmp_path / f"gen-{name}.jpg"
        cli_sign(home, source, signed, *(edit_of or ["--model", "sdxl"]))
        edit_of = ["--parent", str(signed)]
    page = browser.new_page()
    open_with(page, server[0], [tmp_path / "gen-crop.jpg"])
    wait_for_verdict(page)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-trusted"
    assert page.is_visible("#ingredients-box")
    [[parent, parent_facts, [[grandparent, grandparent_facts, deeper]]]] = ingredient_tree(page)
    assert parent == "gen-retouch.jpg"
    assert parent_facts.startswith(" (parentOf): credentials ")
    assert parent_facts.endswith(", AI-generated")
    assert grandparent == "gen-original.jpg"
    assert grandparent_facts.startswith(" (parentOf): credentials ")
    assert grandparent_facts.endswith(", AI-generated")
    assert deeper == []
    page.wait_for_selector("#preview-box", state="visible")  # the image itself, on a canvas
    page.close()


def chain(depth: int, title: str) -> list[dict[str, Any]]:
    """Ingredients nested ``depth`` deep, each titled ``title`` and its level."""
    node: list[dict[str, Any]] = []
    for level in reversed(range(depth)):
        node = [
            {
                "title": f"{title} {level}",
                "relationship": "parentOf",
                "state": "Valid",
                "ai_generated": None,
                "failures": ["signingCredential.untrusted"],
                "ingredients": node,
            }
        ]
    return node


def test_hostile_ingredient_tree_is_text_and_bounded(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    credentials = new_report()["credentials"]
    credentials["ingredients"] = [
        *chain(60, HOSTILE_MODEL),
        {"title": None, "relationship": None, "state": None, "ai_generated": None},
        "not an ingredient",
    ]
    credentials["explanations"] = {"signingCredential.untrusted": "the signer is not trusted"}
    page = page_with_report(browser, server[0], tmp_path, new_report(credentials=credentials))
    tree = ingredient_tree(page)
    assert len(tree) == 2
    depth, node = 0, tree[0]
    while True:
        assert node[0] == f"{HOSTILE_MODEL} {depth}"
        depth += 1
        if not node[2]:
            break
        node = node[2][0]
    assert depth == 8  # drawn to eight levels, then a line says what was left out
    assert "(1 more ingredient deeper, not shown)" in page.text_content("#ingredients")
    assert tree[1] == ["untitled", " (ingredient): no credentials", []]
    assert "failed: the signer is not trusted" in page.text_content("#ingredients")
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#ingredients script, #ingredients img").count() == 0
    page.close()


def batch_rows(page: Any, count: int) -> list[dict[str, str]]:
    """The table of verdicts once every row has its verdict."""
    page.wait_for_function(
        """(count) => {
            const cells = document.querySelectorAll('#batch-rows .batch-verdict');
            return cells.length === count
                && [...cells].every((c) => !c.textContent.startsWith('Checking'));
        }""",
        arg=count,
        timeout=60_000,
    )
    rows: list[dict[str, str]] = page.evaluate(
        """() => [...document.querySelectorAll('#batch-rows tr')].map((tr) => ({
            name: tr.querySelector('.batch-name').textContent,
            verdict: tr.querySelector('.batch-verdict').className.replace('batch-verdict ', ''),
            summary: tr.querySelector('.batch-summary').textContent,
        }))"""
    )
    return rows


@pytest.mark.parametrize("how", ["drop", "pick"])
def test_several_files_make_a_table_that_opens_each(
    server: tuple[str, str], browser: Any, tmp_path: Path, how: str
) -> None:
    base, token = server
    paths = [
        write(tmp_path, "signed.jpg", signed_jpeg(base, token, "sdxl")),
        write(tmp_path, "plain.png", encode(natural_image(300, 260, seed=9), "PNG")),
        write(tmp_path, "clip.mp4", signed_media(base, token, playable_mp4(), "clip.mp4")),
    ]
    page = browser.new_page()
    (drop_files if how == "drop" else open_with)(page, base, paths)
    rows = batch_rows(page, 3)
    assert [(r["name"], r["verdict"]) for r in rows] == [
        ("signed.jpg", "verdict-trusted"),
        ("plain.png", "verdict-none"),
        ("clip.mp4", "verdict-trusted"),
    ]
    assert "sdxl" in rows[0]["summary"]
    assert page.is_hidden("#result")  # nothing opened yet

    page.click("#batch-rows tr:nth-child(2) button")
    wait_for_verdict(page)
    assert page.text_content("#result-name") == "plain.png"
    assert page.get_attribute("#verdict", "class") == "verdict verdict-none"
    assert fact(page, "File") == "plain.png"
    page.wait_for_selector("#preview-box", state="visible")
    assert page.evaluate("document.getElementById('preview').width") == 300
    assert page.evaluate("document.activeElement.id") == "result-name"

    page.focus("#batch-rows tr:nth-child(3) button")  # the keyboard opens a row too
    page.keyboard.press("Enter")
    wait_for_name(page, "clip.mp4")
    wait_for_verdict(page)
    assert page.get_attribute("#verdict", "class") == "verdict verdict-trusted"
    assert media_state(page, "video")["src"].startswith("blob:")
    assert page.is_hidden("#preview-box")
    assert page.get_attribute("#batch-rows tr:nth-child(3)", "class") == "opened"
    page.close()


def test_several_files_go_at_most_three_at_a_time(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    paths = [
        write(tmp_path, f"n{n}.png", encode(natural_image(320, 280, seed=n), "PNG"))
        for n in range(7)
    ]
    page = browser.new_page()
    # Count the page's own requests to the real server as they go out and come back.
    page.add_init_script(
        """(() => {
            const send = window.fetch;
            window.__inFlight = 0; window.__most = 0; window.__sent = 0;
            window.fetch = async (...args) => {
                window.__inFlight += 1; window.__sent += 1;
                window.__most = Math.max(window.__most, window.__inFlight);
                try { return await send(...args); } finally { window.__inFlight -= 1; }
            };
        })()"""
    )
    open_with(page, server[0], paths)
    rows = batch_rows(page, 7)
    assert [r["verdict"] for r in rows] == ["verdict-none"] * 7
    assert page.evaluate("window.__sent") == 7
    assert page.evaluate("window.__most") == 3  # the first three all go out at once
    page.close()


def until(page: Any, done: Callable[[], bool], seconds: float = 20) -> None:
    """Let the browser's events (routes, failures) come in until ``done()``."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def test_new_files_stop_the_checks_of_the_old_ones(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    old = [
        write(tmp_path, f"old{n}.png", encode(natural_image(300, 260, seed=n), "PNG"))
        for n in range(5)
    ]
    page = browser.new_page()
    held: list[Any] = []

    def hold_old_ones(route: Any) -> None:  # the old files' answers never come
        if b'filename="old' in (route.request.post_data_buffer or b""):
            held.append(route)
        else:
            route.continue_()

    page.route("**/v1/verify*", hold_old_ones)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    open_with(page, server[0], old)
    until(page, lambda: len(held) >= 3)
    assert len(held) == 3  # three in flight, two waiting
    page.set_input_files("#file", str(write(tmp_path, "new.txt", b"new words\n")))
    wait_for_verdict(page)
    assert page.text_content("#result-name") == "new.txt"
    assert page.is_hidden("#batch")
    until(page, lambda: len(failed) >= 3)
    assert len(failed) == 3  # the page cancelled the old requests
    assert len(held) == 3  # and sent none of the two that were waiting
    page.close()


def test_an_unknown_verdict_is_shown_as_sent_and_styled_as_an_error(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    page = page_with_report(browser, server[0], tmp_path, new_report(verdict="constructor"))
    assert page.text_content("#verdict") == "constructor"
    assert page.get_attribute("#verdict", "class") == "verdict verdict-error"
    page.close()


# Issue 23, item 17: a page that says what was observed, on a desk and on a phone.

SHOTS = Path(os.environ.get("PROVENANCE_SHOTS", "/tmp/provenance-page-shots"))


def recovered_png(base: str, token: str) -> bytes:
    """A signed JPEG's pixels saved again as PNG: no manifest, the watermark kept."""
    import io

    from PIL import Image

    signed, _ = sign_bytes(base, token, encode(natural_image(640, 480), "JPEG", quality=90))
    return encode(Image.open(io.BytesIO(signed)).convert("RGB"), "PNG")


def test_a_recovered_file_explains_the_mismatch_instead_of_listing_it(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    page = check_on_page(browser, base, tmp_path, recovered_png(base, token))
    assert page.get_attribute("#verdict", "class") == "verdict verdict-recovered"
    note = page.text_content("#verdict-note")
    assert page.is_visible("#verdict-note")
    assert "not the signed file" in note and "found through the watermark" in note
    # The expected content mismatch is not a failure under a green banner.
    assert page.is_hidden("#failures-box") and failures_on_page(page) == []
    assert "content changed" not in page.text_content("#result")
    assert fact(page, "Watermark coverage") is None and fact(page, "Where edited") is None
    assert page.is_hidden("#manifest-box")  # nothing embedded, no "Full manifest"
    page.close()


def test_recovered_still_lists_any_other_failure(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    credentials = new_report()["credentials"]
    credentials.update(
        failures=["assertion.dataHash.mismatch", "timeStamp.untrusted"],
        explanations={
            "assertion.dataHash.mismatch": "content changed after signing",
            "timeStamp.untrusted": "the time-stamp's authority is not trusted here",
        },
    )
    report = new_report(verdict="recovered", credentials=credentials)
    page = page_with_report(browser, server[0], tmp_path, report)
    assert failures_on_page(page) == [
        ("the time-stamp's authority is not trusted here", "timeStamp.untrusted")
    ]
    page.close()


def test_coverage_is_shown_only_when_it_localised_something(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    import json

    flat_sky = [
        {"x": 0, "y": 0, "width": 100, "height": 40, "share": 0.25, "state": "unknown"},
        {"x": 100, "y": 0, "width": 100, "height": 40, "share": 0.25, "state": "unknown"},
    ]
    report = new_report(watermark=watermark(altered_regions=flat_sky))
    page = browser.new_page()
    page.route(
        "**/v1/verify*",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(report)
        ),
    )
    page.goto(f"{server[0]}/")
    page.set_input_files("#file", str(write(tmp_path, "sky.png", encode(natural_image(), "PNG"))))
    page.wait_for_selector("#preview-box", state="visible")
    assert page.locator("#regions rect").count() == 0
    assert page.text_content("#regions-caption") == ""
    assert page.is_hidden("#regions-legend")
    assert fact(page, "Watermark coverage") is None and fact(page, "Where edited") is None
    page.close()


def test_failure_codes_are_not_shown_beside_the_words(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    credentials = new_report()["credentials"]
    credentials.update(
        failures=["assertion.dataHash.mismatch"],
        explanations={"assertion.dataHash.mismatch": "content changed after signing"},
    )
    page = page_with_report(
        browser, server[0], tmp_path, new_report(verdict="invalid", credentials=credentials)
    )
    assert page.text_content("#failures") == "content changed after signing"
    assert page.get_attribute("#failures li", "title") == "assertion.dataHash.mismatch"
    page.close()


def test_full_manifest_only_for_a_file_with_one(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    page = check_on_page(browser, base, tmp_path, encode(natural_image(seed=4), "JPEG"))
    assert page.get_attribute("#verdict", "class") == "verdict verdict-none"
    assert page.is_hidden("#manifest-box")
    page.close()
    page = check_on_page(browser, base, tmp_path, signed_jpeg(base, token, "sdxl"))
    assert page.is_visible("#manifest-box")
    assert "sdxl" in page.text_content("#manifest")
    page.close()


def test_a_text_preview_cut_inside_the_wrapper_shows_no_replacement_character(
    server: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    base, token = server
    # The page previews the first 4096 bytes. Where that cut falls depends on the signed
    # wrapper's bytes (3- and 4-byte characters), so sign a few captions of different
    # lengths and keep one whose cut falls inside a character (each does with p ~ 3/4).
    for extra in range(8):
        text = b"A short generated caption." + b"!" * extra + b"\nSecond line.\n"
        response = httpx.post(
            f"{base}/v1/sign",
            params={"model": "gpt"},
            files={"file": ("caption.txt", text)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        signed = response.content
        assert len(signed) > 4096
        if signed[:4096].decode("utf-8", "replace").endswith("\ufffd"):
            break
    else:
        pytest.fail("no signed caption had its 4096-byte cut inside a character")
    page = browser.new_page()
    open_with(page, base, [write(tmp_path, "caption.txt", signed)])
    wait_for_verdict(page)
    shown = page.text_content("#media .text-preview")
    assert shown.startswith(text.decode("utf-8").split("\n")[0] + "\n")
    assert "\ufffd" not in shown
    page.close()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    import struct

    lacing = b"".join(b"\xff" * (len(p) // 255) + bytes([len(p) % 255]) for p in packets)
    head = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 7, sequence, 0, len(lacing))
    page = head + lacing + b"".join(packets)
    return page[:22] + _ogg_crc(page).to_bytes(4, "little") + page[26:]


def ogg_opus(seconds: float = 1.0) -> bytes:
    """A mono Ogg Opus file of silence (RFC 7845): 20 ms CELT silence frames."""
    import struct

    frames = int(seconds * 50)
    opus_head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    opus_tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    return (
        _ogg_page([opus_head], 0, 0, 2)
        + _ogg_page([opus_tags], 0, 1, 0)
        + _ogg_page([b"\xf8\xff\xfe"] * frames, 312 + frames * 960, 2, 4)
    )


def test_opus_plays_in_its_preview(server: tuple[str, str], browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    open_with(page, server[0], [write(tmp_path, "voice.opus", ogg_opus())])
    wait_for_verdict(page)
    audio = media_state(page, "audio")
    assert audio["count"] == 1 and audio["src"].startswith("blob:")
    assert audio["duration"] == pytest.approx(1.0, abs=0.05)
    assert page.is_hidden("#no-preview")
    page.close()


def test_loading_the_page_asks_for_nothing_that_is_missing(
    server: tuple[str, str], browser: Any, home: Path
) -> None:
    log = home.parent / "serve.log"
    before = len(log.read_text().splitlines())
    page = browser.new_page()
    page.goto(f"{server[0]}/")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    page.close()
    requested = log.read_text().splitlines()[before:]
    assert any(" GET / 200 " in line for line in requested), requested
    assert not [line for line in requested if " 404 " in line], requested
    icon = httpx.get(f"{server[0]}/static/favicon.svg", timeout=10)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("width", [1300, 390])
def test_the_table_of_verdicts_reads_on_a_desk_and_a_phone(
    server: tuple[str, str], browser: Any, tmp_path: Path, width: int
) -> None:
    base, token = server
    paths = [
        write(tmp_path, "generated-landscape-final.jpg", signed_jpeg(base, token, "sdxl")),
        write(tmp_path, "screenshot-from-social.png", recovered_png(base, token)),
        write(tmp_path, "holiday.jpg", encode(natural_image(300, 200, seed=5), "JPEG")),
    ]
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    open_with(page, base, paths)
    batch_rows(page, 3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"batch-{width}.png"), full_page=True)
    # Nothing wider than the screen: no sideways scrolling, on a phone either.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    cells: list[dict[str, float]] = page.evaluate(
        """() => [...document.querySelectorAll('#batch-rows tr')].map((tr) => ({
            verdict: tr.querySelector('.batch-verdict').getBoundingClientRect().width,
            summary: tr.querySelector('.batch-summary').getBoundingClientRect().width,
        }))"""
    )
    for cell in cells:
        if width >= 1000:  # the summary has the room, the verdict's few words do not
            assert cell["summary"] >= 2.5 * cell["verdict"], cell
        # Each summary line holds more than a couple of words.
        assert cell["summary"] >= 300, cell
    page.click("#batch-rows tr:nth-child(2) button")
    wait_for_verdict(page)
    page.screenshot(path=str(SHOTS / f"recovered-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()
