"""The one attribute: the audio kind's ``mark``, set for a test and restored after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provenance.kinds.av import AudioKind

from .engine import InMemoryWavLsbMark, WavLsbMark


@pytest.fixture(params=["streamed", "in memory"])
def wav_mark(request: pytest.FixtureRequest) -> Iterator[WavLsbMark]:
    """The audio kind with the WAV mark as its engine: one that marks and detects on
    streams, and one that cannot (its files are read into memory to be marked)."""
    engine = WavLsbMark() if request.param == "streamed" else InMemoryWavLsbMark()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AudioKind, "mark", engine)
        yield engine
