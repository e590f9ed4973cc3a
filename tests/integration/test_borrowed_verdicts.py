"""Verdicts that could be borrowed (issue 23, items 2, 3, 4, 6, 8 and 9), as a user meets them.

Each test runs the command the red team ran, through the CLI (or the HTTP API), and
checks what a user reads: the verdict, the summary and the exit code. The verdicts are
also rows of the decision table (tests/unit/test_verdict.py).
"""

from __future__ import annotations

import io
import json
import shutil
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE
from provenance.keystore import KeyStore

CAWG = "cawg.x509.credential.untrusted"
INGREDIENT_FAILS = "public-testfiles/adobe-20220124-E-uri-CIE-sig-CA.jpg"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def report_of(path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    result = run("verify", "--json", *options, str(path))
    (report,) = json.loads(result.stdout)
    return result.exit_code, report


@pytest.fixture
def initialised(home: Path, passphrase: str) -> Path:
    assert run("keys", "init", "--org", "RT3 Lab").exit_code == 0
    return home


@pytest.fixture
def conformance_file(
    conformance: tuple[Path, dict[str, Any]], tmp_path: Path
) -> Callable[[str, str], Path]:
    """A copy of a conformance file under a name of the test's choosing."""

    def copy(name: str, as_name: str) -> Path:
        source = conformance[0] / name
        if not source.is_file():
            pytest.skip(f"{source} is not in the conformance set")
        target = tmp_path / as_name
        shutil.copyfile(source, target)
        return target

    return copy


def _test_roots(conformance: tuple[Path, dict[str, Any]]) -> tuple[str, ...]:
    trust = conformance[0] / "trust"
    return (
        "--trust-anchors",
        str(trust / "c2pa-rs-test_cert_root_bundle.pem"),
        "--trust-config",
        str(trust / "c2pa-rs-store.cfg"),
    )


# --- item 2: a sidecar is not every same-named file's -------------------------------------


def _wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(16000))
    return path


def test_a_sidecar_made_for_other_content_is_set_aside_not_invalid(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    folder = tmp_path / "side2"
    folder.mkdir()
    signed = folder / "x.png"
    made = run(
        "sign", str(image_file("land3.png", "PNG")), "-o", str(signed), "--sidecar",
        "--model", "m3",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (folder / "x.c2pa").is_file()
    shutil.copyfile(image_file("unrelated.jpg", size=(300, 200)), folder / "x.jpg")
    _wav(folder / "x.wav")
    for other, media_type in (("x.jpg", "image/jpeg"), ("x.wav", "audio/wav")):
        code, report = report_of(folder / other)
        assert report["verdict"] == "none", report
        assert report["media_type"] == media_type
        assert code == 0
        assert report["credentials"] is None and report["ai_generated"] is None
        assert report["summary"].startswith(
            "no manifest embedded; the sidecar x.c2pa is not this file's: its manifest was "
            "made for image/png content (x.png)"
        ), report["summary"]
        assert "content changed" not in report["summary"]
    # The file it was made for still reads it.
    code, report = report_of(signed)
    assert (code, report["verdict"]) == (0, "trusted")
    assert report["summary"].endswith("(manifest from the sidecar x.c2pa)")


# --- item 3: a model named on an edit ------------------------------------------------------


def test_a_model_named_on_an_edit_is_an_ai_edit_and_says_so(
    initialised: Path,
    image_file: Callable[..., Path],
    conformance_file: Callable[[str, str], Path],
    tmp_path: Path,
) -> None:
    camera = conformance_file("c2pa-rs/C_with_CAWG_data.jpg", "CAMERA.jpg")  # digitalCapture
    output = tmp_path / "ai.png"
    result = run(
        "sign", str(image_file("land1.png", "PNG")), "-o", str(output), "--parent",
        str(camera), "--model", "diff-x",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    code, report = report_of(output)
    assert (code, report["verdict"]) == (0, "trusted")
    assert report["ai_generated"] is True
    credentials = report["credentials"]
    assert credentials["model"] == "diff-x"
    assert credentials["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
    summary = report["summary"]
    assert summary.startswith(
        "AI-edited by diff-x; edited from an original that is not AI-generated "
        "(digital source type digitalCapture)"
    ), summary
    assert "  " not in summary


# --- item 4: sign refuses what verify calls invalid, in verify's words --------------------


def test_sign_refuses_a_file_whose_ingredient_fails_with_verifys_reason(
    initialised: Path, conformance_file: Callable[[str, str], Path], tmp_path: Path
) -> None:
    source = conformance_file(INGREDIENT_FAILS, "E-uri-CIE-sig-CA.jpg")
    code, report = report_of(source)
    assert (code, report["verdict"]) == (1, "invalid")
    assert report["summary"].startswith("an ingredient failed validation")
    assert "ingredient: the manifest was altered after signing" in report["summary"]
    output = tmp_path / "laundered.jpg"
    result = run("sign", str(source), "-o", str(output), "--model", "m")
    assert result.exit_code == 1, result.output
    assert (
        "its credentials fail validation (an ingredient failed validation, ingredient: "
        "the manifest was altered after signing)"
    ) in result.stderr
    assert not output.exists()
    kept = run("sign", str(source), "-o", str(output), "--keep-invalid-history")
    assert kept.exit_code == 0, kept.output


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from provenance.server import ServerSettings, create_app, create_token

    home = tmp_path / "server-home"
    KeyStore.create(home, PASSPHRASE, org="RT3 Lab")
    token = create_token(home, "ci")
    settings = ServerSettings.from_home(home, passphrase=PASSPHRASE)
    with TestClient(create_app(settings)) as client:
        yield client, token


def test_v1_sign_refuses_a_file_whose_ingredient_fails_with_verifys_reason(
    api: tuple[Any, str], conformance: tuple[Path, dict[str, Any]]
) -> None:
    client, token = api
    data = (conformance[0] / INGREDIENT_FAILS).read_bytes()
    verified = client.post("/v1/verify", files={"file": ("f.jpg", data)})
    assert verified.json()["verdict"] == "invalid"
    auth = {"Authorization": f"Bearer {token}"}
    refused = client.post("/v1/sign", files={"file": ("f.jpg", data)}, headers=auth)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert "an ingredient failed validation, ingredient: the manifest was altered" in error


# --- item 6: a parent's CAWG note is the parent's ------------------------------------------


def test_resigning_a_file_with_a_cawg_identity_reads_trusted_with_the_note_on_the_ingredient(
    initialised: Path, conformance_file: Callable[[str, str], Path], tmp_path: Path
) -> None:
    camera = conformance_file("c2pa-rs/C_with_CAWG_data.jpg", "CAMERA.jpg")
    output = tmp_path / "resigned.jpg"
    result = run("sign", str(camera), "-o", str(output))
    assert result.exit_code == 0, result.output
    code, report = report_of(output)
    assert (code, report["verdict"]) == (0, "trusted"), report["summary"]
    credentials = report["credentials"]
    assert credentials["state"] == "Trusted"
    assert CAWG not in credentials["failures"]
    assert CAWG in credentials["ingredient_failures"]
    (parent,) = credentials["ingredients"]
    assert parent["title"] == "CAMERA.jpg" and CAWG in parent["failures"]
    summary = report["summary"]
    assert "signed by an identity not in your trust anchors" not in summary
    assert "ingredient CAMERA.jpg: the CAWG identity assertion's signer is not trusted" in summary
    assert summary.startswith("edited from an original that is not AI-generated")


# --- item 8: strip, then edit --------------------------------------------------------------


def test_an_edit_of_a_stripped_parent_keeps_the_ai_origin_verify_recovers(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    generated = tmp_path / "gen1.png"
    made = run("sign", str(image_file("land1.png", "PNG")), "-o", str(generated), "--model", "m1")
    assert made.exit_code == 0, made.output
    stripped = tmp_path / "stripped.jpg"
    with Image.open(generated) as image:  # re-encoded: the manifest is gone, the mark stays
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=95)
    stripped.write_bytes(buffer.getvalue())
    _, report = report_of(stripped)
    assert report["verdict"] == "recovered"
    output = tmp_path / "edit.jpg"
    result = run(
        "sign", str(image_file("other.jpg", size=(420, 300))), "-o", str(output), "--parent",
        str(stripped),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    code, report = report_of(output)
    assert (code, report["verdict"]) == (0, "trusted")
    assert report["ai_generated"] is True
    assert report["summary"].startswith("edited from an AI-generated original by m1"), report[
        "summary"
    ]
    (parent,) = report["credentials"]["ingredients"]
    assert (parent["title"], parent["state"], parent["ai_generated"]) == (
        "stripped.jpg",
        "Trusted",
        True,
    )


# --- item 9: a failed component ------------------------------------------------------------


def test_a_failed_component_reaches_the_summary_and_the_tree(
    conformance: tuple[Path, dict[str, Any]], home: Path
) -> None:
    source = conformance[0] / "c2pa-rs" / "CIE-sig-CA.jpg"
    if not source.is_file():
        pytest.skip(f"{source} is not in the conformance set")
    roots = _test_roots(conformance)
    _, report = report_of(source, *roots)
    assert report["verdict"] in conformance[1]["c2pa-rs/CIE-sig-CA.jpg"]["testroot"]
    assert (
        "ingredient E-sig-CA.jpg (componentOf) failed validation: the signature does not "
        "match the manifest (forged or altered)"
    ) in report["summary"]
    tree = run("inspect", "--tree", *roots, str(source))
    assert tree.exit_code == 0, tree.output
    lines = tree.stdout.splitlines()
    assert lines[0].endswith(" Trusted")
    assert "(componentOf) Invalid: the signature does not match the manifest" in lines[1]
    assert lines[2].endswith("Asset:A.jpg, no credentials (parentOf)")
