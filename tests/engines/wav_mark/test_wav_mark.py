"""The WAV test engine through sign (one file, a batch), verify, recovery and the report."""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.media import wav
from provenance.errors import InputError, UnsupportedMedia
from provenance.kinds.av import AudioKind
from provenance.kinds.media import Limits
from provenance.report import MarkStatus
from provenance.watermark import WatermarkSecret, detect_in

from .engine import ALGORITHM, InMemoryWavLsbMark, WavLsbMark, strip_c2pa

SECRET = WatermarkSecret("test", b"0123456789abcdef0123456789abcdef")
OTHER = WatermarkSecret("other", b"fedcba9876543210fedcba9876543210")
PAYLOAD = bytes.fromhex("0011223344556677")
# The keys of the report's `watermark` object (docs/design.md, "The JSON report").
REPORTED = {
    *("status", "detected", "alg", "payload", "key", "p_value", "record", "agrees", "note"),
    *("scale", "angle", "offset", "altered_regions"),
}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def reports(*paths: Path) -> list[dict[str, Any]]:
    result = run("verify", "--jsonl", *paths)
    return [json.loads(line) for line in result.stdout.splitlines()]


def only_on_streams(engine: WavLsbMark, monkeypatch: pytest.MonkeyPatch) -> None:
    """A streaming engine must be used on streams: its bytes methods fail the test."""
    if not engine.streams:
        return

    def in_memory(*_: object, **__: object) -> None:
        raise AssertionError("a streamed file was read whole for its mark")

    monkeypatch.setattr(type(engine), "marker", in_memory)
    monkeypatch.setattr(type(engine), "detect", in_memory)


def test_the_mark_reads_back_only_with_its_key() -> None:
    engine = WavLsbMark()
    tone = wav(seconds=0.5).data
    marked = engine.marker(tone, "audio/wav", SECRET, Limits(), "tone.wav")(PAYLOAD)
    assert len(marked) == len(tone) and marked != tone
    found = engine.detect(marked, "audio/wav", [OTHER, SECRET], Limits())
    assert found.status is MarkStatus.FOUND and found.payload == PAYLOAD.hex()
    assert found.key == "test" and found.p_value == 2 * 2.0**-32
    assert not engine.detect(marked, "audio/wav", [OTHER], Limits()).found
    assert engine.detect(tone, "audio/wav", [SECRET], Limits()).status is MarkStatus.NOT_FOUND


def test_what_it_cannot_mark_is_refused_first() -> None:
    engine = WavLsbMark()
    with pytest.raises(UnsupportedMedia, match="fewer than 96 samples"):
        engine.marker(wav(seconds=0.005).data, "audio/wav", SECRET, Limits(), "short.wav")
    assert engine.detect(b"RIFF....AVI ", "audio/wav", [SECRET], Limits()).note
    with pytest.raises(InputError, match="not a RIFF/WAVE"):
        engine.detect(b"RIFF....AVI ", "audio/wav", [SECRET], Limits(), strict=True)


def test_sign_marks_a_wav_that_verifies_and_is_recovered_stripped(
    wav_mark: WavLsbMark,
    home: Path,
    passphrase: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run("keys", "init").exit_code == 0
    source = tmp_path / "song.wav"
    source.write_bytes(wav(seconds=1.0, rate=8000, seed=3).data)
    only_on_streams(wav_mark, monkeypatch)
    signed = tmp_path / "signed.wav"
    result = run("sign", source, "-o", signed, "--model", "tts")
    assert result.exit_code == 0, result.output
    assert "watermark record" in result.stdout and "no watermark" not in result.output
    stripped = tmp_path / "stripped.wav"
    stripped.write_bytes(strip_c2pa(signed.read_bytes()))
    assert stripped.stat().st_size < signed.stat().st_size  # the manifest went

    kept, recovered = reports(signed, stripped)
    assert kept["verdict"] == "trusted", kept["summary"]
    mark = kept["watermark"]
    assert set(mark) == REPORTED
    assert mark["status"] == "found" and mark["alg"] == ALGORITHM and mark["agrees"] is True
    assert mark["scale"] is None and mark["altered_regions"] == []  # the image engine's part
    assert recovered["verdict"] == "recovered", recovered["summary"]
    assert recovered["watermark"]["record"] == mark["payload"]
    assert recovered["credentials"]["model"] == "tts"

    plain = tmp_path / "plain.wav"
    assert run("sign", source, "-o", plain, "--no-watermark").exit_code == 0
    unmarked = tmp_path / "unmarked.wav"
    unmarked.write_bytes(strip_c2pa(plain.read_bytes()))
    (report,) = reports(unmarked)
    assert report["verdict"] == "none" and report["watermark"]["status"] == "not_found"


def test_batch_signing_marks_each_wav(
    wav_mark: WavLsbMark,
    home: Path,
    passphrase: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run("keys", "init").exit_code == 0
    sources = [tmp_path / "in" / f"{name}.wav" for name in ("a", "b")]
    sources[0].parent.mkdir()
    for seed, path in enumerate(sources):
        path.write_bytes(wav(seconds=0.5, seed=seed).data)
    only_on_streams(wav_mark, monkeypatch)
    out = tmp_path / "out"
    # One worker: the batch runs in this process, where the fixture set the engine.
    result = run("sign", *sources, "--out-dir", out, "--workers", "1", "--model", "m", "--jsonl")
    assert result.exit_code == 0, result.output
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["status"] for o in outcomes] == ["signed", "signed"]
    records = [o["record"] for o in outcomes]
    assert all(records) and len(set(records)) == 2
    stripped = []
    for outcome in outcomes:
        path = tmp_path / f"stripped-{Path(outcome['output']).name}"
        path.write_bytes(strip_c2pa(Path(outcome["output"]).read_bytes()))
        stripped.append(path)
    found = reports(*stripped)
    assert [r["verdict"] for r in found] == ["recovered", "recovered"]
    assert [r["watermark"]["record"] for r in found] == records


def test_an_engine_that_cannot_stream_reads_a_stream_whole_within_the_limits() -> None:
    engine = InMemoryWavLsbMark()
    marked = engine.marker(wav().data, "audio/wav", SECRET, Limits(), "tone.wav")(PAYLOAD)
    found = detect_in(engine, io.BytesIO(marked), "audio/wav", [SECRET], Limits())
    assert found.found and found.payload == PAYLOAD.hex()
    small = Limits(max_file_bytes=len(marked) - 1)
    skipped = detect_in(engine, io.BytesIO(marked), "audio/wav", [SECRET], small)
    assert skipped.status is MarkStatus.NOT_CHECKED and "limit" in (skipped.note or "")


def test_a_full_disk_while_the_marked_copy_is_written_is_the_output_line(
    home: Path, passphrase: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed engine's marked copy waits in a temporary file beside the output: a
    disk that fills up there is the output's one line, as for every kind."""
    monkeypatch.setattr(AudioKind, "mark", WavLsbMark())
    assert run("keys", "init").exit_code == 0
    source = tmp_path / "song.wav"
    source.write_bytes(wav(seconds=1.0, rate=8000, seed=3).data)
    real = tempfile.TemporaryFile

    class Full:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._file = real(*args, **kwargs)

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self._file.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self._file, name)

    monkeypatch.setattr(tempfile, "TemporaryFile", Full)
    output = tmp_path / "signed.wav"
    result = run("sign", source, "-o", output, "--model", "tts")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert errors == [f"error: {output}: no space left on the device; nothing was written"]
    assert not output.exists()
