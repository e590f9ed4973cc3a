"""Keyed green lists: which tokens the watermark favours after a given context.

A token ``t`` that follows the context ``c`` (the ``h`` token ids just before it) is *green*
when the first eight bytes of ``AES-256_K(block(c, t))``, read as a big-endian integer, fall
below ``gamma * 2**64``. ``block`` packs the ``h`` context ids and ``t`` as big-endian 32-bit
words into one 16-byte AES block (left-padded with ``0xFFFFFFFF``, which is never a token id),
and ``K = HMAC-SHA256(store secret, "provenance-llm-v1/h=<h>")``.

Why this construction:

* **Device-independent.** The lists come from token ids alone, through AES, on the CPU. The
  `transformers` KGW processor seeds ``torch.Generator`` on the logits' device, so CPU and
  CUDA draw different lists; here generation and detection agree on every machine.
* **One cipher call, vectorised.** A generation step needs the whole vocabulary for one
  context (``V`` blocks); detection needs arbitrary (context, token) pairs (``N`` blocks).
  Both are a single AES-ECB call over a numpy buffer: about 1 ms for GPT-2's 50,257 ids.
* **Exact null distribution.** AES with a secret key is a pseudorandom permutation, so every
  distinct (context, token) pair is green with probability ``gamma`` independently of every
  other pair, for any text written without the key. ECB's usual weakness, equal blocks giving
  equal outputs, is the determinism wanted here. Membership is per pair rather than a fixed
  ``gamma * V`` list per context, which keeps pairs sharing a context independent too; that
  independence is what makes the detector's binomial test exact (see ``detector``).
* **Independent from the image watermark.** The label ``provenance-llm-v1`` separates this
  key from the image watermark's subkeys derived from the same store secret.

Context width ``h`` defaults to 1 (the previous token, KGW's "LeftHash" as in the paper and
in `transformers`). A replaced token spoils the score of at most ``h + 1`` tokens, so ``h = 1``
is the most robust to edits (with 30% of tokens replaced, about 49% of scored tokens survive
at ``h = 1`` against 34% at ``h = 2``). The price is that after one given token the green
list is always the same, which an adversary with a great deal of watermarked text can
estimate by counting; ``h`` up to 3 is available when that matters more than robustness.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from numpy.typing import ArrayLike, NDArray

KEY_LABEL = b"provenance-llm-v1"
MAX_CONTEXT_WIDTH = 3  # h context ids + the token fill one 16-byte AES block
_PAD = np.uint32(0xFFFFFFFF)
_MAX_TOKEN_ID = 0xFFFFFFFE
_MIN_SECRET_BYTES = 16


@dataclass(frozen=True)
class WatermarkScheme:
    """What generation and detection must agree on (besides the key).

    ``gamma`` is the green fraction: the chance that a token is green for text written without
    the key. ``context_width`` is ``h``, the number of previous tokens that seed the list.
    """

    gamma: float = 0.25
    context_width: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.gamma < 1.0:
            raise ValueError(f"gamma must lie strictly between 0 and 1, not {self.gamma}")
        if not 1 <= self.context_width <= MAX_CONTEXT_WIDTH:
            raise ValueError(
                f"context_width must be 1..{MAX_CONTEXT_WIDTH}, not {self.context_width}"
            )

    @property
    def threshold(self) -> np.uint64:
        """A token is green when its 64-bit value is below this."""
        return np.uint64(min(int(self.gamma * 2.0**64), 2**64 - 1))


def derive_key(secret: bytes, context_width: int) -> bytes:
    """The AES-256 key for the text watermark, from a key store's watermark secret."""
    if len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the watermark secret must be at least {_MIN_SECRET_BYTES} bytes")
    label = KEY_LABEL + b"/h=" + str(context_width).encode()
    return hmac.new(secret, label, hashlib.sha256).digest()


def _as_ids(values: ArrayLike, what: str) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{what} must be integer token ids, not {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() > _MAX_TOKEN_ID):
        raise ValueError(f"{what} must lie in 0..{_MAX_TOKEN_ID}")
    return array


def context_rows(contexts: ArrayLike, context_width: int) -> NDArray[np.int64]:
    """``contexts`` as token ids of shape ``(n, context_width)``; ``ValueError`` else."""
    array = _as_ids(contexts, "contexts")
    if array.ndim != 2 or array.shape[1] != context_width:
        raise ValueError(f"contexts must have shape (n, {context_width}), not {array.shape}")
    return array


def paired_rows(
    contexts: ArrayLike, tokens: ArrayLike, context_width: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``contexts`` (``context_rows``) and one token id for each; ``ValueError`` else."""
    context_ids = context_rows(contexts, context_width)
    token_ids = _as_ids(tokens, "tokens")
    if token_ids.shape != (context_ids.shape[0],):
        raise ValueError("need exactly one token per context")
    return context_ids, token_ids


class GreenList:
    """The green lists of one key under one scheme; see the module docstring."""

    def __init__(self, secret: bytes, scheme: WatermarkScheme | None = None) -> None:
        self.scheme = scheme or WatermarkScheme()
        self._cipher = Cipher(
            algorithms.AES(derive_key(secret, self.scheme.context_width)), modes.ECB()
        )

    def _values(self, blocks: NDArray[np.uint32]) -> NDArray[np.uint64]:
        """AES of each row (4 words) of ``blocks``; the first 8 bytes of each as uint64."""
        plain = np.ascontiguousarray(blocks, dtype=">u4").tobytes()
        encryptor = self._cipher.encryptor()
        cipher = encryptor.update(plain) + encryptor.finalize()
        return np.frombuffer(cipher, dtype=">u8")[::2].astype(np.uint64)

    def _blocks(self, contexts: NDArray[np.int64], tokens: NDArray[np.int64]) -> NDArray[np.uint32]:
        h = self.scheme.context_width
        blocks = np.full((tokens.shape[0], 4), _PAD, dtype=np.uint32)
        blocks[:, 3 - h : 3] = contexts
        blocks[:, 3] = tokens
        return blocks

    def is_green(self, contexts: ArrayLike, tokens: ArrayLike) -> NDArray[np.bool_]:
        """Whether ``tokens[i]`` is green after ``contexts[i]`` (shape ``(n, h)``)."""
        context_ids, token_ids = paired_rows(contexts, tokens, self.scheme.context_width)
        if not token_ids.size:
            return np.zeros(0, dtype=np.bool_)
        values = self._values(self._blocks(context_ids, token_ids))
        return values < self.scheme.threshold

    def green_mask(self, contexts: ArrayLike, vocab_size: int) -> NDArray[np.bool_]:
        """For each context (shape ``(b, h)``), which of the ids ``0..vocab_size-1`` are green."""
        if vocab_size < 1:
            raise ValueError("vocab_size must be positive")
        context_ids = context_rows(contexts, self.scheme.context_width)
        batch = context_ids.shape[0]
        vocab = np.arange(vocab_size, dtype=np.int64)
        repeated = np.repeat(context_ids, vocab_size, axis=0)
        values = self._values(self._blocks(repeated, np.tile(vocab, batch)))
        return (values < self.scheme.threshold).reshape(batch, vocab_size)

    def green_ids(self, context: Sequence[int], vocab_size: int) -> NDArray[np.int64]:
        """The green ids after one context (a convenience for inspection and tests)."""
        mask = self.green_mask([list(context)], vocab_size)[0]
        return np.flatnonzero(mask).astype(np.int64)
