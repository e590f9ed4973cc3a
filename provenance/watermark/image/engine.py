"""The image mark as the image kind's engine (``provenance.watermark.engine.MarkEngine``).

Its finding carries the mark's geometry and where it no longer is (``ImageGeometry``).
NumPy, SciPy, Pillow's decoders and the kinds' codecs load in the methods that need
them: building the engine (the kinds registry does, on import) costs none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from provenance.errors import InputError, ProvenanceError, Remedy, UnsupportedMedia
from provenance.report import ImageGeometry, MarkStatus, Region, Watermark

from .config import ALGORITHM, ALGORITHMS

if TYPE_CHECKING:
    from PIL import Image

    from provenance.kinds.media import Limits
    from provenance.watermark.engine import Marker
    from provenance.watermark.secret import WatermarkSecret

    from .detector import Detection

log = logging.getLogger(__name__)

# Formats whose pixels are not decoded here (HEIC/HEIF is, through pillow-heif: without
# it, decode_image says so); the detector needs pixels.
_UNDECODABLE = frozenset({"image/jxl", "image/svg+xml"})


class ImageMarkEngine:
    """The keyed tile in the pixels: v2 written, v1 still read (docs/watermark.md)."""

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
        if media_type in _UNDECODABLE:
            return Watermark.not_checked(f"this toolkit cannot decode {media_type} pixels")
        from provenance.kinds.imaging import decode_image

        from .detector import detect

        try:
            image = decode_image(data, "the image", limits).image
        except InputError as exc:
            if strict:
                raise
            log.debug("no watermark detection: %s", exc.diagnostics())
            return Watermark.not_checked(f"the pixels could not be decoded: {exc}", ALGORITHM)
        try:
            found = detect(image, secrets)
        except ProvenanceError as exc:
            log.debug("no watermark detection: %s", exc.diagnostics())
            return Watermark.not_checked(exc.diagnostics(), ALGORITHM)
        if not found.detected or found.payload is None:
            return Watermark(MarkStatus.NOT_FOUND, alg=ALGORITHM, p_value=found.p_value)
        regions = _altered_regions(image, found, secrets) if localise else ()
        return Watermark(
            MarkStatus.FOUND,
            detected=True,
            alg=found.alg or ALGORITHM,
            payload=found.payload.hex(),
            key=found.secret_name,
            p_value=found.p_value,
            geometry=ImageGeometry(
                scale=round(found.scale, 4),
                angle=round(found.angle, 3),
                offset=(round(found.offset[0], 1), round(found.offset[1], 1)),
                altered_regions=regions,
            ),
        )

    def marker(
        self, data: bytes, media_type: str, secret: WatermarkSecret, limits: Limits, name: str
    ) -> Marker:
        # The mark is checked to read back from the very bytes that get signed, and
        # strengthened or refused (UnsupportedMedia) when it does not: a manifest never
        # declares a soft binding that `watermark detect` cannot find. sign_loaded calls
        # mark() before anything is stored, so a refusal there leaves no record.
        from provenance.kinds.imaging import decode_image

        from .files import mark_in_kind, unmarkable

        source = decode_image(data, name, limits)
        reason = unmarkable(source)
        if reason is not None:
            raise UnsupportedMedia(
                f"cannot watermark {name}: {reason}; convert it first",
                remedy=Remedy.NO_WATERMARK,
            )

        def mark(payload: bytes) -> bytes:
            return mark_in_kind(
                source, payload, secret, name, remedy=Remedy.NO_WATERMARK, alg=self.alg
            )

        return mark


def _altered_regions(
    image: Image.Image, found: Detection, secrets: Sequence[WatermarkSecret]
) -> tuple[Region, ...]:
    """Where the found mark is missing; empty (and a warning) when that cannot be worked
    out: where it was edited is extra, it must never cost the finding."""
    from .regions import altered_regions

    try:
        secret = next(s for s in secrets if s.name == found.secret_name)
        return tuple(
            Region(r.x, r.y, r.width, r.height, round(r.share, 4), r.state)
            for r in altered_regions(image, found, secret)
        )
    except Exception:
        log.warning("watermark found, but localising it failed", exc_info=True)
        return ()
