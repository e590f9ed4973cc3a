"""Invisible watermarks: keyed marks that identify AI-generated media without metadata.

Each mark is an engine (``engine.MarkEngine``) in a folder of its own, attached to its
media kind as ``MediaKind.mark``: ``image`` marks and detects images (see its docstring
for the design), ``text`` carries the payload in text. Every engine takes the same
``WatermarkSecret``. ``llm`` is the statistical watermark a language model writes, which
is not a soft binding and not an engine. Adding an engine is a new folder here plus one
attribute in its kind (docs/design.md, "Media kinds").
"""

from __future__ import annotations

from .engine import MarkEngine, Marker, StreamMarkEngine, StreamMarker, detect_in, streaming
from .secret import MIN_KEY_BYTES, WatermarkSecret

__all__ = [
    "MIN_KEY_BYTES",
    "MarkEngine",
    "Marker",
    "StreamMarkEngine",
    "StreamMarker",
    "WatermarkSecret",
    "detect_in",
    "streaming",
]
