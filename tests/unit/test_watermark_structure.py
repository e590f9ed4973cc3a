"""A flat image keeps its structure: the mark is weakened for SSIM, and still reads."""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image
from scipy import ndimage

from fixtures.support import photo_like, psnr
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import WatermarkConfig, detect, embed
from provenance.watermark.image.structure import (
    LOWEST_SCALE,
    structural_similarity,
    structure_scale,
)

SECRET = WatermarkSecret("test", b"0123456789abcdef0123456789abcdef")
PAYLOAD = bytes.fromhex("0123456789abcdef")


def _flat(size: int = 512, seed: int = 3) -> Image.Image:
    """A smooth, low-contrast gray scene (a moon or a studio backdrop)."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(size, size)), 40.0)
    field = 110.0 + 25.0 * field / np.abs(field).max() + rng.normal(0.0, 2.5, (size, size))
    return Image.fromarray(np.clip(field, 0, 255).astype(np.uint8)).convert("RGB")


def _luma(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image, dtype=np.float32)
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def test_similarity_is_one_for_equal_images_and_falls_with_noise() -> None:
    y = _luma(_flat())
    assert structural_similarity(y, y) == 1.0
    noise = np.random.default_rng(0).normal(0.0, 1.0, y.shape).astype(np.float32)
    weak, strong = (structural_similarity(y, y + s * noise) for s in (1.0, 3.0))
    assert 1.0 > weak > strong
    # Where the image has no variance of its own, SSIM's contrast term is C2 / (s^2 + C2).
    flat = np.full((64, 64), 100.0, np.float32)
    c2 = (0.03 * 255.0) ** 2
    assert abs(structural_similarity(flat, flat + 2.0 * noise[:64, :64]) - c2 / (4 + c2)) < 0.02


def test_the_scale_is_the_largest_that_keeps_the_floor() -> None:
    assert structure_scale(lambda factor: 0.99, 0.98) == 1.0
    assert structure_scale(lambda factor: 0.5, 0.98) == LOWEST_SCALE
    scale = structure_scale(lambda factor: 1.0 - 0.04 * factor, 0.98)  # 0.98 at 0.5
    assert scale == LOWEST_SCALE
    scale = structure_scale(lambda factor: 1.0 - 0.025 * factor, 0.98)  # 0.98 at 0.8
    assert 0.77 <= scale <= 0.8
    assert structure_scale(lambda factor: 0.0, 0.0) == 1.0  # 0 turns it off


def test_a_flat_image_keeps_ssim_and_its_mark() -> None:
    image = _flat()
    off = dataclasses.replace(WatermarkConfig(), min_ssim=0.0)
    plain, kept = embed(image, PAYLOAD, SECRET, off), embed(image, PAYLOAD, SECRET)
    ssim_plain = structural_similarity(_luma(image), _luma(plain))
    ssim_kept = structural_similarity(_luma(image), _luma(kept))
    assert ssim_plain < 0.98 <= ssim_kept  # the PSNR alone would cost the structure
    assert psnr(np.asarray(image), np.asarray(kept)) > psnr(np.asarray(image), np.asarray(plain))
    assert detect(kept, [SECRET]).payload == PAYLOAD


def test_a_mark_that_keeps_the_floor_is_left_as_it_is() -> None:
    image = photo_like(640, 480, seed=5)
    off = dataclasses.replace(WatermarkConfig(), min_ssim=0.0)
    low_floor = dataclasses.replace(WatermarkConfig(), min_ssim=0.9)
    plain = np.asarray(embed(image, PAYLOAD, SECRET, off))
    assert np.array_equal(plain, np.asarray(embed(image, PAYLOAD, SECRET, low_floor)))
