"""Synchronisation: find the tile lattice (scale, rotation, aspect, shear) without the key.

The detector looks at luma resized so the short side is ``ANALYSIS_SIDE`` pixels: there an
untouched or uniformly resized image has its tile at exactly ``TILE`` px (the nominal
lattice). Crops, zooms, rotations and aspect changes move the lattice; the mark repeats,
so the autocorrelation of the whitened image has peaks on the lattice (Kutter 1999).
Candidates come from the strongest peaks near each axis (paired with each other, with
their own 90-degree turn, or with the nominal period on the other axis) and from an
exhaustive comb over square lattices (period x rotation); all are scored on eight lattice
points, since a photo's own structure makes single peaks and only a lattice makes all of
them. Each candidate becomes a canonical fold (every tile summed onto one ``TILE`` x
``TILE`` tile), on which the keyed pilot then finds the offset. None of this needs a
secret, so it is done once per image whatever the number of secrets tried.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import fft as sp_fft
from scipy import ndimage

from .config import TILE, TILES_PER_SHORT_SIDE
from .mask import FLAT_GAIN, TEXTURE_GAIN

FloatArray = npt.NDArray[np.float32]
ANALYSIS_SIDE = TILE * TILES_PER_SHORT_SIDE
_MAX_LONG_SIDE = 3 * ANALYSIS_SIDE
_MIN_PERIOD = 0.5 * TILE
_MAX_PERIOD = 2.6 * TILE
_SECTOR_DEG = 12.0
#: Rotations searched exhaustively for square lattices, degrees either way.
_MAX_ROTATION = 8.0
_PEAKS_PER_AXIS = 8
#: Window (lags) over which an ACF peak must stand out from its surroundings.
_PROMINENCE_WINDOW = 15


@dataclasses.dataclass(frozen=True)
class Analysis:
    """Whitened luma on the analysis grid and how it maps back to the input."""

    residual: FloatArray
    factor: float  # analysis px per input px
    origin: tuple[float, float]  # input (x, y) of analysis pixel (0, 0)


@dataclasses.dataclass(frozen=True)
class Lattice:
    """Tile lattice basis vectors in analysis pixels, as (x, y) with y down."""

    v1: tuple[float, float]  # image of the tile's x axis (one period)
    v2: tuple[float, float]  # image of the tile's y axis
    score: float

    def matrix(self) -> npt.NDArray[np.float64]:
        """Canonical tile coordinates (u, w) -> analysis (x, y) displacement."""
        return np.array([[self.v1[0], self.v2[0]], [self.v1[1], self.v2[1]]]) / TILE

    def close_to(self, other: Lattice, tol: float = 1.0) -> bool:
        return bool(np.abs(self.matrix() - other.matrix()).max() * TILE < tol)


#: The lattice of an image whose geometry is unchanged (or uniformly resized).
NOMINAL = Lattice((float(TILE), 0.0), (0.0, float(TILE)), 0.0)


def analyse(y: FloatArray) -> Analysis:
    """Resize luma to the analysis grid and whiten it (high-pass, contrast-normalised)."""
    small, factor, (ox, oy) = analysis_grid(y)
    return Analysis(_whiten(small), factor, (ox / factor, oy / factor))


def analysis_grid(y: FloatArray) -> tuple[FloatArray, float, tuple[int, int]]:
    """Luma on the analysis grid, before whitening: the (centred) grid, analysis px per
    input px, and the grid's corner (x, y) in analysis px."""
    height, width = y.shape
    factor = ANALYSIS_SIDE / min(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = y
    if size != (width, height):
        resample = Image.Resampling.BOX if factor < 1.0 else Image.Resampling.BILINEAR
        small = np.asarray(Image.fromarray(y, "F").resize(size, resample))
    small, corner = centre(small)
    return small, factor, corner


def centre(y: FloatArray) -> tuple[FloatArray, tuple[int, int]]:
    """The central part of an analysis-grid image whose long side is capped (for speed);
    also returns the (x, y) of its corner."""
    ox = max(0, (y.shape[1] - _MAX_LONG_SIDE) // 2)
    oy = max(0, (y.shape[0] - _MAX_LONG_SIDE) // 2)
    return y[oy : oy + _MAX_LONG_SIDE, ox : ox + _MAX_LONG_SIDE], (ox, oy)


def whitening(y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The high-pass of ``y`` and the matched-filter weight (expected mark strength over
    local noise power) that together make the detector's residual."""
    high = y - ndimage.gaussian_filter(y, 2.0, truncate=3.0)
    power = ndimage.gaussian_filter(high * high, 4.0, truncate=3.0)
    sd = np.sqrt(np.maximum(power, 0.0)) + 1.0
    expected = np.clip(sd / max(float(np.median(sd)), 2.5), FLAT_GAIN, TEXTURE_GAIN)
    weight: FloatArray = (expected / (sd * sd)).astype(np.float32)
    return high, weight


def _whiten(y: FloatArray) -> FloatArray:
    high, weight = whitening(y)
    out: FloatArray = (high * weight).astype(np.float32)
    out -= out.mean()
    return out


def _acf_z(residual: FloatArray, max_lag: int) -> FloatArray:
    """Autocorrelation as z-scores, lags -max_lag..max_lag on both axes (index = lag + L)."""
    h, w = residual.shape
    # Zero padding of at least max_lag keeps those lags free of wrap-around; a size with
    # small prime factors makes the transforms several times faster, and single precision
    # (SciPy keeps it; NumPy would not) twice as fast again.
    shape = (sp_fft.next_fast_len(h + max_lag, True), sp_fft.next_fast_len(w + max_lag, True))
    spec = sp_fft.rfft2(residual.astype(np.float32, copy=False), s=shape)
    acf = sp_fft.irfft2(spec.real**2 + spec.imag**2, s=shape)
    lags = np.arange(-max_lag, max_lag + 1)
    win = acf[np.ix_(lags % acf.shape[0], lags % acf.shape[1])]
    overlap = np.outer(np.maximum(h - np.abs(lags), 1), np.maximum(w - np.abs(lags), 1))
    norm = float(np.mean(residual * residual, dtype=np.float64)) + 1e-12
    z: FloatArray = (win / (np.sqrt(overlap) * norm)).astype(np.float32)
    # The mark's lattice peaks are as narrow as a chip; the photo's own structure makes
    # broad ridges and hills. Keep what stands above its neighbourhood, in robust z units
    # (the median of a fixed sample of lags is as good a scale as that of all of them).
    z = z - ndimage.uniform_filter(z, _PROMINENCE_WINDOW)
    z /= 1.4826 * float(np.median(np.abs(z.ravel()[::7]))) + 1e-12
    return z


Vectors = npt.NDArray[np.float64]
Pair = tuple[tuple[float, float], tuple[float, float]]
#: Lattice points scored: image structure makes single peaks, only a lattice makes all.
_COMB = ((1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2), (2, 1), (1, 2))


def _comb(z: FloatArray, max_lag: int, v1: Vectors, v2: Vectors) -> npt.NDArray[np.float64]:
    """Lattice evidence for each basis (rows of v1, v2): sum of ACF z over the comb points
    within range, divided by the square root of their number."""
    total = np.zeros(len(v1))
    count = np.zeros(len(v1))
    for i, j in _COMB:
        x = i * v1[:, 0] + j * v2[:, 0] + max_lag
        y = i * v1[:, 1] + j * v2[:, 1] + max_lag
        inside = (x >= 0) & (x < z.shape[1] - 1) & (y >= 0) & (y < z.shape[0] - 1)
        values = ndimage.map_coordinates(z, [y[inside], x[inside]], order=1)
        total[inside] += values
        count[inside] += 1
    out: npt.NDArray[np.float64] = total / np.sqrt(np.maximum(count, 1))
    return out


def _square_lattices(z: FloatArray, max_lag: int, keep: int = 4) -> list[Pair]:
    """Best square lattices over an exhaustive (period, rotation) grid (crops, zooms)."""
    periods = np.arange(_MIN_PERIOD, min(_MAX_PERIOD, max_lag - 1), 0.5)
    angles = np.radians(np.arange(-_MAX_ROTATION, _MAX_ROTATION + 0.01, 0.5))
    pp, aa = np.meshgrid(periods, angles, indexing="ij")
    v1 = np.stack([pp * np.cos(aa), -pp * np.sin(aa)], axis=-1).reshape(-1, 2)
    v2 = np.stack([pp * np.sin(aa), pp * np.cos(aa)], axis=-1).reshape(-1, 2)
    grid = _comb(z, max_lag, v1, v2).reshape(pp.shape)
    peaks = (grid == ndimage.maximum_filter(grid, size=(9, 5), mode="nearest")) & (grid > 0)
    order = np.argsort(-grid[peaks])[:keep]
    flat = np.flatnonzero(peaks.ravel())[order]
    return [((float(v1[k, 0]), float(v1[k, 1])), (float(v2[k, 0]), float(v2[k, 1]))) for k in flat]


def _refine_peak(z: FloatArray, iy: int, ix: int) -> tuple[float, float]:
    """Sub-pixel peak position by a parabola through the neighbours on each axis."""

    def offset(a: float, b: float, c: float) -> float:
        den = a - 2 * b + c
        return 0.0 if den >= 0 else float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))

    if 0 < iy < z.shape[0] - 1 and 0 < ix < z.shape[1] - 1:
        return (
            iy + offset(z[iy - 1, ix], z[iy, ix], z[iy + 1, ix]),
            ix + offset(z[iy, ix - 1], z[iy, ix], z[iy, ix + 1]),
        )
    return float(iy), float(ix)


def _axis_peaks(
    z: FloatArray, maxima: npt.NDArray[np.bool_], max_lag: int, vertical: bool
) -> list[tuple[float, float, float]]:
    """Strongest local maxima (vx, vy, z) within ``_SECTOR_DEG`` of one axis."""
    lags = np.arange(-max_lag, max_lag + 1, dtype=np.float64)
    ly, lx = lags[:, None], lags[None, :]
    along, across = (ly, lx) if vertical else (lx, ly)
    radius = np.hypot(lx, ly)
    sector = (along > 0) & (np.abs(across) <= along * math.tan(math.radians(_SECTOR_DEG)))
    sector &= (radius >= _MIN_PERIOD) & (radius <= _MAX_PERIOD)
    iy, ix = np.nonzero(maxima & sector)
    order = np.argsort(-z[iy, ix])[:_PEAKS_PER_AXIS]
    out = []
    for k in order:
        fy, fx = _refine_peak(z, int(iy[k]), int(ix[k]))
        out.append((fx - max_lag, fy - max_lag, float(z[iy[k], ix[k]])))
    return out


def lattice_candidates(residual: FloatArray, limit: int = 10) -> list[Lattice]:
    """The nominal lattice first, then the best-scoring lattices found in the ACF."""
    h, w = residual.shape
    max_lag = int(min(_MAX_PERIOD + 4, 0.75 * min(h, w)))
    z = _acf_z(residual, max_lag)
    maxima = z == ndimage.maximum_filter(z, size=5)
    horiz = _axis_peaks(z, maxima, max_lag, vertical=False)
    vert = _axis_peaks(z, maxima, max_lag, vertical=True)
    pairs = _square_lattices(z, max_lag)
    for hx, hy, _ in horiz:
        pairs.append(((hx, hy), (-hy, hx)))  # square lattice from one axis
        for vx, vy, _ in vert:
            ratio = math.hypot(hx, hy) / math.hypot(vx, vy)
            cos = (hx * vx + hy * vy) / (math.hypot(hx, hy) * math.hypot(vx, vy))
            if 0.75 < ratio < 1.33 and abs(cos) < 0.2:
                pairs.append(((hx, hy), (vx, vy)))
        pairs.append(((hx, hy), NOMINAL.v2))  # an aspect change along x
    for vx, vy, _ in vert:
        pairs.append(((vy, -vx), (vx, vy)))
        pairs.append((NOMINAL.v1, (vx, vy)))
    scores = _comb(z, max_lag, np.array([a for a, _ in pairs]), np.array([b for _, b in pairs]))
    lattices = (Lattice(a, b, float(score)) for (a, b), score in zip(pairs, scores, strict=True))
    found = sorted(lattices, key=lambda c: -c.score)
    out = [NOMINAL]
    for cand in found:
        if len(out) > limit:
            break
        if not any(cand.close_to(o) for o in out):
            out.append(cand)
    return out


#: Added to tile coordinates before truncating to integers, so that negative coordinates
#: round down like positive ones (a multiple of TILE: the fold is periodic). Large enough
#: for any analysis image (long side at most _MAX_LONG_SIDE), small enough for float32 to
#: keep a hundredth of a pixel.
_COORD_OFFSET = float(64 * TILE)


def fold(residual: FloatArray, lattice: Lattice, *, exact: bool = True) -> npt.NDArray[np.float64]:
    """Sum every tile of the residual onto one canonical tile.

    ``exact``: bilinear splatting; otherwise nearest neighbour, several times cheaper and a
    few percent weaker, which is enough to rank candidate lattices.
    """
    if lattice.close_to(NOMINAL, 1e-6):
        return _fold_nominal(residual)
    inv = np.linalg.inv(lattice.matrix()).astype(np.float32)
    h, w = residual.shape
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None]
    shift = np.float32(_COORD_OFFSET + (0.5 if not exact else 0.0))
    u = (inv[0, 0] * xs + shift) + inv[0, 1] * ys  # separable: one pass over the image
    v = (inv[1, 0] * xs + shift) + inv[1, 1] * ys
    iu = u.astype(np.int32)  # = floor, the coordinates being positive
    iv = v.astype(np.int32)
    r = residual.ravel()
    n = TILE * TILE
    mask = TILE - 1  # TILE is a power of two: the wrap is a bit mask
    if not exact:
        iu &= mask
        iv &= mask
        iv *= TILE
        iv += iu
        near: npt.NDArray[np.float64] = np.bincount(iv.ravel(), r, n).astype(np.float64)
        return near.reshape(TILE, TILE)
    fu = (u - iu).ravel()
    fv = (v - iv).ravel()
    iu &= mask
    iv &= mask
    iu1 = (iu + 1) & mask
    row0 = iv * TILE
    row1 = ((iv + 1) & mask) * TILE
    iu, iu1, row0, row1 = iu.ravel(), iu1.ravel(), row0.ravel(), row1.ravel()
    rv = r * fv
    r0 = r - rv
    out: npt.NDArray[np.float64] = np.bincount(row0 + iu, r0 - r0 * fu, n).astype(np.float64)
    out += np.bincount(row0 + iu1, r0 * fu, n)
    out += np.bincount(row1 + iu, rv - rv * fu, n)
    out += np.bincount(row1 + iu1, rv * fu, n)
    result = out.reshape(TILE, TILE)
    return result


def _fold_nominal(residual: FloatArray) -> npt.NDArray[np.float64]:
    h, w = residual.shape
    hh, ww = -(-h // TILE) * TILE, -(-w // TILE) * TILE
    padded = np.zeros((hh, ww), dtype=np.float64)
    padded[:h, :w] = residual
    out: npt.NDArray[np.float64] = padded.reshape(hh // TILE, TILE, ww // TILE, TILE).sum(
        axis=(0, 2)
    )
    return out
