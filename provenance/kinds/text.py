"""Plain text: the C2PA text wrapper (built here, validated by c2pa-rs and this toolkit)
and the invisible payload carried by variation selectors and zero-width characters."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provenance.errors import UsageError
from provenance.kinds.media import TEXT_TYPES, Limits, decode_text
from provenance.report import MarkStatus, Watermark
from provenance.watermark.text import ALGORITHM, ALGORITHMS

from .base import Asset, Marker

# The C2PA text wrapper (c2pa-rs, CBOR, COSE, the key store) and the payload codec load in
# the methods that read or write them: identifying and checking text costs none of that.
if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader, ManifestStore
    from provenance.credentials.sign import ManifestSigner
    from provenance.keystore.records import WatermarkKey
    from provenance.report import LLMWatermark
    from provenance.watermark.image import WatermarkSecret
    from provenance.watermark.llm.detector import Encoder

__all__ = ["TextKind"]


class TextKind:
    name = "text"
    sidecars = False
    media_types = TEXT_TYPES
    mark_algs = frozenset(ALGORITHMS)  # v2 written; v1 still read
    mark_alg = ALGORITHM

    def check(self, data: bytes, media_type: str, limits: Limits) -> None:
        decode_text(data, limits)

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        from provenance.credentials.text import read_text_manifest

        return read_text_manifest(decode_text(data, limits), reader)

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
        from provenance.credentials.text import TextWrapperError, strip_text_manifest
        from provenance.watermark.text import detect_payload

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

    def detect_llm(
        self, data: bytes, media_type: str, keys: Sequence[WatermarkKey], tokenizer: Encoder
    ) -> LLMWatermark | None:
        """Every key's test, in the mode it records; the best key's p-value times the keys
        tried (Bonferroni), judged with the detector's thresholds."""
        from provenance.report import LLMWatermark
        from provenance.watermark.llm import DetectionConfig, detect_with_key

        if not keys:
            return None
        text = decode_text(data)  # read within the limits already
        tests = [detect_with_key(text, key, tokenizer) for key in keys]
        best = min(tests, key=lambda test: test.p_value)
        p_value = min(1.0, best.p_value * len(tests))
        verdict = DetectionConfig().verdict(p_value, best.scored_tokens)
        return LLMWatermark(
            key=best.key,
            mode=str(best.mode),
            p_value=p_value,
            scored_tokens=best.scored_tokens,
            verdict=str(verdict),
            keys_tried=len(tests),
        )

    def marker(self, asset: Asset, secret: WatermarkSecret) -> Marker:
        from provenance.credentials.text import find_wrapper, strip_text_manifest
        from provenance.watermark.text import embed_payload, strip_carriers

        text = decode_text(asset.data, asset.limits)
        if find_wrapper(text) is not None:
            # Signed text (an edit of itself): sign_loaded keeps it, wrapper and payload,
            # as the parent; the edit carries only its own record's payload and wrapper.
            text = strip_carriers(strip_text_manifest(text))

        def mark(payload: bytes) -> bytes:
            return embed_payload(text, payload, secret).encode("utf-8")

        return mark

    def embed_credentials(
        self, data: bytes, media_type: str, definition: Mapping[str, Any], signer: ManifestSigner
    ) -> tuple[bytes, bytes]:
        from provenance.credentials.manifest import PARENT_KEY
        from provenance.credentials.text import embed_text_manifest, strip_text_manifest

        text = decode_text(data)  # our own output: the input was checked under the limits
        if definition.get(PARENT_KEY) is None:
            _refuse_signed(text)  # its manifest would be dropped
        else:  # an edit: the parent (this text as it was, or another) keeps the manifest
            text = strip_text_manifest(text)

        signed, manifest = embed_text_manifest(text, definition, signer.signer, signer.stamper)
        return signed.encode("utf-8"), manifest

    def content_type(self, media_type: str) -> str:
        return f"{media_type}; charset=utf-8"


def _refuse_signed(text: str) -> None:
    from provenance.credentials.text import find_wrapper

    if find_wrapper(text) is not None:
        raise UsageError("the text already carries a C2PA manifest; sign the original text")
