"""Signal processing of the audio mark: the analysis every step shares, and embedding.

The carriers are tile energies: a tile is one slot (SLOT_FRAMES analysis frames, 64 ms)
by one of BANDS log-spaced bands between LOW_HZ and HIGH_HZ, measured on a mono downmix
at RATE. Embedding scales each active tile's energy up or down by a few tenths of a dB to
a few dB (its chip sign), so the mark follows the signal's own loudness: there is none
in silence. Its features are the tiles' energies in dB minus the mean of their two
neighbours in time (the signal's slow envelope cancels), clipped.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

from .config import (
    ACTIVE_RANGE_DB,
    BANDS,
    BLOCK_SLOTS,
    CLIP_DB,
    FRAME_SECONDS,
    HIGH_HZ,
    HOP_SECONDS,
    LOW_HZ,
    MAX_GAIN_DB,
    RATE,
    SLOT_FRAMES,
    STRENGTH_DB,
    TARGET_DB,
)
from .layout import Layout

Floats = npt.NDArray[np.float64]
FRAME = round(FRAME_SECONDS * RATE)
HOP = round(HOP_SECONDS * RATE)
_EDGES = LOW_HZ * (HIGH_HZ / LOW_HZ) ** (np.arange(BANDS + 1) / BANDS)


def downmix(samples: npt.NDArray[Any], rate: int) -> Floats:
    """Mono at ``RATE`` from float samples shaped (n, channels)."""
    mono = np.asarray(samples, dtype=np.float64).mean(axis=1)
    if rate == RATE:
        return np.asarray(mono, dtype=np.float64)
    ratio = Fraction(RATE, rate)
    return np.asarray(signal.resample_poly(mono, ratio.numerator, ratio.denominator))


def _frames(x: Floats, frame: int, hop: int) -> Floats:
    """Frames centred on ``k * hop`` (zeros beyond the ends), shaped (frames, frame)."""
    count = len(x) // hop + 1
    padded = np.concatenate([np.zeros(frame // 2), x, np.zeros(frame)])
    view = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop]
    return np.asarray(view[:count])


def power(x: Floats) -> Floats:
    """Power spectra of the analysis frames of a ``RATE`` signal, (frames, bins)."""
    window = signal.get_window("hann", FRAME)
    spectrum = np.fft.rfft(_frames(x, FRAME, HOP) * window, axis=1)
    return np.square(np.abs(spectrum))


@functools.lru_cache(maxsize=64)
def band_matrix(bins: int, bin_hz: float, ratio: float) -> Floats:
    """(bins, BANDS): the share of each bin in each band, the band edges scaled by
    ``ratio`` (content whose pitch was moved by that factor)."""
    edges = _EDGES * ratio
    low = (np.arange(bins) - 0.5) * bin_hz
    high = low + bin_hz
    overlap = np.minimum(high[:, None], edges[None, 1:]) - np.maximum(
        low[:, None], edges[None, :-1]
    )
    return np.asarray(np.clip(overlap, 0.0, None) / bin_hz, dtype=np.float64)


def band_energies(spectra: Floats, ratio: float = 1.0) -> Floats:
    return spectra @ band_matrix(spectra.shape[1], RATE / FRAME, ratio)


def slot_energies(bands: Floats, step: float, phase: float) -> Floats:
    """Energy of each slot: slot ``j`` spans frames ``phase + j * step`` up to the next
    (fractional frames by linear interpolation of the running sum), (slots, BANDS)."""
    total = np.concatenate([np.zeros((1, bands.shape[1])), np.cumsum(bands, axis=0)])
    count = int((len(bands) - phase) // step)
    if count < 1:
        return np.zeros((0, bands.shape[1]))
    edges = phase + step * np.arange(count + 1)
    whole = np.minimum(edges.astype(np.int64), len(bands) - 1)
    frac = (edges - whole)[:, None]
    at = total[whole] + frac * (total[whole + 1] - total[whole])
    return np.diff(at, axis=0)


def activity(energies: Floats) -> npt.NDArray[np.bool_]:
    """Tiles loud enough to carry the mark: within ``ACTIVE_RANGE_DB`` of the loud ones."""
    if energies.size == 0:
        return np.zeros(energies.shape, dtype=bool)
    loud = float(np.percentile(energies, 95))
    return energies > max(loud * 10 ** (-ACTIVE_RANGE_DB / 10), 1e-9)


def _detrend(levels: Floats) -> Floats:
    """Each level minus the mean of its two neighbours in time (one at the ends)."""
    out = levels.copy()
    if len(levels) > 2:
        out[1:-1] -= 0.5 * (levels[:-2] + levels[2:])
    if len(levels) > 1:
        out[0] -= levels[1]
        out[-1] -= levels[-2]
    return out


def features(energies: Floats) -> Floats:
    """The detrended, clipped tile levels in dB, 0 on inactive tiles, (slots, BANDS)."""
    active = activity(energies)
    levels = 10 * np.log10(np.maximum(energies, 1e-12))
    return np.where(active, np.clip(_detrend(levels), -CLIP_DB, CLIP_DB), 0.0)


def _groups(slots: int, layout: Layout) -> npt.NDArray[np.int64]:
    """The group of every tile: (block, coded bit), or (block, four sync tiles)."""
    block_of = np.arange(slots) // BLOCK_SLOTS
    position = np.arange(slots) % BLOCK_SLOTS
    bit = layout.bit[position]
    sync_group = np.arange(BLOCK_SLOTS * BANDS).reshape(BLOCK_SLOTS, BANDS)[position] // 4
    group_in_block = np.where(bit >= 0, bit, 100_000 + sync_group)
    groups = np.unique(block_of[:, None] * 1_000_000 + group_in_block, return_inverse=True)[1]
    return np.asarray(groups.reshape(slots, BANDS))


def top_up(
    marked: Floats, energies: Floats, layout: Layout, coded: npt.NDArray[np.uint8]
) -> Floats:
    """More gain (dB) for the groups whose features, measured on the marked audio, still
    fall short of ``TARGET_DB`` a tile; the frames' overlap passes about 0.7 of a gain."""
    slots = min(len(marked), len(energies))
    marked, energies = marked[:slots], energies[:slots]
    active = activity(energies)
    chips = np.where(active, layout.chips(coded)[np.arange(slots) % BLOCK_SLOTS], 0.0)
    groups = _groups(slots, layout)
    feature = features(marked)
    count = np.bincount(groups.ravel(), weights=np.abs(chips).ravel())
    held = np.bincount(groups.ravel(), weights=(chips * feature).ravel())
    deficit = np.maximum(TARGET_DB * count - held, 0.0) / np.maximum(count, 1.0) / 0.7
    extra = np.clip(chips * deficit[groups], -MAX_GAIN_DB, MAX_GAIN_DB)
    out = np.zeros((len(energies), BANDS))
    out[:slots] = extra
    return out


def tile_gains(energies: Floats, layout: Layout, coded: npt.NDArray[np.uint8]) -> Floats:
    """The gain of every tile in dB, (slots, BANDS): each active tile moves by
    ``STRENGTH_DB`` in its chip's direction, and more (up to ``MAX_GAIN_DB``) where the
    content itself works against the sum its group of tiles (a coded bit, or four sync
    tiles, in one block) is read as: an informed embedding."""
    slots = len(energies)
    active = activity(energies)
    levels = 10 * np.log10(np.maximum(energies, 1e-12))
    chips = np.where(active, layout.chips(coded)[np.arange(slots) % BLOCK_SLOTS], 0.0)
    groups = _groups(slots, layout)
    gains = STRENGTH_DB * chips
    count = np.bincount(groups.ravel(), weights=np.abs(chips).ravel())
    for _ in range(2):
        feature = np.clip(_detrend(levels + gains), -CLIP_DB, CLIP_DB)
        held = np.bincount(groups.ravel(), weights=(chips * feature).ravel())
        deficit = np.maximum(TARGET_DB * count - held, 0.0) / np.maximum(count, 1.0)
        gains = np.clip(gains + chips * deficit[groups], -MAX_GAIN_DB, MAX_GAIN_DB)
    return np.asarray(gains)


def apply_gains(samples: npt.NDArray[Any], rate: int, gains: Floats) -> Floats:
    """``samples`` (n, channels) with each tile's band scaled by its gain (dB): returns
    the mark alone, to be added. STFT with square-root Hann windows at 50% overlap
    (perfect reconstruction), frames on the analysis grid in seconds."""
    frame = 2 * round(FRAME_SECONDS * rate / 2)
    hop = frame // 2
    n = len(samples)
    window = np.sqrt(signal.get_window("hann", frame))
    bins = frame // 2 + 1
    bin_hz = rate / frame
    freq = np.arange(bins) * bin_hz
    band = np.searchsorted(_EDGES, freq, side="right") - 1
    inside = (band >= 0) & (band < BANDS)
    mark = np.zeros((n, samples.shape[1]))
    count = n // hop + 1
    slot = np.arange(count) // SLOT_FRAMES
    frame_gain = np.zeros((count, bins))
    known = slot < len(gains)
    gain_db = np.zeros((count, BANDS))
    gain_db[known] = gains[slot[known]]
    frame_gain[:, inside] = 10 ** (gain_db[:, band[inside]] / 20) - 1.0
    for channel in range(samples.shape[1]):
        x = np.asarray(samples[:, channel], dtype=np.float64)
        spectrum = np.fft.rfft(_frames(x, frame, hop) * window, axis=1)
        pieces = np.fft.irfft(spectrum * frame_gain, frame, axis=1) * window
        out = np.zeros((count + 2) * hop + frame)
        for k in range(2):  # overlap-add in two interleaved passes (no Python loop per frame)
            chunk = pieces[k::2]
            starts = np.arange(k, count, 2) * hop
            span = np.zeros((len(chunk) + 1) * frame)
            span[: len(chunk) * frame] = chunk.ravel()
            # frames k, k+2, ... do not overlap each other: lay them end to end
            out[starts[0] : starts[0] + len(chunk) * frame] += span[: len(chunk) * frame]
        mark[:, channel] = out[frame // 2 : frame // 2 + n]
    return mark
