"""The media-kind registry: the one place that knows kinds of content.

    kind, media_type = identify(data)          # from the bytes, never the file name
    store = kind.read_credentials(data, media_type, reader, limits)
    if kind.mark is not None:                  # its mark engine, when it has one
        mark = kind.mark.detect(data, media_type, secrets, limits)

Sign, verify, inspect, the HTTP server and the soft-binding API reach content only
through a ``MediaKind``; adding a kind means adding one entry to ``KINDS``, adding a mark
to a kind one attribute (``mark``). Audio and video are ``StreamedKind``s: their files
are opened as streams, never read whole (``streamed``, ``size_limit``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from provenance.errors import InputError, Remedy, UnsupportedMedia
from provenance.kinds.media import Limits, id3_tag_end, sniff, sniff_behind_id3

from .av import AudioKind, VideoKind
from .base import Asset, LLMTest, MediaKind, StreamedKind
from .image import ImageKind
from .text import TextKind

__all__ = [
    "KINDS",
    "SNIFF_BYTES",
    "Asset",
    "LLMTest",
    "MediaKind",
    "StreamedKind",
    "identify",
    "identify_stream",
    "kind_name",
    "load_asset",
    "mark_algorithms",
    "open_content",
    "size_limit",
    "streamed",
]

#: How many leading bytes decide the media type.
SNIFF_BYTES = 512

KINDS: tuple[MediaKind, ...] = (ImageKind(), TextKind(), AudioKind(), VideoKind())

#: What every kind accepts, for messages.
SUPPORTED = "a supported image, text, audio or video type"


def identify(data: bytes) -> tuple[MediaKind, str]:
    """The kind and media type of ``data`` (the whole content, or at least its first
    ``SNIFF_BYTES``); ``UnsupportedMedia`` when no kind takes it."""
    head = data[:SNIFF_BYTES]
    tag_end = id3_tag_end(head)
    return _identified(head, data[tag_end : tag_end + 4] if tag_end is not None else None)


def identify_stream(stream: BinaryIO) -> tuple[MediaKind, str]:
    """``identify`` for a seekable stream, read from its start (left there after)."""
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    tag_end = id3_tag_end(head)
    behind = None
    if tag_end is not None:
        stream.seek(tag_end)
        behind = stream.read(4)
    stream.seek(0)
    return _identified(head, behind)


def _identified(head: bytes, behind_id3: bytes | None) -> tuple[MediaKind, str]:
    """The kind from the first bytes (and the four behind a leading ID3 tag, if any)."""
    if not head:
        raise UnsupportedMedia("empty file (0 bytes)")
    media_type = sniff(head)
    if behind_id3 is not None:
        media_type = sniff_behind_id3(media_type, behind_id3)
    for kind in KINDS:
        if media_type in kind.media_types:
            return kind, media_type
    if head[4:8] == b"jumb" and b"c2pa" in head[8:64]:  # a JUMBF superbox labelled c2pa
        raise UnsupportedMedia(
            "a C2PA manifest store on its own (a sidecar), not content: verify the content "
            "it belongs to, which finds NAME.c2pa beside it",
            remedy=Remedy.MANIFEST_ALONE,
        )
    raise UnsupportedMedia(f"not {SUPPORTED}")


def streamed(kind: MediaKind) -> StreamedKind | None:
    """``kind`` when its files are read as streams (audio, video), else None."""
    # An attribute look-up, not isinstance: a runtime Protocol check walks every member,
    # and this runs for every file verified.
    return cast("StreamedKind", kind) if getattr(kind, "streamed", False) else None


def size_limit(kind: MediaKind, limits: Limits) -> int:
    """The largest file of ``kind`` that is read: streamed kinds have their own limit."""
    return limits.max_stream_bytes if streamed(kind) else limits.max_file_bytes


@contextlib.contextmanager
def open_content(path: Path, limits: Limits) -> Iterator[tuple[MediaKind, str, BinaryIO]]:
    """``path`` opened (a regular file), its kind and media type from its first bytes, and
    its size checked against that kind's limit (``size_limit``); ``InputError`` without
    the path in the message. The stream is at its start."""
    from provenance._internal.fs import open_input

    from .containers import stream_size

    with open_input(path, max(limits.max_file_bytes, limits.max_stream_bytes)) as handle:
        kind, media_type = identify_stream(handle)
        limit = size_limit(kind, limits)
        if stream_size(handle) > limit:
            raise InputError(f"larger than the {limit:,}-byte limit for {kind.name} files")
        yield kind, media_type, handle


def kind_name(media_type: str | None) -> str | None:
    """The name of the kind that takes ``media_type`` ("image", "audio", ...), or None."""
    return next((kind.name for kind in KINDS if media_type in kind.media_types), None)


def load_asset(data: bytes, *, limits: Limits = Limits(), path: Path | None = None) -> Asset:
    """Check that ``data`` is content some kind can sign, within the limits (in memory:
    ``limits.max_file_bytes`` for every kind)."""
    if len(data) > limits.max_file_bytes:
        raise InputError(f"larger than the {limits.max_file_bytes:,}-byte limit")
    kind, media_type = identify(data)
    kind.check(data, media_type, limits)
    return Asset(data, media_type, kind, path, limits)


def mark_algorithms() -> Iterator[str]:
    """Every watermark algorithm some kind detects (the soft-binding API lists them)."""
    for kind in KINDS:
        if kind.mark is not None:
            yield from sorted(kind.mark.algs)
