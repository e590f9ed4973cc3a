"""Every one-line error of ``sign`` and ``verify`` names its file, once (issue 23, item 18).

``sign big.mp4 -o ...`` said "error: larger than the 536,870,912-byte limit": an edit of
audio or video (a file that carries credentials) is read into memory, late, and that read
named nothing. The files here are sparse: a signed clip followed by a 600 MiB ``free``
box that takes no disk.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures import media

LIMIT = "larger than the 536,870,912-byte limit"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error")]


@pytest.fixture
def clips(env_store: object, tmp_path: Path) -> tuple[Path, Path]:
    """A small signed clip, and a signed clip grown past the in-memory limit (sparse)."""
    source = tmp_path / "clip.mp4"
    source.write_bytes(media.mp4().data)
    signed = tmp_path / "signed.mp4"
    assert run("sign", source, "-o", signed, "--model", "m", "--no-timestamp").exit_code == 0
    big = tmp_path / "big.mp4"
    grown = 600 * 1024 * 1024
    with big.open("wb") as handle:
        handle.write(signed.read_bytes() + struct.pack(">I4s", grown, b"free"))
        handle.truncate(len(signed.read_bytes()) + grown)
    return signed, big


def test_an_edit_too_large_to_hold_names_the_input(
    clips: tuple[Path, Path], tmp_path: Path
) -> None:
    _, big = clips
    result = run("sign", big, "-o", tmp_path / "out.mp4", "--model", "m", "--no-timestamp")
    assert result.exit_code == 3, result.output
    assert error_lines(result) == [f"error: {big}: {LIMIT}"]


def test_a_parent_too_large_to_hold_names_the_parent(
    clips: tuple[Path, Path], tmp_path: Path
) -> None:
    signed, big = clips
    output = tmp_path / "out.mp4"
    result = run("sign", signed, "-o", output, "--parent", big, "--model", "m", "--no-timestamp")
    assert result.exit_code == 3, result.output
    assert error_lines(result) == [f"error: {big}: {LIMIT}"]
    assert not output.exists()


def test_a_batch_names_the_input_in_its_column_only(
    clips: tuple[Path, Path], tmp_path: Path
) -> None:
    _, big = clips
    result = run("sign", big, "--out-dir", tmp_path / "out", "--model", "m", "--no-timestamp")
    assert result.exit_code == 3, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("unreadable")]
    assert line.split() == ["unreadable", str(big), *LIMIT.split()]


def test_verify_and_inspect_name_text_given_a_manifest_store(
    env_store: object, tmp_path: Path
) -> None:
    text = tmp_path / "story.txt"
    text.write_text("A short story.\n")
    store = tmp_path / "store.c2pa"
    store.write_bytes(b"not read")
    expected = (
        f"error: {text}: text content keeps its manifest in itself; it is not validated "
        "against a manifest store apart"
    )
    for command in ("verify", "inspect"):
        result = run(command, text, "--manifest", store)
        assert result.exit_code == 2, result.output
        assert error_lines(result) == [expected]
