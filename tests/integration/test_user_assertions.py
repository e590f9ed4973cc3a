"""`sign --assertions FILE.json`: the user's own assertions join the AI manifest, and can
never replace what it says of how the content was made."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from provenance.credentials.manifest import AIContent, user_assertions
from provenance.errors import UsageError

REVIEW = {"label": "com.example.review", "data": {"reviewer": "desk 4", "approved": True}}
STORY = " ".join(f"Line {i} of a generated story about a lighthouse keeper." for i in range(10))


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def store_of(path: Path) -> dict[str, Any]:
    result = run("inspect", str(path))
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def active_assertions(store: dict[str, Any]) -> dict[str, Any]:
    manifest = store["manifests"][store["active_manifest"]]
    return {a["label"]: a.get("data") for a in manifest["assertions"]}


@pytest.fixture
def initialised(home: Path, passphrase: str) -> Path:
    assert run("keys", "init", "--org", "Assert Org").exit_code == 0
    return home


@pytest.mark.parametrize("kind", ["image", "text"])
def test_assertions_are_signed_into_the_manifest(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path, kind: str
) -> None:
    definition = tmp_path / "extra.json"
    definition.write_text(json.dumps({"assertions": [REVIEW]}))  # c2patool's shape
    if kind == "image":
        source = image_file("gen.jpg")
    else:
        source = tmp_path / "story.txt"
        source.write_text(STORY, encoding="utf-8")
    output = tmp_path / f"signed{source.suffix}"
    result = run("sign", str(source), "-o", str(output), "--model", "m", "--assertions",
                 str(definition))  # fmt: skip
    assert result.exit_code == 0, result.output
    verified = run("verify", "--json", str(output))
    (report,) = json.loads(verified.stdout)
    assert report["verdict"] == "trusted" and report["ai_generated"] is True, report
    assertions = active_assertions(store_of(output))
    assert assertions["com.example.review"] == REVIEW["data"]
    assert any(label.startswith("c2pa.actions") for label in assertions)


def test_batch_signing_carries_the_assertions(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    definition = tmp_path / "extra.json"
    definition.write_text(json.dumps([REVIEW]))
    sources = [image_file(f"g{i}.jpg") for i in range(2)]
    out = tmp_path / "out"
    result = run("sign", *map(str, sources), "--out-dir", str(out), "--model", "m",
                 "--assertions", str(definition), "--jsonl")  # fmt: skip
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines():
        signed = Path(json.loads(line)["output"])
        assert active_assertions(store_of(signed))["com.example.review"] == REVIEW["data"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"label": "c2pa.actions.v2", "data": {"actions": []}}], "written by the AI manifest"),
        ([{"label": "cawg.training-mining", "data": {}}], "written by the AI manifest"),
        ([{"label": "c2pa.hash.data", "data": {}}], "written by the AI manifest"),
        ([REVIEW, REVIEW], "given twice"),
        ([{"label": "x", "data": [1]}], "data must be a JSON object"),
        ({"label": "x"}, "must be a JSON list"),
        ("not json", "is not JSON"),
    ],
)
def test_bad_or_reserved_assertions_are_refused_before_anything_is_written(
    initialised: Path, image_file: Callable[..., Path], tmp_path: Path, content: object,
    message: str,
) -> None:  # fmt: skip
    definition = tmp_path / "bad.json"
    definition.write_text(content if isinstance(content, str) else json.dumps(content))
    output = tmp_path / "signed.jpg"
    result = run("sign", str(image_file("gen.jpg")), "-o", str(output), "--assertions",
                 str(definition))  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
    assert not output.exists()


def test_the_library_checks_assertions_where_they_enter() -> None:
    assert AIContent(assertions=(REVIEW,)).assertions == (REVIEW,)
    with pytest.raises(UsageError, match="written by the AI manifest"):
        AIContent(assertions=({"label": "c2pa.soft-binding", "data": {}},))
    assert user_assertions([]) == ()
    assert user_assertions({"assertions": [REVIEW]}) == (REVIEW,)
    # A label that merely starts like a reserved one is the user's.
    assert user_assertions([{"label": "c2pa.actionsets", "data": {}}])
