"""Detect the distortion-free watermark: an exact Gamma test on keyed uniforms.

Scoring. A token whose context (the ``h`` ids before it) comes for the first time in the text
is scored with ``s = -log(1 - r)``, ``r`` the key's uniform for that (context, token) pair
(``exponential``); tokens after a repeated context are skipped, as the processor leaves them
unwatermarked. The score is ``S``, the sum over the ``n`` scored tokens.

Null distribution. For text written without the key, the scored pairs are distinct (their
contexts are), so their ``r`` are independent uniforms (AES under a secret key is a
pseudorandom permutation) and each ``s`` is a standard exponential: ``S ~ Gamma(n, 1)``
exactly, whatever the text, its language or its length. The p-value is the regularised upper
incomplete gamma function ``Q(n, S)``, computed in closed form (no trained detector, no
empirical threshold). Under the watermark the chosen tokens have ``r`` close to 1 and each
scored token adds on average about ``1 + H`` (``H`` the model's entropy at that step, nats).

The verdicts are those of the green-list mode (``DetectionConfig``): the same p-value
thresholds and the same minimum of 30 scored tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaincc

from .detector import DetectionConfig, Encoder, Verdict, without_provenance_marks
from .exponential import KeyedUniforms, first_contexts


def gamma_p_value(score: float, scored: int) -> float:
    """``P[Gamma(scored, 1) >= score]``: the chance of a score this high without the key."""
    if scored < 0 or not score >= 0.0:
        raise ValueError(f"need scored >= 0 and score >= 0, got {score} over {scored}")
    if scored == 0:
        return 1.0
    return float(gammaincc(scored, score))


@dataclass(frozen=True)
class ExponentialDetection:
    """The outcome of one test in the distortion-free mode."""

    verdict: Verdict
    p_value: float
    tokens: int  # token ids in the text
    positions: int  # tokens after the first h: those with a full context
    scored_tokens: int  # among them, those whose context came for the first time
    score: float  # sum of -log(1 - r) over the scored tokens
    context_width: int

    @property
    def repeated_contexts(self) -> int:
        """Tokens left out because their context came earlier in the text."""
        return self.positions - self.scored_tokens

    @property
    def mean_score(self) -> float:
        """The score per scored token: 1 on average without the watermark."""
        return self.score / self.scored_tokens if self.scored_tokens else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": str(self.verdict),
            "p_value": self.p_value,
            "tokens": self.tokens,
            "scored_tokens": self.scored_tokens,
            "repeated_contexts": self.repeated_contexts,
            "score": round(self.score, 6),
            "mean_score": round(self.mean_score, 6),
            "context_width": self.context_width,
        }


def detect_tokens_exponential(
    token_ids: Sequence[int] | ArrayLike,
    uniforms: KeyedUniforms,
    config: DetectionConfig | None = None,
) -> ExponentialDetection:
    """Test token ids for the distortion-free watermark of ``uniforms``' key."""
    config = config or DetectionConfig()
    ids = np.asarray(token_ids, dtype=np.int64).ravel()
    h = uniforms.scheme.context_width
    first = first_contexts(ids, h)
    positions = np.flatnonzero(first) + h  # index of each scored token
    contexts = np.lib.stride_tricks.sliding_window_view(ids, h)[positions - h]
    r = uniforms.values(contexts.reshape(-1, h), ids[positions])
    score = float(np.sum(-np.log1p(-r)))
    scored = int(positions.shape[0])
    p_value = gamma_p_value(score, scored)
    return ExponentialDetection(
        verdict=config.verdict(p_value, scored),
        p_value=p_value,
        tokens=int(ids.shape[0]),
        positions=max(0, int(ids.shape[0]) - h),
        scored_tokens=scored,
        score=score,
        context_width=h,
    )


def detect_text_exponential(
    text: str,
    tokenizer: Encoder,
    uniforms: KeyedUniforms,
    config: DetectionConfig | None = None,
) -> ExponentialDetection:
    """Tokenise ``text`` with the generating model's tokenizer and test it; the toolkit's
    own invisible characters are removed first (``without_provenance_marks``)."""
    ids = tokenizer.encode(without_provenance_marks(text))
    return detect_tokens_exponential(ids, uniforms, config)
