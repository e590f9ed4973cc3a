"""The HTTP API through FastAPI's TestClient: verify, sign, soft-binding resolution, page."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.keystore import KeyStore
from provenance.server import ServerSettings, create_app, create_token
from provenance.server.settings import load_token_hashes
from provenance.watermark.image import ALGORITHM

INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("server") / "home"
    KeyStore.create(home, PASSPHRASE, org="Test Org")
    return home, create_token(home, "ci")


@pytest.fixture(scope="module")
def client(server_home: tuple[Path, str]) -> Iterator[TestClient]:
    home, _ = server_home
    settings = ServerSettings.from_home(
        home, passphrase=PASSPHRASE, max_upload_bytes=2 * 1024 * 1024
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def token(server_home: tuple[Path, str]) -> str:
    return server_home[1]


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return encode(natural_image(400, 300), "JPEG", quality=90)


@pytest.fixture(scope="module")
def signed(client: TestClient, token: str, jpeg: bytes) -> tuple[bytes, str]:
    response = client.post(
        "/v1/sign",
        params={"model": "sdxl"},
        files={"file": ("gen.jpg", jpeg, "image/jpeg")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    return response.content, response.headers["x-provenance-record"]


def verify(
    client: TestClient, data: bytes, name: str = "f.jpg", **params: str
) -> dict[str, object]:
    response = client.post("/v1/verify", files={"file": (name, data)}, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_signed_image_verifies_trusted(client: TestClient, signed: tuple[bytes, str]) -> None:
    report = verify(client, signed[0], "gen-signed.jpg")
    assert report["verdict"] == "trusted"
    assert report["path"] == "gen-signed.jpg"
    assert report["ai_generated"] is True
    credentials = report["credentials"]
    assert isinstance(credentials, dict)
    assert credentials["model"] == "sdxl"
    assert credentials["signer"] == "default"
    assert credentials["signed_at"]  # /v1/sign time-stamps like the CLI
    assert "time-stamped by" in str(report["summary"])
    watermark = report["watermark"]
    assert isinstance(watermark, dict) and watermark["payload"] == signed[1]


def test_raw_body_upload_is_accepted(client: TestClient, signed: tuple[bytes, str]) -> None:
    response = client.post("/v1/verify", content=signed[0], headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 200
    assert response.json()["verdict"] == "trusted"
    assert response.json()["path"] == "-"


def test_a_raw_body_has_no_name_to_suggest_another_type(client: TestClient, jpeg: bytes) -> None:
    # Issue 23, item 16: no name was sent, so no name can suggest another type.
    for upload in ({"content": jpeg}, {"files": {"file": ("photo", jpeg)}}):
        report = client.post("/v1/verify", **upload).json()  # type: ignore[arg-type]
        assert report["verdict"] == "none"
        assert "suggests" not in report["summary"], report["summary"]
    named = verify(client, jpeg, "photo.png")
    assert "file name suggests another type" in str(named["summary"])


def test_c2pa_rs_wording_stays_out_of_the_report(client: TestClient) -> None:
    # Issue 23, item 18: c2pa-rs's "Boxes are too deply nested" in plain words.
    box = b"\0\0\0\x08free"
    for level in range(200):
        kind = b"moov" if level % 2 else b"trak"
        box = (8 + len(box)).to_bytes(4, "big") + kind + box
    ftyp = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2"
    report = verify(client, ftyp + box, "nested.mp4")
    assert report["verdict"] == "error"
    assert report["summary"] == "the file could not be parsed: its boxes are nested too deeply"


def test_forged_claim_is_invalid(client: TestClient, signed: tuple[bytes, str]) -> None:
    forged = signed[0].replace(b"sdxl", b"SDXL")
    report = verify(client, forged)
    assert report["verdict"] == "invalid"
    credentials = report["credentials"]
    assert isinstance(credentials, dict)
    assert credentials["failures"] == ["assertion.hashedURI.mismatch"]


def test_unsigned_image_has_no_provenance(client: TestClient, jpeg: bytes) -> None:
    assert verify(client, jpeg)["verdict"] == "none"


def test_include_manifest_returns_the_store(client: TestClient, signed: tuple[bytes, str]) -> None:
    report = verify(client, signed[0], include_manifest="true")
    manifest = report["manifest"]
    assert isinstance(manifest, dict) and "active_manifest" in manifest


def test_oversize_upload_is_413(client: TestClient) -> None:
    big = b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024)
    response = client.post("/v1/verify", files={"file": ("big.jpg", big)})
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_unsupported_media_is_415(client: TestClient) -> None:
    response = client.post("/v1/verify", files={"file": ("x.bin", b"\x00\x01binary\x02" * 10)})
    assert response.status_code == 415
    assert response.json() == {"error": "not a supported image, text, audio or video type"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": b""}, "empty upload"),
        ({"files": {"other": ("a.jpg", b"abc")}}, "field named 'file'"),
    ],
)
def test_bad_input_is_422(client: TestClient, kwargs: dict[str, object], message: str) -> None:
    response = client.post("/v1/verify", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert message in response.json()["error"]


def test_sign_without_token_is_401(client: TestClient, jpeg: bytes) -> None:
    response = client.post("/v1/sign", files={"file": ("a.jpg", jpeg)})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "error" in response.json()


def test_sign_with_wrong_token_is_403(client: TestClient, jpeg: bytes) -> None:
    response = client.post(
        "/v1/sign", files={"file": ("a.jpg", jpeg)}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "the token is not valid here"}


def test_tokens_are_stored_hashed(server_home: tuple[Path, str]) -> None:
    home, token = server_home
    stored = (home / "server" / "tokens").read_text()
    assert token not in stored
    assert list(load_token_hashes(home).values()) == ["ci"]
    assert (home / "server" / "tokens").stat().st_mode & 0o077 == 0


def test_sign_text(client: TestClient, token: str) -> None:
    text = " ".join(f"word{i}" for i in range(60)).encode()
    response = client.post(
        "/v1/sign",
        content=text,
        params={"model": "my-llm"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert verify(client, response.content, "a.txt")["verdict"] == "trusted"


def test_sign_without_the_watermark_and_errors_in_the_api_s_terms(
    client: TestClient, token: str
) -> None:
    """A GIF cannot take the mark back in kind: the refusal names this API's own field,
    never a CLI flag, and ``watermark=false`` signs it with C2PA alone."""
    gif = encode(natural_image(320, 240).convert("P"), "GIF")
    auth = {"Authorization": f"Bearer {token}"}
    refused = client.post("/v1/sign", content=gif, headers=auth)
    assert refused.status_code == 415, refused.text
    error = refused.json()["error"]
    assert "(watermark=false signs it without the watermark)" in error and "--" not in error
    plain = client.post("/v1/sign", content=gif, params={"watermark": "false"}, headers=auth)
    assert plain.status_code == 200, plain.text
    assert plain.headers["X-Provenance-Record"] == ""
    assert plain.headers["content-type"] == "image/gif"
    report = verify(client, plain.content, "a.gif")
    assert report["verdict"] == "trusted" and report["media_type"] == "image/gif"


def test_soft_binding_round_trip(client: TestClient, signed: tuple[bytes, str]) -> None:
    record = signed[1]
    value = base64.b64encode(bytes.fromhex(record)).decode()
    algorithms = client.get("/services/supportedAlgorithms").json()
    assert {"alg": ALGORITHM} in algorithms["watermarks"]

    by_binding = client.get("/matches/byBinding", params={"alg": ALGORITHM, "value": value})
    assert by_binding.status_code == 200
    (match,) = by_binding.json()["matches"]
    assert match["manifestId"].startswith("urn:c2pa:")

    # Metadata stripped: re-encode the pixels; the watermark still finds the manifest.
    from io import BytesIO

    from PIL import Image

    stripped = encode(Image.open(BytesIO(signed[0])).convert("RGB"), "PNG")
    by_content = client.post("/matches/byContent", files={"file": ("s.png", stripped)})
    assert by_content.status_code == 200
    assert by_content.json()["matches"] == [match]
    assert verify(client, stripped, "s.png")["verdict"] == "recovered"

    manifest = client.get(f"/manifests/{match['manifestId']}")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"] == "application/c2pa"
    assert len(manifest.content) > 1000
    assert client.get("/manifests/urn:c2pa:missing").status_code == 404


def test_soft_binding_bad_query_is_422(client: TestClient) -> None:
    response = client.get("/matches/byBinding", params={"alg": ALGORITHM})
    assert response.status_code == 422
    assert "value" in response.json()["error"]
    unknown = client.post("/matches/byContent", params={"alg": "x.y"}, content=b"abc")
    assert unknown.status_code == 422


def test_injection_in_a_manifest_comes_back_as_data(
    client: TestClient, token: str, jpeg: bytes
) -> None:
    response = client.post(
        "/v1/sign",
        params={"model": INJECTION},
        content=jpeg,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    verified = client.post("/v1/verify", content=response.content)
    assert verified.headers["content-type"] == "application/json"
    assert json.loads(verified.text)["credentials"]["model"] == INJECTION


def test_page_is_served_and_never_uses_inner_html(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script: the CSP would block it
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert "textContent" in script.text
    assert "innerHTML" not in script.text.replace("never innerHTML", "")
    assert "insertAdjacentHTML" not in script.text
    assert client.get("/static/style.css").status_code == 200


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["signing"] is True
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/verify",
        "/v1/sign",
        "/matches/byBinding",
        "/matches/byContent",
        "/manifests/{manifestId}",
        "/services/supportedAlgorithms",
        "/healthz",
    ):
        assert path in paths


def test_signing_disabled_without_passphrase(server_home: tuple[Path, str], jpeg: bytes) -> None:
    home, token = server_home
    with TestClient(create_app(ServerSettings.from_home(home))) as plain:
        response = plain.post(
            "/v1/sign", content=jpeg, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 503
    assert "without a passphrase" in response.json()["error"]


def test_the_openapi_report_is_the_library_report(
    client: TestClient, signed: tuple[bytes, str], jpeg: bytes
) -> None:
    """The schema of /v1/verify is generated from provenance.report's dataclasses: the same
    fields, and real reports of every shape validate against it."""
    import dataclasses

    from pydantic import TypeAdapter

    from provenance.report import Credentials, MarkStatus, Report, Watermark, to_json
    from provenance.server._schemas import VerifyResponse

    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    names = {field.name for field in dataclasses.fields(Credentials)}
    assert set(schemas["Credentials"]["properties"]) == names
    # The watermark's JSON names (its image engine's part sits beside the common fields).
    names = set(to_json(Watermark(MarkStatus.NOT_FOUND)))
    assert set(schemas["Watermark"]["properties"]) == names
    report_fields = {field.name for field in dataclasses.fields(Report)}
    assert set(schemas["VerifyResponse"]["properties"]) == report_fields | {"manifest"}
    data = bytearray(signed[0])
    data[-300] ^= 0x04
    adapter = TypeAdapter(VerifyResponse)
    for upload in (signed[0], bytes(data), jpeg, b"plain words " * 10):
        body = verify(client, upload, include_manifest="true")
        assert set(body) <= report_fields | {"manifest"}
        parsed = adapter.validate_json(json.dumps(body), strict=False)
        absent = {"path_bytes": None, "remedy": None, "llm_watermark": None}
        assert adapter.dump_python(parsed, mode="json") == {**absent, **body}


def _uploads_left() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("provenance-upload-*")}


def test_audio_and_video_sign_and_verify_from_a_file_of_their_own(
    client: TestClient, token: str
) -> None:
    from fixtures.media import flip_media_byte, mp4, wav

    before = _uploads_left()
    for media in (mp4(), wav()):
        response = client.post(
            "/v1/sign",
            params={"model": "vidgen"},
            files={"file": (media.name, media.data)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-provenance-record"] == ""  # no watermark for these kinds
        report = verify(client, response.content, media.name)
        assert (report["verdict"], report["media_type"]) == ("trusted", media.media_type)
        assert report["path"] == media.name  # the client's name, not the temporary file's
        kind = media.media_type.split("/")[0]
        watermark = report["watermark"]
        assert isinstance(watermark, dict) and watermark["status"] == "not_checked"
        assert watermark["note"] == f"no watermark check for {kind} content"
        flipped = flip_media_byte(media, response.content)
        assert verify(client, flipped, media.name)["verdict"] == "invalid"
        # A name that suggests another type is noted, as for a file on disk.
        renamed = verify(client, response.content, "clip.jpg")
        assert "file name suggests another type" in str(renamed["summary"])
    assert _uploads_left() <= before  # every upload's file is removed
