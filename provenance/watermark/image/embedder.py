"""Embedding: keyed tile x perceptual mask, added to luma at a fixed PSNR.

The tile spans a quarter of the short side, so the mark keeps its place relative to the
picture when the whole image is resized. The luma change is spread over R, G and B along
the BT.601 weights (the smallest RGB change that moves luma by a given amount), which
costs 1.3 dB less PSNR than adding the same value to every channel; chroma is left to
whatever the codecs do with it, as the detector reads luma only. A gray picture stored as
RGB gets the same change on every channel, so it stays gray.

The mask and the informed weights (``informed.py``) are worked out on the detector's own
analysis grid; only the final mark is rendered at full size, and the gain that sets the
PSNR is solved on a fixed sample of pixels, then checked on the whole image. The mark is
rendered and added a strip of rows at a time, so memory stays near the input and output
images whatever their size.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt
from PIL import Image

from provenance.watermark.secret import WatermarkSecret

from .config import ALGORITHM, CELL, PAYLOAD_BITS, TILE, TILES_PER_SHORT_SIDE, WatermarkConfig
from .informed import informed_weights
from .mask import texture_mask
from .pattern import layout_for, render_tile
from .payload import encode
from .pixels import LUMA_WEIGHTS, Planes, luma, split
from .structure import SSIM_PIXELS, structural_similarity, structure_scale
from .sync import ANALYSIS_SIDE

log = logging.getLogger(__name__)

Float32 = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
_COLOR_DIRECTION = LUMA_WEIGHTS / float(np.sum(LUMA_WEIGHTS**2))
_SAMPLE_PIXELS = 1 << 15
#: Pixels rendered at a time (about 1 MB per float32 temporary).
_STRIP_PIXELS = 1 << 18


def tile_size_for(width: int, height: int) -> int:
    """Tile side in image pixels for an image of this size."""
    return round(min(width, height) / TILES_PER_SHORT_SIDE)


def embed(
    image: Image.Image,
    payload: bytes,
    secret: WatermarkSecret,
    config: WatermarkConfig | None = None,
    *,
    alg: str = ALGORITHM,
) -> Image.Image:
    """A copy of ``image`` carrying ``payload`` (8 bytes) under ``secret``.

    ``alg`` is the format (``config.ALGORITHMS``): the current one unless content in an
    older format is to be reproduced.

    Same size and mode (palette images come back as RGB/RGBA); alpha is untouched.
    Raises InputError/UnsupportedMedia for images the engine cannot mark.
    """
    config = config or WatermarkConfig()
    if not isinstance(payload, bytes | bytearray):
        raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
    if len(payload) != PAYLOAD_BITS // 8:
        raise ValueError(f"payload must be {PAYLOAD_BITS // 8} bytes, got {len(payload)}")
    if not isinstance(secret, WatermarkSecret):
        raise TypeError("secret must be a WatermarkSecret")
    planes = split(image, config)
    layout = layout_for(secret.key)
    coded = encode(bytes(payload), secret.key, alg)
    cells = layout.cell_values(coded)
    height, width = planes.color.shape[:2]
    tile_px = tile_size_for(width, height)
    # Mask and informed weights are worked out on the detector's analysis grid (short side
    # ANALYSIS_SIDE, where a cell is CELL px); only the final mark is rendered at full size.
    small_luma = _analysis_luma(planes)
    small_mask = texture_mask(small_luma, CELL)
    mask = _Mask(small_mask, width, height)
    solver = _GainSolver(planes, config)
    mask_sample = mask.at(solver.rows, solver.cols)
    if config.informed > 0.0:
        sample = solver.sample_of(render_tile(cells, tile_px), mask_sample)
        preview = np.float32(solver.solve(sample))

        def render(weights: npt.NDArray[np.float64]) -> Float32:
            # The PSNR fixes the mark's energy whatever the weights: scale to it, as the
            # gain solved below for the weighted mark will.
            mark = _tiled(render_tile(cells * weights, TILE), small_mask.shape) * small_mask
            scale = reference / max(float(np.sqrt(np.mean(mark * mark))), 1e-12)
            return mark * np.float32(scale)

        unweighted = _tiled(render_tile(cells, TILE), small_mask.shape) * small_mask
        reference = float(preview) * float(np.sqrt(np.mean(unweighted * unweighted)))

        cells = cells * informed_weights(small_luma, render, layout, coded, config.informed)
    mark = _Mark(render_tile(cells, tile_px).astype(np.float32), mask)
    gain = solver.solve(solver.sample_of(mark.tile, mask_sample))
    if config.min_ssim > 0.0:
        similarity = _Similarity(planes, mark, solver.direction, gain)
        gain *= structure_scale(similarity, config.min_ssim)
    marked = _apply(planes, mark, gain, solver, config)
    return planes.to_image(marked)


def _tiled(tile: npt.NDArray[np.floating], shape: tuple[int, int]) -> Float32:
    """``tile`` repeated over an image of ``shape`` from its top-left corner."""
    reps = (-(-shape[0] // tile.shape[0]), -(-shape[1] // tile.shape[1]))
    out: Float32 = np.tile(tile.astype(np.float32, copy=False), reps)[: shape[0], : shape[1]]
    return out


def _resized(a: Float32, size: tuple[int, int], resample: Image.Resampling) -> Float32:
    if (a.shape[1], a.shape[0]) == size:
        return a
    out: Float32 = np.asarray(Image.fromarray(a, "F").resize(size, resample), dtype=np.float32)
    return out


def _pillow_bilinear(in_size: int, out_size: int) -> tuple[IntArray, Float64]:
    """Source index and weight of each tap, per output index, of Pillow's bilinear resize
    along one axis (``precompute_coeffs`` in Pillow's Resample.c, with its arithmetic)."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)  # also the support, the bilinear filter's being 1
    taps = math.ceil(filterscale) * 2 + 1
    center = (np.arange(out_size) + 0.5) * scale
    first = np.maximum((center - filterscale + 0.5).astype(np.intp), 0)
    count = np.minimum((center + filterscale + 0.5).astype(np.intp), in_size) - first
    source = first[:, None] + np.arange(taps)
    x = np.abs((source - center[:, None] + 0.5) * (1.0 / filterscale))
    weights = np.where((x < 1.0) & (np.arange(taps) < count[:, None]), 1.0 - x, 0.0)
    total = np.zeros(out_size)
    for k in range(taps):  # in Pillow's order, for the same rounding
        total += weights[:, k]
    weights /= total[:, None]
    return np.minimum(source, in_size - 1), weights


class _Mask:
    """The small mask bilinearly enlarged to the full image, made on demand.

    Pillow resizes it across once (on the small mask's rows); the vertical pass is done
    here, with Pillow's weights and arithmetic, for just the rows or pixels asked for. They
    agree bit for bit with each other, and with a whole-image Pillow resize when Pillow too
    goes across first (it does when enlarging; when reducing it may go down first, which
    rounds a float32 ulp differently).
    """

    def __init__(self, small: Float32, width: int, height: int) -> None:
        self.wide = _resized(small, (width, small.shape[0]), Image.Resampling.BILINEAR)
        self.source, self.weights = _pillow_bilinear(small.shape[0], height)
        self.width = width

    def rows(self, start: int, stop: int) -> Float32:
        """Rows ``start:stop``."""
        taps = zip(self.source[start:stop].T, self.weights[start:stop].T, strict=True)
        # (when enlarging, one tap in three is zero throughout)
        terms = (self.wide[source] * weight[:, None] for source, weight in taps if weight.any())
        out: Float64 = next(terms)
        for term in terms:
            out += term
        return out.astype(np.float32)

    def at(self, rows: IntArray, cols: IntArray) -> Float32:
        """The values at pixels ``(rows[i], cols[i])``."""
        out = np.zeros(rows.shape)
        for source, weight in zip(self.source[rows].T, self.weights[rows].T, strict=True):
            out += self.wide[source, cols] * weight
        return out.astype(np.float32)


class _Mark:
    """The full-size mark, ``tile`` repeated from the top-left corner times the mask."""

    def __init__(self, tile: Float32, mask: _Mask) -> None:
        self.tile = tile
        self.mask = mask

    def rows(self, start: int, stop: int) -> Float32:
        """Rows ``start:stop``."""
        band = self.tile[np.arange(start, stop) % self.tile.shape[0]]
        out: Float32 = _tiled(band, (stop - start, self.mask.width)) * self.mask.rows(start, stop)
        return out


def _analysis_luma(planes: Planes) -> Float32:
    """Luma on the detector's analysis grid: box-reduced (large images) or bilinear-enlarged."""
    color = planes.color
    height, width = color.shape[:2]
    factor = ANALYSIS_SIDE / min(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    if color.dtype != np.uint8:
        return _resized(luma(color, planes.to_8bit), size, Image.Resampling.BOX)
    img = Image.fromarray(color if color.shape[2] == 3 else color[..., 0])
    if factor < 1.0:
        reduce = int(1.0 / factor)
        if reduce >= 2:
            img = img.reduce(reduce)  # fast integer pre-reduction, then exact box resize
        img = img.resize(size, Image.Resampling.BOX)
    elif factor > 1.0:
        img = img.resize(size, Image.Resampling.BILINEAR)
    arr = np.asarray(img)
    return luma(arr if arr.ndim == 3 else arr[..., None])


class _Similarity:
    """SSIM of the marked luma against the original, as a function of a factor on the
    gain (``structure.py``), on full-resolution bands of rows rendered once."""

    _BAND = 64  # rows a band: 58 rows of SSIM windows

    def __init__(
        self, planes: Planes, mark: _Mark, direction: npt.NDArray[np.float32], gain: float
    ) -> None:
        color = planes.color
        height, width = color.shape[:2]
        bands = max(1, min(height // self._BAND, SSIM_PIXELS // (self._BAND * width)))
        if bands * self._BAND >= height or height * width <= SSIM_PIXELS:
            starts = [(0, height)]
        else:
            spread = np.linspace(0, height - self._BAND, bands).astype(int)
            starts = [(int(start), int(start) + self._BAND) for start in spread]
        self.bands = [(color[a:b], mark.rows(a, b)) for a, b in starts]
        self.direction, self.gain, self.peak = direction, gain, planes.peak
        self.to_8bit = planes.to_8bit

    def __call__(self, factor: float) -> float:
        scores, weights = [], []
        for host, delta in self.bands:
            out = np.empty_like(host)
            _add(host, delta, self.direction, factor * self.gain, self.peak, out)
            before, after = luma(host, self.to_8bit), luma(out, self.to_8bit)
            scores.append(structural_similarity(before, after))
            weights.append(host.shape[0] * host.shape[1])
        return float(np.average(scores, weights=weights))


class _GainSolver:
    """Finds the gain that puts the rounded, clipped result at the target PSNR, on a fixed
    sample of pixels (rounding and clipping make the MSE non-quadratic in the gain)."""

    def __init__(self, planes: Planes, config: WatermarkConfig) -> None:
        color = planes.color
        self.direction = np.ones(color.shape[2], np.float32)
        if color.shape[2] == 3 and not _is_achromatic(color):
            self.direction = _COLOR_DIRECTION  # a gray picture stored as RGB must stay gray
        self.direction = self.direction * np.float32(planes.peak / 255.0)
        height, width = color.shape[:2]
        step = max(1, (height * width) // _SAMPLE_PIXELS)
        self.index = np.arange(step // 2, height * width, step)
        self.host = color.reshape(-1, color.shape[2])[self.index].astype(np.float32)
        self.peak = planes.peak
        self.target = planes.peak / 10 ** (config.target_psnr / 20.0)
        self.floor = planes.peak / 10 ** (config.min_psnr / 20.0)
        self.rows, self.cols = np.divmod(self.index, width)

    def sample_of(self, tile: npt.NDArray[np.floating], mask_sample: Float32) -> Float32:
        """The tiled pattern times the mask (given at the sample pixels) at the sample pixels."""
        size = tile.shape[0]
        out: Float32 = (tile[self.rows % size, self.cols % size] * mask_sample).astype(np.float32)
        return out

    def solve(self, delta_sample: Float32) -> float:
        step = delta_sample[:, None] * self.direction[None, :]
        gain = self.target / max(math.sqrt(float(np.mean(step**2))), 1e-9)
        for _ in range(4):
            out = np.clip(np.rint(self.host + gain * step), 0.0, self.peak)
            rms = math.sqrt(float(np.mean((out - self.host) ** 2)))
            gain *= self.target / max(rms, 1e-9)
        return gain


def _apply(
    planes: Planes, mark: _Mark, gain: float, solver: _GainSolver, config: WatermarkConfig
) -> npt.NDArray[np.uint8] | npt.NDArray[np.uint16]:
    """Add ``gain * mark`` along the colour direction, never below ``config.min_psnr``."""
    for _ in range(4):
        out, mse = _render(planes.color, mark, solver.direction, gain, planes.peak)
        rms = math.sqrt(mse)
        if rms <= solver.floor:
            break
        log.debug("PSNR %.3f dB under the floor; lowering the gain", _psnr(rms, planes.peak))
        gain *= 0.995 * solver.target / rms
    log.debug("embedded at %.2f dB (gain %.3f)", _psnr(rms, planes.peak), gain)
    return out


def _render(
    color: npt.NDArray[np.uint8] | npt.NDArray[np.uint16],
    mark: _Mark,
    direction: npt.NDArray[np.float32],
    gain: float,
    peak: float,
) -> tuple[npt.NDArray[np.uint8] | npt.NDArray[np.uint16], float]:
    """The marked planes and their mean squared error against ``color``, a strip at a time."""
    out = np.empty_like(color)
    height, width = color.shape[:2]
    step = max(1, _STRIP_PIXELS // width)
    total = 0.0
    for start in range(0, height, step):
        rows = slice(start, min(start + step, height))
        delta = mark.rows(rows.start, rows.stop)
        total += _add(color[rows], delta, direction, gain, peak, out[rows])
    return out, total / color.size


def _add(
    color: npt.NDArray[np.uint8] | npt.NDArray[np.uint16],
    delta: Float32,
    direction: npt.NDArray[np.float32],
    gain: float,
    peak: float,
    out: npt.NDArray[np.uint8] | npt.NDArray[np.uint16],
) -> float:
    """Write ``color + gain * delta`` along ``direction``, rounded and clipped, to ``out``;
    returns the sum of squared changes."""
    total = 0.0
    for c in range(color.shape[2]):
        change = delta * np.float32(gain * float(direction[c]))
        np.rint(change, out=change)
        plane = color[..., c] + change  # float32
        np.clip(plane, 0.0, peak, out=plane)
        out[..., c] = plane
        plane -= color[..., c]
        flat = plane.ravel()
        total += float(np.dot(flat, flat))
    return total


def _is_achromatic(color: npt.NDArray[np.generic]) -> bool:
    return bool(np.array_equal(color[..., 0], color[..., 1])) and bool(
        np.array_equal(color[..., 1], color[..., 2])
    )


def _psnr(rms: float, peak: float) -> float:
    return math.inf if rms == 0 else 20.0 * math.log10(peak / rms)
