"""The C2PA text wrapper: byte layout, locating exactly one, corrupted and doubled wrappers."""

from __future__ import annotations

import os
import struct

import pytest

from provenance.credentials.text.wrapper import (
    MAGIC,
    MARKER,
    decode_selectors,
    encode_selectors,
    encode_wrapper,
    find_wrapper,
    strip_wrapper,
    utf8_cost,
    wrapper_utf8_length,
)
from provenance.errors import CorruptedWrapper, InputError, MultipleWrappers, TextWrapperError

STORE = os.urandom(300)


def test_every_byte_maps_to_the_specified_selector() -> None:
    selectors = encode_selectors(bytes(range(256)))
    assert [ord(c) for c in selectors[:16]] == list(range(0xFE00, 0xFE10))
    assert [ord(c) for c in selectors[16:]] == list(range(0xE0100, 0xE01F0))
    assert decode_selectors(selectors) == bytes(range(256))


def test_wrapper_layout_is_marker_magic_version_big_endian_length_store() -> None:
    wrapper = encode_wrapper(STORE)
    assert wrapper[0] == MARKER
    body = decode_selectors(wrapper[1:])
    assert body == MAGIC + b"\x01" + struct.pack(">I", len(STORE)) + STORE


def test_utf8_length_is_three_for_low_bytes_and_four_for_the_rest() -> None:
    assert utf8_cost(b"\x00\x0f\x10\xff") == 3 + 3 + 4 + 4
    assert len(encode_wrapper(STORE).encode("utf-8")) == wrapper_utf8_length(STORE)
    # The research note's measurement: 1,868 bytes of JUMBF became 7,282 UTF-8 bytes, so
    # 240 of its bytes were below 16. The header (13 bytes) costs 47, the marker 3.
    header = MAGIC + b"\x01" + struct.pack(">I", 1868)
    assert 3 + utf8_cost(header) + 4 * 1868 - 240 == 7282


def test_finds_the_wrapper_and_its_utf8_span() -> None:
    text = "café ☕ text"
    found = find_wrapper(text + encode_wrapper(STORE))
    assert found is not None
    assert found.manifest == STORE
    assert found.start == len(text)
    assert found.utf8_start == len(text.encode("utf-8"))
    assert found.utf8_length == wrapper_utf8_length(STORE)


def test_no_wrapper_a_byte_order_mark_or_a_stray_marker_is_none() -> None:
    assert find_wrapper("plain text") is None
    assert find_wrapper("\ufeffa text that starts with a byte-order mark") is None
    assert find_wrapper("emoji \u2764\ufe0f and \ufeff" + encode_selectors(b"NOTMAGIC")) is None


def test_selectors_after_the_declared_length_are_not_part_of_the_wrapper() -> None:
    text = "text" + encode_wrapper(STORE) + encode_selectors(b"\x01\x02")
    found = find_wrapper(text)
    assert found is not None and found.manifest == STORE
    assert strip_wrapper(text) == "text" + encode_selectors(b"\x01\x02")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda w: w[:-10], "cut or its invisible characters were damaged"),
        (lambda w: w[:11], "cut short inside its header"),
        (lambda w: w[:9] + encode_selectors(b"\x02") + w[10:], "version 2"),
        (lambda w: w[:100] + "x" + w[100:], "cut or its invisible characters were damaged"),
    ],
    ids=["truncated", "header-cut", "version", "interrupted"],
)
def test_a_damaged_wrapper_is_corrupted(damage: object, message: str) -> None:
    wrapper = encode_wrapper(STORE)
    with pytest.raises(CorruptedWrapper, match=message) as caught:
        find_wrapper("text" + damage(wrapper))  # type: ignore[operator]
    assert caught.value.code == "manifest.text.corruptedWrapper"
    assert isinstance(caught.value, InputError)


def test_two_wrappers_are_refused() -> None:
    wrapper = encode_wrapper(STORE)
    with pytest.raises(MultipleWrappers) as caught:
        find_wrapper("one" + wrapper + " two" + wrapper)
    assert caught.value.code == "manifest.text.multipleWrappers"
    assert isinstance(caught.value, TextWrapperError)


def test_strip_removes_the_wrapper_and_nothing_else() -> None:
    assert strip_wrapper("text\n" + encode_wrapper(STORE)) == "text\n"
    assert strip_wrapper("text") == "text"
