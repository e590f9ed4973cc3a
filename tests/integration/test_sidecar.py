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
