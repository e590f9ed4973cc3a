"""Perceptual mask: where the mark may be strong (texture) and where it must be faint.

Local activity is measured at the scale of the chips (texture hides a pattern of similar
or coarser grain). The mask is relative to the image's median activity but never lets a
flat region (sky, skin, studio background) rise above ``FLAT_GAIN`` of the median
texture's strength, and fades near black and white where values would clip.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

FloatArray = npt.NDArray[np.float32]

#: Mask value range, relative to the image's median texture.
FLAT_GAIN = 0.3
TEXTURE_GAIN = 3.0
#: Activity (8-bit luma std) below which a region counts as flat whatever the image.
_ABSOLUTE_FLOOR = 2.5


def activity(y: FloatArray, scale: float) -> FloatArray:
    """Local standard deviation of the high-passed luma at ``scale`` pixels."""
    high = y - ndimage.gaussian_filter(y, scale, truncate=3.0)
    energy = ndimage.gaussian_filter(high * high, 1.5 * scale, truncate=3.0)
    out: FloatArray = np.sqrt(np.maximum(energy, 0.0)).astype(np.float32)
    return out


def texture_mask(y: FloatArray, cell_px: float) -> FloatArray:
    """Mask (mean ~1 on textured content) for luma ``y`` and chips of ``cell_px`` pixels."""
    act = activity(y, max(1.0, 0.6 * cell_px))
    ref = max(float(np.median(act)), _ABSOLUTE_FLOOR)
    mask = np.clip(act / ref, FLAT_GAIN, TEXTURE_GAIN)
    # Fade towards black and white, where the mark would clip.
    headroom = np.minimum(y, 255.0 - y)
    mask *= np.clip(headroom / 12.0, 0.25, 1.0)
    out: FloatArray = ndimage.gaussian_filter(mask, 1.0, truncate=3.0).astype(np.float32)
    return out
