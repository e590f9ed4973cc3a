"""The C2PA text manifest wrapper: a JUMBF manifest store as invisible characters.

C2PA 2.x, "Embedding Manifests into Unstructured Text": the wrapper is appended once,
at the end of the text, as U+FEFF followed by one variation selector per byte of

    magic "C2PATXT\\0" (8) | version u8 = 1 | manifestLength u32 big-endian | JUMBF store

where byte ``b`` is written as U+FE00 + b (b < 16) or U+E0100 + (b - 16). A wrapper ends
where its declared length says, not where the run of selectors ends.

A leading byte-order mark, or a U+FEFF followed by selectors that do not spell the magic,
is not a wrapper. A candidate whose magic matches but whose header or length is broken is
a corrupted wrapper; two intact wrappers are refused as ambiguous.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from typing import Final

from provenance.errors import CorruptedWrapper, MultipleWrappers

MARKER: Final = "\ufeff"
MAGIC: Final = b"C2PATXT\x00"
VERSION: Final = 1
_HEADER: Final = struct.Struct(">8sBI")
#: A manifest store larger than this is refused before it is sliced (our bound, not C2PA's).
MAX_MANIFEST_BYTES: Final = 16 * 1024 * 1024

_LOW, _HIGH = 0xFE00, 0xE0100
_ENCODE = {value: chr(_LOW + value if value < 16 else _HIGH + value - 16) for value in range(256)}
_DECODE = {ord(char): chr(value) for value, char in _ENCODE.items()}
_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]*")


@dataclasses.dataclass(frozen=True)
class Wrapper:
    """One located wrapper: where it sits (characters and UTF-8 bytes) and its store."""

    start: int  # character index of the U+FEFF
    stop: int  # character index one past the last selector of the wrapper
    utf8_start: int
    utf8_length: int
    manifest: bytes


def encode_selectors(data: bytes) -> str:
    """Each byte as one variation selector."""
    return "".join(_ENCODE[b] for b in data)


def decode_selectors(run: str) -> bytes:
    """The bytes a run of variation selectors carries (every character must be one)."""
    return run.translate(_DECODE).encode("latin-1")


def utf8_cost(data: bytes) -> int:
    """UTF-8 bytes of ``data`` written as selectors: 3 for a byte < 16, 4 otherwise."""
    low = sum(data.count(bytes([b])) for b in range(16))
    return 4 * len(data) - low


def encode_wrapper(manifest: bytes) -> str:
    """U+FEFF and the selectors for the wrapper around ``manifest``."""
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise ValueError(f"a manifest store of {len(manifest)} bytes is too large for text")
    return MARKER + encode_selectors(_HEADER.pack(MAGIC, VERSION, len(manifest)) + manifest)


def wrapper_utf8_length(manifest: bytes) -> int:
    """UTF-8 bytes of ``encode_wrapper(manifest)`` without building it."""
    header = _HEADER.pack(MAGIC, VERSION, len(manifest))
    return len(MARKER.encode()) + utf8_cost(header) + utf8_cost(manifest)


def find_wrapper(text: str) -> Wrapper | None:
    """The one wrapper in ``text``, or None when there is none.

    Raises ``CorruptedWrapper`` when a candidate's magic matches but it cannot be read
    (wrong version, a length past the end of the text: an excerpt or a damaged copy), and
    ``MultipleWrappers`` when two intact wrappers are present.
    """
    found: list[Wrapper] = []
    index = text.find(MARKER)
    while index >= 0:
        wrapper = _candidate(text, index)
        if wrapper is not None:
            found.append(wrapper)
            index = text.find(MARKER, wrapper.stop)
        else:
            index = text.find(MARKER, index + 1)
    if len(found) > 1:
        raise MultipleWrappers(
            f"the text carries {len(found)} C2PA text wrappers; at most one is allowed"
        )
    return found[0] if found else None


def _candidate(text: str, index: int) -> Wrapper | None:
    begin = index + len(MARKER)
    head = decode_selectors(_run(text, begin, _HEADER.size))
    if len(head) < len(MAGIC) or head[: len(MAGIC)] != MAGIC:
        return None  # a byte-order mark or an unrelated U+FEFF
    if len(head) < _HEADER.size:
        raise CorruptedWrapper("the C2PA text wrapper is cut short inside its header")
    _, version, length = _HEADER.unpack(head)
    if version != VERSION:
        raise CorruptedWrapper(f"the C2PA text wrapper has version {version}, expected {VERSION}")
    if length > MAX_MANIFEST_BYTES:
        raise CorruptedWrapper(f"the C2PA text wrapper declares {length} bytes, over the limit")
    body_start = begin + _HEADER.size
    run = _run(text, body_start, length)
    if len(run) < length:
        raise CorruptedWrapper(
            f"the C2PA text wrapper declares a {length}-byte manifest store but carries "
            f"{len(run)} bytes (the text was cut or its invisible characters were damaged)"
        )
    stop = body_start + length
    prefix = len(text[:index].encode("utf-8"))
    return Wrapper(
        start=index,
        stop=stop,
        utf8_start=prefix,
        utf8_length=len(text[index:stop].encode("utf-8")),
        manifest=decode_selectors(run),
    )


def _run(text: str, start: int, limit: int) -> str:
    """The selectors from ``start`` on, at most ``limit`` of them."""
    match = _RUN.match(text, start, start + limit)
    return match.group() if match else ""


def strip_wrapper(text: str) -> str:
    """``text`` without its wrapper (unchanged when it has none)."""
    wrapper = find_wrapper(text)
    return text if wrapper is None else text[: wrapper.start] + text[wrapper.stop :]
