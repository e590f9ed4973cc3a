"""Statistical watermark for LLM-generated text (KGW-style, keyed AES green lists).

* ``WatermarkLogitsProcessor`` (``processor``, needs the ``llm`` extra) biases any Hugging
  Face model's sampling towards the key's green tokens.
* ``detect_text`` / ``detect_tokens`` (``detector``, numpy and scipy only) test text with the
  generating model's tokenizer and the key: exact binomial p-value over distinct
  (context, token) pairs, and a verdict. ``detect_text`` first removes the toolkit's own
  invisible characters (``without_provenance_marks``): a signed text tests as generated.
* ``load_tokenizer`` (``tokenizers``) finds that tokenizer offline, by path or known name.

The key is the key store's watermark secret (``KeyStore.watermark_key(name).secret``); the
text mark derives its own AES key from it, independent from the image watermark's.
``WatermarkLogitsProcessor`` is imported lazily, so this package imports without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import LLMExtraMissing, TokenizerNotFound, TokenizerUnreadable
from .detector import (
    Detection,
    DetectionConfig,
    Verdict,
    binomial_p_value,
    detect_text,
    detect_tokens,
    without_provenance_marks,
)
from .greenlist import GreenList, WatermarkScheme, derive_key
from .tokenizers import KNOWN_TOKENIZERS, TextTokenizer, load_tokenizer

if TYPE_CHECKING:
    from .processor import WatermarkLogitsProcessor

__all__ = [
    "KNOWN_TOKENIZERS",
    "Detection",
    "DetectionConfig",
    "GreenList",
    "LLMExtraMissing",
    "TextTokenizer",
    "TokenizerNotFound",
    "TokenizerUnreadable",
    "Verdict",
    "WatermarkLogitsProcessor",
    "WatermarkScheme",
    "binomial_p_value",
    "derive_key",
    "detect_text",
    "detect_tokens",
    "load_tokenizer",
    "without_provenance_marks",
]


def __getattr__(name: str) -> Any:
    if name == "WatermarkLogitsProcessor":
        from .processor import WatermarkLogitsProcessor

        return WatermarkLogitsProcessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
