"""JUMBF boxes (ISO/IEC 19566-5) as C2PA uses them: write a manifest store, read one back.

A box is ``size u32 | type 4cc | payload``; a superbox (``jumb``) starts with a
description box (``jumd``: type UUID, toggles, NUL-terminated label) followed by its
children. C2PA's tree is: manifest store (``c2pa``) > manifest (``c2ma``) > assertion store
(``c2as``) with one superbox per assertion, claim (``c2cl``) and claim signature
(``c2cs``). A hashed URI covers an assertion superbox without its own 8-byte header.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator, Sequence
from typing import Final

from provenance.errors import JumbfError


def _type_uuid(four_cc: bytes) -> bytes:
    return four_cc + bytes.fromhex("00110010800000AA00389B71")


MANIFEST_STORE: Final = _type_uuid(b"c2pa")
MANIFEST: Final = _type_uuid(b"c2ma")
UPDATE_MANIFEST: Final = _type_uuid(b"c2um")
ASSERTION_STORE: Final = _type_uuid(b"c2as")
CLAIM: Final = _type_uuid(b"c2cl")
SIGNATURE: Final = _type_uuid(b"c2cs")
CBOR: Final = _type_uuid(b"cbor")

_HEADER: Final = struct.Struct(">I4s")
_TOGGLE_REQUESTABLE, _TOGGLE_LABEL, _TOGGLE_ID, _TOGGLE_SIGNATURE = 0x01, 0x02, 0x04, 0x08
_MAX_DEPTH: Final = 8


@dataclasses.dataclass(frozen=True)
class ContentBox:
    """A leaf box: its 4cc type and payload."""

    kind: bytes
    data: bytes


@dataclasses.dataclass(frozen=True)
class Superbox:
    """A ``jumb`` box: its description and children, and its bytes after the header."""

    uuid: bytes
    label: str
    children: tuple[Superbox | ContentBox, ...]
    body: bytes  # the description box and children: what a hashed URI covers

    def superboxes(self) -> Iterator[Superbox]:
        return (child for child in self.children if isinstance(child, Superbox))

    def child(self, uuid: bytes) -> Superbox | None:
        """The first child superbox of type ``uuid``."""
        return next((box for box in self.superboxes() if box.uuid == uuid), None)

    def content(self, kind: bytes = b"cbor") -> bytes | None:
        """The payload of the first content box of type ``kind``."""
        for child in self.children:
            if isinstance(child, ContentBox) and child.kind == kind:
                return child.data
        return None


# -- writing ---------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return _HEADER.pack(_HEADER.size + len(payload), kind) + payload


def content_box(data: bytes, kind: bytes = b"cbor") -> bytes:
    return _box(kind, data)


def superbox(uuid: bytes, label: str, children: Sequence[bytes]) -> bytes:
    """A labelled, requestable superbox holding ``children`` (already serialised)."""
    if len(uuid) != 16:
        raise ValueError("a JUMBF type UUID is 16 bytes")
    if "\x00" in label:
        raise ValueError("a JUMBF label cannot contain NUL")
    description = uuid + bytes([_TOGGLE_REQUESTABLE | _TOGGLE_LABEL]) + label.encode() + b"\x00"
    return _box(b"jumb", _box(b"jumd", description) + b"".join(children))


def serialise(box: Superbox) -> bytes:
    """A parsed superbox written back as a box (its body as it was read)."""
    return _box(b"jumb", box.body)


def hashed_body(serialised_superbox: bytes) -> bytes:
    """What a hashed URI to this superbox covers: everything after its 8-byte header."""
    return serialised_superbox[_HEADER.size :]


# -- reading ---------------------------------------------------------------------------


def parse_superbox(data: bytes) -> Superbox:
    """The superbox that makes up all of ``data`` (a manifest store)."""
    boxes = list(_boxes(data, 0, len(data)))
    if len(boxes) != 1 or boxes[0][0] != b"jumb":
        raise JumbfError("the manifest store is not a single JUMBF superbox")
    _, start, end = boxes[0]
    return _superbox(data, start, end, depth=0)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``data[start:end]``."""
    offset = start
    while offset < end:
        if end - offset < _HEADER.size:
            raise JumbfError(f"a truncated box header at byte {offset}")
        size, kind = _HEADER.unpack_from(data, offset)
        if size == 1:  # 64-bit extended size
            if end - offset < 16:
                raise JumbfError(f"a truncated box header at byte {offset}")
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            payload = offset + 16
        else:
            payload = offset + _HEADER.size
        if size == 0:  # the box runs to the end
            size = end - offset
        if size < payload - offset or offset + size > end:
            raise JumbfError(f"a box at byte {offset} declares {size} bytes, past its parent")
        yield kind, payload, offset + size
        offset += size


def _superbox(data: bytes, start: int, end: int, depth: int) -> Superbox:
    if depth > _MAX_DEPTH:
        raise JumbfError("JUMBF boxes nest too deeply")
    boxes = _boxes(data, start, end)
    first = next(boxes, None)
    if first is None or first[0] != b"jumd":
        raise JumbfError(f"the superbox at byte {start} has no description box")
    uuid, label = _description(data[first[1] : first[2]])
    children: list[Superbox | ContentBox] = []
    for kind, payload, stop in boxes:
        if kind == b"jumb":
            children.append(_superbox(data, payload, stop, depth + 1))
        else:
            children.append(ContentBox(kind, data[payload:stop]))
    return Superbox(uuid, label, tuple(children), data[start:end])


def _description(payload: bytes) -> tuple[bytes, str]:
    if len(payload) < 17:
        raise JumbfError("a description box shorter than its UUID and toggles")
    uuid, toggles = payload[:16], payload[16]
    label = ""
    if toggles & _TOGGLE_LABEL:
        nul = payload.find(b"\x00", 17)
        if nul < 0:
            raise JumbfError("a description box label without its NUL terminator")
        try:
            label = payload[17:nul].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JumbfError("a description box label is not UTF-8") from exc
    return uuid, label
