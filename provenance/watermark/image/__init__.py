"""Keyed invisible image watermark: 64-bit payload, calibrated false-positive rate.

    from provenance.watermark import WatermarkSecret
    from provenance.watermark.image import detect, embed

    secret = WatermarkSecret("default", key_bytes)
    marked = embed(image, payload=bytes(8), secret=secret)
    found = detect(marked, [secret])   # found.detected, found.payload, found.p_value

Design (one idea a module): ``payload`` (64 bits + 32-bit keyed tag, K=7 rate-1/3
convolutional code, soft Viterbi), ``pattern`` (keyed tile of chip cells with a pilot),
``mask`` (texture masking), ``embedder`` (luma-only additive mark at a fixed PSNR), ``sync``
(lattice search from the autocorrelation, tile folding), ``detector`` and ``regions``
(where a found mark is missing: ``altered_regions(image, found, secret)``). ``engine``
holds ``ImageMarkEngine``, the image kind's ``mark`` (``provenance.watermark.engine``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

from .config import ALGORITHM, PAYLOAD_BITS, TAG_BITS, WatermarkConfig

if TYPE_CHECKING:
    from provenance.watermark.image.files import embed_file

    from .detector import Detection, detect
    from .embedder import embed
    from .engine import ImageMarkEngine
    from .regions import Region, altered_regions

# The engine (NumPy, SciPy) loads on first use of these names: the constants above are
# all a key store, a CLI start-up or a text mark needs.
__getattr__ = lazy_attributes(
    __name__,
    {
        "embed_file": "provenance.watermark.image.files",
        "Detection": ".detector",
        "ImageMarkEngine": ".engine",
        "Region": ".regions",
        "altered_regions": ".regions",
        "detect": ".detector",
        "embed": ".embedder",
    },
)

__all__ = [
    "ALGORITHM",
    "PAYLOAD_BITS",
    "TAG_BITS",
    "Detection",
    "ImageMarkEngine",
    "Region",
    "WatermarkConfig",
    "altered_regions",
    "detect",
    "embed",
    "embed_file",
]
