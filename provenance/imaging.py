"""Image files in and out, keeping what the file carried: format, JPEG tables, ICC, EXIF.

    source = read_image(path)                      # decoded under the decoding limits
    data = encode_like(changed_pixels, source)     # same format, same JPEG quantisation
    write_image(output, data, force=False)         # atomic; refuses to overwrite

A JPEG is re-encoded with the source's own quantisation tables and chroma subsampling, so
its quality and size stay what they were (not Pillow's quality 75). ICC profile, EXIF and
DPI are carried over; PNG text chunks too. Formats that cannot hold the pixels faithfully
(GIF's 256-colour palette) are refused for writing rather than degraded silently.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

from provenance._internal.fs import read_input, write_output
from provenance._internal.text import safe_text
from provenance.errors import InputError, UnsupportedMedia
from provenance.media import Limits

__all__ = [
    "WRITABLE_FORMATS",
    "SourceImage",
    "decode_image",
    "encode_like",
    "read_image",
    "write_image",
]

log = logging.getLogger(__name__)

#: Pillow format names this module writes back in kind.
WRITABLE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF", "BMP"})
#: WebP files do not record their quality; lossy WebP is rewritten at this quality.
WEBP_QUALITY = 90


@dataclasses.dataclass(frozen=True)
class SourceImage:
    """A decoded image and what is needed to write it back in kind."""

    image: Image.Image
    format: str  # Pillow's name: "JPEG", "PNG", ...
    bits_per_sample: int  # 16 for 16-bit PNG/TIFF, else 8
    info: dict[str, Any]  # the decoder's metadata (icc_profile, exif, dpi, ...)
    jpeg_qtables: dict[int, list[int]] | None = None
    jpeg_subsampling: int | None = None

    @property
    def high_bit_depth_color(self) -> bool:
        """A 16-bit colour file, which Pillow decodes to 8 bits per channel."""
        return self.bits_per_sample > 8 and self.image.mode in ("RGB", "RGBA")


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
    return SourceImage(image, fmt, 16 if sixteen else 8, info, qtables, sampling)


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
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
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
        options["quality"] = WEBP_QUALITY
        options.pop("dpi", None)
    elif fmt == "TIFF":
        compression = source.info.get("compression")
        if compression and compression != "raw":
            options["compression"] = compression
    buf = io.BytesIO()
    try:
        image.save(buf, format=fmt, **options)
    except (OSError, ValueError) as exc:
        raise InputError(f"could not encode the image as {fmt}: {exc}") from exc
    return buf.getvalue()


def write_image(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write encoded bytes atomically (never a half-written file).

    Without ``force`` an existing ``path`` (even one that appeared since the caller checked)
    is never replaced: ``OutputExists``; with it only a regular file is replaced. Every
    failure is an ``OutputError`` (``provenance._internal.fs.write_output``).
    """
    write_output(Path(path), data, force=force)
    log.debug("wrote %s (%d bytes)", safe_text(path, 4096), len(data))
