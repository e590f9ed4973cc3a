"""The watermark format (fixed per ``ALGORITHM`` version) and the tunables around it.

Changing any module constant changes what is embedded and therefore needs a new
``ALGORITHM`` version; ``WatermarkConfig`` only changes how hard the engine tries.
"""

from __future__ import annotations

import dataclasses

#: C2PA soft-binding algorithm name of the marks this version writes (reverse DNS,
#: versioned with the format below).
ALGORITHM = "org.provenance-toolkit.wm.image.v2"
#: The first format: the same tile, code and pilot, its tag under its own name. Content
#: signed with it is still read (and its records still resolve under this name).
ALGORITHM_V1 = "org.provenance-toolkit.wm.image.v1"
#: Every format the detector reads, newest first. The formats differ in the keyed tag's
#: domain (the algorithm name is inside the HMAC), so one decoding says which it is; each
#: decoding is checked against every format's tag, and the false-positive bound counts
#: every one of those checks.
ALGORITHMS = (ALGORITHM, ALGORITHM_V1)

#: Tile side in canonical (analysis) pixels; the tile repeats over the whole image.
TILE = 128
#: Chip cell side in canonical pixels; a tile holds CELLS_PER_SIDE x CELLS_PER_SIDE cells.
CELL = 4
CELLS_PER_SIDE = TILE // CELL
#: Cells of each tile that carry the keyed pilot (synchronisation) instead of data.
PILOT_CELLS = 256
#: The tile spans 1/TILES_PER_SHORT_SIDE of the image's short side, so a uniformly resized
#: image keeps its mark at the same relative scale (the detector's nominal lattice).
TILES_PER_SHORT_SIDE = 4
#: Chip shaping, in canonical pixels: a Gaussian blur band-limits the chips and subtracting
#: a wider blur removes their low frequencies, where a photo's own energy would drown them.
CHIP_BLUR = 0.8
CHIP_HIGHPASS = 2.0

PAYLOAD_BITS = 64
#: Keyed integrity tag (truncated HMAC-SHA256) checked after decoding.
TAG_BITS = 32

#: Smallest side accepted by embed and detect.
MIN_SIDE = 256


@dataclasses.dataclass(frozen=True)
class WatermarkConfig:
    """Tunables of the engine; the defaults are what the benchmark measures.

    ``target_psnr``: embedding strength, as the PSNR (dB, over all colour channels) the
    marked image keeps; the embedder never returns an image below ``min_psnr``.
    ``max_pixels``: larger inputs are refused (decompression-bomb guard).
    ``max_decodes``: decoding attempts per secret; with ``TAG_BITS`` it bounds the
    false-positive rate (``max_decodes * len(ALGORITHMS) * 2**-TAG_BITS`` per image and
    secret).
    ``informed``: 0 = the same energy for every coded bit; 1 = energy moved to the bits the
    photo itself works against (see ``informed.py``); in between, a blend.
    ``min_ssim``: the structural similarity a flat image keeps; its mark is weakened for it,
    by up to 6 dB (``structure.py``); 0 turns that off.
    """

    target_psnr: float = 42.15
    min_psnr: float = 42.0
    max_pixels: int = 8000 * 8000
    max_decodes: int = 8
    informed: float = 1.0
    min_ssim: float = 0.982

    def __post_init__(self) -> None:
        if not 20.0 <= self.min_psnr <= self.target_psnr <= 70.0:
            raise ValueError("need 20 <= min_psnr <= target_psnr <= 70 (dB)")
        if self.max_pixels < MIN_SIDE * MIN_SIDE:
            raise ValueError(f"max_pixels must allow at least {MIN_SIDE}x{MIN_SIDE}")
        if not 1 <= self.max_decodes <= 64:
            raise ValueError("max_decodes must be in 1..64")
        if not 0.0 <= self.informed <= 1.0:
            raise ValueError("informed must be in 0..1")
        if not 0.0 <= self.min_ssim < 1.0:
            raise ValueError("min_ssim must be in 0..1")

    def false_positive_bound(self, n_secrets: int = 1) -> float:
        """Upper bound on reporting a payload in an unmarked image, for ``n_secrets`` tried."""
        checks = n_secrets * self.max_decodes * len(ALGORITHMS)
        return min(1.0, checks * 2.0**-TAG_BITS)
