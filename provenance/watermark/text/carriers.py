"""The two invisible carriers and where in a text they may sit.

Variation selectors: one copy is a run of 19 selectors right after a letter (a single
grapheme with it, so cursor movement, copy-paste and word splitting keep it whole).
Zero-width characters: one copy is a run of 64 of U+200B/U+200C/U+200D/U+2060 at the end
of a word (not whitespace to ``str.split``, so whitespace collapse keeps it attached).
Strippers differ: "invisible character" cleaners aimed at zero-width spaces leave
variation selectors, and emoji-sanitising ones that drop selectors leave U+200B.

Hosts are restricted to characters below U+0590 (Latin, Greek, Cyrillic, Armenian,
punctuation, digits): a zero-width joiner after an Arabic or Indic letter would change its
shape, and a variation selector after a Han ideograph could select another glyph.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Final

from .config import CODEWORD_BYTES, VS_BASE, VS_BITS, VS_SYMBOLS, ZW_ALPHABET, ZW_SYMBOLS

__all__ = [
    "VS_CARRIER",
    "ZW_CARRIER",
    "decode_vs",
    "decode_zw",
    "encode_vs",
    "encode_zw",
    "has_wrapper",
    "strip_carriers",
    "vs_host",
    "vs_runs",
    "zw_host",
    "zw_runs",
]

VS_CARRIER: Final = "variation-selectors"
ZW_CARRIER: Final = "zero-width"

_SCRIPT_LIMIT: Final = 0x0590
_ANY_VS: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]+")
_ZW_RUN: Final = re.compile(f"[{ZW_ALPHABET}]+")
_ZW_VALUE: Final = {char: value for value, char in enumerate(ZW_ALPHABET)}
_MARKER: Final = "\ufeff"  # the C2PA text wrapper's run follows one: never ours
#: Categories that attach to the preceding character: a run must not split them off.
_ATTACHING: Final = frozenset({"Mn", "Mc", "Me", "Cf"})


def _bits(data: bytes) -> str:
    return "".join(f"{byte:08b}" for byte in data)


def encode_vs(codeword: bytes) -> str:
    bits = _bits(codeword).ljust(VS_SYMBOLS * VS_BITS, "0")
    chunks = (bits[i : i + VS_BITS] for i in range(0, len(bits), VS_BITS))
    return "".join(chr(VS_BASE + int(chunk, 2)) for chunk in chunks)


def decode_vs(run: str) -> bytes | None:
    values = [ord(char) - VS_BASE for char in run]
    if len(values) != VS_SYMBOLS or any(not 0 <= v < 1 << VS_BITS for v in values):
        return None
    bits = "".join(f"{v:0{VS_BITS}b}" for v in values)[: CODEWORD_BYTES * 8]
    return int(bits, 2).to_bytes(CODEWORD_BYTES, "big")


def encode_zw(codeword: bytes) -> str:
    bits = _bits(codeword)
    return "".join(ZW_ALPHABET[int(bits[i : i + 2], 2)] for i in range(0, len(bits), 2))


def decode_zw(run: str) -> bytes | None:
    if len(run) != ZW_SYMBOLS:
        return None
    value = 0
    for char in run:
        value = (value << 2) | _ZW_VALUE[char]
    return value.to_bytes(CODEWORD_BYTES, "big")


def has_wrapper(text: str) -> bool:
    """Whether a C2PA text wrapper (U+FEFF + selectors) is already appended."""
    index = text.find(_MARKER)
    while index >= 0:
        if _ANY_VS.match(text, index + 1):
            return True
        index = text.find(_MARKER, index + 1)
    return False


def vs_runs(text: str) -> Iterator[str]:
    """Every run of exactly one copy's length of variation selectors (not the wrapper's)."""
    for match in _ANY_VS.finditer(text):
        if len(match.group()) == VS_SYMBOLS and text[match.start() - 1 : match.start()] != _MARKER:
            yield match.group()


def zw_runs(text: str) -> Iterator[str]:
    """Every run of exactly one copy's length of the zero-width alphabet."""
    for match in _ZW_RUN.finditer(text):
        if len(match.group()) == ZW_SYMBOLS:
            yield match.group()


#: What ``strip_carriers`` removes: a U+FEFF with the selectors after it (the C2PA text
#: wrapper, whole or damaged), then every run of two or more selectors (the selector
#: carrier, and wrapper bytes that lost their U+FEFF), then every run of two or more
#: zero-width characters of the carrier's alphabet.
_WRAPPER_RUN: Final = re.compile("\ufeff[\ufe00-\ufe0f\U000e0100-\U000e01ef]+")
_VS_RUNS: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")
_ZW_RUNS: Final = re.compile(f"[{ZW_ALPHABET}]{{2,}}")


def strip_carriers(text: str) -> str:
    """``text`` without this toolkit's invisible characters: the payload's two carriers and
    the C2PA text wrapper's U+FEFF and selectors (intact or damaged).

    Only runs are removed. Ordinary text uses these characters one at a time: a single
    variation selector picks a glyph (U+FE0F, emoji presentation, after an emoji or a
    digit; an ideographic variation selector after a Han ideograph) and a single U+200D
    joins an emoji sequence, U+200C stops Persian or Indic letters joining. Those were
    there when the text was written (an LLM's tokenizer produced them), so they stay, and a
    detector tokenising the result sees the text as generated. Unicode gives no meaning to
    two selectors in a row, nor to two adjacent zero-width characters, and every carrier
    run is 19 (selectors) or 64 (zero-width) characters long. A U+FEFF is removed only
    with the selectors after it: a byte-order mark stays.
    """
    text = _WRAPPER_RUN.sub("", text)
    text = _VS_RUNS.sub("", text)
    return _ZW_RUNS.sub("", text)


def _plain(char: str) -> bool:
    return ord(char) < _SCRIPT_LIMIT and unicodedata.category(char)[0] in "LNPS"


def vs_host(text: str, start: int, end: int) -> int | None:
    """Where in ``text[start:end]`` (a word) a selector run may go: after a letter that no
    combining mark, selector or format character follows; None when there is none."""
    for index in range(start, end):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else " "
        if (
            _plain(char)
            and unicodedata.category(char)[0] == "L"
            and unicodedata.category(following) not in _ATTACHING
        ):
            return index + 1
    return None


def zw_host(text: str, start: int, end: int) -> int | None:
    """The end of the word ``text[start:end]`` when a zero-width run may follow it."""
    last = text[end - 1]
    following = text[end] if end < len(text) else " "
    if _plain(last) and not _ZW_RUN.match(following) and not _ANY_VS.match(following):
        return end
    return None
