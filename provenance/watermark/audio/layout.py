"""The keyed layout of a block: which tile carries the sync pattern or which coded bit,
and each tile's chip sign."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import numpy.typing as npt

from provenance.watermark.image.payload import CODED_BITS

from .config import BANDS, BLOCK_SLOTS, SYNC_TILES
from .payload import keyed_rng


@dataclasses.dataclass(frozen=True)
class Layout:
    """Per tile of a block (slot, band): ``sync`` chips (0 off the sync tiles), ``pn``
    chips of the data tiles (0 off them), and ``bit`` the coded bit a data tile carries
    (-1 for sync tiles)."""

    sync: npt.NDArray[np.float64]
    pn: npt.NDArray[np.float64]
    bit: npt.NDArray[np.int64]

    def chips(self, coded: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        """The signs the tiles of a block carry for ``coded`` bits (sync tiles included)."""
        signs = np.where(self.bit >= 0, 2.0 * coded[np.maximum(self.bit, 0)] - 1.0, 0.0)
        return self.sync + self.pn * signs


@functools.lru_cache(maxsize=8)
def layout(key: bytes) -> Layout:
    rng = keyed_rng(key, "layout")
    tiles = BLOCK_SLOTS * BANDS
    order = rng.permutation(tiles)
    chips = rng.choice(np.array([-1.0, 1.0]), size=tiles)
    sync = np.zeros(tiles)
    sync[order[:SYNC_TILES]] = chips[order[:SYNC_TILES]]
    bit = np.full(tiles, -1, dtype=np.int64)
    data = order[SYNC_TILES:]
    bit[data] = np.arange(len(data)) % CODED_BITS
    pn = np.where(bit >= 0, chips, 0.0)
    shape = (BLOCK_SLOTS, BANDS)
    return Layout(sync.reshape(shape), pn.reshape(shape), bit.reshape(shape))
