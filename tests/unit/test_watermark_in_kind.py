"""The watermark path writes files back in kind, and never writes a mark that does not read.

In kind: lossless stays lossless, palette stays palette (or the change is logged), CMYK is
marked in K, 16-bit colour is refused, ICC / EXIF / XMP survive in JPEG, PNG, WebP and TIFF.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from fixtures.support import encode, photo_like, png_chunks, psnr
from provenance.errors import Remedy, UnsupportedMedia, UsageError
from provenance.kinds import load_asset
from provenance.kinds.imaging import decode_image, encode_like, read_image
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import detect, embed
from provenance.watermark.image import files as wm_files
from provenance.watermark.image.files import detect_file, embed_file, mark_in_kind

SECRET = WatermarkSecret("test", b"0123456789abcdef0123456789abcdef")
PAYLOAD = bytes.fromhex("00ff00ff12345678")
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator>in-kind-test-creator</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
)
ICC = b"\x00\x01" * 200  # opaque bytes: carried, not interpreted


def webp_chunks(data: bytes) -> list[bytes]:
    """The fourcc of every top-level chunk of a WebP file."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, at = [], 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        chunks.append(data[at : at + 4])
        at += 8 + size + (size & 1)
    return chunks


def _exif(**sub: dict[int, object]) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "In Kind Camera"
    for tag, values in sub.items():
        exif.get_ifd({"exif": 0x8769, "gps": 0x8825}[tag]).update(values)
    return exif


def _sixteen_bit_rgb_png(width: int = 300, height: int = 280) -> bytes:
    """A 48-bit PNG written by hand (Pillow cannot write one)."""
    rgb = np.asarray(photo_like(width, height, seed=3), dtype=">u2") * 257
    rows = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- lossless stays lossless -----------------------------------------------------------


def test_lossless_webp_stays_lossless(tmp_path: Path) -> None:
    source = photo_like(480, 360, seed=5)
    src = tmp_path / "in.webp"
    src.write_bytes(encode(source, "WEBP", lossless=True))
    assert webp_chunks(src.read_bytes()) == [b"VP8L"]
    out = tmp_path / "out.webp"
    embed_file(src, out, PAYLOAD, SECRET)
    data = out.read_bytes()
    assert b"VP8L" in webp_chunks(data) and b"VP8 " not in webp_chunks(data)
    with Image.open(out) as marked:
        # Lossless: the only change is the mark itself, pixel for pixel.
        expected = embed(source, PAYLOAD, SECRET)
        assert np.array_equal(np.asarray(marked.convert("RGB")), np.asarray(expected))
    assert detect_file(out, [SECRET]).payload == PAYLOAD


def test_lossy_webp_stays_lossy(tmp_path: Path) -> None:
    src = tmp_path / "in.webp"
    src.write_bytes(encode(photo_like(400, 300, seed=6), "WEBP", quality=85))
    assert not read_image(src).webp_lossless
    out = tmp_path / "out.webp"
    embed_file(src, out, PAYLOAD, SECRET)
    assert b"VP8 " in webp_chunks(out.read_bytes())


# -- metadata survives -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_icc_exif_and_xmp_survive(tmp_path: Path, fmt: str) -> None:
    options: dict[str, object] = {"icc_profile": ICC, "exif": _exif().tobytes()}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=False)
        options["pnginfo"] = info
    elif fmt == "TIFF":
        exif = _exif()
        exif[700] = XMP  # TIFF keeps XMP in its own tag
        options["exif"] = exif.tobytes()
    else:
        options["xmp"] = XMP
    src = tmp_path / f"in.{fmt.lower()}"
    src.write_bytes(encode(photo_like(320, 280, seed=7), fmt, **options))
    out = tmp_path / f"out.{fmt.lower()}"
    embed_file(src, out, PAYLOAD, SECRET)
    data = out.read_bytes()
    assert b"in-kind-test-creator" in data
    with Image.open(out) as marked:
        assert marked.format == fmt
        assert marked.info.get("icc_profile") == ICC
        assert marked.getexif()[0x010F] == "In Kind Camera"
    assert detect_file(out, [SECRET]).payload == PAYLOAD


def test_jpeg_comment_survives(tmp_path: Path) -> None:
    src = tmp_path / "in.jpg"
    src.write_bytes(encode(photo_like(320, 280), "JPEG", quality=90, comment=b"kept"))
    out = tmp_path / "out.jpg"
    embed_file(src, out, PAYLOAD, SECRET)
    with Image.open(out) as marked:
        assert marked.info.get("comment") == b"kept"


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw", "tiff_adobe_deflate"])
def test_tiff_exif_and_gps_directories_survive(compression: str) -> None:
    exif = _exif(exif={0x9003: "2024:05:06 07:08:09"}, gps={0x0002: (52.0, 22.0, 1.5)})
    exif[700] = XMP
    pixels = photo_like(300, 260, seed=8)
    raw = decode_image(encode(pixels, "TIFF", exif=exif.tobytes(), dpi=(300, 300)), "in.tif")
    # Pillow cannot write a compressed TIFF with EXIF directories: make one with ours.
    source = dataclasses.replace(raw, info={**raw.info, "compression": compression})
    made = encode_like(source.image, source)
    for data in (made, encode_like(source.image, decode_image(made, "second.tif"))):
        with Image.open(io.BytesIO(data)) as back:
            assert back.info["compression"] == compression
            assert np.array_equal(np.asarray(back), np.asarray(pixels))
            tags = back.getexif()
            assert tags[0x010F] == "In Kind Camera"
            assert tags.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
            assert tags.get_ifd(0x8825)[0x0002] == (52.0, 22.0, 1.5)
            assert back.info.get("xmp") == XMP
            assert back.info.get("dpi") == (300, 300)
    marked = mark_in_kind(decode_image(made, "in.tif"), PAYLOAD, SECRET, "in.tif")
    with Image.open(io.BytesIO(marked)) as back:
        assert back.getexif().get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
        assert detect(back, [SECRET]).payload == PAYLOAD


# -- palette, CMYK, 16 bits ------------------------------------------------------------


def test_palette_png_stays_palette(tmp_path: Path) -> None:
    source = photo_like(480, 360, seed=9).quantize(64)
    src = tmp_path / "in.png"
    source.save(src)
    out = tmp_path / "out.png"
    embed_file(src, out, PAYLOAD, SECRET)
    with Image.open(out) as marked:
        assert marked.mode == "P"
        assert marked.getpalette() == source.getpalette()
        assert psnr(marked.convert("RGB"), source.convert("RGB")) >= 40.0
    assert detect_file(out, [SECRET]).payload == PAYLOAD
    # Measured: a third of the RGB a palette image used to come back as.
    assert out.stat().st_size < 1.3 * src.stat().st_size


def test_palette_transparency_is_kept(tmp_path: Path) -> None:
    rgb = photo_like(400, 320, seed=10)
    source = rgb.quantize(32)
    pixels = np.asarray(source).copy()
    hole = pixels.max() + 1
    pixels[:40, :40] = hole  # a transparent corner, in an entry of its own
    palette = source.getpalette()
    assert palette is not None
    image = Image.fromarray(pixels, "P")
    image.putpalette([*palette, 0, 0, 0])
    src = tmp_path / "in.png"
    image.save(src, transparency=int(hole))
    out = tmp_path / "out.png"
    embed_file(src, out, PAYLOAD, SECRET)
    with Image.open(out) as marked:
        assert marked.mode == "P" and marked.info.get("transparency") == hole
        indices = np.asarray(marked)
        assert (indices[:40, :40] == hole).all()
        assert (indices[40:, :] != hole).all()
    assert detect_file(out, [SECRET]).payload == PAYLOAD


def test_palette_change_is_logged_when_the_mark_needs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The web-safe palette is too coarse: dithering back onto it erases the mark.
    source = photo_like(480, 360, seed=5).convert("P", palette=Image.Palette.WEB)
    src = tmp_path / "web.png"
    source.save(src)
    out = tmp_path / "out.png"
    with caplog.at_level(logging.WARNING, logger=wm_files.__name__):
        embed_file(src, out, PAYLOAD, SECRET)
    with Image.open(out) as marked:
        assert marked.mode == "RGB"
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "web.png: written as RGB, not as a palette image" in record.getMessage()
    assert detect_file(out, [SECRET]).payload == PAYLOAD


def _cmyk(rgb: Image.Image) -> Image.Image:
    """RGB to CMYK with full black generation, as print separations have it."""
    a = np.asarray(rgb, dtype=np.float64) / 255.0
    black = 1.0 - a.max(axis=2, keepdims=True)
    inks = (1.0 - a - black) / np.maximum(1.0 - black, 1e-6)
    return Image.fromarray(np.rint(np.dstack([inks, black]) * 255).astype(np.uint8), "CMYK")


def test_cmyk_jpeg_is_marked_in_black(tmp_path: Path) -> None:
    src = tmp_path / "print.jpg"
    src.write_bytes(
        encode(_cmyk(photo_like(480, 360, seed=11)), "JPEG", quality=85, icc_profile=ICC)
    )
    out = tmp_path / "out.jpg"
    embed_file(src, out, PAYLOAD, SECRET)
    with Image.open(src) as before, Image.open(out) as after:
        assert after.mode == "CMYK" and after.info.get("icc_profile") == ICC
        a, b = np.asarray(before, dtype=np.int16), np.asarray(after, dtype=np.int16)
    # C, M and Y change only by the re-encoding; the mark is in K.
    assert np.abs(a[..., :3] - b[..., :3]).mean() < 0.5
    assert 40.0 <= psnr(a[..., 3], b[..., 3]) <= 43.5
    assert np.abs(a[..., 3] - b[..., 3]).mean() > 3 * np.abs(a[..., :3] - b[..., :3]).mean()
    assert detect_file(out, [SECRET]).payload == PAYLOAD


def test_sixteen_bit_rgb_is_refused_by_both_paths(tmp_path: Path) -> None:
    src = tmp_path / "deep.png"
    src.write_bytes(_sixteen_bit_rgb_png())
    with pytest.raises(UnsupportedMedia, match="16-bit colour channels"):
        embed_file(src, tmp_path / "out.png", PAYLOAD, SECRET)
    assert not (tmp_path / "out.png").exists()
    asset = load_asset(src.read_bytes(), path=src)
    with pytest.raises(UnsupportedMedia, match=r"16-bit colour") as caught:
        engine = asset.kind.mark
        assert engine is not None
        engine.marker(asset.data, asset.media_type, SECRET, asset.limits, str(src))
    assert caught.value.remedy is Remedy.NO_WATERMARK  # the CLI names --no-watermark


# -- a mark that does not read is never written ----------------------------------------


def test_weak_mark_is_strengthened_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tried: list[bool] = []
    reads = wm_files._reads

    def first_fails(*args: object) -> bool:
        tried.append(True)
        return len(tried) > 1 and reads(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(wm_files, "_reads", first_fails)
    source = decode_image(encode(photo_like(400, 300), "PNG"), "photo.png")
    with caplog.at_level(logging.INFO, logger=wm_files.__name__):
        data = mark_in_kind(source, PAYLOAD, SECRET, "photo.png")
    assert len(tried) == 2
    assert "photo.png: the watermark was embedded at 41.0 dB, not 42.15, to survive PNG" in (
        caplog.text
    )
    marked = Image.open(io.BytesIO(data))
    assert 40.5 <= psnr(marked, source.image) <= 41.5  # lossless: the mark's own PSNR
    assert detect(marked, [SECRET]).payload == PAYLOAD


def test_mark_that_never_reads_is_refused_in_one_line() -> None:
    # Measured: at JPEG quality 10 no strength down to the floor survives the re-encoding.
    source = decode_image(encode(photo_like(400, 300), "JPEG", quality=10), "low.jpg")
    with pytest.raises(UnsupportedMedia) as refused:
        mark_in_kind(source, PAYLOAD, SECRET, "low.jpg")
    message = refused.value.diagnostics()
    assert "\n" not in message
    assert message == (
        "low.jpg: the watermark does not survive this image's own encoding (JPEG quality "
        "10), even at 40 dB; re-encode it at a higher quality first"
    )


def test_jpeg_quality_is_estimated_for_messages() -> None:
    for quality in (10, 50, 75, 95, 100):
        source = decode_image(encode(photo_like(64, 64), "JPEG", quality=quality), "q.jpg")
        assert source.jpeg_quality == (quality, True)
        assert source.encoding == f"JPEG quality {quality}"


# -- a file with a manifest ------------------------------------------------------------


def _with_manifest_box(png: bytes) -> bytes:
    """A PNG with a caBX chunk holding the start of a C2PA manifest store (JUMBF)."""
    store = b"\x00\x00\x00\x20jumb\x00\x00\x00\x18jumdc2pa\x00\x11\x00\x10\x80\x00\x00\xaa"
    store += b"\x00\x38\x9b\x71\x03c2pa\x00"
    body = b"caBX" + store
    chunk = struct.pack(">I", len(store)) + body + struct.pack(">I", zlib.crc32(body))
    chunks = png_chunks(png)
    return png[:8] + chunks[0] + chunk + b"".join(chunks[1:])


def test_file_with_a_manifest_is_refused_without_force(tmp_path: Path) -> None:
    src = tmp_path / "signed.png"
    src.write_bytes(_with_manifest_box(encode(photo_like(300, 260), "PNG")))
    assert read_image(src).c2pa_manifest
    out = tmp_path / "out.png"
    with pytest.raises(UsageError, match="carries a C2PA manifest, which watermarking would"):
        embed_file(src, out, PAYLOAD, SECRET)
    assert not out.exists()
    embed_file(src, out, PAYLOAD, SECRET, force=True)
    assert b"caBX" not in out.read_bytes() and not read_image(out).c2pa_manifest
    assert detect_file(out, [SECRET]).payload == PAYLOAD
