"""Still images: C2PA through c2pa-rs, the invisible watermark in the pixels."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provenance.errors import InputError, ProvenanceError, Remedy, UnsupportedMedia
from provenance.kinds.media import IMAGE_TYPES, Limits, check_image_header
from provenance.report import MarkStatus, Region, Watermark
from provenance.watermark.image.config import ALGORITHM, ALGORITHMS

from .base import Asset, Marker

# The watermark engine (NumPy, SciPy) and Pillow's decoders load inside the methods that
# need pixels: identifying, checking and reading credentials cost neither.
if TYPE_CHECKING:
    from PIL import Image

    from provenance.credentials.read import CredentialReader, ManifestStore
    from provenance.credentials.sign import ManifestSigner
    from provenance.keystore.records import WatermarkKey
    from provenance.report import LLMWatermark
    from provenance.watermark.image import Detection, WatermarkSecret
    from provenance.watermark.llm.detector import Encoder

__all__ = ["ImageKind"]

log = logging.getLogger(__name__)

# Formats whose pixels Pillow decodes here (HEIC/HEIF through pillow-heif: without it,
# decode_image says so); the detector needs pixels. JPEG XL and SVG have no decoder here.
_DECODABLE = IMAGE_TYPES - {"image/jxl", "image/svg+xml"}


class ImageKind:
    name = "image"
    sidecars = True
    media_types = IMAGE_TYPES
    mark_algs = frozenset(ALGORITHMS)
    mark_alg = ALGORITHM

    def check(self, data: bytes, media_type: str, limits: Limits) -> None:
        check_image_header(data, media_type, limits)

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        return reader.read(data, media_type)

    def detect_mark(
        self,
        data: bytes,
        media_type: str,
        secrets: Sequence[WatermarkSecret],
        limits: Limits,
        *,
        strict: bool = False,
        localise: bool = True,
    ) -> Watermark:
        if media_type not in _DECODABLE:
            return Watermark.not_checked(f"this toolkit cannot decode {media_type} pixels")
        from provenance.kinds.imaging import decode_image
        from provenance.watermark.image import detect

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
            scale=round(found.scale, 4),
            angle=round(found.angle, 3),
            offset=(round(found.offset[0], 1), round(found.offset[1], 1)),
            altered_regions=regions,
        )

    def detect_llm(
        self, data: bytes, media_type: str, keys: Sequence[WatermarkKey], tokenizer: Encoder
    ) -> LLMWatermark | None:
        return None  # only text carries an LLM watermark

    def marker(self, asset: Asset, secret: WatermarkSecret) -> Marker:
        # The mark is checked to read back from the very bytes that get signed, and
        # strengthened or refused (UnsupportedMedia) when it does not: a manifest never
        # declares a soft binding that `watermark detect` cannot find. sign_loaded calls
        # mark() before anything is stored, so a refusal there leaves no record.
        from provenance.kinds.imaging import decode_image
        from provenance.watermark.image.files import mark_in_kind, unmarkable

        name = str(asset.path or "the image")
        source = decode_image(asset.data, name, asset.limits)
        reason = unmarkable(source)
        if reason is not None:
            raise UnsupportedMedia(
                f"cannot watermark {name}: {reason}; convert it first",
                remedy=Remedy.NO_WATERMARK,
            )

        def mark(payload: bytes) -> bytes:
            return mark_in_kind(
                source,
                payload,
                secret,
                name,
                remedy=Remedy.NO_WATERMARK,
                alg=self.mark_alg,
            )

        return mark

    def embed_credentials(
        self, data: bytes, media_type: str, definition: Mapping[str, Any], signer: ManifestSigner
    ) -> tuple[bytes, bytes]:
        return signer.embed_with_manifest(data, media_type, definition)

    def content_type(self, media_type: str) -> str:
        return media_type


def _altered_regions(
    image: Image.Image, found: Detection, secrets: Sequence[WatermarkSecret]
) -> tuple[Region, ...]:
    """Where the found mark is missing; empty (and a warning) when that cannot be worked
    out: where it was edited is extra, it must never cost the finding."""
    from provenance.watermark.image import altered_regions

    try:
        secret = next(s for s in secrets if s.name == found.secret_name)
        return tuple(
            Region(r.x, r.y, r.width, r.height, round(r.share, 4), r.state)
            for r in altered_regions(image, found, secret)
        )
    except Exception:
        log.warning("watermark found, but localising it failed", exc_info=True)
        return ()
