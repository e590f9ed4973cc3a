"""Still images: C2PA through c2pa-rs; the mark in the pixels is ``ImageMarkEngine``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from provenance.kinds.media import IMAGE_TYPES, Limits, check_image_header
from provenance.watermark.image.engine import ImageMarkEngine

if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader
    from provenance.credentials.sign import ManifestSigner
    from provenance.credentials.store import ManifestStore
    from provenance.kinds.base import LLMTest
    from provenance.watermark.engine import MarkEngine


class ImageKind:
    name = "image"
    sidecars = True
    media_types = IMAGE_TYPES
    mark: MarkEngine | None = ImageMarkEngine()
    llm: LLMTest | None = None

    def check(self, data: bytes, media_type: str, limits: Limits) -> None:
        check_image_header(data, media_type, limits)

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        return reader.read(data, media_type)

    def embed_credentials(
        self, data: bytes, media_type: str, definition: Mapping[str, Any], signer: ManifestSigner
    ) -> tuple[bytes, bytes]:
        return signer.embed_with_manifest(data, media_type, definition)

    def content_type(self, media_type: str) -> str:
        return media_type
