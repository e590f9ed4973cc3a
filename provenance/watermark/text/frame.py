"""One copy of the payload: record id + keyed tag, Reed-Solomon coded, keyed whitening.

    codeword = RS(12 + parity, 12)(payload 8 bytes | HMAC tag 4 bytes) XOR mask(secret)

Why Reed-Solomon: a text carrier delivers whole symbols or nothing, so its damage is a
few wrong symbols in one copy (a converter mapping one zero-width character to another,
an edit inside a run), not scattered bit noise. v1 spent 4 parity bytes (corrects 2 wrong
bytes), v2 spends 2 (corrects 1); copies of a carrier are also combined by a byte-wise
vote before decoding. The keyed mask makes copies under different secrets unrelated, so a
wrong secret decodes nothing; the 32-bit tag bounds the false-positive rate.

The code is ``reedsolo``'s (RSCodec, GF(2^8) with x^8+x^4+x^3+x^2+1, first root 1: the
codewords the in-house codec of v1 wrote, byte for byte). Measured against that codec on
3,000 words per case: the same words corrected, miscorrected and refused at 0-5 wrong
bytes; decoding 15-60 us a word against 8-31 us, encoding 8 against 14 us, a few
hundredths of a millisecond per text either way.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

import reedsolo  # type: ignore[import-untyped]  # no stubs; RSCodec is used through bytes()

from provenance.watermark.secret import WatermarkSecret

from .config import FORMAT, PAYLOAD_BYTES, TAG_BYTES, PayloadFormat


def subkey(key: bytes, label: str, fmt: PayloadFormat = FORMAT) -> bytes:
    """An independent 32-byte key for one purpose of one format of the text payload."""
    return hmac.new(key, fmt.subkey_prefix + label.encode(), hashlib.sha256).digest()


@functools.cache
def _codec(parity_bytes: int) -> reedsolo.RSCodec:
    return reedsolo.RSCodec(parity_bytes)


def _tag(payload: bytes, key: bytes, fmt: PayloadFormat) -> bytes:
    mac = hmac.new(subkey(key, "tag", fmt), fmt.algorithm.encode() + payload, hashlib.sha256)
    return mac.digest()[:TAG_BYTES]


def _mask(key: bytes, fmt: PayloadFormat) -> bytes:
    return subkey(key, "mask", fmt)[: fmt.codeword_bytes]


def encode_codeword(payload: bytes, secret: WatermarkSecret, fmt: PayloadFormat = FORMAT) -> bytes:
    """The whitened codeword (``fmt.codeword_bytes``) carrying ``payload`` (8 bytes)."""
    if len(payload) != PAYLOAD_BYTES:
        raise ValueError(f"the text payload is {PAYLOAD_BYTES} bytes, got {len(payload)}")
    data = payload + _tag(payload, secret.key, fmt)
    coded = bytes(_codec(fmt.parity_bytes).encode(data)) if fmt.parity_bytes else data
    return bytes(a ^ b for a, b in zip(coded, _mask(secret.key, fmt), strict=True))


def decode_codeword(
    codeword: bytes, secret: WatermarkSecret, fmt: PayloadFormat = FORMAT
) -> bytes | None:
    """The payload when ``codeword`` carries one under ``secret`` with a valid tag."""
    if len(codeword) != fmt.codeword_bytes:
        return None
    data = bytes(a ^ b for a, b in zip(codeword, _mask(secret.key, fmt), strict=True))
    if fmt.parity_bytes:
        try:
            data = bytes(_codec(fmt.parity_bytes).decode(data)[0])
        except reedsolo.ReedSolomonError:
            return None
    payload, tag = data[:PAYLOAD_BYTES], data[PAYLOAD_BYTES:]
    return payload if hmac.compare_digest(tag, _tag(payload, secret.key, fmt)) else None
