"""The two LLM watermark modes, and which one a key uses.

* ``distortion-free`` (the default for new keys): exponential-minimum sampling over keyed
  uniforms (``exponential``); averaged over keys, every token is drawn from the model's own
  distribution, so the watermark costs no quality. Its score has an exact Gamma null.
* ``green-list`` (the toolkit's first mode, KGW-style, ``greenlist``): adds ``delta`` to the
  logits of keyed green tokens. It changes what the model writes (about +0.2-0.3 nats/token
  at delta 2) but each scored token carries more evidence, so it survives heavier editing.

A key store's watermark key records its mode (``WatermarkKey.llm_mode``); keys written
before modes existed read as ``green-list``, the only mode there was. See
docs/llm-watermark.md for the measured trade-off.
"""

from __future__ import annotations

from enum import StrEnum


class LLMMode(StrEnum):
    DISTORTION_FREE = "distortion-free"
    GREEN_LIST = "green-list"


DEFAULT_MODE = LLMMode.DISTORTION_FREE  # what new keys record
LEGACY_MODE = LLMMode.GREEN_LIST  # what a key without a recorded mode means


def parse_mode(value: str) -> LLMMode:
    """``value`` as a mode; ValueError names the valid ones."""
    try:
        return LLMMode(value)
    except ValueError:
        valid = ", ".join(mode.value for mode in LLMMode)
        raise ValueError(f"unknown LLM watermark mode {value!r} (valid: {valid})") from None
