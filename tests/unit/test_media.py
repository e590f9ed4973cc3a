from __future__ import annotations

from pathlib import Path

import pytest

from provenance.media import Limits, extension_mismatch, sniff

from conftest import encode, natural_image


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("TIFF", "image/tiff"),
        ("AVIF", "image/avif"),
        ("HEIF", "image/heic"),
    ],
)
def test_sniff_from_real_encoders(fmt: str, media_type: str) -> None:
    data = encode(natural_image(64, 48), fmt)
    assert sniff(data[:512]) == media_type


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"", "text/plain"),
        (b"\x00\x01\x02\x03binary", None),
        (b"hello, world\n", "text/plain"),
        ("caf\u00e9 \u65e5\u672c".encode()[:-1], "text/plain"),  # cut inside a character
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WAVE", None),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", None),
        (b"\xff\xfe\x00\x00garbage", None),
    ],
)
def test_sniff_edge_cases(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


def test_extension_mismatch() -> None:
    assert extension_mismatch(Path("a.jpg"), "image/png")
    assert not extension_mismatch(Path("a.JPEG"), "image/jpeg")
    assert not extension_mismatch(Path("notes.md"), "text/plain")


def test_limits_validate() -> None:
    with pytest.raises(ValueError, match="positive"):
        Limits(max_pixels=0)
