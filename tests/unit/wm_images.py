"""Synthetic photo-like test images for the watermark tests (made here, never downloaded).

Smoothed multi-scale noise (a 1/f-like texture), soft gradients, hard edges and a flat
region: the content classes that decide where a watermark can hide and how it breaks.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage


def photo_like(width: int, height: int, seed: int = 0, *, gray: bool = False) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    texture = np.zeros((height, width))
    for sigma, amp in ((1.0, 6.0), (3.0, 10.0), (10.0, 18.0), (30.0, 25.0)):
        layer = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), sigma)
        texture += amp * layer / (layer.std() + 1e-9)
    gradient = 60.0 * (x / width) + 30.0 * np.sin(y / (0.3 * height + 1))
    edges = 40.0 * (
        ((x - 0.4 * width) ** 2 + (y - 0.5 * height) ** 2) < (0.2 * min(width, height)) ** 2
    )
    edges += 35.0 * ((x + 0.5 * y) % (0.37 * width + 5) < 0.12 * width)
    base = 110 + gradient + edges + texture
    flat = (x > 0.75 * width) & (y < 0.3 * height)  # a sky-like flat corner
    base[flat] = 200.0 + 3.0 * (y[flat] / height)
    if gray:
        return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "L")
    rgb = np.stack([base + 12, 0.85 * base + 0.1 * texture, 0.7 * base + 40], axis=-1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
