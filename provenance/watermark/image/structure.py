"""Structural similarity: how strong a mark a flat image takes.

The embedding strength is a PSNR, which fixes the mark's energy. On a textured photo that
energy hides in the texture (``mask.py``); on a flat one (the moon, a studio backdrop, a
clear sky filling the frame) there is little texture to hide it in, and SSIM, whose terms
compare the mark's variance with the image's own local variance, falls below what the eye
accepts (0.97 at 42 dB on scikit-image's moon). ``structure_scale`` weakens such a mark,
and only such a mark, until the marked image keeps ``min_ssim``.

The SSIM here is scikit-image's default (7 x 7 uniform window, sample covariance,
K1 = 0.01, K2 = 0.03, a data range of 255), on 8-bit luma at full resolution, of the marked
pixels exactly as they will be written (rounded and clipped): on the whole image up to
2^17 pixels, else on evenly spread bands of rows that add up to that, so its cost does not
grow with the image. Luma SSIM is a little stricter than the mean over R, G and B (the mark
moves G most and B least), so meeting it here meets the benchmark's colour SSIM.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import ndimage

Float32 = npt.NDArray[np.float32]

_WINDOW = 7
_C1 = (0.01 * 255.0) ** 2
_C2 = (0.03 * 255.0) ** 2
#: Pixels judged: the whole image up to this many, else bands of rows that add up to it.
SSIM_PIXELS = 1 << 17
#: The weakest the mark is made for SSIM: 6 dB above the PSNR target at most.
LOWEST_SCALE = 0.5
_STEPS = 4


def structural_similarity(a: Float32, b: Float32) -> float:
    """Mean SSIM of two 8-bit-range luma planes (scikit-image's default definition)."""
    n = _WINDOW * _WINDOW
    cov = n / (n - 1.0)

    def mean(x: Float32) -> Float32:
        out: Float32 = ndimage.uniform_filter(x, _WINDOW, mode="reflect")
        return out

    mu_a, mu_b = mean(a), mean(b)
    var_a = cov * (mean(a * a) - mu_a * mu_a)
    var_b = cov * (mean(b * b) - mu_b * mu_b)
    cov_ab = cov * (mean(a * b) - mu_a * mu_b)
    s = ((2 * mu_a * mu_b + _C1) * (2 * cov_ab + _C2)) / (
        (mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2)
    )
    pad = (_WINDOW - 1) // 2
    return float(np.mean(s[pad:-pad, pad:-pad], dtype=np.float64))


def structure_scale(similarity: Callable[[float], float], min_ssim: float) -> float:
    """The factor (``LOWEST_SCALE`` to 1) for the mark's gain that keeps
    ``similarity(factor)`` at ``min_ssim``: 1 when the full mark keeps it, the largest
    factor that does otherwise (to 1/32), ``LOWEST_SCALE`` when even that one does not."""
    if min_ssim <= 0.0 or similarity(1.0) >= min_ssim:
        return 1.0
    low, high = LOWEST_SCALE, 1.0
    if similarity(low) < min_ssim:
        return low
    for _ in range(_STEPS):
        middle = 0.5 * (low + high)
        if similarity(middle) >= min_ssim:
            low = middle
        else:
            high = middle
    return low
