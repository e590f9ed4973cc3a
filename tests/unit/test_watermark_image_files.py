"""Image files: format, JPEG tables, metadata kept; unsupported inputs refused clearly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from fixtures.support import photo_like
from provenance.errors import InputError, OutputExists, UnsupportedMedia, UsageError
from provenance.kinds.imaging import encode_like, read_image
from provenance.watermark import WatermarkSecret
from provenance.watermark.image.files import detect_file, embed_file

SECRET = WatermarkSecret("test", b"0123456789abcdef0123456789abcdef")
PAYLOAD = bytes.fromhex("00ff00ff12345678")


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Test Camera Maker"
    return exif.tobytes()


def test_jpeg_keeps_tables_subsampling_and_metadata(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    icc = b"\x00" * 128  # opaque bytes: carried, not interpreted
    photo_like(400, 300, seed=1).save(
        src, "JPEG", quality=88, subsampling=1, exif=_exif(), icc_profile=icc
    )
    out = tmp_path / "out.jpg"
    result = embed_file(src, out, PAYLOAD, SECRET)
    assert result.format == "JPEG" and result.size == out.stat().st_size
    with Image.open(src) as a, Image.open(out) as b:
        assert isinstance(a, JpegImagePlugin.JpegImageFile)
        assert isinstance(b, JpegImagePlugin.JpegImageFile)
        assert b.quantization == a.quantization
        assert JpegImagePlugin.get_sampling(b) == JpegImagePlugin.get_sampling(a) == 1
        assert b.info.get("icc_profile") == icc
        assert b.getexif()[0x010F] == "Test Camera Maker"
    assert detect_file(out, [SECRET]).payload == PAYLOAD


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_other_formats_round_trip(tmp_path: Path, fmt: str, suffix: str) -> None:
    src = tmp_path / f"in{suffix}"
    photo_like(320, 300, seed=2).save(src, fmt)
    out = tmp_path / f"out{suffix}"
    embed_file(src, out, PAYLOAD, SECRET)
    with Image.open(out) as img:
        assert img.format == fmt
    assert detect_file(out, [SECRET]).payload == PAYLOAD


def test_refuses_existing_output_before_reading(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    source = tmp_path / "in.png"
    source.write_bytes(b"not decoded: the output check comes first")
    with pytest.raises(OutputExists, match=r"output already exists$"):
        embed_file(source, out, PAYLOAD, SECRET)
    assert out.read_bytes() == b"keep me"
    with pytest.raises(UsageError, match="output is the input"):
        embed_file(out, out, PAYLOAD, SECRET, force=True)
    assert out.read_bytes() == b"keep me"


def test_refuses_unreadable_and_unsupported(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_image(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(UnsupportedMedia):
        read_image(junk)
    gif = tmp_path / "in.gif"
    photo_like(300, 300).save(gif, "GIF")
    with pytest.raises(UnsupportedMedia, match="GIF"):
        embed_file(gif, tmp_path / "out.gif", PAYLOAD, SECRET)


def test_sixteen_bit_colour_is_refused_clearly(tmp_path: Path) -> None:
    # A 48-bit PNG written by hand: Pillow decodes it to 8 bits per channel.
    import struct
    import zlib

    w = h = 260
    rows = b"".join(b"\x00" + np.full((w, 3), 40000, ">u2").tobytes() for _ in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    src = tmp_path / "deep.png"
    src.write_bytes(png)
    assert read_image(src).high_bit_depth_color
    with pytest.raises(UnsupportedMedia, match="16-bit colour"):
        embed_file(src, tmp_path / "out.png", PAYLOAD, SECRET)


def test_png_text_chunks_are_kept() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by a test")
    buf = io.BytesIO()
    photo_like(260, 260).save(buf, "PNG", pnginfo=info)
    path_bytes = buf.getvalue()
    from provenance.kinds.imaging import decode_image

    src = decode_image(path_bytes, "mem.png")
    out = Image.open(io.BytesIO(encode_like(src.image, src)))
    assert out.info.get("Comment") == "made by a test"


def test_sixteen_bit_gray_png_file_round_trip(tmp_path: Path) -> None:
    gray = np.asarray(photo_like(300, 280, seed=4, gray=True), dtype=np.uint16) * 257
    src = tmp_path / "deep_gray.png"
    Image.fromarray(gray).save(src)
    out = tmp_path / "out.png"
    embed_file(src, out, PAYLOAD, SECRET)
    with Image.open(out) as img:
        assert img.mode == "I;16"
        marked = np.asarray(img, dtype=np.float64)
    assert 20 * np.log10(65535 / np.sqrt(np.mean((marked - gray) ** 2))) >= 42.0
    assert detect_file(out, [SECRET]).payload == PAYLOAD
