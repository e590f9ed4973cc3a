"""The media-kind registry: the one place that knows kinds of content.

    kind, media_type = identify(data)          # from the bytes, never the file name
    store = kind.read_credentials(data, media_type, reader, limits)
    mark = kind.detect_mark(data, media_type, secrets, limits)

Sign, verify, inspect, the HTTP server and the soft-binding API reach content only
through a ``MediaKind``; adding a kind (audio, video) means adding one entry to ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from provenance.errors import InputError, UnsupportedMedia
from provenance.media import Limits, sniff

from .base import Asset, Marker, MediaKind
from .image import ImageKind
from .text import TextKind

__all__ = [
    "KINDS",
    "SNIFF_BYTES",
    "Asset",
    "Marker",
    "MediaKind",
    "identify",
    "load_asset",
    "mark_algorithms",
]

#: How many leading bytes decide the media type.
SNIFF_BYTES = 512

KINDS: tuple[MediaKind, ...] = (ImageKind(), TextKind())

#: What every kind accepts, for messages.
SUPPORTED = "a supported image or text type"


def identify(data: bytes) -> tuple[MediaKind, str]:
    """The kind and media type of ``data``; ``UnsupportedMedia`` when no kind takes it."""
    if not data:
        raise UnsupportedMedia("empty file (0 bytes)")
    media_type = sniff(data[:SNIFF_BYTES])
    for kind in KINDS:
        if media_type in kind.media_types:
            return kind, media_type
    raise UnsupportedMedia(f"not {SUPPORTED}")


def load_asset(data: bytes, *, limits: Limits = Limits(), path: Path | None = None) -> Asset:
    """Check that ``data`` is content some kind can sign, within the limits."""
    if len(data) > limits.max_file_bytes:
        raise InputError(f"larger than the {limits.max_file_bytes:,}-byte limit")
    kind, media_type = identify(data)
    kind.check(data, media_type, limits)
    return Asset(data, media_type, kind, path, limits)


def mark_algorithms() -> Iterator[str]:
    """Every watermark algorithm some kind detects (the soft-binding API lists them)."""
    for kind in KINDS:
        yield from sorted(kind.mark_algs)
