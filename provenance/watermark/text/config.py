"""The text payload formats (fixed per algorithm id) and the layout of copies (a tunable).

A ``PayloadFormat`` is what a detector must know to read a copy: the codeword (payload,
keyed tag, Reed-Solomon parity) and each carrier's alphabet. Changing any of it needs a new
algorithm id. A ``Layout`` is only where the embedder puts copies (which carriers, how many
words apart); the detector reads any layout, so it is a setting, not part of the format.
"""

from __future__ import annotations

import dataclasses
from typing import Final

#: C2PA soft-binding algorithm names (reverse DNS, versioned with the format).
ALGORITHM: Final = "org.provenance-toolkit.wm.text.v2"
ALGORITHM_V1: Final = "org.provenance-toolkit.wm.text.v1"
ALGORITHMS: Final = (ALGORITHM, ALGORITHM_V1)

PAYLOAD_BYTES: Final = 8  # the record id
#: Truncated HMAC: a word that is not this key's copy passes with probability 2**-32 per
#: decoding attempt, whatever Reed-Solomon did to it (both formats keep all 32 bits).
TAG_BYTES: Final = 4

VS_CARRIER: Final = "variation-selectors"
ZW_CARRIER: Final = "zero-width"


@dataclasses.dataclass(frozen=True)
class Alphabet:
    """One carrier's symbols, in digit order: a copy is the codeword as a base-``radix``
    number (shifted left by ``pad_bits``), most significant digit first.

    ``byte_aligned`` (a radix of 128 only): one symbol per byte, its low 7 bits, then the
    bytes' top bits, 7 to a symbol. A wrong symbol then spoils one byte (or, in the few
    top-bit symbols, one bit of each of 7 bytes) instead of straddling two.
    """

    carrier: str
    symbols: str
    pad_bits: int = 0
    byte_aligned: bool = False

    def __post_init__(self) -> None:
        if self.byte_aligned and (self.radix != 128 or self.pad_bits):
            raise ValueError("a byte-aligned alphabet has 128 symbols and no padding")

    @property
    def radix(self) -> int:
        return len(self.symbols)

    def run_length(self, codeword_bytes: int) -> int:
        """Symbols in one copy: the fewest digits that hold every codeword."""
        if self.byte_aligned:
            return codeword_bytes + -(-codeword_bytes // 7)
        capacity, digits = 1, 0
        while capacity < 1 << (8 * codeword_bytes + self.pad_bits):
            capacity, digits = capacity * self.radix, digits + 1
        return digits


@dataclasses.dataclass(frozen=True)
class PayloadFormat:
    """One version of the copy: ``algorithm`` keys the tag and names the soft binding."""

    algorithm: str
    parity_bytes: int  # Reed-Solomon: corrects parity_bytes // 2 wrong bytes of a copy
    vs: Alphabet
    zw: Alphabet
    subkey_prefix: bytes  # domain separation of the keys derived for this format

    @property
    def codeword_bytes(self) -> int:
        return PAYLOAD_BYTES + TAG_BYTES + self.parity_bytes

    @property
    def vs_run(self) -> int:
        return self.vs.run_length(self.codeword_bytes)

    @property
    def zw_run(self) -> int:
        return self.zw.run_length(self.codeword_bytes)


#: Variation selectors U+E0100..E017F (VS17-VS144) are ideographic variation selectors,
#: meaningful only after a Han ideograph: after any other character they are
#: default-ignorable and never change a glyph. U+FE00..FE0F are not used: U+FE0E/U+FE0F
#: switch digits and symbols between text and emoji presentation, and U+FE00..FE0D select
#: standardised variants of some Latin, math and other characters. 7 bits a selector,
#: byte-aligned in v2, rather than base 240 over all of U+E0100..E01EF: a wrong selector
#: then spoils one byte, which parity corrects; in base 240 it spoils most of the
#: codeword (measured: 2% of such copies read, for 4 bytes saved a copy).
_SELECTORS: Final = "".join(chr(0xE0100 + i) for i in range(128))
_ZW4: Final = "\u200b\u200c\u200d\u2060"  # zero-width space, non-joiner, joiner, word joiner
#: v2 adds the invisible mathematical operators U+2061..2064 (function application,
#: times, separator, plus): Cf, default-ignorable, kept by NFC/NFKC, 3 UTF-8 bytes each.
_ZW8: Final = _ZW4 + "\u2061\u2062\u2063\u2064"

#: v1: 16-byte codeword (RS(16, 12): 4 parity bytes); 19 selectors of 7 bits from
#: U+E0100..E017F (left-aligned: 5 padding bits), 64 zero-width characters of 2 bits.
FORMAT_V1: Final = PayloadFormat(
    algorithm=ALGORITHM_V1,
    parity_bytes=4,
    vs=Alphabet(VS_CARRIER, _SELECTORS, pad_bits=5),
    zw=Alphabet(ZW_CARRIER, _ZW4),
    subkey_prefix=b"provenance-wm-text-v1/",
)

#: v2: 14-byte codeword (RS(14, 12): 2 parity bytes, corrects one wrong byte); 16
#: selectors (the 14 bytes' low 7 bits, then their 14 top bits in 2: 64 UTF-8 bytes) and
#: 38 zero-width characters of the 8 (3 bits each, 114 bytes). v1's cost 76 + 192 bytes.
FORMAT: Final = PayloadFormat(
    algorithm=ALGORITHM,
    parity_bytes=2,
    vs=Alphabet(VS_CARRIER, _SELECTORS, byte_aligned=True),
    zw=Alphabet(ZW_CARRIER, _ZW8),
    subkey_prefix=b"provenance-wm-text-v2/",
)

#: What the detector reads, newest first.
FORMATS: Final = (FORMAT, FORMAT_V1)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the embedder puts copies.

    ``words_per_copy``: at most this many words from one copy of a carrier to the next,
    and from the text's start to the first and from the last to the end, whenever the text
    offers a host word that often. So every excerpt of that many whole words holds a whole
    copy of each carrier. ``stagger``: the zero-width copies sit half a period after the
    selector copies. ``from_slot``: v1's placement instead (a copy at the first host word at
    or after every ``words_per_copy``-th word), kept to reproduce v1 output.
    """

    words_per_copy: int = 50
    carriers: tuple[str, ...] = (VS_CARRIER, ZW_CARRIER)
    stagger: bool = True
    from_slot: bool = False

    def __post_init__(self) -> None:
        if self.words_per_copy < 1:
            raise ValueError("words_per_copy must be at least 1")
        if not self.carriers or set(self.carriers) - {VS_CARRIER, ZW_CARRIER}:
            raise ValueError(f"carriers must be among {VS_CARRIER!r} and {ZW_CARRIER!r}")


#: The default: one copy of each carrier in every 50 consecutive words. v2 costs
#: 64 + 114 bytes a copy pair every 50 words (x1.5 on the bench's prose, 6.7 bytes a word);
#: v1's 268 bytes every 20 words cost x3.0. See docs/benchmarks.md for the curve.
LAYOUT: Final = Layout()
LAYOUT_V1: Final = Layout(words_per_copy=20, from_slot=True)
WORDS_PER_COPY: Final = LAYOUT.words_per_copy
