"""Image files in and out, keeping what the file carried: format, JPEG tables, ICC, EXIF, XMP.

    source = read_image(path)                      # decoded under the decoding limits
    data = encode_like(changed_pixels, source)     # same format, same JPEG quantisation
    write_image(output, data, force=False)         # atomic; refuses to overwrite

A JPEG is re-encoded with the source's own quantisation tables and chroma subsampling, so
its quality and size stay what they were (not Pillow's quality 75); a lossless WebP stays
lossless. ICC profile, EXIF, XMP and DPI are carried over in JPEG, PNG, WebP and TIFF (a
TIFF's EXIF and GPS directories too); PNG text chunks too. Formats that cannot hold the
pixels faithfully (GIF's 256-colour palette) are refused for writing rather than degraded
silently.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import warnings
from pathlib import Path
from typing import Any

from PIL import (
    Image,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    TiffTags,
    UnidentifiedImageError,
)

from provenance._internal.fs import read_input, write_output
from provenance._internal.text import safe_text
from provenance.errors import InputError, UnsupportedMedia
from provenance.kinds.media import HEIF_TYPES, Limits, heif_decoder, sniff

log = logging.getLogger(__name__)

#: Pillow format names this module writes back in kind.
WRITABLE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF", "BMP"})
#: WebP files do not record their quality; lossy WebP is rewritten at this quality.
WEBP_QUALITY = 90

# The IJG (libjpeg) luminance table at quality 50, natural order: what quality N scales.
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_LOW_FREQUENCIES = tuple(row * 8 + col for row in range(4) for col in range(4))
# TIFF tags that describe the pixels as written (Pillow sets them for the new image) or
# content that would no longer match them (Photoshop's layers); every other tag is carried.
_TIFF_STRUCTURE = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 282, 283}
    | {284, 288, 289, 290, 291, 296, 317, 318, 319, 320, 322, 323, 324, 325, 330, 338, 339}
    | {340, 341, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 529, 530, 531, 532}
    | {34675, 37724}
)
# The JUMBF type of a C2PA manifest store ("c2pa" + the ISO suffix), in every container.
_C2PA_STORE_TYPE = b"jumdc2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71"
# EXIF's sub-directories in a TIFF: libtiff (every compressed TIFF) cannot write them.
_TIFF_SUB_IFDS = (0x8769, 0x8825, 0xA005)  # Exif, GPS, Interoperability


@dataclasses.dataclass(frozen=True)
class SourceImage:
    """A decoded image and what is needed to write it back in kind."""

    image: Image.Image
    format: str  # Pillow's name: "JPEG", "PNG", ...
    bits_per_sample: int  # 16 for 16-bit PNG/TIFF, else 8
    info: dict[str, Any]  # the decoder's metadata (icc_profile, exif, dpi, ...)
    jpeg_qtables: dict[int, list[int]] | None = None
    jpeg_subsampling: int | None = None
    webp_lossless: bool = False  # a VP8L (lossless) WebP, written back lossless
    c2pa_manifest: bool = False  # carries a C2PA manifest store, which encode_like drops

    @property
    def high_bit_depth_color(self) -> bool:
        """A 16-bit colour file, which Pillow decodes to 8 bits per channel."""
        return self.bits_per_sample > 8 and self.image.mode in ("RGB", "RGBA")

    @property
    def jpeg_quality(self) -> tuple[int, bool] | None:
        """The IJG (libjpeg) quality 1..100 nearest this JPEG's luminance table, and whether
        the table is exactly that quality's; None when this is not a JPEG.

        Other encoders' tables (Photoshop's, a camera's) are not IJG-scaled, so they are
        matched on their low-frequency corner, which holds most of a photo's detail and
        the watermark: a table coarse there and fine elsewhere reads as the low quality it
        is for both."""
        table = (self.jpeg_qtables or {}).get(0)
        if not table or len(table) != len(_IJG_LUMA):
            return None

        def ijg(quality: int) -> list[int]:
            scale = 5000 // quality if quality < 50 else 200 - 2 * quality
            return [min(max((v * scale + 50) // 100, 1), 255) for v in _IJG_LUMA]

        def distance(quality: int) -> tuple[int, int]:
            ours = ijg(quality)
            low = sum(abs(ours[i] - table[i]) for i in _LOW_FREQUENCIES)
            return low, sum(abs(a - b) for a, b in zip(ours, table, strict=True))

        quality = min(range(1, 101), key=distance)
        return quality, ijg(quality) == list(table)

    @property
    def encoding(self) -> str:
        """How ``encode_like`` writes this image, for messages: "JPEG quality 75", ..."""
        if self.format == "JPEG":
            estimate = self.jpeg_quality
            if estimate is None:
                return "JPEG"
            quality, exact = estimate
            return f"JPEG quality {quality}" if exact else f"JPEG, about quality {quality}"
        if self.format == "WEBP":
            return "lossless WebP" if self.webp_lossless else f"lossy WebP quality {WEBP_QUALITY}"
        return self.format or "unknown format"


def read_image(path: Path, limits: Limits | None = None) -> SourceImage:
    """Decode ``path`` (InputError if unreadable, not a regular file or over ``limits``)."""
    limits = limits or Limits()
    path = Path(path)
    try:
        data = read_input(path, limits.max_file_bytes)
    except InputError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    return decode_image(data, str(path), limits)


def decode_image(data: bytes, name: str, limits: Limits | None = None) -> SourceImage:
    """Decode image bytes; ``name`` is only used in messages."""
    limits = limits or Limits()
    if sniff(data[:512]) in HEIF_TYPES and not heif_decoder():
        raise InputError(
            f"{name} is HEIC/HEIF, whose pixels need pillow-heif here (pip install pillow-heif)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise InputError(
                    f"{name} is {width}x{height} ({width * height} px), over the limit of "
                    f"{limits.max_pixels} px"
                )
            fmt = image.format or ""
            rawmodes = [str(getattr(tile, "args", "")) for tile in image.tile]
            image.load()
    except InputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise UnsupportedMedia(f"{name} is not an image this toolkit can decode") from exc
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{name} could not be decoded: {exc}") from exc
    sixteen = image.mode.startswith("I;16") or any(";16" in mode for mode in rawmodes)
    qtables = None
    sampling = None
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        qtables = {int(k): list(v) for k, v in image.quantization.items()}
        sampling = JpegImagePlugin.get_sampling(image)
    info = {str(k): v for k, v in image.info.items()}
    if fmt == "TIFF":
        info.pop("exif", None)
        exif = _tiff_exif(image)
        if exif:
            info["exif"] = exif
    lossless = fmt == "WEBP" and _webp_is_lossless(data)
    manifest = _C2PA_STORE_TYPE in data
    return SourceImage(
        image, fmt, 16 if sixteen else 8, info, qtables, sampling, lossless, manifest
    )


def _webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP's image data is VP8L (lossless): its first image chunk says."""
    at = 12  # after "RIFF" size "WEBP"
    while at + 8 <= len(data):
        fourcc = data[at : at + 4]
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        if fourcc == b"VP8L":
            return True
        if fourcc in (b"VP8 ", b"ANMF"):
            return False
        at += 8 + size + (size & 1)
    return False


def _tiff_exif(image: Image.Image) -> bytes | None:
    """A TIFF's descriptive tags (Make, dates, XMP, IPTC, the EXIF and GPS directories) as
    EXIF bytes, without the tags that describe its pixel layout: Pillow writes those anew."""
    try:
        exif = image.getexif()
        for tag in _TIFF_SUB_IFDS:
            if tag in exif:
                exif.get_ifd(tag)  # read now, while the file is at hand
        for tag in list(exif):
            if tag in _TIFF_STRUCTURE:
                del exif[tag]
        return exif.tobytes() if len(exif) else None
    except Exception as exc:  # a damaged tag costs the metadata, not the image
        log.debug("TIFF tags not carried over: %s", exc)
        return None


def encode_like(image: Image.Image, source: SourceImage) -> bytes:
    """``image`` encoded in the source's format with its tables and metadata."""
    fmt = source.format
    if fmt not in WRITABLE_FORMATS:
        raise UnsupportedMedia(
            f"cannot write {fmt or 'this'} images back in kind: use PNG, JPEG, WebP or TIFF"
        )
    options: dict[str, Any] = {}
    for key in ("icc_profile", "exif", "dpi"):
        if source.info.get(key):
            options[key] = source.info[key]
    if fmt in ("JPEG", "WEBP") and source.info.get("xmp"):
        options["xmp"] = source.info["xmp"]
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        if source.info.get("comment"):
            options["comment"] = source.info["comment"]
        if source.jpeg_qtables:
            options["qtables"] = source.jpeg_qtables
        if source.jpeg_subsampling is not None and source.jpeg_subsampling >= 0:
            options["subsampling"] = source.jpeg_subsampling
        if source.info.get("progressive") or source.info.get("progression"):
            options["progressive"] = True
    elif fmt == "PNG":
        text = {k: v for k, v in source.info.items() if isinstance(v, str) and k not in options}
        if text:
            pnginfo = PngImagePlugin.PngInfo()
            for key, value in text.items():
                pnginfo.add_text(key, value)
            options["pnginfo"] = pnginfo
    elif fmt == "WEBP":
        if source.webp_lossless:
            options.update(lossless=True, exact=True)
        else:
            options["quality"] = WEBP_QUALITY
        options.pop("dpi", None)
    if image.mode == "P" and source.image.mode == "P" and "transparency" in source.info:
        options["transparency"] = source.info["transparency"]
    sub_ifds: dict[int, dict[int, Any]] = {}
    if fmt == "TIFF":
        compression = source.info.get("compression")
        if compression and compression != "raw":
            options["compression"] = compression
        if "exif" in options:
            options["exif"], sub_ifds = _split_sub_ifds(options["exif"])
    buf = io.BytesIO()
    try:
        image.save(buf, format=fmt, **options)
        if sub_ifds:
            return _tiff_with_sub_ifds(buf.getvalue(), sub_ifds)
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"could not encode the image as {fmt}: {exc}") from exc
    return buf.getvalue()


def _split_sub_ifds(exif_bytes: bytes) -> tuple[bytes, dict[int, dict[int, Any]]]:
    """The EXIF without its sub-directories, and those directories (for TIFF writing)."""
    exif = Image.Exif()
    exif.load(exif_bytes)
    sub_ifds = {tag: dict(exif.get_ifd(tag)) for tag in _TIFF_SUB_IFDS if tag in exif}
    for tag in _TIFF_SUB_IFDS:
        if tag in exif:
            del exif[tag]
    return exif.tobytes(), {tag: ifd for tag, ifd in sub_ifds.items() if ifd}


def _tiff_with_sub_ifds(data: bytes, sub_ifds: dict[int, dict[int, Any]]) -> bytes:
    """A one-image, strip-based TIFF (as Pillow writes it) rewritten with ``sub_ifds``.

    libtiff, which writes every compressed TIFF, cannot write EXIF's sub-directories, so
    the strips it compressed are laid out again behind a directory that has them.
    """
    with Image.open(io.BytesIO(data)) as written:
        if not isinstance(written, TiffImagePlugin.TiffImageFile):
            raise ValueError("not a TIFF")
        tags = written.tag_v2
        offsets, counts = tags[TiffImagePlugin.STRIPOFFSETS], tags[TiffImagePlugin.STRIPBYTECOUNTS]
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        ifd = TiffImagePlugin.ImageFileDirectory_v2(data[:8])
        for tag, value in tags.items():
            if tag not in (TiffImagePlugin.STRIPOFFSETS, TiffImagePlugin.STRIPBYTECOUNTS):
                ifd[tag] = value
                ifd.tagtype[tag] = tags.tagtype[tag]
    strips = [data[at : at + n] for at, n in zip(offsets, counts, strict=True)]
    starts = [sum(counts[:i]) for i in range(len(counts))]  # relative: save() adds the base
    ifd[TiffImagePlugin.STRIPOFFSETS] = tuple(starts)
    ifd.tagtype[TiffImagePlugin.STRIPOFFSETS] = TiffTags.LONG
    ifd[TiffImagePlugin.STRIPBYTECOUNTS] = tuple(counts)
    ifd.tagtype[TiffImagePlugin.STRIPBYTECOUNTS] = TiffTags.LONG
    for tag, directory in sub_ifds.items():
        ifd[tag] = directory
    out = io.BytesIO()
    ifd.save(out)
    out.write(b"".join(strips))
    return out.getvalue()


def write_image(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write encoded bytes atomically (never a half-written file).

    Without ``force`` an existing ``path`` (even one that appeared since the caller checked)
    is never replaced: ``OutputExists``; with it only a regular file is replaced. Every
    failure is an ``OutputError`` (``provenance._internal.fs.write_output``).
    """
    write_output(Path(path), data, force=force)
    log.debug("wrote %s (%d bytes)", safe_text(path, 4096), len(data))
