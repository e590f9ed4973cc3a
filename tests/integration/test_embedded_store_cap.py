"""A C2PA store inside audio or video is capped before c2pa-rs reads it (issue 23, item 13).

c2pa-rs reads an embedded manifest store whole, at the size its box, chunk or frame
declares. Each file here is sparse (a few kilobytes on disk) and declares a store of
200 MiB: without the cap ``verify`` peaked at twice that for a "malformed" verdict. The
real ``provenance`` executable runs under a small Python parent that reports its peak
resident set size (``getrusage(RUSAGE_CHILDREN)``: the one child it waited for).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import media
from provenance.credentials.read import MAX_SIDECAR_BYTES
from provenance.keystore import KeyStore
from provenance.kinds.containers import MAX_STORE_BYTES
from provenance.kinds.media import id3_tag_end

PROVENANCE = Path(sys.executable).with_name("provenance")
PASSPHRASE = "embedded store cap passphrase"
DECLARED = 200 * 1024 * 1024  # ID3 sizes stop at 256 MiB
#: The executable alone takes about 60 MB (100 MB signing); reading the store cost 1.3 to
#: 2.6 times DECLARED.
PEAK_LIMIT = 150 * 1024 * 1024
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(done.stdout)\n"
    "sys.stderr.write(done.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def _sparse(path: Path, head: bytes, total: int, tail: bytes = b"") -> Path:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(total)
        handle.seek(total - len(tail))
        handle.write(tail)
    return path


def _bmff(path: Path, maker: Callable[[], media.MediaFile]) -> Path:
    data = maker().data
    box = struct.pack(">I4s", DECLARED, b"uuid") + C2PA_UUID + bytes(4) + b"manifest\0" + bytes(8)
    return _sparse(path, data + box, len(data) + DECLARED)


def _riff(path: Path, maker: Callable[[], media.MediaFile]) -> Path:
    data = maker().data
    chunks = data[12:] + b"C2PA" + struct.pack("<I", DECLARED)
    total = 12 + len(chunks) + DECLARED
    return _sparse(path, b"RIFF" + struct.pack("<I", total - 8) + data[8:12] + chunks, total)


def _syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _id3(path: Path, maker: Callable[[], media.MediaFile]) -> Path:
    data = maker().data
    data = data[id3_tag_end(data[:10]) or 0 :]  # an MP3's own tag: the store's replaces it
    frame = b"GEOB" + _syncsafe(DECLARED) + b"\0\0" + b"\0application/c2pa\0c2pa\0store\0"
    head = b"ID3\x04\x00\x00" + _syncsafe(10 + DECLARED) + frame
    return _sparse(path, head, 20 + DECLARED + len(data), data)


FILES = {
    "mp4": (_bmff, media.mp4, "the 'uuid' box"),
    "mov": (_bmff, media.mov, "the 'uuid' box"),
    "m4a": (_bmff, media.m4a, "the 'uuid' box"),
    "wav": (_riff, media.wav, "the 'C2PA' chunk"),
    "avi": (_riff, media.avi, "the 'C2PA' chunk"),
    "mp3": (_id3, media.mp3, "the ID3 'GEOB' frame"),
    "flac": (_id3, media.flac, "the ID3 'GEOB' frame"),
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("cap") / "home"
    KeyStore.create(home, PASSPHRASE, org="Test Org")
    return {
        **os.environ,
        "PROVENANCE_HOME": str(home),
        "PROVENANCE_PASSPHRASE": PASSPHRASE,
        "NO_COLOR": "1",
    }


def measured(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """The command's result and its peak resident set size in bytes."""
    if not PROVENANCE.exists():
        pytest.skip(f"{PROVENANCE} is not installed (pip install -e .)")
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(PROVENANCE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    *lines, peak_kib = done.stderr.splitlines()
    stderr = "".join(line + "\n" for line in lines)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, stderr), int(
        peak_kib
    ) * 1024


def test_the_cap_is_the_sidecar_cap() -> None:
    assert MAX_STORE_BYTES == MAX_SIDECAR_BYTES < DECLARED


@pytest.mark.parametrize("suffix", sorted(FILES))
def test_an_oversized_embedded_store_is_refused_before_it_is_read(
    env: dict[str, str], tmp_path: Path, suffix: str
) -> None:
    build, maker, where = FILES[suffix]
    path = build(tmp_path / f"big.{suffix}", maker)
    assert path.stat().st_blocks * 512 < 1024 * 1024  # sparse: nothing of it on disk
    result, peak = measured(env, "verify", str(path))
    assert result.returncode == 3, (result.stdout, result.stderr)
    (line,) = result.stdout.splitlines()
    assert line.startswith("error") and f"big.{suffix}" in line
    assert f"the C2PA manifest store in {where}" in line
    assert f"declares {DECLARED:,} bytes, over the {MAX_STORE_BYTES:,}-byte limit" in line
    assert peak < PEAK_LIMIT, f"verify peaked at {peak:,} bytes"


def test_signing_a_file_with_an_oversized_store_is_refused_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = _bmff(tmp_path / "big.mp4", media.mp4)
    output = tmp_path / "signed.mp4"
    result, peak = measured(env, "sign", str(path), "-o", str(output), "--model", "m")
    assert result.returncode == 3, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "big.mp4" in errors[0] and "the 'uuid' box" in errors[0]
    assert not output.exists()
    assert peak < PEAK_LIMIT, f"sign peaked at {peak:,} bytes"
