"""The keyed tile: which cells are pilot or data, their chip signs, and the rendered tile.

A tile is ``CELLS_PER_SIDE`` x ``CELLS_PER_SIDE`` chip cells. A keyed permutation picks
``PILOT_CELLS`` pilot cells (known signs: they let the detector find the tile's offset)
and spreads every coded bit over 2-3 data cells far apart in the tile. Every cell carries
a keyed random sign, so without the secret the tile is white noise.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from .config import CELLS_PER_SIDE, CHIP_BLUR, CHIP_HIGHPASS, PILOT_CELLS, TILE
from .keys import keyed_rng
from .payload import CODED_BITS

__all__ = ["CELL_FILTER_FFT", "Layout", "layout_for", "render_tile"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
N_CELLS = CELLS_PER_SIDE * CELLS_PER_SIDE


@dataclasses.dataclass(frozen=True)
class Layout:
    """Keyed cell roles for one secret (all arrays indexed by cell, row-major)."""

    chips: FloatArray  # +-1 per cell
    pilot: IntArray  # indices of pilot cells
    data: IntArray  # indices of data cells
    bit_of_cell: IntArray  # coded-bit index of each data cell (aligned with ``data``)
    pilot_tile_rfft: npt.NDArray[np.complex128]  # conj rFFT of the rendered pilot tile

    def cell_values(self, coded: npt.NDArray[np.uint8]) -> FloatArray:
        """Signed cell amplitudes for these coded bits: chips times BPSK symbols."""
        symbols = np.ones(N_CELLS)
        symbols[self.data] = 2.0 * coded[self.bit_of_cell] - 1.0
        return self.chips * symbols


@functools.lru_cache(maxsize=64)
def layout_for(key: bytes) -> Layout:
    """The cell layout of ``key`` (cached: detection tries the same keys on many images)."""
    rng = keyed_rng(key, "layout")
    chips = rng.choice(np.array([-1.0, 1.0]), size=N_CELLS)
    order = rng.permutation(N_CELLS)
    pilot = np.sort(order[:PILOT_CELLS])
    data = order[PILOT_CELLS:]
    bit_of_cell = np.arange(data.size) % CODED_BITS
    pilot_cells = np.zeros(N_CELLS)
    pilot_cells[pilot] = chips[pilot]
    pilot_fft = np.conj(np.fft.rfft2(render_tile(pilot_cells, TILE)))
    for arr in (chips, pilot, data, bit_of_cell, pilot_fft):
        arr.setflags(write=False)
    return Layout(chips, pilot, data, bit_of_cell.astype(np.int64), pilot_fft)


def render_tile(cell_values: FloatArray, size: int) -> FloatArray:
    """The periodic tile of ``size`` x ``size`` pixels for these cell amplitudes.

    Cells are box-upsampled, then band-passed with wrapped Gaussians so the tile stays
    seamless when repeated; unit RMS (on average) when all cells are +-1.
    """
    return _render(cell_values, size) / _unit_rms(size)


def _render(cell_values: FloatArray, size: int) -> FloatArray:
    index = (np.arange(size) * CELLS_PER_SIDE) // size
    cells = np.asarray(cell_values, dtype=np.float64).reshape(CELLS_PER_SIDE, CELLS_PER_SIDE)
    scale = size / TILE
    tile = ndimage.gaussian_filter(cells[index][:, index], CHIP_BLUR * scale, mode="wrap")
    out: FloatArray = tile - ndimage.gaussian_filter(tile, CHIP_HIGHPASS * scale, mode="wrap")
    return out


@functools.lru_cache(maxsize=32)
def _unit_rms(size: int) -> float:
    ref = np.random.default_rng(0).choice(np.array([-1.0, 1.0]), size=N_CELLS)
    return float(np.sqrt(np.mean(_render(ref, size) ** 2)))


def _cell_filter_fft() -> npt.NDArray[np.complex128]:
    unit = np.zeros(N_CELLS)
    unit[0] = 1.0
    out: npt.NDArray[np.complex128] = np.conj(np.fft.fft2(render_tile(unit, TILE)))
    return out


#: Conjugate spectrum of one rendered cell: the matched filter for reading cells.
CELL_FILTER_FFT = _cell_filter_fft()
