"""Detection: a search over pitch, time scale and offset by the keyed sync pattern, then
soft decoding of a few candidates, each checked against the keyed tag.

The search costs no decoding attempts: it only picks which candidates are decoded. The
audio is cut into windows (``WINDOW_SECONDS``, one block apart); in each, for every pitch
factor, time factor and sub-slot phase, the tile features are folded onto one block and
the sync pattern's correlation over every cyclic shift is taken by FFT. The candidate
(pitch, time, phase) best over all windows is taken, each window's fold turned to its
best shift, and the windows that show the sync summed and decoded (attempt 1); failing
that, windows are decoded alone, best sync first, up to ``MAX_DECODES`` attempts in all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from provenance.watermark.image.payload import CODED_BITS

from . import dsp
from .config import (
    BLOCK_SLOTS,
    HOP_SECONDS,
    MAX_DECODES,
    PHASES,
    PITCH_CENTS,
    RATE,
    SLOT_FRAMES,
    SPEED_FACTORS,
    SYNC_TILES,
    SYNC_Z,
    TIME_FACTORS,
    WINDOW_SECONDS,
)
from .layout import Layout, layout
from .payload import decode, encode

Floats = npt.NDArray[np.float64]
SLOT_SECONDS = SLOT_FRAMES * HOP_SECONDS


@dataclasses.dataclass(frozen=True)
class Candidate:
    pitch: float  # content frequencies multiplied by this
    time: float  # content played this many times faster
    phase: int  # sub-slot offset, in PHASES-ths of a slot


@dataclasses.dataclass(frozen=True)
class Finding:
    payload: bytes | None
    attempts: int
    candidate: Candidate | None
    spans: tuple[tuple[float, float], ...]
    checked_seconds: float


def candidates() -> Iterator[tuple[float, float]]:
    """(pitch factor, time factor) pairs: the pitch-by-time grid, then speed changes."""
    for cents in PITCH_CENTS:
        for factor in TIME_FACTORS:
            yield 2 ** (cents / 1200), factor
    for factor in SPEED_FACTORS:
        yield factor, factor


def _windows(slots: int) -> list[tuple[int, int]]:
    length = round(WINDOW_SECONDS / SLOT_SECONDS)
    if slots <= length:
        return [(0, slots)]
    starts = list(range(0, slots - length + 1, BLOCK_SLOTS))
    if starts[-1] + length < slots:
        starts.append(slots - length)
    return [(start, start + length) for start in starts]


def _fold(features: Floats, start: int, end: int) -> Floats:
    folded = np.zeros((BLOCK_SLOTS, features.shape[1]))
    rows = np.arange(start, end)
    np.add.at(folded, rows % BLOCK_SLOTS, features[start:end])
    return folded


def _sync_scores(folded: Floats, sync_fft: npt.NDArray[np.complex128]) -> Floats:
    """z-scores of the sync correlation at every cyclic shift."""
    spread = float(np.mean(np.square(folded)))
    if spread <= 0:
        return np.zeros(BLOCK_SLOTS)
    corr = np.fft.irfft(np.conj(sync_fft) * np.fft.rfft(folded, axis=0), BLOCK_SLOTS, axis=0)
    return np.asarray(corr.sum(axis=1) / np.sqrt(spread * SYNC_TILES))


def _soft(folded: Floats, shift: int, keyed: Layout) -> Floats:
    turned = np.roll(folded, -shift, axis=0)
    soft = np.bincount(
        np.maximum(keyed.bit, 0).ravel(),
        weights=np.where(keyed.bit >= 0, keyed.pn * turned, 0.0).ravel(),
        minlength=CODED_BITS,
    )
    scale = float(np.std(soft))
    return np.asarray(soft / scale if scale > 0 else soft, dtype=np.float64)


def search(x: Floats, key: bytes) -> Finding:
    """Look for the mark of ``key`` in ``x`` (mono at ``RATE``)."""
    keyed = layout(key)
    sync_fft = np.fft.rfft(keyed.sync, axis=0)
    spectra = dsp.power(x)
    frames = len(spectra)
    seconds = len(x) / RATE
    best_total = -np.inf
    best: tuple[Candidate, list[tuple[float, int, Floats]], Floats] | None = None
    per_window: dict[int, tuple[float, Candidate, int, Floats]] = {}
    bands_at: dict[float, Floats] = {}
    for pitch, time in candidates():
        bands = bands_at.get(pitch)
        if bands is None:
            bands = bands_at[pitch] = dsp.band_energies(spectra, pitch)
        step = SLOT_FRAMES / time
        for phase in range(PHASES):
            feats = dsp.features(dsp.slot_energies(bands, step, step * phase / PHASES))
            if len(feats) < BLOCK_SLOTS:
                continue
            found = []
            for index, (start, end) in enumerate(_windows(len(feats))):
                folded = _fold(feats, start, end)
                scores = _sync_scores(folded, sync_fft)
                shift = int(np.argmax(scores))
                z = float(scores[shift])
                found.append((z, shift, folded))
                if index not in per_window or z > per_window[index][0]:
                    per_window[index] = (z, Candidate(pitch, time, phase), shift, folded)
            total = float(np.mean([z for z, _, _ in found]))
            if total > best_total:
                best_total = total
                best = (Candidate(pitch, time, phase), found, feats)
    if best is None:
        return Finding(None, 0, None, (), 0.0)
    candidate, found, feats = best
    attempts = 0
    strong = [(z, shift, folded) for z, shift, folded in found if z >= SYNC_Z]
    payload = None
    if strong:
        combined = sum(_soft(folded, shift, keyed) for _, shift, folded in strong)
        attempts += 1
        payload = decode(np.asarray(combined, dtype=np.float64), key)
    if payload is None:
        for z, window_candidate, shift, folded in sorted(
            per_window.values(), key=lambda item: -item[0]
        ):
            if attempts >= MAX_DECODES or z < SYNC_Z:
                break
            attempts += 1
            payload = decode(_soft(folded, shift, keyed), key)
            if payload is not None:
                candidate = window_candidate
                break
    spans: tuple[tuple[float, float], ...] = ()
    if payload is not None:
        spans = marked_spans(x, spectra, key, payload, candidate, frames)
    return Finding(payload, attempts, candidate, spans, seconds)


def marked_spans(
    x: Floats,
    spectra: Floats,
    key: bytes,
    payload: bytes,
    candidate: Candidate,
    frames: int,
) -> tuple[tuple[float, float], ...]:
    """Where the mark with ``payload`` is, in seconds: each second of the content whose
    tiles correlate with the full expected pattern (sync and coded bits) at the found
    pitch, time scale and some block offset with z >= 3."""
    keyed = layout(key)
    chips = keyed.chips(encode(payload, key))
    step = SLOT_FRAMES / candidate.time
    phase = step * candidate.phase / PHASES
    feats = dsp.features(
        dsp.slot_energies(dsp.band_energies(spectra, candidate.pitch), step, phase)
    )
    if len(feats) == 0:
        return ()
    # the block offset of each window, by the full pattern
    slot_seconds = step * HOP_SECONDS
    per_second = max(1, round(1.0 / slot_seconds))
    chips_fft = np.fft.rfft(chips, axis=0)
    shifts = set()
    for start, end in _windows(len(feats)):
        folded = _fold(feats, start, end)
        corr = np.fft.irfft(np.conj(chips_fft) * np.fft.rfft(folded, axis=0), BLOCK_SLOTS, axis=0)
        shifts.add(int(np.argmax(corr.sum(axis=1))))
    rows = np.arange(len(feats))
    spread = float(np.mean(np.square(feats))) or 1.0
    marked = np.zeros(len(feats) // per_second + 1, dtype=bool)
    for shift in shifts:
        expected = chips[(rows - shift) % BLOCK_SLOTS]
        per_slot = np.sum(feats * expected, axis=1)
        active = np.sum(feats != 0, axis=1)
        for second in range(len(marked)):
            part = slice(second * per_second, (second + 1) * per_second)
            tiles = int(active[part].sum())
            if tiles and per_slot[part].sum() / np.sqrt(spread * tiles) >= 3.0:
                marked[second] = True
    spans: list[tuple[float, float]] = []
    origin = phase * HOP_SECONDS
    for second, is_marked in enumerate(marked):
        if not is_marked:
            continue
        begin = float(origin + second * per_second * slot_seconds)
        finish = min(begin + per_second * slot_seconds, frames * HOP_SECONDS, len(x) / RATE)
        if spans and abs(spans[-1][1] - begin) < 1e-6:
            spans[-1] = (spans[-1][0], finish)
        else:
            spans.append((begin, finish))
    return tuple((round(a, 2), round(b, 2)) for a, b in spans)
