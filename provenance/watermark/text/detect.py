"""Find the keyed payload in text: decode every copy of both carriers under each secret."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from typing import Final

from provenance.watermark.image.keys import WatermarkSecret

from .carriers import VS_CARRIER, ZW_CARRIER, decode_vs, decode_zw, vs_runs, zw_runs
from .config import CODEWORD_BYTES, TAG_BYTES
from .frame import decode_codeword

__all__ = ["TextDetection", "detect_payload"]

_TAG_ACCEPT: Final = 2.0 ** (-8 * TAG_BYTES)


@dataclasses.dataclass(frozen=True)
class TextDetection:
    """What the detector found.

    ``false_positive_bound`` bounds the chance that text without this mark yields an
    accepted payload: each decoding attempt passes the 32-bit keyed tag with
    probability 2**-32 (Reed-Solomon decoding only lowers it), times the attempts made.
    """

    detected: bool
    payload: bytes | None
    secret_name: str | None
    carriers: tuple[str, ...]  # carriers with at least one copy carrying the payload
    copies: int  # whole copies that decoded to the payload, both carriers together
    false_positive_bound: float

    @property
    def p_value(self) -> float:
        """The false-positive bound, under the name the image detector reports."""
        return self.false_positive_bound


def detect_payload(text: str, secrets: Sequence[WatermarkSecret]) -> TextDetection:
    """The payload of ``text`` under the first secret that decodes one."""
    candidates = {
        VS_CARRIER: [word for word in map(decode_vs, vs_runs(text)) if word is not None],
        ZW_CARRIER: [word for word in map(decode_zw, zw_runs(text)) if word is not None],
    }
    attempts = 0
    for secret in secrets:
        found: collections.Counter[bytes] = collections.Counter()
        carriers: dict[bytes, set[str]] = collections.defaultdict(set)
        for carrier, words in candidates.items():
            decoded_any = False
            for word in words:
                attempts += 1
                payload = decode_codeword(word, secret)
                if payload is not None:
                    found[payload] += 1
                    carriers[payload].add(carrier)
                    decoded_any = True
            if not decoded_any and len(words) > 2:
                # Damaged copies: a byte-wise majority vote may still be a codeword.
                attempts += 1
                payload = decode_codeword(_vote(words), secret)
                if payload is not None:
                    found[payload] += 1
                    carriers[payload].add(carrier)
        if found:
            payload, copies = found.most_common(1)[0]
            return TextDetection(
                detected=True,
                payload=payload,
                secret_name=secret.name,
                carriers=tuple(sorted(carriers[payload])),
                copies=copies,
                false_positive_bound=min(1.0, attempts * _TAG_ACCEPT),
            )
    return TextDetection(False, None, None, (), 0, 1.0)


def _vote(words: list[bytes]) -> bytes:
    return bytes(
        collections.Counter(word[i] for word in words).most_common(1)[0][0]
        for i in range(CODEWORD_BYTES)
    )
