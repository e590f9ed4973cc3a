"""Plain text: the C2PA text wrapper (built here, validated by c2pa-rs and this toolkit);
its mark is the invisible payload (``TextPayloadEngine``), and text a language model wrote
may carry that model's statistical watermark (``LanguageModelTest``, not a soft binding)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provenance.errors import UsageError
from provenance.kinds.media import TEXT_TYPES, Limits, decode_text
from provenance.watermark.text.engine import TextPayloadEngine

# The C2PA text wrapper (c2pa-rs, CBOR, COSE, the key store), the payload codec and the
# LLM detector load in the methods that read or write them: identifying and checking
# text costs none of that.
if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader
    from provenance.credentials.sign import ManifestSigner
    from provenance.credentials.store import ManifestStore
    from provenance.keystore.records import WatermarkKey
    from provenance.kinds.base import LLMTest
    from provenance.report import LLMWatermark
    from provenance.watermark.engine import MarkEngine
    from provenance.watermark.llm.detector import Encoder


class LanguageModelTest:
    """The LLM watermark test of text (docs/llm-watermark.md): the text kind's ``llm``."""

    def detect(
        self, data: bytes, keys: Sequence[WatermarkKey], tokenizer: Encoder
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


class TextKind:
    name = "text"
    sidecars = False
    media_types = TEXT_TYPES
    mark: MarkEngine | None = TextPayloadEngine()
    llm: LLMTest | None = LanguageModelTest()

    def check(self, data: bytes, media_type: str, limits: Limits) -> None:
        decode_text(data, limits)

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        from provenance.credentials.text import read_text_manifest

        return read_text_manifest(decode_text(data, limits), reader)

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
