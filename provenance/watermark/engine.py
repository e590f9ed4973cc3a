"""What a mark engine provides: the optional half of a media kind (``MediaKind.mark``).

A kind is a container (its credentials, in ``provenance.kinds``) plus, when it has one,
a keyed mark that carries the repository record id as a 64-bit payload. The engine says
which soft-binding algorithms it reads (``algs``) and writes (``alg``), detects, and
marks; one that ``streams`` also detects in and marks a seekable stream, so a file far
larger than memory (audio, video) is marked on the streamed signing path and detected
without being read whole. Sign, verify, the soft-binding API and ``watermark detect``
reach a mark only through this interface and ask ``kind.mark is None`` for "no mark".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

if TYPE_CHECKING:
    from provenance.kinds.media import Limits
    from provenance.report import Watermark
    from provenance.watermark.secret import WatermarkSecret

# Embeds a payload (the record id) into the content and returns the marked bytes, in kind.
Marker = Callable[[bytes], bytes]
# Embeds a payload into the content, writing the marked content to the given stream.
StreamMarker = Callable[[bytes, BinaryIO], None]


class MarkEngine(Protocol):
    """A keyed mark of one kind of content."""

    # The soft-binding algorithm new marks are written in, and every one that is read
    # (old formats included, ``alg`` among them).
    alg: str
    algs: frozenset[str]
    # True: this engine also detects in and marks streams (``StreamMarkEngine``).
    streams: bool

    def detect(
        self,
        data: bytes,
        media_type: str,
        secrets: Sequence[WatermarkSecret],
        limits: Limits,
        *,
        strict: bool = False,
        localise: bool = True,
    ) -> Watermark:
        """Look for the mark with ``secrets`` (at least one: the caller says when there is
        no key). ``strict``: content that cannot be decoded for the detector raises
        ``InputError`` (without a manifest it is all there is to judge); otherwise it
        reads ``not_checked`` with the reason. ``localise``: when found, also say where
        the mark no longer is (the engines that can), worth its cost only when the
        content may have been edited. A payload is reported only on an exact keyed tag,
        with the false-positive bound as ``p_value``."""

    def marker(
        self, data: bytes, media_type: str, secret: WatermarkSecret, limits: Limits, name: str
    ) -> Marker:
        """A function that marks ``data`` with a payload, written back in kind; raises
        ``UnsupportedMedia`` first (before a record id is taken) for content it cannot
        mark. ``name`` names the content in messages."""


class StreamMarkEngine(MarkEngine, Protocol):
    """An engine that works on seekable binary streams, never reading them whole."""

    def detect_stream(
        self,
        stream: BinaryIO,
        media_type: str,
        secrets: Sequence[WatermarkSecret],
        limits: Limits,
        *,
        strict: bool = False,
        localise: bool = True,
    ) -> Watermark:
        """``detect`` on a stream (its position is left at the start)."""

    def stream_marker(
        self,
        source: BinaryIO,
        media_type: str,
        secret: WatermarkSecret,
        limits: Limits,
        name: str,
    ) -> StreamMarker:
        """``marker`` on a stream: the function writes the marked content to its output
        stream, reading ``source`` in bounded pieces."""


def streaming(engine: MarkEngine) -> StreamMarkEngine | None:
    """``engine`` when it works on streams, else None."""
    return cast("StreamMarkEngine", engine) if engine.streams else None


def detect_in(
    engine: MarkEngine,
    content: bytes | BinaryIO,
    media_type: str,
    secrets: Sequence[WatermarkSecret],
    limits: Limits,
    *,
    strict: bool = False,
    localise: bool = True,
) -> Watermark:
    """Detect in bytes, or in a stream: on the stream itself when the engine streams,
    else read whole within ``limits.max_file_bytes`` (a larger file reads
    ``not_checked``: the mark could not be looked for, which is not "not found")."""
    if isinstance(content, bytes):
        return engine.detect(content, media_type, secrets, limits, strict=strict, localise=localise)
    stream_engine = streaming(engine)
    if stream_engine is not None:
        return stream_engine.detect_stream(
            content, media_type, secrets, limits, strict=strict, localise=localise
        )
    from provenance.report import Watermark

    size = content.seek(0, 2)
    content.seek(0)
    if size > limits.max_file_bytes:
        return Watermark.not_checked(
            f"larger than the {limits.max_file_bytes:,}-byte limit for looking for the "
            "watermark in memory",
            engine.alg,
        )
    try:
        data = content.read()
    finally:
        content.seek(0)
    return engine.detect(data, media_type, secrets, limits, strict=strict, localise=localise)
