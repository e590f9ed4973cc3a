"""Keyed uniforms and the exponential-minimum choice: the distortion-free mode's sampler.

Every (context, token) pair has a keyed uniform ``r(c, t)`` in (0, 1): the first eight bytes
of ``AES-256_K(block(c, t))`` (``block`` as in ``greenlist``: the ``h`` context ids and the
token as big-endian 32-bit words, left-padded with ``0xFFFFFFFF``), their top 53 bits read as
``(v + 1/2) / 2**53``, with ``K = HMAC-SHA256(store secret, "provenance-llm-v2/exp/h=<h>")``.

Sampling (Aaronson's exponential minimum, the Gumbel-max trick with keyed noise): after the
context ``c``, with the model's next-token distribution ``p``, write the token

    argmax_t  log p(t) - log(-log r(c, t))

For a key drawn at random the ``-log(-log r)`` are independent standard Gumbel variables, so
the token is distributed exactly as ``p``: averaged over keys, the watermark changes nothing
the model writes. For one key the choice is deterministic and leans to tokens whose ``r`` is
close to 1, which the detector sees: the winner's ``r`` is ``U ** p(t)`` for a uniform ``U``,
so ``-log(1 - r)`` is about ``1 + H`` nats larger than under the null on average.

Repeated contexts. A context that already came earlier in the same sequence would repeat the
same keyed choice (and loop a low-entropy model), and its scores would not be independent.
There the processor samples from ``p`` with fresh randomness instead, and the detector scores
only the first occurrence of each context (``first_contexts``), which keeps the null exact.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from numpy.typing import ArrayLike, NDArray

from .greenlist import (
    _MIN_SECRET_BYTES,
    _PAD,
    MAX_CONTEXT_WIDTH,
    context_rows,
    paired_rows,
)

EXPONENTIAL_KEY_LABEL = b"provenance-llm-v2/exp"
_SCALE = 2.0**-53


@dataclass(frozen=True)
class ExponentialScheme:
    """What generation and detection agree on besides the key: the context width ``h``.

    ``h = 1`` (the previous token) is the default: a replaced token then spoils only two
    scores, its own and the next token's (measured against ``h = 2`` in docs/benchmarks.md).
    """

    context_width: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.context_width <= MAX_CONTEXT_WIDTH:
            raise ValueError(
                f"context_width must be 1..{MAX_CONTEXT_WIDTH}, not {self.context_width}"
            )


def derive_exponential_key(secret: bytes, context_width: int) -> bytes:
    """The AES-256 key of the distortion-free mode, from a key store's watermark secret."""
    if len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the watermark secret must be at least {_MIN_SECRET_BYTES} bytes")
    label = EXPONENTIAL_KEY_LABEL + b"/h=" + str(context_width).encode()
    return hmac.new(secret, label, hashlib.sha256).digest()


class _Workspace:
    """Reused buffers for whole-vocabulary tables of one shape.

    Allocating the ~0.8 MB cipher output afresh each step costs more than the AES itself
    (page faults: 0.8 ms against 0.1 ms measured at V = 50,257), so a generation step
    writes into the same buffers every time.
    """

    def __init__(self, batch: int, vocab_size: int, context_width: int) -> None:
        h = context_width
        self.blocks = np.empty((batch, vocab_size, 4), dtype=">u4")
        self.blocks[:, :, : 3 - h] = _PAD
        self.blocks[:, :, 3] = np.arange(vocab_size, dtype=np.uint32)
        self.cipher = np.empty(batch * vocab_size * 16 + 16, dtype=np.uint8)
        self.words = np.empty(batch * vocab_size, dtype=np.uint64)
        self.values = np.empty((batch, vocab_size), dtype=np.float64)


class KeyedUniforms:
    """The keyed uniforms ``r(c, t)`` of one key; see the module docstring.

    Not thread-safe: ``noise_table`` reuses one set of buffers per shape.
    """

    def __init__(self, secret: bytes, scheme: ExponentialScheme | None = None) -> None:
        self.scheme = scheme or ExponentialScheme()
        key = derive_exponential_key(secret, self.scheme.context_width)
        self._cipher = Cipher(algorithms.AES(key), modes.ECB())
        self._workspace: _Workspace | None = None

    def _top_bits(self, plain: NDArray[np.uint8], out: NDArray[np.uint8]) -> NDArray[np.uint64]:
        """The top 53 bits of the first eight bytes of each encrypted block."""
        encryptor = self._cipher.encryptor()
        written = encryptor.update_into(plain.data, out.data)
        encryptor.finalize()
        return out[:written].view(">u8")[::2] >> np.uint64(11)

    def values(self, contexts: ArrayLike, tokens: ArrayLike) -> NDArray[np.float64]:
        """``r(contexts[i], tokens[i])`` for each row of ``contexts`` (shape ``(n, h)``)."""
        context_ids, token_ids = paired_rows(contexts, tokens, self.scheme.context_width)
        if not token_ids.size:
            return np.zeros(0, dtype=np.float64)
        h = self.scheme.context_width
        blocks = np.full((token_ids.shape[0], 4), _PAD, dtype=">u4")
        blocks[:, 3 - h : 3] = context_ids
        blocks[:, 3] = token_ids
        out = np.empty(blocks.size * 4 + 16, dtype=np.uint8)
        top = self._top_bits(blocks.reshape(-1).view(np.uint8), out)
        return (top.astype(np.float64) + 0.5) * _SCALE

    def _fill(self, contexts: ArrayLike, vocab_size: int) -> NDArray[np.float64]:
        if vocab_size < 1:
            raise ValueError("vocab_size must be positive")
        context_ids = context_rows(contexts, self.scheme.context_width)
        batch = context_ids.shape[0]
        h = self.scheme.context_width
        work = self._workspace
        if work is None or work.values.shape != (batch, vocab_size):
            work = self._workspace = _Workspace(batch, vocab_size, h)
        work.blocks[:, :, 3 - h : 3] = context_ids[:, None, :]
        np.copyto(work.words, self._top_bits(work.blocks.reshape(-1).view(np.uint8), work.cipher))
        values = work.values.reshape(-1)
        values[:] = work.words
        values += 0.5
        values *= _SCALE
        return work.values

    def table(self, contexts: ArrayLike, vocab_size: int) -> NDArray[np.float64]:
        """``r(c, t)`` for each context (shape ``(b, h)``) and every id ``0..vocab_size-1``."""
        return self._fill(contexts, vocab_size).copy()

    def noise_table(self, contexts: ArrayLike, vocab_size: int) -> NDArray[np.float64]:
        """``log(-log r(c, t))`` for every id: what ``choose_tokens`` subtracts from the
        logits. The array is a reused buffer, valid until the next call."""
        values = self._fill(contexts, vocab_size)
        np.log(values, out=values)
        np.negative(values, out=values)
        np.log(values, out=values)
        return values


def choose_tokens(log_probs: ArrayLike, noise: ArrayLike) -> NDArray[np.int64]:
    """The exponential-minimum choice of each row: ``argmax log p - log(-log r)``, given
    ``noise = log(-log r)`` (``KeyedUniforms.noise_table``).

    ``log_probs`` may be unnormalised logits (a shift per row changes nothing) and may hold
    ``-inf`` for tokens a warper (top-k, top-p) removed; those are never chosen.
    """
    logits: NDArray[np.floating[Any]] = np.asarray(log_probs, dtype=np.float64)
    noise_array = np.asarray(noise, dtype=np.float64)
    if logits.shape != noise_array.shape or logits.ndim != 2:
        raise ValueError("need logits and noise of one shape (batch, vocab)")
    chosen: NDArray[np.int64] = np.argmax(logits - noise_array, axis=1).astype(np.int64)
    return chosen


def first_contexts(token_ids: ArrayLike, context_width: int) -> NDArray[np.bool_]:
    """For each token after the first ``h``: whether its context (the ``h`` ids before it)
    comes here for the first time. Only these tokens are watermarked and scored."""
    ids = np.asarray(token_ids, dtype=np.int64).ravel()
    h = context_width
    if ids.shape[0] <= h:
        return np.zeros(0, dtype=np.bool_)
    windows = np.lib.stride_tricks.sliding_window_view(ids[:-1], h)
    _, first = np.unique(windows, axis=0, return_index=True)
    mask = np.zeros(windows.shape[0], dtype=np.bool_)
    mask[first] = True
    return mask


def context_seen_before(token_ids: NDArray[np.int64], context_width: int) -> bool:
    """Whether the last ``h`` ids of a sequence already came as the context of an earlier
    token in it: the processor then samples without the watermark (see the docstring)."""
    h = context_width
    if token_ids.shape[0] <= h:
        return False
    current = token_ids[-h:]
    earlier = np.lib.stride_tricks.sliding_window_view(token_ids[:-1], h)
    return bool((earlier == current).all(axis=1).any())
