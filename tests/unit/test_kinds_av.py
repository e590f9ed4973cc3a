"""Audio and video kinds: identified from their bytes, their containers checked cheaply."""

from __future__ import annotations

import io
import struct

import pytest

from fixtures.media import MediaFile, avi, every_kind, flac, m4a, mov, mp3, mp4, wav
from provenance.errors import InputError, UnsupportedMedia
from provenance.kinds import (
    KINDS,
    identify,
    identify_stream,
    kind_name,
    load_asset,
    size_limit,
    streamed,
)
from provenance.kinds.containers import check_container
from provenance.kinds.media import Limits
from provenance.verify.verifier import Verifier

KIND_OF = {
    "video/mp4": "video",
    "video/quicktime": "video",
    "video/x-msvideo": "video",
    "audio/mp4": "audio",
    "audio/wav": "audio",
    "audio/mpeg": "audio",
    "audio/flac": "audio",
}


@pytest.mark.parametrize("make", every_kind(), ids=lambda make: make.__name__)
def test_each_generated_file_is_identified_and_passes_its_check(make: object) -> None:
    media: MediaFile = make()  # type: ignore[operator]
    kind, media_type = identify(media.data)
    assert media_type == media.media_type
    assert kind.name == KIND_OF[media_type] == kind_name(media_type)
    assert identify_stream(io.BytesIO(media.data))[1] == media_type
    assert streamed(kind) is kind
    assert kind.mark is None and kind.llm is None
    asset = load_asset(media.data)
    assert asset.kind is kind and not asset.on_disk


def test_registry_lists_four_kinds_and_the_streamed_ones_have_their_own_limit() -> None:
    assert [kind.name for kind in KINDS] == ["image", "text", "audio", "video"]
    limits = Limits(max_file_bytes=10, max_stream_bytes=1000)
    image, video = KINDS[0], identify(mp4().data)[0]
    assert streamed(image) is None
    assert size_limit(image, limits) == 10
    assert size_limit(video, limits) == 1000
    assert kind_name("application/pdf") is None


def test_flac_behind_an_id3_tag_is_flac() -> None:
    """c2pa-rs signs FLAC with its manifest in a leading ID3 tag, far past 512 bytes."""
    stream = flac().data
    tag_body = b"\x00" * 4000
    size = bytes((len(tag_body) >> shift) & 0x7F for shift in (21, 14, 7, 0))
    tagged = b"ID3\x04\x00\x00" + size + tag_body + stream
    assert identify(tagged)[1] == "audio/flac"
    assert identify_stream(io.BytesIO(tagged))[1] == "audio/flac"
    check_container(io.BytesIO(tagged), "audio/flac", Limits())
    assert identify(mp3().data)[1] == "audio/mpeg"  # an ID3 tag before MPEG frames


def _damaged(media: MediaFile, data: bytes, limits: Limits = Limits()) -> str:
    with pytest.raises(InputError) as caught:
        check_container(io.BytesIO(data), media.media_type, limits)
    return str(caught.value)


def test_truncated_containers_are_refused_with_the_reason() -> None:
    for make in (mp4, mov, m4a):
        media = make()
        assert "runs past the end of the file" in _damaged(media, media.data[:-10])
    for make in (wav, avi):
        media = make()
        assert "truncated" in _damaged(media, media.data[:-10])
    media = flac()
    assert "FLAC frame" in _damaged(media, media.data[:42] + b"\x00\x00garbage")
    assert "truncated" in _damaged(media, media.data[:20])
    assert "cut off" in _damaged(media, media.data[:6])


def test_bmff_without_moov_and_with_a_bad_box_size() -> None:
    media = mp4()
    ftyp_size = int.from_bytes(media.data[:4], "big")
    without_moov = media.data[:ftyp_size] + struct.pack(">I4s", 16, b"mdat") + b"\x00" * 8
    assert "no 'moov' box" in _damaged(media, without_moov)
    bad = media.data[:ftyp_size] + struct.pack(">I4s", 3, b"moov") + media.data[ftyp_size + 8 :]
    assert "has size 3" in _damaged(media, bad)


def test_a_chunk_bomb_is_refused_by_the_entry_limit() -> None:
    media = wav()
    chunks = b"".join(b"junk" + struct.pack("<I", 0) for _ in range(50))
    body = media.data[12:] + chunks
    bomb = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    check_container(io.BytesIO(bomb), media.media_type, Limits())
    message = _damaged(media, bomb, Limits(max_container_entries=20))
    assert "more than 20 RIFF chunks" in message and "bomb" in message


def test_riff_size_and_chunk_overruns() -> None:
    media = wav()
    lying = media.data[:4] + struct.pack("<I", len(media.data) * 2) + media.data[8:]
    assert "declares" in _damaged(media, lying)
    overrun = bytearray(media.data)
    data_at = media.data.find(b"data")
    overrun[data_at + 4 : data_at + 8] = struct.pack("<I", len(media.data))
    assert "'data' chunk" in _damaged(media, bytes(overrun))


def test_flac_must_start_with_streaminfo_and_mp3_needs_a_frame() -> None:
    media = flac()
    no_info = bytearray(media.data)
    no_info[4] = 0x81  # last block, type 1 (PADDING), where STREAMINFO must be
    assert "STREAMINFO" in _damaged(media, bytes(no_info))
    song = mp3()
    tag_end = song.payload_at - 4 - 17
    assert "no MPEG audio frame" in _damaged(song, song.data[:tag_end] + b"\x00" * 64)
    assert "ID3 tag runs past" in _damaged(song, song.data[: tag_end - 5])


def test_the_av_kinds_say_there_is_no_watermark() -> None:
    video, _ = identify(mp4().data)
    assert video.mark is None
    report = Verifier().verify_bytes(mp4().data, "clip.mp4")
    assert report.watermark is not None
    assert report.watermark.note == "no watermark check for video content"


def test_an_empty_stream_is_not_identified() -> None:
    with pytest.raises(UnsupportedMedia, match="empty"):
        identify_stream(io.BytesIO(b""))
