"""Marking and checking image files: decode, embed or detect, write back in kind.

    data = mark_in_kind(source, payload, secret, "photo.jpg")  # encoded, and known to read

A mark is only as good as the bytes that carry it: ``mark_in_kind`` encodes the marked
pixels exactly as the file will be written (the source's JPEG tables, lossless WebP, ...),
decodes them again and runs the detector; a mark that does not read is embedded again
stronger, down to the quality floor, and refused past it. No caller writes or declares a
mark that ``watermark detect`` would not find.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from provenance._internal.fs import check_paths
from provenance.errors import Remedy, UnsupportedMedia, UsageError
from provenance.kinds.imaging import (
    WRITABLE_FORMATS,
    SourceImage,
    decode_image,
    encode_like,
    read_image,
    write_image,
)
from provenance.watermark.secret import WatermarkSecret

from .config import ALGORITHM, WatermarkConfig
from .detector import Detection, detect
from .embedder import embed

log = logging.getLogger(__name__)

#: The weakest image quality a mark may cost (dB, the embedder's PSNR): the strengths
#: ``mark_in_kind`` tries after the configured one step down to it.
QUALITY_FLOOR_PSNR = 40.0
_STRONGER_PSNR = (41.0, QUALITY_FLOOR_PSNR)


def unmarkable(source: SourceImage) -> str | None:
    """Why ``source`` cannot be marked and written back in kind, or None when it can."""
    if source.high_bit_depth_color:
        return (
            "it has 16-bit colour channels, which the watermark would write back with 8 "
            "(16-bit grayscale is supported)"
        )
    if source.format not in WRITABLE_FORMATS:
        return (
            f"it is {source.format or 'an unknown format'}, which a watermarked copy cannot "
            "be written back as (PNG, JPEG, WebP and TIFF can)"
        )
    return None


def mark_in_kind(
    source: SourceImage,
    payload: bytes,
    secret: WatermarkSecret,
    name: str,
    *,
    config: WatermarkConfig | None = None,
    remedy: Remedy | None = None,
    alg: str = ALGORITHM,
) -> bytes:
    """``source`` marked with ``payload`` in the format ``alg``, encoded in kind, and
    checked to read back (the same payload, in the same format).

    The mark is embedded at ``config``'s strength; when the detector does not find
    ``payload`` in the encoded bytes, it is embedded again at 41 and then 40 dB
    (``QUALITY_FLOOR_PSNR``). A palette image goes back on its own palette (dithered) when
    the mark reads from that, else it is written as RGB(A) with a warning that says so.
    ``UnsupportedMedia`` in one line when no strength reads back, or when ``unmarkable``
    gives a reason: it names ``name``, says whether the encoding or the pixels themselves
    lose the mark, and carries ``remedy`` (signing without the mark) where given.
    """
    reason = unmarkable(source)
    if reason is not None:
        raise UnsupportedMedia(f"{name}: {reason}")
    config = config or WatermarkConfig()
    strengths = [config] + [
        # Stronger marks for encodings that lose the default one: the PSNR floor rules.
        dataclasses.replace(config, target_psnr=psnr, min_psnr=psnr, min_ssim=0.0)
        for psnr in _STRONGER_PSNR
        if psnr < config.min_psnr
    ]
    palette = source.image.mode in ("P", "PA")
    why = ""
    for attempt, strength in enumerate(strengths):
        marked = embed(source.image, payload, secret, strength, alg=alg)
        if palette and attempt == 0:
            # Only at the first strength: dithering a stronger mark onto the palette costs
            # more than the floor allows (measured: 38-39 dB at a 40 dB mark).
            back_on_palette, why = _on_palette(marked, source.image)
            if back_on_palette is not None:
                data = encode_like(back_on_palette, source)
                if _reads(data, payload, secret, config, alg):
                    return data
                why = "the watermark does not survive going back to its palette"
        data = encode_like(marked, source)
        if _reads(data, payload, secret, config, alg):
            if palette:
                log.warning("%s: written as %s, not as a palette image: %s", name, marked.mode, why)
            if attempt:
                log.info(
                    "%s: the watermark was embedded at %.1f dB, not %.2f, to survive %s",
                    name,
                    strength.target_psnr,
                    config.target_psnr,
                    source.encoding,
                )
            return data
        log.debug("%s: the mark at %.2f dB does not read back", name, strength.target_psnr)
    floor = strengths[-1].target_psnr
    if not _found(marked, payload, secret, config, alg):
        # Not the encoding's doing: the pixels themselves (large black or white areas,
        # where a mark clips, little texture, a small image) do not hold a mark.
        raise UnsupportedMedia(
            f"{name}: the watermark does not read back from this image even before "
            f"encoding, at {floor:g} dB (too small, flat, dark or bright for it)",
            remedy=remedy,
        )
    raise UnsupportedMedia(
        f"{name}: the watermark does not survive this image's own encoding "
        f"({source.encoding}), even at {floor:g} dB; re-encode it at a higher quality first",
        remedy=remedy,
    )


def _reads(
    data: bytes, payload: bytes, secret: WatermarkSecret, config: WatermarkConfig, alg: str
) -> bool:
    return _found(decode_image(data, "the marked image").image, payload, secret, config, alg)


def _found(
    image: Image.Image,
    payload: bytes,
    secret: WatermarkSecret,
    config: WatermarkConfig,
    alg: str,
) -> bool:
    found = detect(image, [secret], config)
    return found.detected and found.payload == payload and found.alg == alg


def _on_palette(marked: Image.Image, source: Image.Image) -> tuple[Image.Image | None, str]:
    """``marked`` (RGB/RGBA) put back on ``source``'s palette with Floyd-Steinberg
    dithering, which keeps the mark where plain nearest-colour mapping flattens it; None
    and the reason when the palette's transparency cannot be kept (alpha per entry)."""
    if source.mode != "P":
        return None, "its alpha channel cannot be put back on a palette"
    transparency = source.info.get("transparency")
    if transparency is not None and not isinstance(transparency, int):
        return None, "its transparency (several alpha levels) cannot be put back on a palette"
    colors = np.asarray(source.getpalette() or [], dtype=np.uint8).reshape(-1, 3)
    usable = np.array([i for i in range(len(colors)) if i != transparency], dtype=np.uint8)
    if not len(usable):
        return None, "its palette has no opaque colour"
    reference = Image.new("P", (1, 1))
    reference.putpalette(colors[usable].tobytes())
    mapped = marked.convert("RGB").quantize(palette=reference, dither=Image.Dither.FLOYDSTEINBERG)
    mapped_indices = np.asarray(mapped)
    if int(mapped_indices.max(initial=0)) >= len(usable):  # only the palette given is used
        return None, "its palette could not be reproduced"
    indices = usable[mapped_indices]
    if transparency is not None and marked.mode == "RGBA":
        indices[np.asarray(marked.getchannel("A")) == 0] = transparency
    result = Image.fromarray(indices, "P")
    result.putpalette(colors.tobytes())
    return result, ""


@dataclasses.dataclass(frozen=True)
class EmbedResult:
    """What ``embed_file`` wrote."""

    output: Path
    format: str
    size: int  # bytes written
    width: int
    height: int


def embed_file(
    source: Path,
    output: Path,
    payload: bytes,
    secret: WatermarkSecret,
    *,
    force: bool = False,
    config: WatermarkConfig | None = None,
) -> EmbedResult:
    """Mark ``source`` into ``output`` in the same format (JPEG keeps its tables), checked
    to read back (``mark_in_kind``).

    ``force`` replaces an existing ``output`` and marks a ``source`` that carries a C2PA
    manifest, which the marked copy loses (its pixels are new); without it such a source
    is a ``UsageError`` that says so.
    """
    check_paths(Path(source), Path(output), force=force)
    src = read_image(source)
    if src.c2pa_manifest and not force:
        raise UsageError(
            f"{source} carries a C2PA manifest, which watermarking would remove: the marked "
            "copy has new pixels",
            remedy=Remedy.MARK_ANYWAY,
        )
    data = mark_in_kind(src, payload, secret, str(source), config=config)
    write_image(output, data, force=force)
    width, height = src.image.size
    return EmbedResult(Path(output), src.format, len(data), width, height)


def detect_file(
    path: Path,
    secrets: Sequence[WatermarkSecret],
    config: WatermarkConfig | None = None,
) -> Detection:
    """Look for a mark from any of ``secrets`` in the image file ``path``."""
    src = read_image(path)
    return detect(src.image, secrets, config)
