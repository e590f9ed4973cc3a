"""Edits and content that already has credentials (issue 15, items 4 and 5), through the CLI.

`sign EDITED --parent ORIGINAL` records ORIGINAL, with its manifest, as the parentOf
ingredient; signing content that carries a manifest makes that manifest its parent;
a manifest that fails validation is refused unless --keep-invalid-history records it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import c2pa
import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from provenance.credentials.text import strip_text_manifest

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
STORY = " ".join(
    f"Sentence {i} says how the model wrote a quiet paragraph about harbours and boats."
    for i in range(12)
)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def report_of(path: Path, *trust: str) -> tuple[int, dict[str, Any]]:
    result = run("verify", "--json", *trust, str(path))
    (report,) = json.loads(result.stdout)
    return result.exit_code, report


def manifest_labels(path: Path, media_type: str = "image/jpeg") -> set[str]:
    with open(path, "rb") as stream:
        reader = c2pa.Reader.try_create(media_type, stream)
        assert reader is not None
        with reader:
            return set(json.loads(reader.json())["manifests"])


@pytest.fixture
def initialised(home: Path, passphrase: str) -> Path:
    assert run("keys", "init", "--org", "Edit Org").exit_code == 0
    return home


@pytest.fixture
def ai_original(initialised: Path, image_file: Callable[..., Path], tmp_path: Path) -> Path:
    output = tmp_path / "generated.jpg"
    result = run(
        "sign", str(image_file("gen.jpg")), "-o", str(output), "--model", "sdxl",
        "--model-version", "1.0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return output


def test_an_edit_with_parent_is_trusted_and_keeps_the_ai_origin(
    ai_original: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    edited = image_file("retouched.jpg", size=(420, 300))  # what a person exported
    output = tmp_path / "retouched-signed.jpg"
    result = run("sign", str(edited), "-o", str(output), "--parent", str(ai_original))
    assert result.exit_code == 0, result.output
    assert "no --model given" not in result.stderr  # a person's edit names no model
    code, report = report_of(output)
    assert code == 0 and report["verdict"] == "trusted"
    assert report["ai_generated"] is True
    assert report["summary"].startswith("edited from an AI-generated original by sdxl 1.0")
    assert report["credentials"]["ingredients"] == [
        {
            "title": "generated.jpg",
            "relationship": "parentOf",
            "state": "Trusted",
            "ai_generated": True,
            "failures": [],
            "ingredients": [],  # the AI original was made from nothing with credentials
        }
    ]
    # The edit claims no source type of its own: its AI origin is its parent's.
    assert report["credentials"]["digital_source_type"] is None
    assert report["credentials"]["created_at"]  # the edit's time, from c2pa.edited
    assert manifest_labels(ai_original) < manifest_labels(output)


def test_ai_edit_of_a_human_original(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    photo = image_file("photo.jpg")  # a camera file without credentials
    edited = image_file("inpainted.jpg", size=(400, 320))
    output = tmp_path / "inpainted-signed.jpg"
    result = run(
        "sign", str(edited), "-o", str(output), "--parent", str(photo), "--ai-edit",
        "--model", "inpaint-xl",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    code, report = report_of(output)
    assert code == 0 and report["verdict"] == "trusted"
    assert report["ai_generated"] is True
    credentials = report["credentials"]
    assert credentials["digital_source_type"] == IPTC + "compositeWithTrainedAlgorithmicMedia"
    assert credentials["model"] == "inpaint-xl"
    assert report["summary"].startswith(
        "AI-edited by inpaint-xl; edited from an original without credentials"
    )
    assert credentials["ingredients"] == [
        {
            "title": "photo.jpg",
            "relationship": "parentOf",
            "state": None,
            "ai_generated": None,
            "failures": [],
            "ingredients": [],
        }
    ]


def test_an_edit_of_an_edit_reports_the_chain_as_a_tree(
    ai_original: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    first = tmp_path / "first-edit.jpg"
    result = run("sign", str(image_file("crop.jpg", size=(360, 280))), "-o", str(first),
                 "--parent", str(ai_original))  # fmt: skip
    assert result.exit_code == 0, result.output
    second = tmp_path / "second-edit.jpg"
    result = run("sign", str(image_file("grade.jpg", size=(340, 260))), "-o", str(second),
                 "--parent", str(first))  # fmt: skip
    assert result.exit_code == 0, result.output
    code, report = report_of(second)
    assert code == 0 and report["verdict"] == "trusted" and report["ai_generated"] is True
    (parent,) = report["credentials"]["ingredients"]
    assert (parent["title"], parent["state"], parent["ai_generated"]) == (
        "first-edit.jpg", "Trusted", True,
    )  # fmt: skip
    (grandparent,) = parent["ingredients"]
    assert (grandparent["title"], grandparent["relationship"], grandparent["ai_generated"]) == (
        "generated.jpg", "parentOf", True,
    )  # fmt: skip
    # Judged under this verifier's trust, as its child is, not as recorded when the first
    # edit was signed (the signer's reader trusted no one then).
    assert (grandparent["state"], grandparent["failures"]) == ("Trusted", [])
    assert grandparent["ingredients"] == []


def test_resigning_signed_content_keeps_its_manifest_as_parent(
    ai_original: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again.jpg"
    result = run("sign", str(ai_original), "-o", str(again), "--no-watermark")
    assert result.exit_code == 0, result.output
    code, report = report_of(again)
    assert code == 0 and report["verdict"] == "trusted" and report["ai_generated"] is True
    (parent,) = report["credentials"]["ingredients"]
    assert (parent["title"], parent["relationship"], parent["state"]) == (
        "generated.jpg",
        "parentOf",
        "Trusted",
    )
    assert manifest_labels(ai_original) < manifest_labels(again)


def test_an_input_with_other_credentials_than_its_parent_is_refused(
    ai_original: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    other = tmp_path / "other.jpg"
    assert run("sign", str(image_file("o.jpg")), "-o", str(other), "--model", "m").exit_code == 0
    result = run("sign", str(other), "-o", str(tmp_path / "x.jpg"), "--parent", str(ai_original))
    assert result.exit_code == 2
    assert "carries credentials of its own" in result.stderr
    assert not (tmp_path / "x.jpg").exists()


def _testroot(root: Path) -> tuple[str, ...]:
    trust = root / "trust"
    return (
        "--trust-anchors",
        str(trust / "c2pa-rs-test_cert_root_bundle.pem"),
        "--trust-config",
        str(trust / "c2pa-rs-store.cfg"),
    )


def test_resigning_a_conformance_file_drops_nothing(
    conformance: tuple[Path, dict[str, Any]], initialised: Path, tmp_path: Path
) -> None:
    root, _ = conformance
    source = root / "c2pa-rs" / "CA.jpg"
    output = tmp_path / "CA-resigned.jpg"
    result = run("sign", str(source), "-o", str(output), "--no-watermark")
    assert result.exit_code == 0, result.output
    assert output.stat().st_size > source.stat().st_size  # the old store is inside
    assert manifest_labels(source) < manifest_labels(output)
    code, report = report_of(output, *_testroot(root))
    assert code == 0 and report["verdict"] == "trusted"
    (parent,) = report["credentials"]["ingredients"]
    assert parent == {
        "title": "CA.jpg",
        "relationship": "parentOf",
        "state": "Trusted",  # judged under this verifier's trust, not the signer's
        "ai_generated": None,  # CA.jpg is an edit of A.jpg, which has no credentials
        "failures": [],
        "ingredients": [
            {
                "title": "A.jpg",
                "relationship": "parentOf",
                "state": None,
                "ai_generated": None,
                "failures": [],
                "ingredients": [],
            }
        ],
    }
    # Without the test root its signer is not trusted here: the parent is only valid.
    _, default = report_of(output)
    assert default["credentials"]["ingredients"][0]["state"] == "Valid"


def test_an_invalid_history_is_refused_or_kept_as_invalid(
    conformance: tuple[Path, dict[str, Any]], initialised: Path, tmp_path: Path
) -> None:
    root, _ = conformance
    tampered = root / "public-testfiles" / "adobe-20220124-E-dat-CA.jpg"
    output = tmp_path / "laundered.jpg"
    refused = run("sign", str(tampered), "-o", str(output), "--no-watermark")
    assert refused.exit_code == 1
    (line,) = refused.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"error: {tampered}: its credentials fail validation")
    assert "content changed after signing" in line and "--keep-invalid-history" in line
    assert "Traceback" not in refused.output
    assert not output.exists()

    kept = run("sign", str(tampered), "-o", str(output), "--no-watermark", "--keep-invalid-history")
    assert kept.exit_code == 0, kept.output
    assert manifest_labels(tampered) < manifest_labels(output)  # its history is there
    _, report = report_of(output, *_testroot(root))
    (parent,) = report["credentials"]["ingredients"]
    assert parent["state"] == "Invalid" and parent["ai_generated"] is None
    assert "assertion.dataHash.mismatch" in parent["failures"]
    assert "assertion.dataHash.mismatch" in report["credentials"]["explanations"]
    assert report["ai_generated"] is None
    assert report["summary"].startswith(
        "does not say how it was made; edited from an original whose credentials failed "
        "validation (content changed after signing)"
    )


@pytest.fixture
def signed_text(initialised: Path, tmp_path: Path) -> Path:
    source = tmp_path / "story.txt"
    source.write_text(STORY + "\n", encoding="utf-8")
    output = tmp_path / "story-signed.txt"
    result = run("sign", str(source), "-o", str(output), "--model", "llm-9b")
    assert result.exit_code == 0, result.output
    return output


def test_text_with_credentials_resigns_keeping_them(signed_text: Path, tmp_path: Path) -> None:
    edited = tmp_path / "story-edited.txt"
    text = signed_text.read_text(encoding="utf-8")
    edited.write_text(strip_text_manifest(text).replace("quiet", "calm"), encoding="utf-8")
    output = tmp_path / "story-edit-signed.txt"
    result = run("sign", str(edited), "-o", str(output), "--parent", str(signed_text))
    assert result.exit_code == 0, result.output
    code, report = report_of(output)
    assert code == 0 and report["verdict"] == "trusted"
    assert report["ai_generated"] is True
    assert report["summary"].startswith("edited from an AI-generated original by llm-9b")
    assert report["watermark"]["agrees"] is True  # the edit's own record, not the parent's
    (parent,) = report["credentials"]["ingredients"]
    assert parent == {
        "title": "story-signed.txt",
        "relationship": "parentOf",
        "state": "Trusted",
        "ai_generated": True,
        "failures": [],
        "ingredients": [],
    }
    # Signed text signed again keeps its own manifest in the same way.
    again = tmp_path / "again.txt"
    assert run("sign", str(output), "-o", str(again), "--ai-edit", "--model", "m2").exit_code == 0
    _, twice = report_of(again)
    assert twice["verdict"] == "trusted" and twice["summary"].startswith(
        "AI-edited by m2; edited from an AI-generated original by llm-9b"
    )
    assert twice["credentials"]["ingredients"][0]["title"] == output.name


def test_tampered_text_is_refused_unless_kept_as_invalid(signed_text: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(
        signed_text.read_text(encoding="utf-8").replace("harbours", "airports", 1),
        encoding="utf-8",
    )
    assert report_of(tampered)[1]["verdict"] == "invalid"
    output = tmp_path / "out.txt"
    refused = run("sign", str(tampered), "-o", str(output))
    assert refused.exit_code == 1 and "its credentials fail validation" in refused.stderr
    assert not output.exists()
    kept = run("sign", str(tampered), "-o", str(output), "--keep-invalid-history")
    assert kept.exit_code == 0, kept.output
    code, report = report_of(output)
    assert code == 0 and report["verdict"] == "trusted"  # the new signature is intact
    (parent,) = report["credentials"]["ingredients"]
    assert parent["state"] == "Invalid" and "assertion.dataHash.mismatch" in parent["failures"]
    assert "failed validation" in report["summary"]


def test_batch_signing_carries_the_edit_options(
    ai_original: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    inputs = [image_file("a.jpg"), image_file("b.png", "PNG")]
    out_dir = tmp_path / "out"
    result = run(
        "sign", *map(str, inputs), "--out-dir", str(out_dir), "--parent", str(ai_original),
        "--ai-edit", "--model", "upscaler", "--workers", "1", "--jsonl",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["status"] for o in outcomes] == ["signed", "signed"]
    for outcome in outcomes:
        _, report = report_of(Path(outcome["output"]))
        assert report["verdict"] == "trusted", report
        credentials = report["credentials"]
        assert credentials["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")
        assert [i["title"] for i in credentials["ingredients"]] == ["generated.jpg"]
        assert report["summary"].startswith(
            "AI-edited by upscaler; edited from an AI-generated original by sdxl 1.0"
        )
