"""The structure of audio and video containers, walked without reading their media data.

``check_container`` is the cheap refusal of an audio or video file that cannot be judged:
its top-level boxes (ISO BMFF: MP4, MOV, M4A), chunks (RIFF: WAV, AVI), metadata blocks
(FLAC) or tag and first frame (MP3) must fit in the file, and there may not be more of
them than ``Limits.max_container_entries`` (a chunk bomb has thousands). Only headers are
read, a few bytes at a time, through a seekable stream: a file of many gigabytes costs a
few hundred reads. c2pa-rs parses the rest when it reads the manifest.

``check_embedded_store`` runs before c2pa-rs reads a file's credentials: c2pa-rs reads a
manifest store whole, at whatever size its box, chunk or frame declares (a sparse file of
a few kilobytes on disk can declare gigabytes), so a store over ``MAX_STORE_BYTES`` (the
bound a sidecar has) is refused here first. Only that store's header is trusted; the rest
of the walk is left to ``check_container`` and c2pa-rs.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Final

from provenance.errors import InputError
from provenance.kinds.media import Limits, id3_tag_end, sniff

_BMFF = frozenset({"video/mp4", "video/quicktime", "audio/mp4"})
_RIFF = frozenset({"audio/wav", "video/x-msvideo"})
_RIFF_FORMS = {"audio/wav": b"WAVE", "video/x-msvideo": b"AVI "}
# FLAC metadata block types 0-6 are defined; 127 is invalid, the rest reserved.
_FLAC_INVALID_BLOCK = 127
_FLAC_STREAMINFO_LENGTH = 34

#: The largest manifest store c2pa-rs is let read from inside a file (as
#: ``credentials.read.MAX_SIDECAR_BYTES`` for one beside it).
MAX_STORE_BYTES: Final = 64 * 1024 * 1024
#: Where c2pa-rs keeps a store: a top-level ``uuid`` box with this UUID (ISO BMFF), a
#: top-level ``C2PA`` chunk (RIFF), a ``GEOB`` frame of this MIME type in a leading ID3v2
#: tag (MP3, FLAC).
_C2PA_UUID: Final = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_C2PA_CHUNK: Final = b"C2PA"
_C2PA_GEOB_TYPES: Final = (b"application/c2pa", b"application/x-c2pa-manifest-store")


def stream_size(stream: BinaryIO) -> int:
    """The length of a seekable stream (its position is left at the start)."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(0)
    return size


def check_container(stream: BinaryIO, media_type: str, limits: Limits) -> None:
    """Refuse (``InputError``) an audio or video file whose structure is damaged or a bomb."""
    size = stream_size(stream)
    if media_type in _BMFF:
        _check_bmff(stream, size, limits)
    elif media_type in _RIFF:
        _check_riff(stream, size, _RIFF_FORMS[media_type], limits)
    elif media_type == "audio/flac":
        _check_flac(stream, size, limits)
    elif media_type == "audio/mpeg":
        _check_mpeg(stream, size)
    else:
        raise ValueError(f"not an audio or video type: {media_type}")
    stream.seek(0)


def _read_at(stream: BinaryIO, offset: int, length: int, what: str) -> bytes:
    stream.seek(offset)
    data = stream.read(length)
    if len(data) != length:
        raise InputError(f"damaged: {what} at byte {offset:,} is cut off (truncated file)")
    return data


def _too_many(what: str, limits: Limits) -> InputError:
    return InputError(
        f"more than {limits.max_container_entries:,} {what}: refused as a container bomb"
    )


def _check_bmff(stream: BinaryIO, size: int, limits: Limits) -> None:
    offset, boxes, found = 0, 0, set()
    while offset < size:
        boxes += 1
        if boxes > limits.max_container_entries:
            raise _too_many("top-level boxes", limits)
        header = _read_at(stream, offset, min(8, size - offset), "a box header")
        if len(header) < 8:
            raise InputError(f"damaged: {size - offset} stray bytes after the last box")
        length, kind = int.from_bytes(header[:4], "big"), header[4:8]
        header_length = 8
        if length == 1:
            length = int.from_bytes(_read_at(stream, offset + 8, 8, "a box size"), "big")
            header_length = 16
        elif length == 0:  # the last box runs to the end of the file
            length = size - offset
        name = kind.decode("latin-1")
        if length < header_length:
            raise InputError(f"damaged: the {name!r} box at byte {offset:,} has size {length}")
        if offset + length > size:
            raise InputError(
                f"damaged: the {name!r} box at byte {offset:,} runs past the end of the file "
                "(truncated)"
            )
        found.add(kind)
        offset += length
    if b"moov" not in found:
        raise InputError("damaged: no 'moov' box (the movie's description is missing)")


def _check_riff(stream: BinaryIO, size: int, form: bytes, limits: Limits) -> None:
    header = _read_at(stream, 0, 12, "the RIFF header")
    declared = int.from_bytes(header[4:8], "little")
    if header[8:12] != form or declared < 4:
        raise InputError("damaged: not a well-formed RIFF header")
    end = 8 + declared
    if end > size:
        raise InputError(
            f"damaged: the RIFF header declares {end:,} bytes, the file has {size:,} (truncated)"
        )
    offset, chunks = 12, 0
    while offset + 8 <= end:
        chunks += 1
        if chunks > limits.max_container_entries:
            raise _too_many("RIFF chunks", limits)
        chunk = _read_at(stream, offset, 8, "a chunk header")
        length = int.from_bytes(chunk[4:8], "little")
        if offset + 8 + length > end:
            name = chunk[:4].decode("latin-1")
            raise InputError(
                f"damaged: the {name!r} chunk at byte {offset:,} runs past the end of the RIFF data"
            )
        offset += 8 + length + (length & 1)
    if chunks == 0:
        raise InputError("damaged: the RIFF file holds no chunks")


def _after_id3(stream: BinaryIO, size: int) -> int:
    """Where the content starts: after a leading ID3v2 tag (MP3; FLAC signed by c2pa-rs)."""
    head = _read_at(stream, 0, min(10, size), "the file header")
    if not head.startswith(b"ID3"):
        return 0
    end = id3_tag_end(head)
    if end is None or head[3] not in (2, 3, 4):
        raise InputError("damaged: not a well-formed ID3v2 tag header")
    if end > size:
        raise InputError("damaged: the ID3 tag runs past the end of the file (truncated)")
    return end


def _check_flac(stream: BinaryIO, size: int, limits: Limits) -> None:
    start = _after_id3(stream, size)
    if _read_at(stream, start, 4, "the FLAC stream marker") != b"fLaC":
        raise InputError(f"damaged: no FLAC stream marker at byte {start:,}")
    offset, blocks, last = start + 4, 0, False
    while not last:
        blocks += 1
        if blocks > limits.max_container_entries:
            raise _too_many("FLAC metadata blocks", limits)
        header = _read_at(stream, offset, 4, "a FLAC metadata block header")
        last, kind = bool(header[0] & 0x80), header[0] & 0x7F
        length = int.from_bytes(header[1:4], "big")
        if blocks == 1 and (kind != 0 or length != _FLAC_STREAMINFO_LENGTH):
            raise InputError("damaged: a FLAC stream must begin with its STREAMINFO block")
        if kind == _FLAC_INVALID_BLOCK:
            raise InputError(f"damaged: invalid FLAC metadata block at byte {offset:,}")
        if offset + 4 + length > size:
            raise InputError(
                f"damaged: the FLAC metadata block at byte {offset:,} runs past the end of "
                "the file (truncated)"
            )
        offset += 4 + length
    if offset < size:
        sync = _read_at(stream, offset, 2, "the first FLAC frame")
        if sync[0] != 0xFF or sync[1] & 0xFE != 0xF8:
            raise InputError(f"damaged: no FLAC frame after the metadata (byte {offset:,})")


def _check_mpeg(stream: BinaryIO, size: int) -> None:
    offset = _after_id3(stream, size)
    frame = _read_at(stream, offset, min(4, size - offset), "the first MPEG audio frame")
    if sniff(frame) != "audio/mpeg" or frame.startswith(b"ID3"):
        raise InputError(f"damaged: no MPEG audio frame at byte {offset:,}")


def check_embedded_store(stream: BinaryIO, media_type: str, limits: Limits) -> None:
    """Refuse (``InputError``) a file whose C2PA manifest store is over ``MAX_STORE_BYTES``
    before c2pa-rs reads it whole. Nothing else is judged: a walk that meets damage stops
    there (``check_container`` and c2pa-rs say what is wrong)."""
    size = stream_size(stream)
    try:
        if media_type in _BMFF:
            found = _bmff_store(stream, size, limits)
        elif media_type in _RIFF:
            found = _riff_store(stream, size, limits)
        elif media_type in ("audio/flac", "audio/mpeg"):
            found = _id3_store(stream, size, limits)
        else:
            raise ValueError(f"not an audio or video type: {media_type}")
    finally:
        stream.seek(0)
    if found is not None and found[1] > MAX_STORE_BYTES:
        where, length = found
        raise InputError(
            f"the C2PA manifest store in {where} declares {length:,} bytes, over the "
            f"{MAX_STORE_BYTES:,}-byte limit for a manifest store; not read"
        )


def _header(stream: BinaryIO, offset: int, length: int) -> bytes:
    stream.seek(offset)
    return stream.read(length)


def _bmff_store(stream: BinaryIO, size: int, limits: Limits) -> tuple[str, int] | None:
    offset = 0
    for _ in range(limits.max_container_entries):
        header = _header(stream, offset, 32)
        if len(header) < 8:
            return None
        length, kind, header_length = int.from_bytes(header[:4], "big"), header[4:8], 8
        if length == 1 and len(header) >= 16:
            length, header_length = int.from_bytes(header[8:16], "big"), 16
        elif length == 0:
            length = size - offset
        if kind == b"uuid" and header[header_length : header_length + 16] == _C2PA_UUID:
            return f"the 'uuid' box at byte {offset:,}", length
        if length < header_length:
            return None
        offset += length
    return None


def _riff_store(stream: BinaryIO, size: int, limits: Limits) -> tuple[str, int] | None:
    offset = 12
    for _ in range(limits.max_container_entries):
        chunk = _header(stream, offset, 8)
        if len(chunk) < 8:
            return None
        length = int.from_bytes(chunk[4:8], "little")
        if chunk[:4] == _C2PA_CHUNK:
            return f"the 'C2PA' chunk at byte {offset:,}", length
        offset += 8 + length + (length & 1)
    return None


def _id3_store(stream: BinaryIO, size: int, limits: Limits) -> tuple[str, int] | None:
    head = _header(stream, 0, 10)
    end = id3_tag_end(head) if head.startswith(b"ID3") else None
    if end is None or head[3] not in (3, 4):
        return None  # no tag, or ID3v2.2 (three-letter frames: c2pa-rs writes v2.4)
    syncsafe = head[3] == 4
    offset = 10
    if head[5] & 0x40:  # an extended header comes first
        extended = _header(stream, offset, 4)
        if len(extended) < 4:
            return None
        length = _size(extended, syncsafe)
        offset += length if syncsafe else 4 + length
    for _ in range(limits.max_container_entries):
        frame = _header(stream, offset, 10 + 1 + max(map(len, _C2PA_GEOB_TYPES)) + 1)
        if offset + 10 > end or len(frame) < 10 or frame[0] == 0:  # the end, or padding
            return None
        length = _size(frame[4:8], syncsafe)
        if frame[:4] == b"GEOB" and frame[11:].split(b"\0", 1)[0] in _C2PA_GEOB_TYPES:
            return f"the ID3 'GEOB' frame at byte {offset:,}", length
        offset += 10 + length
    return None


def _size(data: bytes, syncsafe: bool) -> int:
    """An ID3v2 size: four 7-bit bytes in v2.4, a 32-bit integer in v2.3."""
    if not syncsafe:
        return int.from_bytes(data[:4], "big")
    return (data[0] & 0x7F) << 21 | (data[1] & 0x7F) << 14 | (data[2] & 0x7F) << 7 | data[3] & 0x7F
