"""Informed embedding: spend the mark's energy where the photo works against it.

The embedder knows the photo, so it can run the detector on it (Miller, Doerr & Cox 2004,
"informed embedding"). For each coded bit it measures the host's own contribution ``H``
to the bit's soft value and the mark's gain ``G`` per unit of weight, then picks weights
that lift every bit to a common margin: bits the photo already pushes the right way get
little energy (down to ``_W_MIN``), bits it pushes the wrong way get more (up to ``_W_MAX``),
with the mean energy unchanged.

The host contribution it cancels is that of the whole image; a crop keeps only part of
it, and then uneven weights are a loss. So the weights are informed only as far as the
photo needs it: when its own interference is what limits decoding (full-frame texture),
not when the mark already stands well above it (most photos), where uniform weights keep
crops safe.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from .detector import cell_responses, pilot_offset, whiten_fold
from .pattern import ORIENTATIONS, Layout
from .payload import CODED_BITS
from .sync import NOMINAL, centre, fold, whitening

FloatArray = npt.NDArray[np.float64]
_W_MIN = 0.3
_W_MAX = 3.0
#: Predicted per-bit SNR (no attack) at or under which the weights are fully informed,
#: and at or over which they stay uniform. Measured on the benchmark photos: full-frame
#: texture close-ups (grass, gravel) 1.0-1.15, every other photo 2.4-7.6.
_SNR_FULL = 1.2
_SNR_OFF = 2.0
#: Blends of the informed proposal with uniform weights that are tried.
_BLENDS = (0.25, 0.5, 0.75, 1.0)


def bit_weights(
    host: FloatArray,
    mark: FloatArray,
    layout: Layout,
    coded: npt.NDArray[np.uint8],
    strength: float,
) -> FloatArray:
    """Per-cell amplitude factors (mean square 1 over data cells; pilot cells 1).

    ``host`` and ``mark`` are the detector's cell responses (times the chips) to the photo
    alone and to the unit-weight mark alone.
    """
    weights = np.ones(host.size)
    if strength <= 0.0:
        return weights
    symbols = 2.0 * coded[layout.bit_of_cell] - 1.0
    h_bit = np.bincount(layout.bit_of_cell, host[layout.data] * symbols, CODED_BITS)
    g_bit = np.bincount(layout.bit_of_cell, mark[layout.data] * symbols, CODED_BITS)
    g_bit = np.maximum(g_bit, 0.25 * max(float(np.median(g_bit)), 1e-12))
    cells = np.bincount(layout.bit_of_cell, minlength=CODED_BITS)
    snr = float(np.median(g_bit)) / (float(np.std(h_bit)) + 1e-12)
    strength *= float(np.clip((_SNR_OFF - snr) / (_SNR_OFF - _SNR_FULL), 0.0, 1.0))
    if strength <= 0.0:
        return weights

    def solve(margin: float) -> FloatArray:
        w: FloatArray = np.clip((margin * g_bit - h_bit) / g_bit, _W_MIN, _W_MAX)
        return w

    low, high = -10.0, 10.0
    for _ in range(40):  # mean energy is monotonic in the margin: bisect for 1.0
        mid = 0.5 * (low + high)
        energy = float(np.sum(cells * solve(mid) ** 2) / np.sum(cells))
        low, high = (mid, high) if energy < 1.0 else (low, mid)
    w_bit = (1.0 - strength) + strength * solve(0.5 * (low + high))
    w_bit /= np.sqrt(np.sum(cells * w_bit**2) / np.sum(cells))
    weights[layout.data] = w_bit[layout.bit_of_cell]
    return weights


def informed_weights(
    host: npt.NDArray[np.float32],
    render: Callable[[FloatArray], npt.NDArray[np.float32]],
    layout: Layout,
    coded: npt.NDArray[np.uint8],
    strength: float,
) -> FloatArray:
    """Cell weights from the photo's luma and a renderer of the mark's luma for given cell
    weights (same grid, 8-bit units, energy fixed by the PSNR), as the detector sees them.

    Cancelling the photo's interference costs more pixel energy than the weights' mean
    square says (the interference has structure, the chips leak into their neighbours),
    and the PSNR takes that energy back. So the informed proposal is blended with uniform
    weights at the strength that the simulated detector, given the true energy, scores
    best: fewest wrong bits, then the largest mean margin. Uniform weights are one of the
    candidates, so the choice never predicts worse than no informed embedding.
    """
    host, _ = centre(host)
    # Linearised detector: the whitening weight is taken from the photo alone (the mark
    # barely changes it), so photo and mark responses add up and are computed separately.
    high, weight = whitening(host)
    alone = fold(high * weight, NOMINAL)
    symbols = 2.0 * coded - 1.0
    shift: tuple[int, int] | None = None

    def simulate(weights: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        nonlocal shift
        mark, _ = centre(render(weights))
        mark_high = mark - ndimage.gaussian_filter(mark, 2.0, truncate=3.0)
        marked = alone + fold(mark_high * weight, NOMINAL)
        spec_marked = whiten_fold(marked)
        if shift is None:
            shift = pilot_offset(layout, NOMINAL, spec_marked, only=ORIENTATIONS[0]).shift
        host_cells = cell_responses(whiten_fold(alone, like=marked), shift) * layout.chips
        total = cell_responses(spec_marked, shift) * layout.chips
        soft = np.bincount(layout.bit_of_cell, total[layout.data], CODED_BITS) * symbols
        return host_cells, total - host_cells, soft

    uniform = np.ones(layout.chips.size)
    host_cells, mark_cells, soft = simulate(uniform)
    proposal = bit_weights(host_cells, mark_cells, layout, coded, strength)
    if np.array_equal(proposal, uniform):
        return uniform  # the mark already stands well above the photo

    def score(soft: FloatArray) -> tuple[float, float]:
        return (-float(np.mean(soft < 0)), float(np.mean(soft)))

    best, best_score = uniform, score(soft)
    data = layout.data
    for blend in _BLENDS:
        weights = uniform + blend * (proposal - uniform)
        weights[data] /= np.sqrt(np.mean(weights[data] ** 2))
        candidate = score(simulate(weights)[2])
        if candidate > best_score:
            best, best_score = weights, candidate
    return best
