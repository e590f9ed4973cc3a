"""Where a found mark is missing: a coarse grid of cells, each altered, unknown or intact.

The mark covers the whole picture, so once the detector has found it (payload and
geometry) the expected mark is known at every pixel. Each cell of a ``grid`` x ``grid``
split of the input gets the least-squares amplitude of that mark in the detector's own
residual (``sync.whitening`` on the analysis grid), with a noise level calibrated on
decoys (the same mark moved half a tile, which nothing in the picture correlates with).

A cell is compared with cells of similar texture elsewhere in the picture, not with one
global amplitude: global processing (JPEG, resizing, noise, colour changes) weakens the
mark alike in cells of alike texture, flat ones most, while an edit weakens it in one
place. A cell is **altered** when its amplitude is under ``_ALTERED_RATIO`` of that
reference by ``_ALTERED_Z`` standard deviations; **unknown** when an intact cell there
could not have been told from an altered one: too little signal or texture, no cell of
similar texture to compare with, colours clipped to black or white, or outside the
analysed part of a very long picture. Cells with no texture at all (a painted area, or a
sky that compression flattened) are judged only when the picture's flattest textured
cells show that the mark survived on flat content.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import fft as sp_fft
from scipy import ndimage

from provenance.watermark.secret import WatermarkSecret

from .config import TILE, WatermarkConfig
from .detector import Detection
from .mask import FLAT_GAIN, TEXTURE_GAIN
from .pattern import layout_for, render_tile
from .payload import encode
from .pixels import LUMA_WEIGHTS, detection_luma
from .sync import analysis_grid, whitening

Float32 = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]
State = Literal["altered", "unknown"]

#: An altered cell keeps less than this share of its reference amplitude ...
_ALTERED_RATIO = 1.0 / 3.0
#: ... and is at least this many standard deviations under it (about one intact cell in
#: 800 of those tested, where the noise is Gaussian; the benchmark measures the rest).
_ALTERED_Z = 3.0
#: Where an intact cell would stand fewer deviations above zero, the cell is unknown: a
#: mark removed there could not reach ``_ALTERED_Z`` and the ratio.
_MIN_EXPECTED_Z = _ALTERED_Z / (1.0 - _ALTERED_RATIO)
#: The reference of a cell: the median amplitude of up to this many cells ...
_POOL = 8
#: ... at least this many cells away (Chebyshev), so that one edit is not its own
#: reference, ...
_POOL_GAP = 3
#: ... whose texture is within this factor of the cell's; with fewer than _POOL_MIN of
#: them the cell is unknown.
_SIMILAR = 2.0
_POOL_MIN = 3
#: Texture (8-bit luma std of the high-pass) under which a pixel has no texture at all
#: (painted, or compressed flat), and the share of such pixels in a cell's estimate that
#: makes the cell textureless. Measured: cells inside a painted area 0.8-1.0, even after
#: JPEG 90; cells that global processing took the mark off at most 0.06 (JPEG 50: 0.5).
_FLAT_ACTIVITY = 0.1
_FLAT_SHARE = 0.6
#: Textureless cells are judged only if the flattest textured cells keep this share of the
#: picture's median amplitude (rounding and lossy compression take the mark off flat
#: content first).
_FLAT_SURVIVAL = 0.5
#: A pixel whose colour could not move this far (luma units) without clipping is not used.
_CLIP_MARGIN = 2.0
#: A cell less than this share inside the analysed area is unknown.
_MIN_COVER = 0.5
#: Decoy shifts of the expected mark, in canonical tile pixels (no lattice vector).
_DECOYS = ((64, 0), (0, 64), (64, 64), (32, 96))
#: The embedder moves channel c by d * this[c] for a luma change d.
_COLOR_DIRECTION = LUMA_WEIGHTS / float(np.sum(LUMA_WEIGHTS**2))
_INTACT, _ALTERED, _UNKNOWN = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Region:
    """A grid cell that no longer carries the mark (``altered``) or where that cannot be
    told (``unknown``): a box in input pixels and its share of the image area."""

    x: int
    y: int
    width: int
    height: int
    share: float
    state: State


def altered_regions(
    image: Image.Image,
    detection: Detection,
    secret: WatermarkSecret,
    grid: int = 8,
    config: WatermarkConfig | None = None,
) -> tuple[Region, ...]:
    """The cells of a ``grid`` x ``grid`` split of ``image`` that are altered or unknown,
    row by row (intact cells are not listed). ``detection`` is what ``detect`` found in
    this very image with ``secret``."""
    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL.Image.Image, got {type(image).__name__}")
    if not isinstance(secret, WatermarkSecret):
        raise TypeError("secret must be a WatermarkSecret")
    if not 1 <= grid <= 32:
        raise ValueError("grid must be in 1..32")
    if not detection.detected or detection.payload is None or detection.tile_to_input is None:
        raise ValueError("altered_regions needs a detection that found a mark")
    luma = detection_luma(image, config or WatermarkConfig())
    height, width = luma.shape
    small, factor, corner = analysis_grid(luma)
    cells = _Cells(grid, width, height, small.shape, factor, corner)
    room = _headroom(image, small, factor, corner)
    affine = np.array(detection.tile_to_input, dtype=np.float64)
    # Canonical tile (u, v) -> analysis pixel: (input (x, y)) * factor - corner.
    to_grid = affine[:, :2] * factor
    offset = affine[:, 2] * factor - np.array(corner, dtype=np.float64)
    mark = _expected_mark(_cell_values(detection, secret), to_grid, offset, small.shape)
    measures = _measure(small, room, mark, to_grid, cells)
    states = _judge(measures, grid, cells.cover)
    total = width * height
    out = []
    for index in np.flatnonzero(states != _INTACT):
        x0, y0, x1, y1 = cells.box(int(index))
        state: State = "altered" if states[index] == _ALTERED else "unknown"
        out.append(Region(x0, y0, x1 - x0, y1 - y0, (x1 - x0) * (y1 - y0) / total, state))
    return tuple(out)


def _headroom(
    image: Image.Image, small: Float32, factor: float, corner: tuple[int, int]
) -> Float32:
    """How far (luma units) the mark could move each analysis pixel before a colour
    channel clips: the embedder moves R, G and B along the luma weights, so a channel at 0
    or 255 cuts the mark off even where the luma is well inside (dark saturated colours)."""
    room: Float32 = np.minimum(small, 255.0 - small)
    if image.mode not in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr"):
        return room
    h, w = small.shape
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if factor < 1.0:
        rgb = rgb.reduce(max(1, round(1.0 / factor)))  # fast; a map of clipping needs no more
    planes = np.asarray(rgb)
    coarse = np.full(planes.shape[:2], 255.0, dtype=np.float32)
    for c in range(3):
        plane = planes[..., c]
        np.minimum(coarse, np.minimum(plane, 255 - plane) / _COLOR_DIRECTION[c], out=coarse)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    if size != rgb.size:
        coarse = np.asarray(Image.fromarray(coarse, "F").resize(size, Image.Resampling.BILINEAR))
    np.minimum(room, coarse[corner[1] : corner[1] + h, corner[0] : corner[0] + w], out=room)
    return room


class _Cells:
    """The grid in input pixels, and which analysis rows and columns fall in each cell."""

    def __init__(
        self,
        grid: int,
        width: int,
        height: int,
        shape: tuple[int, ...],
        factor: float,
        corner: tuple[int, int],
    ) -> None:
        self.grid = grid
        self.xs = np.round(np.arange(grid + 1) * width / grid).astype(np.intp)
        self.ys = np.round(np.arange(grid + 1) * height / grid).astype(np.intp)
        cols = self._owner(shape[1], corner[0], factor, self.xs)
        rows = self._owner(shape[0], corner[1], factor, self.ys)
        cover_x = np.bincount(cols, minlength=grid) / (np.diff(self.xs) * factor)
        cover_y = np.bincount(rows, minlength=grid) / (np.diff(self.ys) * factor)
        self.cover: Float64 = np.outer(np.minimum(cover_y, 1), np.minimum(cover_x, 1)).ravel()
        self.rows, self.row_starts = np.unique(rows, return_index=True)
        self.cols, self.col_starts = np.unique(cols, return_index=True)

    @staticmethod
    def _owner(n: int, corner: int, factor: float, edges: Index) -> Index:
        """The grid index of each analysis row or column (by its centre in input pixels)."""
        centres = (np.arange(n) + corner + 0.5) / factor
        owner: Index = np.searchsorted(edges, centres, side="right") - 1
        return np.clip(owner, 0, len(edges) - 2)

    def sums(self, values: Float32) -> Float64:
        """The sum of an analysis-grid array over each cell, row-major."""
        # Along the rows first: reducing contiguous runs is several times faster.
        by_col = np.add.reduceat(values, self.col_starts, axis=1)
        out = np.zeros((self.grid, self.grid))
        out[np.ix_(self.rows, self.cols)] = np.add.reduceat(
            by_col, self.row_starts, axis=0, dtype=np.float64
        )
        flat: Float64 = out.ravel()
        return flat

    def box(self, index: int) -> tuple[int, int, int, int]:
        row, col = divmod(index, self.grid)
        return int(self.xs[col]), int(self.ys[row]), int(self.xs[col + 1]), int(self.ys[row + 1])


def _cell_values(detection: Detection, secret: WatermarkSecret) -> Float64:
    """Signed chip-cell amplitudes of the mark this detection decoded."""
    assert detection.payload is not None
    if detection.alg is None:
        coded = encode(detection.payload, secret.key)
    else:
        coded = encode(detection.payload, secret.key, detection.alg)
    return layout_for(secret.key).cell_values(coded)


def _expected_mark(
    cells: Float64, to_grid: Float64, offset: Float64, shape: tuple[int, ...]
) -> Float32:
    """The mark for these cell values (unit gain) on the analysis grid, where tile
    ``(u, v)`` lands at ``to_grid @ (u, v) + offset``; high-passed as the residual is."""
    scale = math.sqrt(abs(float(np.linalg.det(to_grid))))
    tile = render_tile(cells, TILE)
    tile -= ndimage.gaussian_filter(tile, 2.0 / scale, mode="wrap", truncate=3.0)
    tile32 = tile.astype(np.float32)
    h, w = shape
    inverse = np.linalg.inv(to_grid)
    start = -inverse @ offset  # tile (u, v) of analysis pixel (0, 0)
    if np.allclose(to_grid, np.eye(2), atol=1e-9) and np.allclose(start, np.round(start)):
        # The geometry of a freshly marked (or uniformly resized) image: a whole-pixel shift.
        su, sv = (round(float(s)) % TILE for s in start)
        reps = (-(-(h + sv) // TILE), -(-(w + su) // TILE))
        nominal: Float32 = np.tile(tile32, reps)[sv : sv + h, su : su + w]
        return np.ascontiguousarray(nominal)
    # Any other geometry: Pillow's bilinear affine warp of the tile repeated over the area
    # the analysis grid maps to.
    corners = inverse @ np.array([[0, w - 1, 0, w - 1], [0, 0, h - 1, h - 1]]) + start[:, None]
    low = np.floor(corners.min(axis=1) / TILE) * TILE
    reps = np.ceil((corners.max(axis=1) + 2 - low) / TILE).astype(int)
    source = Image.fromarray(np.tile(tile32, (reps[1], reps[0])), "F")
    (a, b), (d, e) = inverse
    su, sv = start - low
    data = (a, b, su + 0.5 - 0.5 * (a + b), d, e, sv + 0.5 - 0.5 * (d + e))
    warped = source.transform((w, h), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR)
    general: Float32 = np.asarray(warped, dtype=np.float32)
    return general


@dataclasses.dataclass(frozen=True)
class _Measures:
    """Per cell."""

    amplitude: Float64  # least-squares amplitude of the expected mark
    energy: Float64  # sum of the expected mark squared (its information)
    noise: Float64  # variance of the amplitude's numerator (decoy-calibrated)
    fourth: Float64  # sum of the expected mark to the fourth (noise of a mark that is there)
    activity: Float64  # texture the estimate rests on (8-bit luma std of the high-pass)
    flat: Float64  # share of the estimate resting on pixels with no texture at all

    def typical_z(self) -> float:
        """Median z-score an intact cell reaches (the fit is the better, the higher)."""
        used = _used(self.energy)
        if not used.any():
            return 0.0
        overall = float(np.median(self.amplitude[used]))
        noise = np.maximum(self.noise[used], 1e-30)
        return float(np.median(overall * self.energy[used] / np.sqrt(noise)))


def _used(energy: Float64) -> npt.NDArray[np.bool_]:
    """Cells with enough of the expected mark to measure (not mostly clipped or outside)."""
    positive = energy > 0
    if not positive.any():
        return positive
    found: npt.NDArray[np.bool_] = energy > 0.05 * float(np.median(energy[positive]))
    return found


def _measure(
    small: Float32, room: Float32, mark: Float32, to_grid: Float64, cells: _Cells
) -> _Measures:
    high, weight = whitening(small)
    valid = room > _CLIP_MARGIN
    local = _local_activity(high)
    # The mark in the residual high * weight: the embedder's texture mask (as mask.py makes
    # it, from the picture as it is now, fading near black and white) times the weight.
    typical = float(np.median(local.ravel()[::7]))  # a sample is as good, and 7x cheaper
    mask = np.clip(local / np.float32(max(typical, 2.5)), FLAT_GAIN, TEXTURE_GAIN)
    mask *= np.clip(room / np.float32(12.0), 0.25, 1.0)
    zero = np.float32(0.0)
    expected = np.where(valid, weight * mask * mark, zero).astype(np.float32)
    residual = np.where(valid, high * weight, zero).astype(np.float32)
    shifts = [to_grid @ np.array(s, dtype=np.float64) for s in _DECOYS]
    moves = [(round(float(dy)), round(float(dx))) for dx, dy in shifts]
    # What is left of the photo in the residual is coloured: flattening its spectrum helps
    # most pictures and hurts those with a few bright objects on a dark ground (the
    # spectrum is theirs, the mark is on the ground). Both fits are made; the better wins.
    flatten = _Flattening(residual)
    fits = (
        _fit(residual, expected, local, moves, cells),
        _fit(flatten.residual, flatten(expected), local, moves, cells),
    )
    return max(fits, key=_Measures.typical_z)


def _local_activity(high: Float32) -> Float32:
    """Local std of the high-pass (8-bit units), smoothed over ~4 px; worked out at half
    resolution (the field is smooth) and repeated back."""
    h, w = high.shape
    hh, ww = h // 2 * 2, w // 2 * 2
    square = high * high
    half = square[0:hh:2, 0:ww:2] + square[1:hh:2, 0:ww:2]
    half += square[0:hh:2, 1:ww:2]
    half += square[1:hh:2, 1:ww:2]
    half *= np.float32(0.25)
    smooth = np.sqrt(np.maximum(ndimage.gaussian_filter(half, 2.0, truncate=3.0), 0.0))
    out = np.empty((h, w), dtype=np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            out[dy:hh:2, dx:ww:2] = smooth
    if hh < h:
        out[hh:, :] = out[hh - 1 : hh, :]
    if ww < w:
        out[:, ww:] = out[:, ww - 1 : ww]
    return out


def _fit(
    residual: Float32,
    expected: Float32,
    local: Float32,
    moves: list[tuple[int, int]],
    cells: _Cells,
) -> _Measures:
    square = expected * expected
    energy = cells.sums(square)
    product = residual * expected
    safe = np.maximum(energy, 1e-30)
    amplitude = cells.sums(product) / safe
    white = cells.sums(product * product)  # the numerator's variance if the noise were white
    root = np.sqrt(np.maximum(white, 1e-30))
    decoys = np.array(
        [cells.sums(residual * np.roll(expected, move, axis=(0, 1))) / root for move in moves]
    )
    used = _used(energy)
    # Decoy correlations are noise alone: their spread calibrates the white estimate
    # (0.455 is the median of chi-square with one degree of freedom).
    kappa2 = float(np.median(decoys[:, used] ** 2)) / 0.455 if used.any() else 1.0
    # The texture a cell's estimate rests on, weighted as the fit weighs its pixels: a cell
    # half flat sky, half texture is judged as the sky it mostly measures.
    activity = cells.sums(local * square) / safe
    flat = cells.sums(np.where(local < _FLAT_ACTIVITY, square, 0.0)) / safe
    return _Measures(
        amplitude, energy, white * max(kappa2, 0.25), cells.sums(square * square), activity, flat
    )


class _Flattening:
    """A filter that flattens the residual's spectrum, applied alike to anything else."""

    def __init__(self, residual: Float32) -> None:
        h, w = residual.shape
        self.shape = (sp_fft.next_fast_len(h, True), sp_fft.next_fast_len(w, True))
        spectrum = sp_fft.rfft2(residual, s=self.shape)
        power = ndimage.uniform_filter(spectrum.real**2 + spectrum.imag**2, 9, mode="wrap")
        floor = 1e-6 * float(power.mean()) + 1e-30
        self.filter = (1.0 / np.sqrt(power + floor)).astype(np.float32)
        self.residual = self._back(spectrum, residual.shape)

    def __call__(self, values: Float32) -> Float32:
        return self._back(sp_fft.rfft2(values, s=self.shape), values.shape)

    def _back(self, spectrum: npt.NDArray[np.complexfloating], shape: tuple[int, ...]) -> Float32:
        out = sp_fft.irfft2(spectrum * self.filter, s=self.shape)[: shape[0], : shape[1]]
        return np.ascontiguousarray(out, dtype=np.float32)


def _judge(m: _Measures, grid: int, cover: Float64) -> npt.NDArray[np.int8]:
    """Altered, unknown or intact, per cell of a ``grid`` x ``grid`` split."""
    states = np.full(grid * grid, _UNKNOWN, dtype=np.int8)
    informative = _used(m.energy) & (cover >= _MIN_COVER)
    if informative.sum() <= _POOL_MIN:
        return states
    overall = float(np.median(m.amplitude[informative]))
    if overall <= 0:
        return states
    reference = _references(m, grid, informative, overall)
    testable = informative & (reference > 0)
    reference = np.where(testable, reference, 1.0)
    # The spread of an intact cell's amplitude: the noise, plus the mark's own share where
    # the cell is now so flat that the noise alone would be nil.
    spread = np.sqrt(m.noise + reference**2 * m.fourth) / np.maximum(m.energy, 1e-30)
    spread = np.where(testable & (spread > 0), spread, np.inf)
    testable &= reference / spread >= _MIN_EXPECTED_Z
    altered = (m.amplitude < _ALTERED_RATIO * reference) & (
        (reference - m.amplitude) / spread >= _ALTERED_Z
    )
    states[testable] = np.where(altered[testable], _ALTERED, _INTACT)
    return states


def _references(
    m: _Measures, grid: int, informative: npt.NDArray[np.bool_], overall: float
) -> Float64:
    """The amplitude an intact cell would have, from textured cells far enough away
    (NaN: no reference, the cell is unknown).

    Cells of similar texture when there are enough; for a cell more textured than any of
    them, the most textured cells below (processing takes the mark off flat content
    first, so it survives at least as well with more texture); for a cell with no texture,
    the flattest textured cells, provided the mark survived on them.
    """
    cell = np.arange(grid * grid)
    row, col = np.divmod(cell, grid)
    apart = np.maximum(np.abs(row[:, None] - row[None, :]), np.abs(col[:, None] - col[None, :]))
    flat = m.flat >= _FLAT_SHARE
    textured = informative & ~flat
    far = textured[None, :] & (apart >= _POOL_GAP)
    level = np.log(np.maximum(m.activity, 1e-6))
    delta = level[None, :] - level[:, None]  # [cell, other]
    inf = np.inf
    similar = _pool_median(
        m.amplitude, np.where(far & (np.abs(delta) <= math.log(_SIMILAR)), np.abs(delta), inf)
    )
    below = _pool_median(m.amplitude, np.where(far & (delta < 0), -delta, inf))
    nothing_above = ~np.any(far & (delta > 0), axis=1)
    flattest = _pool_median(m.amplitude, np.where(far, level[None, :], inf))
    textured_ref = np.where(np.isnan(similar) & nothing_above, below, similar)
    flat_ref = np.where(flattest >= _FLAT_SURVIVAL * overall, flattest, np.nan)
    out: Float64 = np.where(flat, flat_ref, textured_ref)
    return out


def _pool_median(values: Float64, key: Float64) -> Float64:
    """Per row of ``key``: the median of ``values`` over the ``_POOL`` smallest finite
    keys (NaN with fewer than ``_POOL_MIN``)."""
    order = np.argsort(key, axis=1)[:, :_POOL]
    present = np.isfinite(np.take_along_axis(key, order, axis=1))
    picked = np.sort(np.where(present, values[order], np.inf), axis=1)
    count = present.sum(axis=1)
    rows = np.arange(len(key))
    lower = picked[rows, np.maximum((count - 1) // 2, 0)]
    upper = picked[rows, np.maximum(count // 2, 0)]
    out: Float64 = np.where(count >= _POOL_MIN, 0.5 * (lower + upper), np.nan)
    return out
