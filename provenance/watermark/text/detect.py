"""Find the keyed payload in text: decode every copy of both carriers under each secret.

Every format in ``FORMATS`` is read (v2, and v1 in texts signed before it): a run's length
says which format it can be a copy of.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from typing import Final

from provenance.watermark.secret import WatermarkSecret

from .carriers import decode_run, vs_runs, zw_runs
from .config import FORMATS, TAG_BYTES, Alphabet, PayloadFormat
from .frame import decode_codeword

_TAG_ACCEPT: Final = 2.0 ** (-8 * TAG_BYTES)


@dataclasses.dataclass(frozen=True)
class TextDetection:
    """What the detector found.

    ``false_positive_bound`` bounds the chance that text without this mark yields an
    accepted payload: each decoding attempt (one run of a copy's length, or one vote over
    three or more such runs of a carrier, under one secret and one format) passes the
    32-bit keyed tag with probability 2**-32 whatever Reed-Solomon made of the word,
    times the attempts made. Both formats keep the full 32-bit tag (v2 saved its bytes
    on parity and alphabets instead). The worst ordinary case is a text marked under
    another key: 300 words in v2 hold 11 or 12 runs, so each secret makes about 14
    attempts (a run each, a vote per carrier); three secrets, 42: a bound of 1e-8.
    Only runs of a copy's exact length are tried, so unmarked text makes none.
    """

    detected: bool
    payload: bytes | None
    secret_name: str | None
    carriers: tuple[str, ...]  # carriers with at least one copy carrying the payload
    copies: int  # whole copies that decoded to the payload, both carriers together
    false_positive_bound: float
    algorithm: str | None = None  # the soft-binding algorithm of the format found

    @property
    def p_value(self) -> float:
        """The false-positive bound, under the name the image detector reports."""
        return self.false_positive_bound


def detect_payload(
    text: str, secrets: Sequence[WatermarkSecret], formats: Sequence[PayloadFormat] = FORMATS
) -> TextDetection:
    """The payload of ``text`` under the first secret (and format) that decodes one."""
    candidates = [
        (fmt, alphabet, _words(text, fmt, alphabet))
        for fmt in formats
        for alphabet in (fmt.vs, fmt.zw)
    ]
    attempts = 0
    for secret in secrets:
        for fmt in formats:
            found: collections.Counter[bytes] = collections.Counter()
            carriers: dict[bytes, set[str]] = collections.defaultdict(set)
            for _, alphabet, words in (c for c in candidates if c[0] is fmt):
                decoded_any = False
                for word in words:
                    attempts += 1
                    payload = decode_codeword(word, secret, fmt)
                    if payload is not None:
                        found[payload] += 1
                        carriers[payload].add(alphabet.carrier)
                        decoded_any = True
                if not decoded_any and len(words) > 2:
                    # Damaged copies: a byte-wise majority vote may still be a codeword.
                    attempts += 1
                    payload = decode_codeword(_vote(words), secret, fmt)
                    if payload is not None:
                        found[payload] += 1
                        carriers[payload].add(alphabet.carrier)
            if found:
                payload, copies = found.most_common(1)[0]
                return TextDetection(
                    detected=True,
                    payload=payload,
                    secret_name=secret.name,
                    carriers=tuple(sorted(carriers[payload])),
                    copies=copies,
                    false_positive_bound=min(1.0, attempts * _TAG_ACCEPT),
                    algorithm=fmt.algorithm,
                )
    return TextDetection(False, None, None, (), 0, 1.0)


def _words(text: str, fmt: PayloadFormat, alphabet: Alphabet) -> list[bytes]:
    """The codewords of every run in ``text`` that can be a copy in this carrier."""
    length = frozenset({alphabet.run_length(fmt.codeword_bytes)})
    runs = vs_runs(text, length) if alphabet is fmt.vs else zw_runs(text, length)
    decoded = (decode_run(run, alphabet, fmt.codeword_bytes) for run in runs)
    return [word for word in decoded if word is not None]


def _vote(words: list[bytes]) -> bytes:
    return bytes(
        collections.Counter(word[i] for word in words).most_common(1)[0][0]
        for i in range(len(words[0]))
    )
