"""The text payload format: fixed per ``ALGORITHM`` version.

Changing any constant here changes what is embedded and needs a new ``ALGORITHM``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALGORITHM",
    "CODEWORD_BYTES",
    "PARITY_BYTES",
    "PAYLOAD_BYTES",
    "TAG_BYTES",
    "VS_BASE",
    "VS_BITS",
    "VS_SYMBOLS",
    "WORDS_PER_COPY",
    "ZW_ALPHABET",
    "ZW_SYMBOLS",
]

#: C2PA soft-binding algorithm name (reverse DNS, versioned with this format).
ALGORITHM: Final = "org.provenance-toolkit.wm.text.v1"

PAYLOAD_BYTES: Final = 8  # the record id
TAG_BYTES: Final = 4  # truncated HMAC: a random word passes with probability 2**-32
PARITY_BYTES: Final = 4  # Reed-Solomon: corrects 2 wrong bytes of the 16
CODEWORD_BYTES: Final = PAYLOAD_BYTES + TAG_BYTES + PARITY_BYTES

#: Variation-selector carrier: 7 bits a selector from the supplement block U+E0100..E017F.
#: Those are ideographic variation selectors, meaningful only after a Han ideograph, so
#: after any other character they are default-ignorable and never change a glyph (unlike
#: U+FE0E/U+FE0F, which switch digits and symbols to emoji presentation).
VS_BASE: Final = 0xE0100
VS_BITS: Final = 7
VS_SYMBOLS: Final = -(-CODEWORD_BYTES * 8 // VS_BITS)  # 19 selectors a copy

#: Zero-width carrier: 2 bits a character, a run at the end of a word.
ZW_ALPHABET: Final = "\u200b\u200c\u200d\u2060"
ZW_SYMBOLS: Final = CODEWORD_BYTES * 4  # 64 characters a copy

#: One copy of each carrier every this many words (the two carriers are staggered by
#: half a period), so any 50-word excerpt holds at least two whole copies of each.
WORDS_PER_COPY: Final = 20
