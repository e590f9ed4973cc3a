from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from fixtures.support import encode, natural_image
from provenance.errors import InputError
from provenance.kinds.media import (
    Limits,
    check_image_header,
    decode_text,
    extension_mismatch,
    sniff,
)


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
        (b"RIFF\x00\x00\x00\x00WAVE", "audio/wav"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
        (b"RIFF\x00\x00\x00\x00RMID", None),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "video/quicktime"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom", "audio/mp4"),
        (b"\x00\x00\x00\x18ftypiso6\x00\x00\x00\x01iso6dash", "video/mp4"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42heic", "image/heic"),  # a still
        (b"\x00\x00\x00\x18ftypxxxx\x00\x00\x00\x00yyyyzzzz", None),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\xc4\x00\x00", "audio/mpeg"),  # MPEG-1 Layer III, no tag
        (b"\xff\xf3\x40\xc4\x00\x00", "audio/mpeg"),  # MPEG-2 Layer III
        (b"\xff\xfb\xf0\xc4\x00\x00", None),  # bitrate index 15 does not exist
        (b"\xff\xfb\x9c\xc4\x00\x00", None),  # nor sampling-rate index 3
        (b"\xff\xe9\x90\xc4\x00\x00", None),  # MPEG version 01 is reserved
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


def test_text_over_the_limit_is_refused_before_decoding() -> None:
    limits = Limits(max_text_bytes=16)
    assert decode_text(b"x" * 16, limits) == "x" * 16
    with pytest.raises(InputError, match="text larger than the 16-byte limit"):
        decode_text(b"\xff" * 17, limits)


def test_image_header_check_refuses_bombs_and_damage_without_decoding() -> None:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    ihdr = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    png = header + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + iend
    with pytest.raises(InputError, match="safety limit"):
        check_image_header(png, "image/png", Limits())
    with pytest.raises(InputError, match="not a readable image/png image"):
        check_image_header(png[:20], "image/png", Limits())
    with pytest.raises(InputError, match=r"image/png image \(damaged header\)"):
        check_image_header(png.replace(b"IHDR", b"IHDx"), "image/png", Limits())
    check_image_header(b"<svg/>", "image/svg+xml", Limits())  # not Pillow's to judge


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_jpeg_is_refused_from_its_structure(progressive: bool) -> None:
    exif = b"Exif\x00\x00" + b"\xff\xd9" * 8
    whole = encode(natural_image(300, 200), "JPEG", progressive=progressive, exif=exif)
    limits = Limits()
    check_image_header(whole, "image/jpeg", limits)
    check_image_header(whole + b"trailing vendor data", "image/jpeg", limits)
    # An EOI inside the EXIF segment (a thumbnail's) must not pass for the image's own.
    for cut in (len(whole) // 3, len(whole) * 2 // 3, len(whole) - 2):
        with pytest.raises(InputError, match="truncated: no end-of-image marker"):
            check_image_header(whole[:cut], "image/jpeg", limits)


def test_a_manifest_store_alone_is_named_as_such() -> None:
    from provenance.credentials.jumbf import MANIFEST_STORE, superbox
    from provenance.errors import Remedy, UnsupportedMedia
    from provenance.kinds import identify

    store = superbox(MANIFEST_STORE, "c2pa", [])
    with pytest.raises(UnsupportedMedia, match="a C2PA manifest store on its own") as caught:
        identify(store)
    assert caught.value.remedy is Remedy.MANIFEST_ALONE
    with pytest.raises(UnsupportedMedia, match=r"^not a supported"):
        identify(b"\x00\x00\x00\x10jumb" + b"\x00" * 64)  # a JUMBF box, but no C2PA store
