"""The payload: 64 bits of record id plus a 32-bit keyed tag, in the image mark's code.

The same construction as the image mark (``watermark.image.payload``): the tag is a
truncated HMAC-SHA256 of the payload under a key derived from the secret and the
algorithm name, and the 96 bits go through the same rate-1/3 convolutional code,
decoded by the same soft Viterbi decoder. A word decoded from content not marked with
the key passes the tag check with probability 2^-32 per decoding attempt.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

import numpy as np
import numpy.typing as npt

from provenance.watermark.image.payload import CODED_BITS, INFO_BITS, decode_soft

from .config import ALGORITHM, PAYLOAD_BITS, TAG_BITS

BitArray = npt.NDArray[np.uint8]
_K: Final = 7
_GENERATORS: Final = (0o133, 0o171, 0o165)


def subkey(key: bytes, label: str) -> bytes:
    """An independent 32-byte key for one purpose (HMAC-SHA256 as a PRF)."""
    return hmac.new(key, f"{ALGORITHM}/{label}".encode(), hashlib.sha256).digest()


def keyed_rng(key: bytes, label: str) -> np.random.Generator:
    seed = np.frombuffer(subkey(key, label), dtype="<u8")
    return np.random.Generator(np.random.PCG64(seed.tolist()))


def tag(payload: bytes, key: bytes) -> bytes:
    mac = hmac.new(subkey(key, "tag"), ALGORITHM.encode() + payload, hashlib.sha256).digest()
    return mac[: TAG_BITS // 8]


def _bits(data: bytes, count: int) -> BitArray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:count]


def encode(payload: bytes, key: bytes) -> BitArray:
    """The ``CODED_BITS`` coded bits that carry ``payload`` (8 bytes) under ``key``."""
    info = np.concatenate([_bits(payload, PAYLOAD_BITS), _bits(tag(payload, key), TAG_BITS)])
    state = 0
    out = np.empty(CODED_BITS, dtype=np.uint8)
    for t, bit in enumerate(np.concatenate([info, np.zeros(_K - 1, np.uint8)])):
        register = (int(bit) << (_K - 1)) | state
        for g, generator in enumerate(_GENERATORS):
            out[t * len(_GENERATORS) + g] = bin(register & generator).count("1") & 1
        state = register >> 1
    return out


def decode(soft: npt.NDArray[np.float64], key: bytes) -> bytes | None:
    """The payload when the soft coded bits (> 0 means 1) decode to a word whose tag is the
    keyed tag of its payload: one decoding attempt, one tag check."""
    info = decode_soft(soft)
    payload = np.packbits(info[:PAYLOAD_BITS]).tobytes()
    expected = _bits(tag(payload, key), TAG_BITS)
    return payload if np.array_equal(info[PAYLOAD_BITS:INFO_BITS], expected) else None
