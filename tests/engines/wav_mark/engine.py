"""A trivial keyed mark on 16-bit PCM WAV: the recipe for a mark engine, proved.

Each PCM sample's least significant bit carries one bit of a 96-bit message (the 64-bit
payload and a 32-bit keyed tag, HMAC-SHA256 over the algorithm and the payload) XOR a
keyed pseudo-random bit (HMAC-SHA256 in counter mode): sample ``j`` carries message bit
``j mod 96``. Detection takes a majority vote of each message bit over its samples and
reports a payload only when the tag matches exactly.

False positives: on content not marked with the key, the tag matches with probability
2^-32 per decoding, and a decoding is made per key tried, so ``p_value`` is
``keys x 2^-32`` for a found mark (1.0 when none is found). It survives nothing (a
re-encode, a gain change, resampling): it exists to show that an engine is a folder plus
one attribute of its kind. It streams: it marks and detects a file in bounded pieces.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from provenance.errors import InputError, UnsupportedMedia
from provenance.kinds.media import Limits
from provenance.report import MarkStatus, Watermark
from provenance.watermark import Marker, StreamMarker, WatermarkSecret

ALGORITHM = "org.provenance-toolkit.test.wav-lsb.v1"
PAYLOAD_BYTES = 8
TAG_BYTES = 4
MESSAGE_BITS = 8 * (PAYLOAD_BYTES + TAG_BYTES)
#: Samples in each piece read, marked and written (bounded memory).
PIECE_SAMPLES = 1 << 15


class WavLsbMark:
    """The engine: attach it as ``AudioKind.mark``."""

    alg = ALGORITHM
    algs = frozenset({ALGORITHM})
    streams = True

    # --- bytes: the stream methods on an in-memory stream (one code path) ---------------

    def detect(
        self,
        data: bytes,
        media_type: str,
        secrets: Sequence[WatermarkSecret],
        limits: Limits,
        *,
        strict: bool = False,
        localise: bool = True,
    ) -> Watermark:
        return self.detect_stream(
            io.BytesIO(data), media_type, secrets, limits, strict=strict, localise=localise
        )

    def marker(
        self, data: bytes, media_type: str, secret: WatermarkSecret, limits: Limits, name: str
    ) -> Marker:
        mark_stream = self.stream_marker(io.BytesIO(data), media_type, secret, limits, name)

        def mark(payload: bytes) -> bytes:
            out = io.BytesIO()
            mark_stream(payload, out)
            return out.getvalue()

        return mark

    # --- streams ----------------------------------------------------------------------

    def detect_stream(
        self,
        stream: BinaryIO,
        media_type: str,
        secrets: Sequence[WatermarkSecret],
        limits: Limits,
        *,
        strict: bool = False,
        localise: bool = True,
    ) -> Watermark:
        try:
            start, size = _pcm_data(stream)
        except UnsupportedMedia as exc:
            if strict:
                raise InputError(str(exc)) from None
            return Watermark.not_checked(str(exc), ALGORITHM)
        try:
            for secret in secrets:
                payload = _decode(stream, start, size, secret.key)
                if payload is not None:
                    return Watermark(
                        MarkStatus.FOUND,
                        detected=True,
                        alg=ALGORITHM,
                        payload=payload.hex(),
                        key=secret.name,
                        p_value=len(secrets) * 2.0**-32,
                    )
        finally:
            stream.seek(0)
        return Watermark(MarkStatus.NOT_FOUND, alg=ALGORITHM, p_value=1.0)

    def stream_marker(
        self,
        source: BinaryIO,
        media_type: str,
        secret: WatermarkSecret,
        limits: Limits,
        name: str,
    ) -> StreamMarker:
        try:
            start, size = _pcm_data(source)
        except UnsupportedMedia as exc:
            raise UnsupportedMedia(f"cannot watermark {name}: {exc}") from None
        finally:
            source.seek(0)
        if size // 2 < MESSAGE_BITS:
            raise UnsupportedMedia(
                f"cannot watermark {name}: fewer than {MESSAGE_BITS} samples to carry the mark"
            )

        def mark(payload: bytes, output: BinaryIO) -> None:
            message = _bits(payload + _tag(secret.key, payload))
            source.seek(0)
            _copy(source, output, start)
            for first, samples in _pieces(source, start, size):
                keyed = _keyed_bits(secret.key, first, len(samples))
                for i, sample in enumerate(samples):
                    bit = message[(first + i) % MESSAGE_BITS] ^ keyed[i]
                    samples[i] = (sample & ~1) | bit
                output.write(struct.pack(f"<{len(samples)}h", *samples))
            source.seek(start + size)
            _copy(source, output, None)
            source.seek(0)

        return mark


class InMemoryWavLsbMark(WavLsbMark):
    """The same mark from an engine that cannot mark streams: a streamed kind holding it
    is read into memory (within the limits) to be marked."""

    streams = False


def _pcm_data(stream: BinaryIO) -> tuple[int, int]:
    """The offset and size of the 16-bit PCM samples of a RIFF/WAVE stream."""
    stream.seek(0)
    head = stream.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UnsupportedMedia("not a RIFF/WAVE file")
    pcm16 = False
    while True:
        header = stream.read(8)
        if len(header) < 8:
            raise UnsupportedMedia("no PCM data chunk")
        ident, length = header[:4], struct.unpack("<I", header[4:])[0]
        at = stream.tell()
        if ident == b"fmt ":
            fmt, _, _, _, _, bits = struct.unpack("<HHIIHH", stream.read(16))
            pcm16 = fmt == 1 and bits == 16
        elif ident == b"data":
            if not pcm16:
                raise UnsupportedMedia("not 16-bit PCM")
            return at, length - length % 2
        stream.seek(at + length + length % 2)


def _pieces(stream: BinaryIO, start: int, size: int) -> Iterator[tuple[int, list[int]]]:
    """The samples in pieces of at most ``PIECE_SAMPLES``: (first sample index, samples)."""
    stream.seek(start)
    first = 0
    while first * 2 < size:
        count = min(PIECE_SAMPLES, size // 2 - first)
        raw = stream.read(2 * count)
        yield first, list(struct.unpack(f"<{len(raw) // 2}h", raw))
        first += count


def _decode(stream: BinaryIO, start: int, size: int, key: bytes) -> bytes | None:
    votes = [0] * MESSAGE_BITS
    for first, samples in _pieces(stream, start, size):
        keyed = _keyed_bits(key, first, len(samples))
        for i, sample in enumerate(samples):
            votes[(first + i) % MESSAGE_BITS] += 1 if (sample & 1) ^ keyed[i] else -1
    message = _bytes([1 if vote > 0 else 0 for vote in votes])
    payload, tag = message[:PAYLOAD_BYTES], message[PAYLOAD_BYTES:]
    return payload if hmac.compare_digest(tag, _tag(key, payload)) else None


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, ALGORITHM.encode() + b"/tag/" + payload, hashlib.sha256).digest()[
        :TAG_BYTES
    ]


def _keyed_bits(key: bytes, first: int, count: int) -> list[int]:
    """The keyed pseudo-random bits of samples ``first`` .. ``first + count - 1``."""
    bits: list[int] = []
    block = first // 256
    while len(bits) < count + first % 256:
        digest = hmac.new(key, ALGORITHM.encode() + struct.pack("<Q", block), hashlib.sha256)
        bits.extend(_bits(digest.digest()))
        block += 1
    skip = first % 256
    return bits[skip : skip + count]


def _bits(data: bytes) -> list[int]:
    return [(byte >> (7 - n)) & 1 for byte in data for n in range(8)]


def _bytes(bits: list[int]) -> bytes:
    return bytes(
        sum(bit << (7 - n) for n, bit in enumerate(bits[i : i + 8])) for i in range(0, len(bits), 8)
    )


def _copy(source: BinaryIO, output: BinaryIO, count: int | None) -> None:
    """``count`` bytes (None: the rest) from ``source`` to ``output``, in pieces."""
    left = count
    while left is None or left > 0:
        chunk = source.read(1 << 16 if left is None else min(1 << 16, left))
        if not chunk:
            return
        output.write(chunk)
        if left is not None:
            left -= len(chunk)


def strip_c2pa(data: bytes) -> bytes:
    """A WAV file without its C2PA chunk (its manifest stripped, the samples kept)."""
    out = io.BytesIO()
    at = 12
    while at + 8 <= len(data):
        ident, length = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        end = at + 8 + length + length % 2
        if ident != b"C2PA":
            out.write(data[at:end])
        at = end
    body = out.getvalue()
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
