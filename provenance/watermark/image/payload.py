"""Payload layer: 64 data bits + keyed tag, rate-1/3 convolutional code, soft Viterbi.

The tag is a truncated HMAC of the payload under a key derived from the secret, so a
decoded word from noise (or from another secret's mark) passes with probability
``2**-TAG_BITS`` per attempt: this is what the false-positive bound rests on.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

import numpy as np
import numpy.typing as npt

from .config import ALGORITHM, ALGORITHMS, PAYLOAD_BITS, TAG_BITS
from .keys import subkey

#: Constraint length 7, generators 133/171/165 (octal): the rate-1/3 code of LTE.
_K: Final = 7
_GENERATORS: Final = (0o133, 0o171, 0o165)
_STATES: Final = 1 << (_K - 1)
INFO_BITS: Final = PAYLOAD_BITS + TAG_BITS
CODED_BITS: Final = (INFO_BITS + _K - 1) * len(_GENERATORS)

BitArray = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


def _trellis() -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Predecessors and branch output signs for every (next state, predecessor choice).

    The register is ``(input << 6) | state``; the next state drops the oldest bit, so
    next state ``n`` is reached from ``((n << 1) & 63) | j`` for j in {0, 1}.
    """
    nxt = np.arange(_STATES)
    pred = np.stack([(nxt << 1) & (_STATES - 1), ((nxt << 1) & (_STATES - 1)) | 1], axis=1)
    signs = np.zeros((_STATES, 2, len(_GENERATORS)))
    for n in range(_STATES):
        for j in range(2):
            register = ((n >> (_K - 2)) << (_K - 1)) | int(pred[n, j])
            for g, gen in enumerate(_GENERATORS):
                signs[n, j, g] = 2.0 * _parity(register & gen) - 1.0
    return pred, signs


_PRED, _SIGNS = _trellis()


def _tag(payload: bytes, key: bytes, alg: str) -> bytes:
    mac = hmac.new(subkey(key, "tag"), alg.encode() + payload, hashlib.sha256).digest()
    return mac[: (TAG_BITS + 7) // 8]


def _to_bits(data: bytes, nbits: int) -> BitArray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:nbits]


def encode(payload: bytes, key: bytes, alg: str = ALGORITHM) -> BitArray:
    """The ``CODED_BITS`` coded bits that carry ``payload`` (8 bytes) under ``key`` in the
    format ``alg`` (one of ``ALGORITHMS``)."""
    if alg not in ALGORITHMS:
        raise ValueError(f"unknown image watermark format {alg!r}")
    tag = _to_bits(_tag(payload, key, alg), TAG_BITS)
    info = np.concatenate([_to_bits(payload, PAYLOAD_BITS), tag])
    state = 0
    out = np.empty(CODED_BITS, dtype=np.uint8)
    for t, bit in enumerate(np.concatenate([info, np.zeros(_K - 1, np.uint8)])):
        register = (int(bit) << (_K - 1)) | state
        for g, gen in enumerate(_GENERATORS):
            out[t * len(_GENERATORS) + g] = _parity(register & gen)
        state = register >> 1
    return out


def decode_soft(soft: FloatArray) -> BitArray:
    """Maximum-likelihood info bits from soft coded values (> 0 means 1).

    The correlation metric is the Gaussian-channel ML metric, so per-bit scale only
    matters relative to other bits: pass reliabilities in, not hard decisions.
    """
    steps = INFO_BITS + _K - 1
    y = np.asarray(soft, dtype=np.float64).reshape(steps, len(_GENERATORS))
    metric = np.full(_STATES, -np.inf)
    metric[0] = 0.0
    choice = np.empty((steps, _STATES), dtype=np.uint8)
    rows = np.arange(_STATES)
    tail_block = np.arange(_STATES) >= (_STATES >> 1)  # next states entered by input 1
    for t in range(steps):
        cand = metric[_PRED] + _SIGNS @ y[t]
        best = np.argmax(cand, axis=1)
        choice[t] = best
        metric = cand[rows, best]
        if t >= INFO_BITS:
            metric[tail_block] = -np.inf  # the tail feeds zeros
    state = 0
    bits = np.empty(steps, dtype=np.uint8)
    for t in range(steps - 1, -1, -1):
        bits[t] = state >> (_K - 2)
        state = int(_PRED[state, choice[t, state]])
    return bits[:INFO_BITS]


def tag_matches(info_bits: BitArray, key: bytes) -> tuple[bytes, str] | None:
    """The payload and its format if the decoded tag is the keyed tag of the decoded payload
    in one of ``ALGORITHMS`` (each is one check the false-positive bound counts), else None."""
    payload = np.packbits(info_bits[:PAYLOAD_BITS]).tobytes()
    decoded_tag = info_bits[PAYLOAD_BITS:INFO_BITS]
    for alg in ALGORITHMS:
        if np.array_equal(decoded_tag, _to_bits(_tag(payload, key, alg), TAG_BITS)):
            return payload, alg
    return None
