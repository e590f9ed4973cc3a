"""The text payload as the text kind's engine (``provenance.watermark.engine.MarkEngine``).

The codec, the C2PA text wrapper and the kinds' text decoding load in the methods that
use them: the kinds registry builds this engine on import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from provenance.report import MarkStatus, Watermark

from .config import ALGORITHM, ALGORITHMS

if TYPE_CHECKING:
    from provenance.kinds.media import Limits
    from provenance.watermark.engine import Marker
    from provenance.watermark.secret import WatermarkSecret


class TextPayloadEngine:
    """Variation selectors and zero-width characters: v2 written, v1 still read."""

    alg = ALGORITHM
    algs = frozenset(ALGORITHMS)
    streams = False

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
        from provenance.credentials.text import TextWrapperError, strip_text_manifest
        from provenance.kinds.media import decode_text

        from .detect import detect_payload

        text = decode_text(data, limits)
        # A damaged wrapper's characters are not payload carriers: detect in the text as is.
        with contextlib.suppress(TextWrapperError):
            text = strip_text_manifest(text)
        found = detect_payload(text, secrets)
        if not found.detected or found.payload is None:
            return Watermark(MarkStatus.NOT_FOUND, alg=ALGORITHM, p_value=found.p_value)
        return Watermark(
            MarkStatus.FOUND,
            detected=True,
            alg=found.algorithm or ALGORITHM,
            payload=found.payload.hex(),
            key=found.secret_name,
            p_value=found.p_value,
        )

    def marker(
        self, data: bytes, media_type: str, secret: WatermarkSecret, limits: Limits, name: str
    ) -> Marker:
        from provenance.credentials.text import find_wrapper, strip_text_manifest
        from provenance.kinds.media import decode_text

        from .carriers import strip_carriers
        from .embed import embed_payload

        text = decode_text(data, limits)
        if find_wrapper(text) is not None:
            # Signed text (an edit of itself): sign_loaded keeps it, wrapper and payload,
            # as the parent; the edit carries only its own record's payload and wrapper.
            text = strip_carriers(strip_text_manifest(text))

        def mark(payload: bytes) -> bytes:
            return embed_payload(text, payload, secret).encode("utf-8")

        return mark
