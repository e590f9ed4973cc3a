"""Statistical watermark for LLM-generated text, in two modes (``modes``; docs/llm-watermark.md).

* ``distortion-free`` (the default for new keys): ``DistortionFreeLogitsProcessor``
  (``sampler``, needs the ``llm`` extra) samples by the keyed exponential minimum
  (``exponential``); averaged over keys the model's distribution is unchanged. Detection:
  an exact Gamma test (``exponential_detector``).
* ``green-list`` (KGW-style, keyed AES green lists): ``WatermarkLogitsProcessor``
  (``processor``, needs the ``llm`` extra) biases sampling towards the key's green tokens.
* ``detect_with_key`` / ``watermark_processor`` (``keyed``): test a text, or make the
  processor, in the mode a key store key records.
* ``detect_text`` / ``detect_tokens`` (``detector``, numpy and scipy only) test text with the
  generating model's tokenizer and the key: exact binomial p-value over distinct
  (context, token) pairs, and a verdict. ``detect_text`` first removes the toolkit's own
  invisible characters (``without_provenance_marks``): a signed text tests as generated.
* ``load_tokenizer`` (``tokenizers``) finds that tokenizer offline, by path or known name.

The key is the key store's watermark secret (``store.watermark_keys.get(name).secret``); the
text mark derives its own AES key from it, independent from the image watermark's.
The processors are imported lazily, so this package imports without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provenance.errors import LLMExtraMissing, TokenizerNotFound, TokenizerUnreadable

from .detector import (
    Detection,
    DetectionConfig,
    Verdict,
    binomial_p_value,
    detect_text,
    detect_tokens,
    without_provenance_marks,
)
from .exponential import ExponentialScheme, KeyedUniforms
from .exponential_detector import (
    ExponentialDetection,
    detect_text_exponential,
    detect_tokens_exponential,
    gamma_p_value,
)
from .greenlist import GreenList, WatermarkScheme, derive_key
from .keyed import LLMDetection, detect_with_key, watermark_processor
from .modes import DEFAULT_MODE, LEGACY_MODE, LLMMode, parse_mode
from .tokenizers import KNOWN_TOKENIZERS, TextTokenizer, load_tokenizer

if TYPE_CHECKING:
    from .processor import WatermarkLogitsProcessor
    from .sampler import DistortionFreeLogitsProcessor

__all__ = [
    "DEFAULT_MODE",
    "KNOWN_TOKENIZERS",
    "LEGACY_MODE",
    "Detection",
    "DetectionConfig",
    "DistortionFreeLogitsProcessor",
    "ExponentialDetection",
    "ExponentialScheme",
    "GreenList",
    "KeyedUniforms",
    "LLMDetection",
    "LLMExtraMissing",
    "LLMMode",
    "TextTokenizer",
    "TokenizerNotFound",
    "TokenizerUnreadable",
    "Verdict",
    "WatermarkLogitsProcessor",
    "WatermarkScheme",
    "binomial_p_value",
    "derive_key",
    "detect_text",
    "detect_text_exponential",
    "detect_tokens",
    "detect_tokens_exponential",
    "detect_with_key",
    "gamma_p_value",
    "load_tokenizer",
    "parse_mode",
    "watermark_processor",
    "without_provenance_marks",
]


def __getattr__(name: str) -> Any:
    if name == "WatermarkLogitsProcessor":
        from .processor import WatermarkLogitsProcessor

        return WatermarkLogitsProcessor
    if name == "DistortionFreeLogitsProcessor":
        from .sampler import DistortionFreeLogitsProcessor

        return DistortionFreeLogitsProcessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
