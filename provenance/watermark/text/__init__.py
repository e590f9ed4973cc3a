"""Keyed invisible payload in text: the record id survives where the C2PA wrapper does not.

    from provenance.watermark.text import embed_payload, detect_payload

    marked = embed_payload(text, record_id_8_bytes, secret)
    found = detect_payload(marked, [secret])   # found.detected, found.payload, found.copies

The payload (8 bytes + 32-bit HMAC tag, Reed-Solomon coded, whitened with the secret) is
carried twice, as variation selectors after a letter and as zero-width characters at the
end of a word, a copy of each in every ``WORDS_PER_COPY`` (50) consecutive words: about
x1.5 the text's UTF-8 size (v1, still read: x3.0). ``embed_payload(..., layout=Layout(...))``
trades size for density (docs/benchmarks.md has the curve). Both survive NFC/NFKC,
JSON, HTML sanitisers, whitespace collapse and 50-word excerpts. What removes them:
``encode("ascii", "ignore")`` and other ASCII-only conversions, "invisible character"
removers that strip all default-ignorable code points, and retyping or paraphrase; one
carrier alone is lost to a stripper aimed at it (zero-width cleaners, emoji/variation
selector sanitisers). See docs/benchmarks.md for the measured table.

``TextPayloadEngine`` (``engine``) is the text kind's ``mark``.

``strip_carriers(text)`` removes both carriers and the C2PA wrapper's characters, e.g.
before tokenising a signed text for the LLM watermark's detector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

from .config import (
    ALGORITHM,
    ALGORITHM_V1,
    ALGORITHMS,
    FORMAT,
    FORMAT_V1,
    LAYOUT,
    LAYOUT_V1,
    PAYLOAD_BYTES,
    WORDS_PER_COPY,
    Layout,
)

if TYPE_CHECKING:
    from provenance.errors import PayloadNotEmbeddable

    from .carriers import strip_carriers
    from .detect import TextDetection, detect_payload
    from .embed import embed_payload
    from .engine import TextPayloadEngine

# The codec loads on first use: the media-kind registry needs only ALGORITHMS to start.
__getattr__ = lazy_attributes(
    __name__,
    {
        "PayloadNotEmbeddable": "provenance.errors",
        "TextDetection": ".detect",
        "TextPayloadEngine": ".engine",
        "detect_payload": ".detect",
        "embed_payload": ".embed",
        "strip_carriers": ".carriers",
    },
)

__all__ = [
    "ALGORITHM",
    "ALGORITHMS",
    "ALGORITHM_V1",
    "FORMAT",
    "FORMAT_V1",
    "LAYOUT",
    "LAYOUT_V1",
    "PAYLOAD_BYTES",
    "WORDS_PER_COPY",
    "Layout",
    "PayloadNotEmbeddable",
    "TextDetection",
    "TextPayloadEngine",
    "detect_payload",
    "embed_payload",
    "strip_carriers",
]
