"""Still images: C2PA through c2pa-rs, the invisible watermark in the pixels."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provenance.errors import InputError, ProvenanceError, UnsupportedMedia
from provenance.media import IMAGE_TYPES, Limits, check_image_header
from provenance.report import MarkStatus, Watermark
from provenance.watermark.image.config import ALGORITHM

from .base import Asset, Marker

# The watermark engine (NumPy, SciPy) and Pillow's decoders load inside the methods that
# need pixels: identifying, checking and reading credentials cost neither.
if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader, ManifestStore
    from provenance.credentials.sign import ManifestSigner
    from provenance.watermark.image import WatermarkSecret

__all__ = ["ImageKind"]

log = logging.getLogger(__name__)

# Formats whose pixels Pillow decodes here; the detector needs pixels.
_DECODABLE = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff"})


class ImageKind:
    name = "image"
    media_types = IMAGE_TYPES
    mark_algs = frozenset({ALGORITHM})

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
    ) -> Watermark:
        if media_type not in _DECODABLE:
            return Watermark.not_checked(f"this toolkit cannot decode {media_type} pixels")
        from provenance.imaging import decode_image
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
        return Watermark(
            MarkStatus.FOUND,
            detected=True,
            alg=ALGORITHM,
            payload=found.payload.hex(),
            key=found.secret_name,
            p_value=found.p_value,
            scale=round(found.scale, 4),
            angle=round(found.angle, 3),
            offset=(round(found.offset[0], 1), round(found.offset[1], 1)),
        )

    def marker(self, asset: Asset, secret: WatermarkSecret) -> Marker:
        from provenance.imaging import WRITABLE_FORMATS, decode_image, encode_like
        from provenance.watermark.image import embed

        source = decode_image(asset.data, str(asset.path or "input"), asset.limits)
        if source.format not in WRITABLE_FORMATS:
            raise UnsupportedMedia(
                f"cannot watermark {asset.media_type} images and write them back in kind; "
                "sign without a watermark or convert to PNG, JPEG, WebP or TIFF"
            )

        def mark(payload: bytes) -> bytes:
            return encode_like(embed(source.image, payload, secret), source)

        return mark

    def embed_credentials(
        self, data: bytes, media_type: str, definition: Mapping[str, Any], signer: ManifestSigner
    ) -> tuple[bytes, bytes]:
        return signer.embed_with_manifest(data, media_type, definition)

    def content_type(self, media_type: str) -> str:
        return media_type
