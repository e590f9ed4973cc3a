"""The two invisible carriers and where in a text they may sit.

Variation selectors: one copy is a run of selectors right after a letter (a single
grapheme with it, so cursor movement, copy-paste and word splitting keep it whole).
Zero-width characters: one copy is a run of U+200B/200C/200D and U+2060..2064 at the end
of a word (not whitespace to ``str.split``, so whitespace collapse keeps it attached).
Strippers differ: "invisible character" cleaners aimed at zero-width spaces leave
variation selectors, and emoji-sanitising ones that drop selectors leave U+200B.
A run's length tells its format (config.py): v2 copies are 16 selectors or 38 zero-width
characters, v1 copies 19 or 64.

Hosts are restricted to characters below U+0590 (Latin, Greek, Cyrillic, Armenian,
punctuation, digits): a zero-width joiner after an Arabic or Indic letter would change its
shape, and a variation selector after a Han ideograph could select another glyph.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import Final

from .config import FORMATS, Alphabet

_SCRIPT_LIMIT: Final = 0x0590
_ANY_VS: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]+")
#: Every zero-width character any format writes (v1's four are among v2's eight).
_ZW_CHARS: Final = "".join(sorted({char for fmt in FORMATS for char in fmt.zw.symbols}))
_ZW_RUN: Final = re.compile(f"[{_ZW_CHARS}]+")
_MARKER: Final = "\ufeff"  # the C2PA text wrapper's run follows one: never ours
#: Categories that attach to the preceding character: a run must not split them off.
_ATTACHING: Final = frozenset({"Mn", "Mc", "Me", "Cf"})


def encode_run(codeword: bytes, alphabet: Alphabet) -> str:
    """``codeword`` as one copy: base-``radix`` digits, most significant first."""
    if alphabet.byte_aligned:
        top = "".join(str(byte >> 7) for byte in codeword)
        top = top.ljust(-(-len(top) // 7) * 7, "0")
        values = [byte & 0x7F for byte in codeword]
        values += [int(top[i : i + 7], 2) for i in range(0, len(top), 7)]
        return "".join(alphabet.symbols[value] for value in values)
    value = int.from_bytes(codeword, "big") << alphabet.pad_bits
    digits = []
    for _ in range(alphabet.run_length(len(codeword))):
        value, digit = divmod(value, alphabet.radix)
        digits.append(alphabet.symbols[digit])
    return "".join(reversed(digits))


@functools.cache
def _digit_values(symbols: str) -> dict[str, int]:
    return {char: digit for digit, char in enumerate(symbols)}


def decode_run(run: str, alphabet: Alphabet, codeword_bytes: int) -> bytes | None:
    """The codeword one copy carries; None when ``run`` is not one of this alphabet."""
    if len(run) != alphabet.run_length(codeword_bytes):
        return None
    digits = _digit_values(alphabet.symbols)
    values: list[int] = []
    for char in run:
        digit = digits.get(char)
        if digit is None:
            return None
        values.append(digit)
    if alphabet.byte_aligned:
        top = "".join(f"{value:07b}" for value in values[codeword_bytes:])
        return bytes(low | int(top[i]) << 7 for i, low in enumerate(values[:codeword_bytes]))
    value = 0
    for digit in values:
        value = value * alphabet.radix + digit
    value >>= alphabet.pad_bits
    if value >> (8 * codeword_bytes):
        return None
    return value.to_bytes(codeword_bytes, "big")


def has_wrapper(text: str) -> bool:
    """Whether a C2PA text wrapper (U+FEFF + selectors) is already appended."""
    index = text.find(_MARKER)
    while index >= 0:
        if _ANY_VS.match(text, index + 1):
            return True
        index = text.find(_MARKER, index + 1)
    return False


def vs_runs(text: str, lengths: frozenset[int]) -> Iterator[str]:
    """Every run of variation selectors (not the wrapper's) of one of these lengths."""
    for match in _ANY_VS.finditer(text):
        run = match.group()
        if len(run) in lengths and text[match.start() - 1 : match.start()] != _MARKER:
            yield run


def zw_runs(text: str, lengths: frozenset[int]) -> Iterator[str]:
    """Every run of the zero-width characters of one of these lengths."""
    for match in _ZW_RUN.finditer(text):
        if len(match.group()) in lengths:
            yield match.group()


#: What ``strip_carriers`` removes: a U+FEFF with the selectors after it (the C2PA text
#: wrapper, whole or damaged), then every run of two or more selectors (the selector
#: carrier, and wrapper bytes that lost their U+FEFF), then every run of two or more
#: zero-width characters of the carrier's alphabet.
_WRAPPER_RUN: Final = re.compile("\ufeff[\ufe00-\ufe0f\U000e0100-\U000e01ef]+")
_VS_RUNS: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")
_ZW_RUNS: Final = re.compile(f"[{_ZW_CHARS}]{{2,}}")


def strip_carriers(text: str) -> str:
    """``text`` without this toolkit's invisible characters: the payload's two carriers and
    the C2PA text wrapper's U+FEFF and selectors (intact or damaged).

    Only runs are removed. Ordinary text uses these characters one at a time: a single
    variation selector picks a glyph (U+FE0F, emoji presentation, after an emoji or a
    digit; an ideographic variation selector after a Han ideograph) and a single U+200D
    joins an emoji sequence, U+200C stops Persian or Indic letters joining. Those were
    there when the text was written (an LLM's tokenizer produced them), so they stay, and a
    detector tokenising the result sees the text as generated. Unicode gives no meaning to
    two selectors in a row, nor to two adjacent zero-width characters (an invisible
    times or function application, U+2061..2064, stands alone between math symbols), and
    every carrier run is at least 16 characters long. A U+FEFF is removed only with the
    selectors after it: a byte-order mark stays.
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
