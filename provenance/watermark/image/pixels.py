"""Pillow images in and out of the engine: which planes are marked, which are kept.

Colour planes are marked (RGB, or the one gray plane); alpha is carried over untouched.
Palette images come back as RGB (RGBA with transparency); putting them back on their
palette is the file layer's choice (``watermark/image/files.py``), which checks that the
mark still reads.
16-bit gray (``I;16``) is marked at 16-bit precision. CMYK is marked in its black (K)
plane alone, the one a print workflow keeps as it is; C, M and Y are carried over untouched.
The mark goes into 255 - K, so the luma the detector reads from ``convert("RGB")`` (which
scales 255 - K by the other inks) moves with it. Other modes are refused.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
from PIL import Image

from provenance.errors import InputError, UnsupportedMedia

from .config import MIN_SIDE, WatermarkConfig

#: ITU-R BT.601 luma, as JPEG, WebP and Pillow's ``convert("L")`` compute it.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_PASSTHROUGH = ("RGB", "RGBA", "L", "LA")


@dataclasses.dataclass
class Planes:
    """Pixel planes of one image: ``color`` is (H, W, C) with C in {1, 3}."""

    color: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]
    alpha: npt.NDArray[np.uint8] | None
    mode: str  # the mode the result is returned in
    peak: float  # 255 or 65535
    inks: npt.NDArray[np.uint8] | None = None  # CMYK: the C, M, Y planes, kept as they were

    @property
    def to_8bit(self) -> float:
        """Factor from plane values to 8-bit units."""
        return 255.0 / self.peak

    def to_image(self, color: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]) -> Image.Image:
        """An image of ``self.mode`` with new colour planes and the original alpha."""
        if self.mode in _SIXTEEN_BIT:
            return Image.fromarray(np.ascontiguousarray(color[..., 0], dtype=np.uint16))
        if self.mode == "CMYK" and self.inks is not None:
            black = 255 - color[..., :1].astype(np.uint8, copy=False)
            return Image.fromarray(np.dstack([self.inks, black]), "CMYK")
        planes = color if self.alpha is None else np.dstack([color, self.alpha])
        if planes.shape[2] == 1:
            planes = planes[..., 0]
        return Image.fromarray(planes.astype(np.uint8, copy=False), self.mode)


def split(image: Image.Image, config: WatermarkConfig) -> Planes:
    """Check size and mode and take the image apart (raises InputError/UnsupportedMedia)."""
    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL.Image.Image, got {type(image).__name__}")
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"image is {width}x{height}: the watermark needs at least {MIN_SIDE} px on each side"
        )
    if width * height > config.max_pixels:
        raise InputError(
            f"image is {width}x{height} ({width * height} px), over the limit of "
            f"{config.max_pixels} px"
        )
    mode = image.mode
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
    if mode in _SIXTEEN_BIT:
        gray16 = np.asarray(image, dtype=np.uint16)[..., None]
        return Planes(gray16, None, mode, 65535.0)
    if mode == "CMYK":
        cmyk = np.asarray(image, dtype=np.uint8)
        lightness = np.ascontiguousarray(255 - cmyk[..., 3:])
        return Planes(lightness, None, mode, 255.0, np.ascontiguousarray(cmyk[..., :3]))
    if mode not in _PASSTHROUGH:
        raise UnsupportedMedia(
            f"image mode {mode!r} is not supported: use 8-bit RGB, RGBA, L, LA, P, CMYK "
            "or 16-bit gray (I;16)"
        )
    arr = np.asarray(image, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    n_color = 1 if mode in ("L", "LA") else 3
    alpha = arr[..., n_color] if mode in ("RGBA", "LA") else None
    return Planes(np.ascontiguousarray(arr[..., :n_color]), alpha, mode, 255.0)


def luma(color: npt.NDArray[np.generic], to_8bit: float = 1.0) -> npt.NDArray[np.float32]:
    """BT.601 luma in 8-bit units (float32) from (H, W, 1|3) planes."""
    if color.shape[2] == 1:
        y = color[..., 0].astype(np.float32)
    else:
        y = color[..., 0] * LUMA_WEIGHTS[0]
        y += color[..., 1] * LUMA_WEIGHTS[1]
        y += color[..., 2] * LUMA_WEIGHTS[2]
    if to_8bit != 1.0:
        y *= np.float32(to_8bit)
    return y.astype(np.float32, copy=False)


def detection_luma(image: Image.Image, config: WatermarkConfig) -> npt.NDArray[np.float32]:
    """Luma (8-bit units) of any image Pillow can decode; detection is lenient about modes."""
    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL.Image.Image, got {type(image).__name__}")
    width, height = image.size
    if width * height > config.max_pixels:
        raise InputError(
            f"image is {width}x{height} ({width * height} px), over the limit of "
            f"{config.max_pixels} px"
        )
    if min(width, height) < MIN_SIDE // 2:
        raise InputError(f"image is {width}x{height}: too small to carry a watermark")
    if image.mode in _SIXTEEN_BIT:
        return np.asarray(image, dtype=np.float32) * np.float32(255.0 / 65535.0)
    if image.mode in ("I", "F"):
        arr = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if float(arr.max(initial=0.0)) > 255.0 else 255.0
        return arr * np.float32(255.0 / peak)
    if image.mode in ("L", "LA"):
        return np.asarray(image.getchannel(0), dtype=np.float32)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return luma(np.asarray(rgb, dtype=np.uint8))
