"""Text through the CLI: sign, verify (files and stdin), edits, wrappers, recovery."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from provenance.credentials.text import strip_text_manifest

STORY = " ".join(
    f"Sentence {i} tells how the model wrote a calm paragraph about rivers and hills."
    for i in range(12)
)


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


@pytest.fixture
def signed(home: Path, passphrase: str, tmp_path: Path) -> Path:
    assert run("keys", "init").exit_code == 0
    source = tmp_path / "story.md"
    source.write_text(STORY + "\n", encoding="utf-8")
    output = tmp_path / "story-signed.md"
    result = run("sign", str(source), "-o", str(output), "--model", "llm-9b")
    assert result.exit_code == 0, result.output
    assert "(text/plain," in result.stdout and "watermark record" in result.stdout
    return output


def verdict_of(path: Path) -> tuple[int, dict[str, object]]:
    result = run("verify", "--json", str(path))
    (report,) = json.loads(result.stdout)
    return result.exit_code, report


def test_signed_text_is_trusted_from_file_and_stdin(signed: Path) -> None:
    code, report = verdict_of(signed)
    assert code == 0 and report["verdict"] == "trusted"
    assert report["media_type"] == "text/plain" and report["ai_generated"] is True
    assert "watermark agrees" in str(report["summary"])
    piped = run("verify", "-", stdin=signed.read_bytes())
    assert piped.exit_code == 0 and piped.stdout.startswith("trusted     -")


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("rivers", "rovers", 1),  # one edited word
        lambda t: t.replace(". ", ".\n", 1),  # an added newline
        lambda t: t.replace("Sentence 3 ", "Sentence  3 ", 1),  # whitespace changed
    ],
    ids=["edited-word", "added-newline", "whitespace"],
)
def test_edits_are_invalid(signed: Path, tmp_path: Path, edit: object) -> None:
    edited = tmp_path / "edited.md"
    edited.write_text(edit(signed.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    code, report = verdict_of(edited)
    assert code == 1 and report["verdict"] == "invalid"
    assert str(report["summary"]).startswith("content changed after signing")


def test_corrupted_and_doubled_wrappers_are_named(signed: Path, tmp_path: Path) -> None:
    text = signed.read_text(encoding="utf-8")
    corrupted = tmp_path / "corrupted.txt"
    corrupted.write_text(text[:-40], encoding="utf-8")
    code, report = verdict_of(corrupted)
    assert code == 1 and report["verdict"] == "invalid"
    assert "wrapper is damaged" in str(report["summary"])
    doubled = tmp_path / "doubled.txt"
    wrapper = text[len(strip_text_manifest(text)) :]
    doubled.write_text(text + wrapper, encoding="utf-8")
    code, report = verdict_of(doubled)
    assert code == 1 and "more than one C2PA wrapper" in str(report["summary"])


def test_excerpt_without_wrapper_is_recovered(signed: Path, tmp_path: Path) -> None:
    words = strip_text_manifest(signed.read_text(encoding="utf-8")).split()
    excerpt = tmp_path / "excerpt.txt"
    excerpt.write_text(" ".join(words[30:80]), encoding="utf-8")
    code, report = verdict_of(excerpt)
    assert code == 0 and report["verdict"] == "recovered", report
    assert report["watermark"]["alg"] == "org.provenance-toolkit.wm.text.v2"  # type: ignore[index]


def test_unwatermarked_text_and_bad_encodings(signed: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text(STORY, encoding="utf-8")
    out = tmp_path / "plain-signed.txt"
    assert run("sign", str(plain), "-o", str(out), "--no-watermark").exit_code == 0
    stripped = tmp_path / "stripped.txt"
    stripped.write_text(strip_text_manifest(out.read_text(encoding="utf-8")), encoding="utf-8")
    assert verdict_of(stripped)[1]["verdict"] == "none"
    # Signed text signed again is an edit of itself: its manifest becomes the parent
    # ingredient (tests/integration/test_edits.py), never dropped nor refused.
    again = run("sign", str(out), "-o", str(tmp_path / "twice.txt"))
    assert again.exit_code == 0, again.output
    twice = verdict_of(tmp_path / "twice.txt")[1]
    assert [i["title"] for i in twice["credentials"]["ingredients"]] == [out.name]  # type: ignore[index]
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\u00e9 cr\u00e8me".encode("latin-1") * 3)
    code, report = verdict_of(latin1)
    assert code == 3 and report["verdict"] == "error"
    error = str(report["error"])
    assert "not a supported image, text, audio or video type" in error or "UTF-8" in error


def test_inspect_prints_a_text_manifest(signed: Path, tmp_path: Path) -> None:
    result = run("inspect", str(signed))
    assert result.exit_code == 0, result.output
    store = json.loads(result.stdout)
    labels = [a["label"] for a in store["manifests"][store["active_manifest"]]["assertions"]]
    assert "c2pa.soft-binding" in labels
    plain = tmp_path / "plain.txt"
    plain.write_text(STORY, encoding="utf-8")
    assert run("inspect", str(plain)).exit_code == 1
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)))
    result = run("inspect", str(junk))
    assert result.exit_code == 3
    assert result.stderr == f"error: {junk}: not a supported image, text, audio or video type\n"


def test_an_nfd_copy_of_signed_text_is_trusted(home: Path, passphrase: str, tmp_path: Path) -> None:
    """The binding is over NFC text: a copy a macOS file system or an editor rewrote in
    NFD (its bytes longer, so the wrapper sits later than the exclusion says) is the
    same text; an edit in the NFD copy is still caught."""
    assert run("keys", "init").exit_code == 0
    source = tmp_path / "café.txt"
    source.write_text("Crème brûlée at the café, naïve and déjà vu. " * 20, encoding="utf-8")
    signed = tmp_path / "signed.txt"
    assert run("sign", str(source), "-o", str(signed), "--model", "llm-9b").exit_code == 0
    text = signed.read_text(encoding="utf-8")
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text and unicodedata.normalize("NFC", nfd) == text
    copy = tmp_path / "nfd.txt"
    copy.write_text(nfd, encoding="utf-8")
    code, report = verdict_of(copy)
    assert code == 0 and report["verdict"] == "trusted", report["summary"]
    edited = tmp_path / "nfd-edited.txt"
    edited.write_text(nfd.replace("vu", "VU", 1), encoding="utf-8")
    code, report = verdict_of(edited)
    assert code == 1 and report["verdict"] == "invalid"
    assert str(report["summary"]).startswith("content changed after signing")
