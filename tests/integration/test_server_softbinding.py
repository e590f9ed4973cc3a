"""The C2PA Soft Binding Resolution API as its OpenAPI document 1.0.0 has it (issue 23,
item 10): the document's paths, methods and parameters, ``POST /matches/byBinding``,
``returnActiveManifest``, ``hintAlg``/``hintValue``, and an ``endpoint`` that a client's
``Host`` header cannot set.

The spec's document is ``tests/data/c2pa-soft-binding-api-1.0.0.json`` (see the README
next to it for where it comes from and its licence).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from PIL import Image

from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.credentials import jumbf
from provenance.keystore import KeyStore
from provenance.repository import Record, open_repository
from provenance.server import ServerSettings, create_app, create_token
from provenance.watermark.image import ALGORITHM

SPEC = Path(__file__).parent.parent / "data" / "c2pa-soft-binding-api-1.0.0.json"
EVIL = "evil.example:666"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("softbinding") / "home"
    KeyStore.create(home, PASSPHRASE, org="Test Org")
    return home, create_token(home, "ci")


def client_for(home: Path, **settings: Any) -> TestClient:
    return TestClient(
        create_app(ServerSettings.from_home(home, passphrase=PASSPHRASE, **settings)),
        base_url="http://127.0.0.1:8000",
    )


@pytest.fixture(scope="module")
def client(home: tuple[Path, str]) -> Iterator[TestClient]:
    with client_for(home[0]) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def signed(client: TestClient, home: tuple[Path, str]) -> tuple[bytes, str]:
    jpeg = encode(natural_image(400, 300), "JPEG", quality=90)
    response = client.post(
        "/v1/sign",
        params={"model": "sdxl"},
        files={"file": ("gen.jpg", jpeg, "image/jpeg")},
        headers={"Authorization": f"Bearer {home[1]}"},
    )
    assert response.status_code == 200, response.text
    record = response.headers["x-provenance-record"]
    return response.content, base64.b64encode(bytes.fromhex(record)).decode()


def test_the_endpoint_is_never_the_client_s_host_header(
    client: TestClient, home: tuple[Path, str], signed: tuple[bytes, str]
) -> None:
    params = {"alg": ALGORITHM, "value": signed[1]}
    answer = client.get("/matches/byBinding", params=params, headers={"Host": EVIL})
    (match,) = answer.json()["matches"]
    assert "evil" not in json.dumps(answer.json())
    # The address the connection came in on (TestClient's: its base URL's).
    assert match["endpoint"] == "http://127.0.0.1:8000"
    stripped = encode(Image.open(BytesIO(signed[0])).convert("RGB"), "PNG")
    by_content = client.post(
        "/matches/byContent", files={"file": ("s.png", stripped)}, headers={"Host": EVIL}
    )
    assert by_content.json()["matches"] == [match]

    with client_for(home[0], public_url="https://provenance.example.org/") as configured:
        answer = configured.get("/matches/byBinding", params=params, headers={"Host": EVIL})
    assert [m["endpoint"] for m in answer.json()["matches"]] == ["https://provenance.example.org"]


@pytest.mark.parametrize(
    "url", ["ftp://x.example", "https://", "https://x.example/?q=1", "x.example"]
)
def test_a_public_url_must_be_an_http_address(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        ServerSettings(home=tmp_path, public_url=url)


def test_by_binding_takes_a_json_body(client: TestClient, signed: tuple[bytes, str]) -> None:
    got = client.get("/matches/byBinding", params={"alg": ALGORITHM, "value": signed[1]})
    posted = client.post(
        "/matches/byBinding",
        json={"alg": ALGORITHM, "value": signed[1]},
        params={"maxResults": 5},
    )
    assert posted.status_code == 200, posted.text
    assert posted.json() == got.json() and len(posted.json()["matches"]) == 1
    nothing = client.post("/matches/byBinding", json={"alg": ALGORITHM, "value": "AAAA"})
    assert nothing.json() == {"matches": []}
    missing = client.post("/matches/byBinding", json={"alg": ALGORITHM})
    assert missing.status_code == 422 and "value" in missing.json()["error"]


def test_by_content_takes_a_hint(client: TestClient, signed: tuple[bytes, str]) -> None:
    unmarked = encode(natural_image(200, 150), "PNG")
    plain = client.post("/matches/byContent", files={"file": ("u.png", unmarked)})
    assert plain.json() == {"matches": []}
    hinted = client.post(
        "/matches/byContent",
        files={"file": ("u.png", unmarked)},
        params={"hintAlg": ALGORITHM, "hintValue": signed[1]},
    )
    assert hinted.status_code == 200, hinted.text
    expected = client.get("/matches/byBinding", params={"alg": ALGORITHM, "value": signed[1]})
    assert hinted.json() == expected.json() != {"matches": []}
    alone = client.post(
        "/matches/byContent", files={"file": ("u.png", unmarked)}, params={"hintAlg": ALGORITHM}
    )
    assert alone.status_code == 422 and "hintValue" in alone.json()["error"]


def test_return_active_manifest_leaves_the_ingredients_manifests_out(
    client: TestClient, home: tuple[Path, str], signed: tuple[bytes, str]
) -> None:
    # A signed record: its store's active manifest is the one labelled manifestId.
    (match,) = client.get(
        "/matches/byBinding", params={"alg": ALGORITHM, "value": signed[1]}
    ).json()["matches"]
    label = match["manifestId"]
    whole = client.get(f"/manifests/{label}").content
    active = client.get(f"/manifests/{label}", params={"returnActiveManifest": "true"})
    assert active.status_code == 200 and active.headers["content-type"] == "application/c2pa"
    manifests = list(jumbf.parse_superbox(active.content).superboxes())
    assert [box.label for box in manifests] == [label]
    assert jumbf.serialise(manifests[0]) in whole

    # A store with an ingredient's manifest before the active one.
    ingredient = jumbf.superbox(jumbf.MANIFEST, "urn:c2pa:ingredient", [b"\0\0\0\x08free"])
    own = jumbf.superbox(jumbf.MANIFEST, "urn:c2pa:active-one", [b"\0\0\0\x08skip"])
    store = jumbf.superbox(jumbf.MANIFEST_STORE, "c2pa", [ingredient, own])
    repository = open_repository(home[0] / "repository.sqlite")
    try:
        repository.put(
            Record(
                record_id=repository.reserve_id(),
                manifest=store,
                manifest_label="urn:c2pa:active-one",
                binding_alg=ALGORITHM,
                binding_value="AQIDBAUGBwg=",
                media_type="image/png",
                signer="Test Org",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    finally:
        repository.close()
    assert client.get("/manifests/urn:c2pa:active-one").content == store
    only = client.get(
        "/manifests/urn:c2pa:active-one", params={"returnActiveManifest": "true"}
    ).content
    assert only == jumbf.superbox(jumbf.MANIFEST_STORE, "c2pa", [own])


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def _parameters(operation: dict[str, Any]) -> set[tuple[str, str, bool]]:
    return {
        (p["name"], p["in"], bool(p.get("required", False)))
        for p in operation.get("parameters", [])
    }


def _body_fields(document: dict[str, Any], operation: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The JSON request body's properties and required ones."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema["properties"]), set(schema.get("required", ()))


def test_openapi_matches_the_soft_binding_resolution_api_document(client: TestClient) -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    assert spec["info"]["version"] == "1.0.0"
    ours = client.get("/openapi.json").json()
    theirs, mine = _operations(spec), _operations(ours)
    missing = set(theirs) - set(mine)
    assert not missing, f"operations of the spec missing here: {sorted(missing)}"
    for key, operation in theirs.items():
        assert _parameters(mine[key]) == _parameters(operation), key
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert _body_fields(ours, mine[key]) == _body_fields(spec, operation), key
    # Nothing else under the spec's prefixes.
    prefixes = ("/matches/", "/manifests/", "/services/")
    extra = {key for key in mine if key[0].startswith(prefixes)} - set(theirs)
    assert not extra, sorted(extra)
