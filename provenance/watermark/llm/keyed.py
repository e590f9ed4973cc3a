"""One detector for both modes: test a text under a key store key, in the mode it records.

``detect_with_key(text, key, tokenizer)`` is what callers outside this package use (``text
detect``, ``verify``): it reads ``key.llm_mode`` (``modes``), runs the green-list binomial
test or the distortion-free Gamma test, and returns one ``LLMDetection`` with the mode, the
exact p-value, the scored tokens and the verdict. ``watermark_processor(key)`` is the
generation side: the ``transformers`` logits processor of the key's mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provenance.keystore.records import WatermarkKey

from .detector import Detection, DetectionConfig, Encoder, Verdict, detect_text
from .exponential import ExponentialScheme, KeyedUniforms
from .exponential_detector import ExponentialDetection, detect_text_exponential
from .greenlist import GreenList, WatermarkScheme
from .modes import LLMMode, parse_mode

if TYPE_CHECKING:
    from transformers import LogitsProcessor


@dataclass(frozen=True)
class LLMDetection:
    """The outcome of testing one text under one key, whichever the key's mode."""

    mode: LLMMode
    key: str  # the key's name in the store
    result: Detection | ExponentialDetection

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict

    @property
    def p_value(self) -> float:
        return self.result.p_value

    @property
    def scored_tokens(self) -> int:
        return self.result.scored_tokens

    def as_dict(self) -> dict[str, object]:
        return {"mode": str(self.mode), "key": self.key, **self.result.as_dict()}


def _mode_of(key: WatermarkKey, mode: LLMMode | str | None) -> LLMMode:
    return parse_mode(str(mode if mode is not None else key.llm_mode))


def detect_with_key(
    text: str,
    key: WatermarkKey,
    tokenizer: Encoder,
    config: DetectionConfig | None = None,
    *,
    mode: LLMMode | str | None = None,
    green_list_scheme: WatermarkScheme | None = None,
    exponential_scheme: ExponentialScheme | None = None,
) -> LLMDetection:
    """Test ``text`` for the LLM watermark of ``key`` (``store.watermark_keys.get(name)``).

    The test is the one of the mode the key records (``mode`` overrides it), tokenised with
    ``tokenizer`` (the generating model's, ``load_tokenizer``); the toolkit's own invisible
    characters are removed first, so a signed text tests as generated. The schemes default
    to what generation uses by default (green list gamma 0.25, h = 1; distortion-free h = 1).
    """
    chosen = _mode_of(key, mode)
    result: Detection | ExponentialDetection
    if chosen is LLMMode.DISTORTION_FREE:
        uniforms = KeyedUniforms(key.secret, exponential_scheme)
        result = detect_text_exponential(text, tokenizer, uniforms, config)
    else:
        result = detect_text(text, tokenizer, GreenList(key.secret, green_list_scheme), config)
    return LLMDetection(mode=chosen, key=key.name, result=result)


def watermark_processor(
    key: WatermarkKey,
    *,
    mode: LLMMode | str | None = None,
    green_list_scheme: WatermarkScheme | None = None,
    exponential_scheme: ExponentialScheme | None = None,
    delta: float | None = None,
) -> LogitsProcessor:
    """The ``transformers`` logits processor that writes ``key``'s watermark in its mode
    (needs the ``llm`` extra). ``delta`` applies to the green-list mode only."""
    chosen = _mode_of(key, mode)
    if chosen is LLMMode.DISTORTION_FREE:
        if delta is not None:
            raise ValueError("delta applies to the green-list mode only")
        from .sampler import DistortionFreeLogitsProcessor

        return DistortionFreeLogitsProcessor.from_secret(key.secret, scheme=exponential_scheme)
    from .processor import DEFAULT_DELTA, WatermarkLogitsProcessor

    options: dict[str, Any] = {"delta": DEFAULT_DELTA if delta is None else delta}
    return WatermarkLogitsProcessor.from_secret(key.secret, scheme=green_list_scheme, **options)
