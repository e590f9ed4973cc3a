"""A ``transformers`` logits processor for the distortion-free mode (exponential minimum).

    from transformers import LogitsProcessorList
    from provenance.watermark.llm import watermark_processor

    key = KeyStore.open(home).watermark_keys.get()
    processor = watermark_processor(key)  # the mode the key records
    model.generate(**inputs, do_sample=True, logits_processor=LogitsProcessorList([processor]))

At each step, for each sequence of the batch, it takes the scores as the earlier processors
and warpers (temperature, top-k, top-p) left them, and keeps only the token that
``exponential.choose_tokens`` picks for the key and the last ``h`` ids: every other score
becomes ``-inf``, so sampling (or greedy search) emits exactly that token. Averaged over
keys the token follows the model's distribution (``exponential``). Where the last ``h`` ids
already came as the context of an earlier token of the sequence (prompt included), the
scores pass unchanged and the sampler draws with its own randomness. Put it last in the list.

The keyed uniforms come from token ids on the CPU, so CPU and CUDA runs mark identically;
the cost at GPT-2's vocabulary is measured in docs/benchmarks.md (well under 1 ms a step).
This module needs the ``llm`` extra (torch, transformers).
"""

from __future__ import annotations

from provenance.errors import LLMExtraMissing

try:
    import torch
    from transformers import LogitsProcessor
except ImportError as exc:  # pragma: no cover - exercised on a base install
    raise LLMExtraMissing(exc.name or "transformers", "the watermarking logits processor") from None

import numpy as np

from .exponential import ExponentialScheme, KeyedUniforms, context_seen_before


class DistortionFreeLogitsProcessor(LogitsProcessor):
    """Keeps only the keyed exponential-minimum choice of each sequence's distribution."""

    def __init__(self, uniforms: KeyedUniforms) -> None:
        self.uniforms = uniforms

    @classmethod
    def from_secret(
        cls, secret: bytes, *, scheme: ExponentialScheme | None = None
    ) -> DistortionFreeLogitsProcessor:
        """From a key store's 32-byte watermark secret (``store.watermark_keys.get().secret``)."""
        return cls(KeyedUniforms(secret, scheme))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        h = self.uniforms.scheme.context_width
        if input_ids.shape[-1] < h:
            return scores  # no full context yet
        ids = input_ids.detach().to("cpu").numpy()
        fresh = np.array([not context_seen_before(row, h) for row in ids], dtype=np.bool_)
        if not fresh.any():
            return scores
        rows = np.flatnonzero(fresh)
        row_index = torch.from_numpy(rows)
        logits = scores.detach()[row_index].to(device="cpu").numpy()
        noise = self.uniforms.noise_table(ids[rows, -h:], int(scores.shape[-1]))
        # choose_tokens(logits, noise), in place in the reused buffer: no 0.4 MB allocation
        np.subtract(logits, noise, out=noise)
        chosen = torch.from_numpy(np.argmax(noise, axis=1)).to(scores.device)
        row_index = row_index.to(scores.device)
        kept = scores[row_index, chosen]
        marked = scores.clone()
        marked[row_index] = float("-inf")
        marked[row_index, chosen] = torch.where(torch.isfinite(kept), kept, torch.zeros_like(kept))
        return marked  # type: ignore[return-value]
