"""Embedding and detection on float samples: the engine's core, free of file formats."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from provenance.errors import UnsupportedMedia

from . import dsp
from .config import MAX_GAIN_DB, MIN_ACTIVE_SHARE, MIN_SECONDS, SLOT_FRAMES
from .detect import Finding, search
from .layout import layout
from .payload import encode


def check_markable(samples: npt.NDArray[Any], rate: int) -> dsp.Floats:
    """The analysis energies of audio that can carry the mark; ``UnsupportedMedia`` with
    the plain reason for audio that is too short or too quiet."""
    seconds = len(samples) / rate
    if seconds < MIN_SECONDS:
        raise UnsupportedMedia(
            f"{seconds:.1f} s of audio is shorter than the {MIN_SECONDS} s the mark needs"
        )
    energies = slot_energies(samples, rate)
    if float(np.max(energies, initial=0.0)) <= 1e-9:
        raise UnsupportedMedia("the audio is silent: there is no sound to carry the mark")
    share = float(np.mean(dsp.activity(energies).any(axis=1)))
    if share < MIN_ACTIVE_SHARE:
        raise UnsupportedMedia(
            f"only {share:.0%} of the audio carries sound between 350 and 3400 Hz; the "
            f"mark needs {MIN_ACTIVE_SHARE:.0%}"
        )
    return energies


def slot_energies(samples: npt.NDArray[Any], rate: int) -> dsp.Floats:
    bands = dsp.band_energies(dsp.power(dsp.downmix(samples, rate)))
    return dsp.slot_energies(bands, float(SLOT_FRAMES), 0.0)


def embed(samples: npt.NDArray[Any], rate: int, key: bytes, payload: bytes) -> dsp.Floats:
    """``samples`` (n, channels, float) with the mark of ``payload`` under ``key``."""
    energies = check_markable(samples, rate)
    keyed, coded = layout(key), encode(payload, key)
    gains = dsp.tile_gains(energies, keyed, coded)
    source = np.asarray(samples, dtype=np.float64)
    marked = source + dsp.apply_gains(samples, rate, gains)
    # Closed loop: what the frames' overlap smoothed away is measured on the marked audio
    # and made up where a group of tiles still falls short of its target.
    for _ in range(1):
        gains = gains + dsp.top_up(slot_energies(marked, rate), energies, keyed, coded)
        gains = np.clip(gains, -MAX_GAIN_DB, MAX_GAIN_DB)
        marked = source + dsp.apply_gains(samples, rate, gains)
    return np.asarray(marked)


def detect(samples: npt.NDArray[Any], rate: int, key: bytes) -> Finding:
    return search(dsp.downmix(samples, rate), key)
