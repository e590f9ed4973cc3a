"""`sign --sidecar`: the manifest store beside the content as NAME.c2pa, c2patool's habit;
`verify` finds it there and judges the content against it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import c2pa
import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.media import wav
from provenance.credentials.read import MAX_SIDECAR_BYTES


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def report_of(path: Path) -> tuple[int, dict[str, Any]]:
    result = run("verify", "--json", str(path))
    (report,) = json.loads(result.stdout)
    return result.exit_code, report


def embedded(path: Path, media_type: str) -> bool:
    reader = c2pa.Reader.try_create(media_type, io.BytesIO(path.read_bytes()))
    if reader is None:
        return False
    reader.close()
    return True


@pytest.fixture
def initialised(home: Path, passphrase: str) -> Path:
    assert run("keys", "init", "--org", "Sidecar Org").exit_code == 0
    return home


def test_an_image_signed_with_a_sidecar_verifies_against_it(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    output = tmp_path / "out.jpg"
    result = run("sign", str(image_file("gen.jpg")), "-o", str(output), "--model", "m",
                 "--sidecar")  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = tmp_path / "out.c2pa"
    assert manifest.is_file() and f"manifest in {manifest}" in result.stdout
    assert not embedded(output, "image/jpeg")  # the content alone, watermarked
    code, report = report_of(output)
    assert code == 0 and report["verdict"] == "trusted", report
    assert report["summary"].endswith("(manifest from the sidecar out.c2pa)")
    assert report["ai_generated"] is True and report["watermark"]["agrees"] is True

    changed = tmp_path / "changed.jpg"
    data = bytearray(output.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed.write_bytes(bytes(data))
    (tmp_path / "changed.c2pa").write_bytes(manifest.read_bytes())
    code, report = report_of(changed)
    assert code == 1 and report["verdict"] == "invalid", report

    walked = run("verify", "-r", "--jsonl", str(tmp_path))  # sidecars go with their content
    names = sorted(Path(json.loads(line)["path"]).name for line in walked.stdout.splitlines())
    assert "out.c2pa" not in names and {"out.jpg", "changed.jpg"} <= set(names)

    manifest.unlink()  # the sidecar lost: the watermark still leads to the record
    code, report = report_of(output)
    assert code == 0 and report["verdict"] == "recovered", report


def test_audio_takes_a_sidecar_and_text_is_refused(initialised: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    source.write_bytes(wav().data)
    output = tmp_path / "out.wav"
    result = run("sign", str(source), "-o", str(output), "--model", "m", "--sidecar")
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == source.read_bytes()  # audio has no watermark: unchanged
    code, report = report_of(output)
    assert code == 0 and report["verdict"] == "trusted", report

    text = tmp_path / "story.txt"
    text.write_text("A generated story about the sea, " * 10, encoding="utf-8")
    refused = run("sign", str(text), "-o", str(tmp_path / "s.txt"), "--sidecar")
    assert refused.exit_code == 2 and "keeps its manifest in itself" in refused.stderr
    assert not (tmp_path / "s.txt").exists() and not (tmp_path / "s.c2pa").exists()


def test_an_existing_sidecar_is_refused_and_nothing_is_written(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "out.c2pa").write_bytes(b"keep me")
    output = tmp_path / "out.jpg"
    result = run("sign", str(image_file("gen.jpg")), "-o", str(output), "--sidecar")
    assert result.exit_code == 2 and "out.c2pa: output already exists" in result.stderr
    assert (tmp_path / "out.c2pa").read_bytes() == b"keep me" and not output.exists()


@pytest.fixture
def store_file(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> tuple[Path, Path]:
    """A JPEG signed with ``--sidecar`` and its store moved away from it, as given.c2pa."""
    output = tmp_path / "out.jpg"
    result = run("sign", str(image_file("gen.jpg")), "-o", str(output), "--sidecar")
    assert result.exit_code == 0, result.output
    given = tmp_path / "given.c2pa"
    (tmp_path / "out.c2pa").rename(given)
    return output, given


def test_manifest_names_the_store_to_validate_against(
    store_file: tuple[Path, Path], image_file: Callable[..., Path], tmp_path: Path
) -> None:
    output, given = store_file
    result = run("verify", "--json", str(output), "--manifest", str(given))
    (report,) = json.loads(result.stdout)
    assert result.exit_code == 0 and report["verdict"] == "trusted", report
    assert report["summary"].endswith("(manifest from given.c2pa)")

    other = image_file("other.jpg")  # a store that is not this file's: never trusted
    result = run("verify", "--json", str(other), "--manifest", str(given))
    (report,) = json.loads(result.stdout)
    assert result.exit_code == 1 and report["verdict"] == "invalid", report
    assert "assertion.dataHash.mismatch" in report["credentials"]["failures"]

    inspected = run("inspect", str(output), "--manifest", str(given))
    assert inspected.exit_code == 0, inspected.output
    assert json.loads(inspected.stdout)["validation_state"] == "Trusted"
    assert "out.jpg: manifest from given.c2pa" in inspected.stderr
    assert run("inspect", str(output)).exit_code == 1  # no sidecar beside it any more


def test_a_given_store_replaces_the_embedded_one_and_says_so(
    store_file: tuple[Path, Path], image_file: Callable[..., Path], tmp_path: Path
) -> None:
    _, given = store_file
    embedded = tmp_path / "embedded.jpg"
    result = run("sign", str(image_file("e.jpg")), "-o", str(embedded))
    assert result.exit_code == 0, result.output
    result = run("verify", "--json", str(embedded), "--manifest", str(given))
    (report,) = json.loads(result.stdout)
    assert result.exit_code == 1 and report["verdict"] == "invalid", report
    assert "the manifest embedded in the file was not used" in report["summary"]
    own = run("verify", "--json", str(embedded))  # without --manifest: its own, trusted
    assert own.exit_code == 0 and json.loads(own.stdout)[0]["verdict"] == "trusted"


def test_a_sidecar_is_read_by_inspect_as_by_verify(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    output = tmp_path / "out.jpg"
    assert run("sign", str(image_file("g.jpg")), "-o", str(output), "--sidecar").exit_code == 0
    result = run("inspect", str(output))
    assert result.exit_code == 0 and "manifest from the sidecar out.c2pa" in result.stderr
    assert json.loads(result.stdout)["validation_state"] == "Trusted"


def test_what_is_not_a_manifest_store_is_an_unreadable_input(
    store_file: tuple[Path, Path], image_file: Callable[..., Path], tmp_path: Path
) -> None:
    output, _ = store_file
    junk = {
        "random.c2pa": bytes(range(256)) * 8,
        "picture.c2pa": image_file("p.jpg").read_bytes(),
        "empty.c2pa": b"",
    }
    for name, data in junk.items():
        (tmp_path / name).write_bytes(data)
    with (tmp_path / "huge.c2pa").open("wb") as handle:  # sparse: over the limit, no disk
        handle.truncate(MAX_SIDECAR_BYTES + 1)
    expected = {
        "random.c2pa": "is not a C2PA manifest store",
        "picture.c2pa": "is not a C2PA manifest store",
        "empty.c2pa": "it is empty",
        "huge.c2pa": "larger than",
        "missing.c2pa": "no such file",
    }
    for name, message in expected.items():
        result = run("verify", str(output), "--manifest", str(tmp_path / name))
        assert result.exit_code == 3, (name, result.output)
        assert f"the manifest store {name}: " in result.stdout and message in result.stdout
        shown = run("inspect", str(output), "--manifest", str(tmp_path / name))
        assert shown.exit_code == 3 and shown.stdout == "", (name, shown.output)
        (line,) = shown.stderr.splitlines()
        assert f"the manifest store {name}: " in line and message in line


def test_manifest_is_refused_for_text_and_for_more_than_one_file(
    store_file: tuple[Path, Path], tmp_path: Path
) -> None:
    output, given = store_file
    text = tmp_path / "story.txt"
    text.write_text("A story about the sea, " * 10, encoding="utf-8")
    refusals = {
        ("verify", str(text)): "text content keeps its manifest in itself",
        ("inspect", str(text)): "text content keeps its manifest in itself",
        ("verify", "-r", str(tmp_path)): "exactly one file",
        ("verify", str(output), str(text)): "exactly one file",
        ("verify", str(tmp_path)): "not a directory",
        ("verify", "-"): "not standard input",
    }
    for args, message in refusals.items():
        result = run(*args, "--manifest", str(given))
        assert result.exit_code == 2, (args, result.output)
        (line,) = result.stderr.splitlines()
        assert message in line, args
