"""A ``transformers`` logits processor that embeds the text watermark while sampling.

    from transformers import AutoModelForCausalLM, LogitsProcessorList
    from provenance.keystore import KeyStore
    from provenance.watermark.llm import WatermarkLogitsProcessor

    key = KeyStore.open(home).watermark_keys.get()
    processor = WatermarkLogitsProcessor.from_secret(key.secret)
    model.generate(**inputs, do_sample=True, logits_processor=LogitsProcessorList([processor]))

At each step it adds ``delta`` to the logits of the tokens that are green after the last
``h`` tokens of each sequence (prompt included). Green lists are computed on the CPU from
token ids (``greenlist``), then moved to the logits' device, so a CUDA run and a CPU run
mark identically and the detector needs neither the model nor torch.

This module needs the ``llm`` extra; importing it without torch and transformers raises
``LLMExtraMissing`` naming the install command.
"""

from __future__ import annotations

from provenance.errors import LLMExtraMissing

try:
    import torch
    from transformers import LogitsProcessor
except ImportError as exc:  # pragma: no cover - exercised on a base install
    raise LLMExtraMissing(exc.name or "transformers", "the watermarking logits processor") from None

from .greenlist import GreenList, WatermarkScheme

# delta = 2 with gamma = 0.25 (KGW's defaults) makes about 70% of tokens green where the model
# is uncertain, enough for p <= 1e-6 within a few dozen tokens at a small cost in fluency.
DEFAULT_DELTA = 2.0


class WatermarkLogitsProcessor(LogitsProcessor):
    """Adds ``delta`` to the logits of green tokens (KGW soft watermark, keyed AES lists)."""

    def __init__(self, green_list: GreenList, *, delta: float = DEFAULT_DELTA) -> None:
        if not delta > 0.0:
            raise ValueError(f"delta must be positive, not {delta}")
        self.green_list = green_list
        self.delta = float(delta)

    @classmethod
    def from_secret(
        cls,
        secret: bytes,
        *,
        scheme: WatermarkScheme | None = None,
        delta: float = DEFAULT_DELTA,
    ) -> WatermarkLogitsProcessor:
        """From a key store's 32-byte watermark secret (``store.watermark_keys.get().secret``)."""
        return cls(GreenList(secret, scheme), delta=delta)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        h = self.green_list.scheme.context_width
        if input_ids.shape[-1] < h:
            return scores  # no full context yet: nothing to seed a list with
        contexts = input_ids[:, -h:].detach().to("cpu").numpy()
        mask = self.green_list.green_mask(contexts, int(scores.shape[-1]))
        bias = torch.from_numpy(mask).to(device=scores.device, dtype=scores.dtype)
        return scores + self.delta * bias  # type: ignore[return-value]
