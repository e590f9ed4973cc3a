"""The audio mark's first slice: it reads back on music-like audio, through MP3 128k and
AAC 128k (PyAV's own encoders), never reports a payload without the key's tag, and refuses
what it cannot mark. On speech-like audio it does not yet read back (docs/benchmarks.md),
which is why it is not attached to the audio kind."""

from __future__ import annotations

import io

import numpy as np
import pytest

from fixtures.sounds import music, speech
from provenance.errors import UnsupportedMedia
from provenance.watermark.audio import MAX_DECODES, TAG_BITS, check_markable, detect, embed

av = pytest.importorskip("av", reason="PyAV (av) is needed to run the codecs")

KEY = b"0123456789abcdef0123456789abcdef"
OTHER = b"fedcba9876543210fedcba9876543210"
PAYLOAD = bytes.fromhex("0011223344556677")


def codec(samples: np.ndarray, rate: int, name: str, container: str) -> tuple[np.ndarray, int]:
    """Encode at 128 kbit/s in memory with PyAV and decode again (float, (n, channels))."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(name, rate=rate)
        stream.bit_rate = 128_000
        stream.layout = "stereo" if samples.shape[1] == 2 else "mono"
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples.T.astype(np.float32)), format="fltp", layout=stream.layout
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buffer.seek(0)
    pieces = []
    with av.open(buffer) as source:
        for decoded in source.decode(audio=0):
            pieces.append(decoded.to_ndarray().reshape(decoded.layout.nb_channels, -1))
        out_rate = source.streams.audio[0].rate
    return np.concatenate(pieces, axis=1).T, out_rate


@pytest.fixture(scope="module")
def marked() -> tuple[np.ndarray, np.ndarray]:
    source = music(10, 44100)
    return source, np.clip(embed(source, 44100, KEY, PAYLOAD), -1, 1)


def test_the_mark_reads_back_with_its_key_and_its_span(marked: tuple[np.ndarray, ...]) -> None:
    source, mark = marked
    assert np.max(np.abs(mark - source)) > 0
    found = detect(mark, 44100, KEY)
    assert found.payload == PAYLOAD and 1 <= found.attempts <= MAX_DECODES
    assert found.spans and found.spans[0][0] < 1.0 and found.spans[-1][1] > 9.0
    assert detect(mark, 44100, OTHER).payload is None


@pytest.mark.parametrize(("name", "container"), [("libmp3lame", "mp3"), ("aac", "mp4")])
def test_the_mark_survives_128k_codecs(
    marked: tuple[np.ndarray, ...], name: str, container: str
) -> None:
    coded, rate = codec(marked[1], 44100, name, container)
    assert detect(coded, rate, KEY).payload == PAYLOAD


def test_unmarked_audio_never_reports_a_payload() -> None:
    # Each detection makes at most MAX_DECODES attempts, each passing with 2^-32.
    assert MAX_DECODES * 2.0**-TAG_BITS < 1e-8
    for seed in range(4):
        assert detect(speech(8, 16000, seed=seed), 16000, KEY).payload is None
        assert detect(music(8, 44100, seed=seed), 44100, KEY).payload is None


def test_silent_or_short_audio_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedMedia, match="shorter than"):
        check_markable(music(2, 44100), 44100)
    with pytest.raises(UnsupportedMedia, match="silent"):
        check_markable(np.zeros((44100 * 5, 2), np.float32), 44100)
    quiet = np.zeros((16000 * 10, 1), np.float32)
    quiet[:16000] = speech(1, 16000)
    with pytest.raises(UnsupportedMedia, match="carries sound"):
        embed(quiet, 16000, KEY, PAYLOAD)
