"""Detect the text watermark from token ids: an exact one-sided binomial test.

Scoring. Every token after the first ``h`` forms a (context, token) pair with the ``h`` ids
before it. Repeated pairs are scored once: a text that repeats itself ("a b a b ...") would
otherwise count the same coin flip many times, and a single lucky green pair would look like
a watermark (measured on transformers 4.57.6: its KGW detector flags an unwatermarked
"a b" x 50 at z = 17.1 for this reason). Among the ``n`` distinct pairs, ``k`` are green.

Test. For text written without the key every distinct pair is green with probability
``gamma``, independently (see ``greenlist``), so ``k ~ Binomial(n, gamma)`` exactly. The
p-value is ``P[Binomial(n, gamma) >= k] = I_gamma(k, n - k + 1)`` (the regularised incomplete
beta function), exact down to the smallest doubles; no normal approximation, which
understates p-values in the tail that matters (transformers 4.57.6 reports 4.6e-10 where
the exact value is 5.5e-9, at z = 5.72). The test is discrete, so its false-positive rate is
at most, and usually a little below, the nominal level.

Verdicts (``DetectionConfig``, thresholds on the p-value):

* ``too short``: fewer than ``min_scored_tokens`` (30) distinct pairs. Below that even a
  strongly watermarked text (about 70% green at the default delta 2 and gamma 0.25) often
  cannot reach 1e-6, so no verdict is given either way.
* ``watermarked``: p <= ``watermarked_p`` (1e-6). For any unmarked text, whatever its
  length or language, at most one key in a million would flag it. One fixed key scoring
  much text of one genre makes correlated errors (texts share their commonest pairs), so
  its own rate can sit above or below the nominal one (measured in docs/benchmarks.md).
* ``inconclusive``: ``watermarked_p`` < p <= ``inconclusive_p`` (1e-2): more green than chance
  suggests, not enough to say so (short, low-entropy or heavily edited text).
* ``not watermarked``: p > 1e-2: no evidence of a watermark under THIS key and scheme. It
  does not show that a person wrote the text.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betainc

from provenance.credentials.text import TextWrapperError, strip_text_manifest
from provenance.watermark.text import strip_carriers

from .greenlist import GreenList


class Verdict(StrEnum):
    WATERMARKED = "watermarked"
    INCONCLUSIVE = "inconclusive"
    NOT_WATERMARKED = "not watermarked"
    TOO_SHORT = "too short"


@dataclass(frozen=True)
class DetectionConfig:
    """The p-value thresholds and minimum length behind the verdict."""

    watermarked_p: float = 1e-6
    inconclusive_p: float = 1e-2
    min_scored_tokens: int = 30

    def __post_init__(self) -> None:
        if not 0.0 < self.watermarked_p <= self.inconclusive_p < 1.0:
            raise ValueError("need 0 < watermarked_p <= inconclusive_p < 1")
        if self.min_scored_tokens < 1:
            raise ValueError("min_scored_tokens must be at least 1")

    def verdict(self, p_value: float, scored_tokens: int) -> Verdict:
        if scored_tokens < self.min_scored_tokens:
            return Verdict.TOO_SHORT
        if p_value <= self.watermarked_p:
            return Verdict.WATERMARKED
        if p_value <= self.inconclusive_p:
            return Verdict.INCONCLUSIVE
        return Verdict.NOT_WATERMARKED


@dataclass(frozen=True)
class Detection:
    """The outcome of one test: counts, exact p-value and verdict."""

    verdict: Verdict
    p_value: float
    tokens: int  # token ids in the text
    pairs: int  # (context, token) pairs: every token after the first h
    scored_tokens: int  # distinct pairs among them
    green_tokens: int  # green among the distinct pairs
    gamma: float

    @property
    def repeated_pairs(self) -> int:
        """Pairs left out because the same (context, token) pair came earlier."""
        return self.pairs - self.scored_tokens

    @property
    def green_fraction(self) -> float:
        return self.green_tokens / self.scored_tokens if self.scored_tokens else 0.0

    @property
    def z_score(self) -> float:
        """Standardised green count (for comparison with other tools; not the test)."""
        n, gamma = self.scored_tokens, self.gamma
        if not n:
            return 0.0
        return (self.green_tokens - gamma * n) / math.sqrt(n * gamma * (1.0 - gamma))

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": str(self.verdict),
            "p_value": self.p_value,
            "tokens": self.tokens,
            "pairs": self.pairs,
            "scored_tokens": self.scored_tokens,
            "repeated_pairs": self.repeated_pairs,
            "green_tokens": self.green_tokens,
            "green_fraction": round(self.green_fraction, 6),
            "gamma": self.gamma,
            "z_score": round(self.z_score, 4),
        }


def binomial_p_value(green: int, scored: int, gamma: float) -> float:
    """``P[Binomial(scored, gamma) >= green]``, exactly (regularised incomplete beta)."""
    if scored < 0 or not 0 <= green <= scored:
        raise ValueError(f"need 0 <= green <= scored, got {green} of {scored}")
    if not 0.0 < gamma < 1.0:
        raise ValueError("gamma must lie strictly between 0 and 1")
    if green == 0:
        return 1.0
    return float(betainc(green, scored - green + 1, gamma))


def scored_pairs(token_ids: ArrayLike, context_width: int) -> NDArray[np.int64]:
    """The distinct (context..., token) rows of a text, in order of first appearance."""
    ids = np.asarray(token_ids, dtype=np.int64).ravel()
    if ids.shape[0] <= context_width:
        return np.zeros((0, context_width + 1), dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(ids, context_width + 1)
    _, first = np.unique(windows, axis=0, return_index=True)
    return np.ascontiguousarray(windows[np.sort(first)])


def detect_tokens(
    token_ids: Sequence[int] | ArrayLike,
    green_list: GreenList,
    config: DetectionConfig | None = None,
) -> Detection:
    """Test token ids for the watermark of ``green_list``'s key."""
    config = config or DetectionConfig()
    ids = np.asarray(token_ids, dtype=np.int64).ravel()
    h = green_list.scheme.context_width
    pairs = scored_pairs(ids, h)
    green = int(np.count_nonzero(green_list.is_green(pairs[:, :h], pairs[:, h])))
    scored = int(pairs.shape[0])
    gamma = green_list.scheme.gamma
    p_value = binomial_p_value(green, scored, gamma)
    return Detection(
        verdict=config.verdict(p_value, scored),
        p_value=p_value,
        tokens=int(ids.shape[0]),
        pairs=max(0, int(ids.shape[0]) - h),
        scored_tokens=scored,
        green_tokens=green,
        gamma=gamma,
    )


class Encoder(Protocol):
    """Anything that turns text into the generating model's token ids."""

    def encode(self, text: str) -> list[int]: ...


def without_provenance_marks(text: str) -> str:
    """``text`` as the model wrote it: without this toolkit's C2PA text wrapper and the
    invisible payload's carriers, which ``provenance sign`` adds after generation.

    Tokenised, those characters would become tokens the model never chose, and each
    (context, token) pair they form is green only by chance: a signed text would read
    ``not watermarked``. A damaged or doubled wrapper cannot be cut out by its declared
    length, so its characters are removed like the carriers'. See ``strip_carriers`` for
    why ordinary variation selectors and zero-width joiners stay.
    """
    # A damaged wrapper stays for strip_carriers, which removes its U+FEFF and selectors.
    with contextlib.suppress(TextWrapperError):
        text = strip_text_manifest(text)
    return strip_carriers(text)


def detect_text(
    text: str,
    tokenizer: Encoder,
    green_list: GreenList,
    config: DetectionConfig | None = None,
) -> Detection:
    """Tokenise ``text`` with the generating model's tokenizer and test it.

    The toolkit's own invisible characters (C2PA wrapper, payload carriers) are removed
    first (``without_provenance_marks``), so signing a text does not hide its watermark.
    """
    return detect_tokens(tokenizer.encode(without_provenance_marks(text)), green_list, config)
