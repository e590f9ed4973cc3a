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

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
N_CELLS = CELLS_PER_SIDE * CELLS_PER_SIDE


@dataclasses.dataclass(frozen=True)
class Orientation:
    """One of the eight quarter turns and mirror images of the tile (the dihedral group).

    ``matrix`` maps canonical tile coordinates ``(u, v)`` to where they land in a fold of
    the turned or mirrored image: fold ``(u', v') = matrix @ (u, v)`` (mod ``TILE``, up to
    the offset the pilot finds). A 90-degree turn of the picture, an EXIF orientation
    applied or ignored, a mirrored selfie: each is one of these on the tile's lattice.
    """

    name: str
    matrix: tuple[tuple[int, int], tuple[int, int]]

    @property
    def mirrored(self) -> bool:
        (a, b), (c, d) = self.matrix
        return a * d - b * c < 0


def _orientations() -> tuple[Orientation, ...]:
    out = []
    for turns in range(4):
        # (u, v) with v down: a quarter turn counter-clockwise on screen is (v, -u).
        rotation = np.linalg.matrix_power(np.array([[0, 1], [-1, 0]]), turns)
        for mirror in (False, True):
            m = rotation @ np.array([[-1, 0], [0, 1]]) if mirror else rotation
            name = f"{'mirror+' if mirror else ''}{90 * turns}"
            out.append(
                Orientation(name, ((int(m[0, 0]), int(m[0, 1])), (int(m[1, 0]), int(m[1, 1]))))
            )
    return tuple(out)


#: Upright first: most images keep their orientation, and ties go to it.
ORIENTATIONS = _orientations()


def reorient(tile: FloatArray, orientation: Orientation, *, inverse: bool = False) -> FloatArray:
    """The periodic ``tile`` (indexed [v, u]) as it appears after ``orientation`` (or, with
    ``inverse``, the tile that appears as ``tile`` after it)."""
    size = tile.shape[0]
    m = np.array(orientation.matrix)
    if inverse:
        m = np.round(np.linalg.inv(m)).astype(np.int64)
    v, u = np.indices(tile.shape)
    out = np.empty_like(tile)
    out[(m[1, 0] * u + m[1, 1] * v) % size, (m[0, 0] * u + m[0, 1] * v) % size] = tile
    return out


@dataclasses.dataclass(frozen=True)
class Layout:
    """Keyed cell roles for one secret (all arrays indexed by cell, row-major)."""

    chips: FloatArray  # +-1 per cell
    pilot: IntArray  # indices of pilot cells
    data: IntArray  # indices of data cells
    bit_of_cell: IntArray  # coded-bit index of each data cell (aligned with ``data``)
    pilot_tile_rfft: npt.NDArray[np.complex128]  # conj rFFT of the rendered pilot tile
    # the same for the tile in each of ORIENTATIONS, stacked (complex64: 0.5 MB a key)
    oriented_pilot_rfft: npt.NDArray[np.complex64]

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
    pilot_tile = render_tile(pilot_cells, TILE)
    pilot_fft = np.conj(np.fft.rfft2(pilot_tile))
    oriented = np.conj(
        np.fft.rfft2(np.stack([reorient(pilot_tile, o) for o in ORIENTATIONS]))
    ).astype(np.complex64)
    bit_of_cell = bit_of_cell.astype(np.int64)
    for arr in (chips, pilot, data, bit_of_cell, pilot_fft, oriented):
        arr.setflags(write=False)
    return Layout(chips, pilot, data, bit_of_cell, pilot_fft, oriented)


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
