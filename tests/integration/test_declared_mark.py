"""`sign` never declares a watermark that `watermark detect` cannot read, and `watermark
embed` never silently removes a manifest: through typer's CliRunner, exit code AND message.

The c2pa-rs files ocsp.jpg and cloud.jpg were signed with a soft binding whose mark did not
read back from the written JPEG; each must now either carry a mark that reads as the
declared record (the strength raised) or be refused in one line, with nothing written.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import FAST_CONFIG, PASSPHRASE, encode, photo_like
from provenance.home import default_repository
from provenance.keystore import KeyStore
from provenance.kinds.imaging import read_image


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("declared") / "home"
    KeyStore.create(home, PASSPHRASE, org="Declared Org", config=FAST_CONFIG)
    return home


@pytest.fixture
def home(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "home"
    shutil.copytree(template, target)
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", PASSPHRASE)
    return target


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--home", str(home), *args])


def stored_records(home: Path) -> list[int]:
    """Record ids whose manifest was stored (reserved-but-unfilled ids read as absent)."""
    path = default_repository(home)
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT record_id FROM records WHERE manifest IS NOT NULL")
        return [row[0] & (2**64 - 1) for row in rows]


def assert_refused_cleanly(result: Result, output: Path, home: Path, *needles: str) -> None:
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.output
    assert not output.exists()
    assert stored_records(home) == []


def assert_declared_mark_reads(result: Result, output: Path, home: Path) -> str:
    """The record `sign` printed is the payload `watermark detect` reads and is stored."""
    assert result.exit_code == 0, result.output
    record = result.stdout.split("watermark record ")[1].split()[0]
    detected = run(home, "watermark", "detect", str(output), "--json")
    assert detected.exit_code == 0, detected.output
    assert json.loads(detected.stdout)["payload"] == record
    assert stored_records(home) == [int(record, 16)]
    return record


@pytest.mark.parametrize("name", ["ocsp.jpg", "cloud.jpg"])
def test_conformance_jpegs_carry_the_mark_they_declare(
    conformance: tuple[Path, object], home: Path, tmp_path: Path, name: str
) -> None:
    # Which happens depends on the record id (and the key). Measured over 10 random ones:
    # ocsp.jpg (tables about quality 18 in the low frequencies) read at 41 dB 6 times, at
    # 40 dB 3 times, and was refused once; cloud.jpg (the Earth on black, a third of it
    # pixels under 5, where a mark clips) read at the default 2 times, at 41 or 40 dB 5
    # times, and was refused 3 times, its mark unreadable even before encoding.
    source = conformance[0] / "c2pa-rs" / name  # the fixture skips when the set is absent
    output = tmp_path / f"signed-{name}"
    result = run(home, "sign", str(source), "-o", str(output), "--model", "gen")
    if result.exit_code == 0:
        assert_declared_mark_reads(result, output, home)
        verified = run(home, "verify", "--json", str(output))
        assert json.loads(verified.stdout)[0]["watermark"]["agrees"] is True
    elif name == "cloud.jpg":
        # Its manifest is remote: with fetching off its history cannot be kept as the
        # parent ingredient, so it is refused rather than dropped (docs/design.md, "Edits").
        assert_refused_cleanly(result, output, home, name, "stored remotely", "cannot be kept")
    else:
        assert_refused_cleanly(
            result, output, home, name, "the watermark does not", "--no-watermark"
        )


def test_unreadable_mark_refuses_to_sign_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    # At JPEG quality 10 the mark does not survive re-encoding even at the 40 dB floor.
    source = tmp_path / "low.jpg"
    source.write_bytes(encode(photo_like(400, 300), "JPEG", quality=10))
    output = tmp_path / "signed.jpg"
    result = run(home, "sign", str(source), "-o", str(output), "--model", "gen")
    assert_refused_cleanly(
        result,
        output,
        home,
        f"{source}: the watermark does not survive this image's own encoding "
        "(JPEG quality 10), even at 40 dB; re-encode it at a higher quality first "
        "(or use --no-watermark)",
    )
    plain = run(home, "sign", str(source), "-o", str(output), "--no-watermark", "--model", "g")
    assert plain.exit_code == 0, plain.output
    assert output.exists() and stored_records(home) == []


def test_sixteen_bit_colour_is_refused_by_sign(home: Path, tmp_path: Path) -> None:
    height, width = 280, 300
    rgb = np.asarray(photo_like(width, height), dtype=">u2") * 257
    rows = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    source = tmp_path / "deep.png"
    source.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    output = tmp_path / "signed.png"
    result = run(home, "sign", str(source), "-o", str(output), "--model", "gen")
    assert_refused_cleanly(result, output, home, "16-bit colour channels", "--no-watermark")
    result = run(home, "watermark", "embed", str(source), "-o", str(output))
    assert_refused_cleanly(result, output, home, "16-bit colour channels")


def test_signed_mark_reads_within_the_floor(home: Path, tmp_path: Path) -> None:
    """A quality-30 JPEG of this size needs a stronger mark (measured): the signed file
    carries the record it declares, and the mark costs no more than the floor allows."""
    source = tmp_path / "q30.jpg"
    pixels = photo_like(640, 480)
    source.write_bytes(encode(pixels, "JPEG", quality=30))
    output = tmp_path / "signed.jpg"
    result = run(home, "--verbose", "sign", str(source), "-o", str(output), "--model", "g")
    if result.exit_code != 0:
        assert_refused_cleanly(result, output, home, "does not survive", "--no-watermark")
        return
    assert_declared_mark_reads(result, output, home)
    with Image.open(source) as before, Image.open(output) as after:
        # The JPEG's own re-encoding costs some; the mark is at 40 dB or better.
        difference = np.asarray(before, np.float64) - np.asarray(after, np.float64)
        assert 10 * np.log10(255**2 / np.mean(difference**2)) >= 38.0


# -- watermark embed on a signed file ---------------------------------------------------


def test_embed_refuses_a_signed_file_without_force(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    source.write_bytes(encode(photo_like(320, 280, seed=2), "PNG"))
    signed = tmp_path / "signed.png"
    assert run(home, "sign", str(source), "-o", str(signed), "--no-watermark").exit_code == 0
    assert read_image(signed).c2pa_manifest
    output = tmp_path / "marked.png"

    result = run(home, "watermark", "embed", str(signed), "-o", str(output))
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: {signed} carries a C2PA manifest, which watermarking would remove: the "
        "marked copy has new pixels (use --force to mark it anyway)\n"
    )
    assert not output.exists()

    result = run(home, "watermark", "embed", str(signed), "-o", str(output), "--force")
    assert result.exit_code == 0, result.output
    assert not read_image(output).c2pa_manifest
    detected = run(home, "watermark", "detect", str(output))
    assert detected.stdout.startswith("found payload=")
    with Image.open(io.BytesIO(output.read_bytes())) as marked:
        assert marked.format == "PNG"


def test_embed_help_says_what_force_covers(home: Path) -> None:
    result = run(home, "watermark", "embed", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "C2PA manifest" in text and "without --force" in text
