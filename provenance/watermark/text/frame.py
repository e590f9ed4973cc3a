"""One copy of the payload: record id + keyed tag, Reed-Solomon coded, keyed whitening.

    codeword = RS(16, 12)(payload 8 bytes | HMAC tag 4 bytes) XOR mask(secret)

Why Reed-Solomon: a text carrier delivers whole symbols or nothing, so its damage is a
few wrong or lost bytes in one copy (a converter mapping one zero-width character to
another, an edit inside a run), not scattered bit noise; RS(16, 12) corrects two wrong
bytes for 4 bytes of overhead, and copies are also combined by a byte-wise vote before
decoding. The keyed mask makes copies under different secrets unrelated, so a wrong
secret decodes nothing; the 32-bit tag bounds the false-positive rate.
"""

from __future__ import annotations

import hashlib
import hmac

from provenance.watermark.image.keys import WatermarkSecret

from .config import ALGORITHM, CODEWORD_BYTES, PARITY_BYTES, PAYLOAD_BYTES, TAG_BYTES
from .reedsolomon import ReedSolomonError, rs_decode, rs_encode

__all__ = ["decode_codeword", "encode_codeword", "subkey"]


def subkey(key: bytes, label: str) -> bytes:
    """An independent 32-byte key for one purpose of the text watermark."""
    return hmac.new(key, b"provenance-wm-text-v1/" + label.encode(), hashlib.sha256).digest()


def _tag(payload: bytes, key: bytes) -> bytes:
    mac = hmac.new(subkey(key, "tag"), ALGORITHM.encode() + payload, hashlib.sha256)
    return mac.digest()[:TAG_BYTES]


def _mask(key: bytes) -> bytes:
    return subkey(key, "mask")[:CODEWORD_BYTES]


def encode_codeword(payload: bytes, secret: WatermarkSecret) -> bytes:
    """The 16-byte whitened codeword carrying ``payload`` (8 bytes)."""
    if len(payload) != PAYLOAD_BYTES:
        raise ValueError(f"the text payload is {PAYLOAD_BYTES} bytes, got {len(payload)}")
    coded = rs_encode(payload + _tag(payload, secret.key), PARITY_BYTES)
    return bytes(a ^ b for a, b in zip(coded, _mask(secret.key), strict=True))


def decode_codeword(codeword: bytes, secret: WatermarkSecret) -> bytes | None:
    """The payload when ``codeword`` carries one under ``secret`` with a valid tag."""
    if len(codeword) != CODEWORD_BYTES:
        return None
    unmasked = bytes(a ^ b for a, b in zip(codeword, _mask(secret.key), strict=True))
    try:
        data = rs_decode(unmasked, PARITY_BYTES)
    except ReedSolomonError:
        return None
    payload, tag = data[:PAYLOAD_BYTES], data[PAYLOAD_BYTES:]
    return payload if hmac.compare_digest(tag, _tag(payload, secret.key)) else None
