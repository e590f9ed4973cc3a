"""Marking and checking image files: decode, embed or detect, write back in kind."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

from provenance._internal.fs import check_paths
from provenance.errors import UnsupportedMedia
from provenance.imaging import WRITABLE_FORMATS, encode_like, read_image, write_image

from .config import WatermarkConfig
from .detector import Detection, detect
from .embedder import embed
from .keys import WatermarkSecret

__all__ = ["EmbedResult", "detect_file", "embed_file"]

log = logging.getLogger(__name__)


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
    """Mark ``source`` into ``output`` in the same format (JPEG keeps its tables)."""
    check_paths(Path(source), Path(output), force=force)
    src = read_image(source)
    if src.high_bit_depth_color:
        raise UnsupportedMedia(
            f"{source} has 16-bit colour channels, which would be written back with 8: "
            "convert it to 8-bit first (16-bit grayscale is supported)"
        )
    if src.format not in WRITABLE_FORMATS:
        raise UnsupportedMedia(
            f"{source} is {src.format or 'an unknown format'}: a watermark cannot survive "
            "re-encoding to it; convert to PNG, JPEG, WebP or TIFF first"
        )
    marked = embed(src.image, payload, secret, config)
    data = encode_like(marked, src)
    write_image(output, data, force=force)
    width, height = marked.size
    return EmbedResult(Path(output), src.format, len(data), width, height)


def detect_file(
    path: Path,
    secrets: Sequence[WatermarkSecret],
    config: WatermarkConfig | None = None,
) -> Detection:
    """Look for a mark from any of ``secrets`` in the image file ``path``."""
    src = read_image(path)
    return detect(src.image, secrets, config)
