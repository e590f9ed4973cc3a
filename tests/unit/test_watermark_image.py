"""Image watermark: round trips, wrong secret, unmarked images, attacks, odd inputs.

Images are synthetic (fixtures/support.py); the full attack suite on real photos is the
benchmark's job (bench/watermark_image.py).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fixtures.support import photo_like, psnr
from provenance.errors import InputError, UnsupportedMedia
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import (
    ALGORITHM,
    TAG_BITS,
    WatermarkConfig,
    detect,
    embed,
)
from provenance.watermark.image.embedder import tile_size_for

SECRET = WatermarkSecret("test", b"0123456789abcdef0123456789abcdef")
OTHER = WatermarkSecret("other", b"fedcba9876543210fedcba9876543210")
PAYLOAD = bytes.fromhex("0123456789abcdef")


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return photo_like(512, 384, seed=3)


@pytest.fixture(scope="module")
def marked(photo: Image.Image) -> Image.Image:
    return embed(photo, PAYLOAD, SECRET)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_round_trip_reports_payload_secret_and_bound(
    photo: Image.Image, marked: Image.Image
) -> None:
    assert marked.size == photo.size and marked.mode == "RGB"
    assert psnr(photo, marked) >= 42.0
    found = detect(marked, [OTHER, SECRET])
    assert found.detected and found.payload == PAYLOAD and found.secret_name == "test"
    assert found.p_value == WatermarkConfig().false_positive_bound(2) <= 2e-8
    assert found.scale == pytest.approx(1.0, abs=0.02)
    assert found.angle == pytest.approx(0.0, abs=0.3)


def test_wrong_secret_finds_nothing(marked: Image.Image) -> None:
    found = detect(marked, OTHER)
    assert not found.detected and found.payload is None and found.p_value == 1.0


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_unmarked_images_report_no_payload(seed: int) -> None:
    image = photo_like(400, 400, seed=seed)
    assert not detect(image, [SECRET, OTHER]).detected
    assert not detect(_jpeg(image, 50), [SECRET]).detected


def _crop(image: Image.Image) -> Image.Image:
    w, h = image.size
    return image.crop((90, 37, 90 + int(w * 0.7), 37 + int(h * 0.7)))


ATTACKS = {
    "jpeg_50": lambda im: _jpeg(im, 50),
    "crop_50pct_offset": _crop,
    "rotate_3": lambda im: im.rotate(3, resample=Image.Resampling.BICUBIC),
    "resize_0.6_kept": lambda im: im.resize(
        (int(im.width * 0.6), int(im.height * 0.6)), Image.Resampling.BICUBIC
    ),
    "aspect_1.1": lambda im: im.resize((int(im.width * 1.1), im.height), Image.Resampling.BICUBIC),
    "grayscale": lambda im: im.convert("L"),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_survives_attack(marked: Image.Image, name: str) -> None:
    found = detect(ATTACKS[name](marked), [SECRET])
    assert found.detected and found.payload == PAYLOAD, name


def test_geometry_is_reported(marked: Image.Image) -> None:
    rotated = detect(marked.rotate(3, resample=Image.Resampling.BICUBIC), [SECRET])
    assert rotated.angle == pytest.approx(3.0, abs=0.5)
    cropped = detect(marked.crop((40, 24, 440, 344)), [SECRET])
    tile = tile_size_for(*marked.size)  # the tile origin sits on multiples of the tile
    for origin, shift in zip(cropped.offset, (40, 24), strict=True):
        phase = (origin + shift) % tile
        assert min(phase, tile - phase) < 2.0
    assert cropped.scale == pytest.approx(384 / 320, rel=0.02)  # short side 384 -> 320


def test_rgba_keeps_alpha_exactly() -> None:
    rgb = photo_like(300, 280, seed=5)
    alpha = Image.fromarray(np.tile(np.arange(300, dtype=np.uint8), (280, 1)), "L")
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    out = embed(rgba, PAYLOAD, SECRET)
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], np.asarray(alpha))
    assert detect(out, SECRET).payload == PAYLOAD


@pytest.mark.parametrize("mode", ["L", "LA", "P"])
def test_gray_and_palette_modes(mode: str) -> None:
    base = photo_like(320, 300, seed=6, gray=mode != "P")
    image = base.convert(mode) if mode != "P" else base.quantize(256).convert("P")
    out = embed(image, PAYLOAD, SECRET)
    assert out.mode == {"L": "L", "LA": "LA", "P": "RGB"}[mode]
    assert psnr(image.convert(out.mode), out) >= 42.0
    assert detect(out, SECRET).payload == PAYLOAD


def test_sixteen_bit_gray_round_trip() -> None:
    gray = np.asarray(photo_like(300, 260, seed=7, gray=True), dtype=np.uint16) * 257
    image = Image.fromarray(gray)
    assert image.mode == "I;16"
    out = embed(image, PAYLOAD, SECRET)
    assert out.mode == "I;16"
    diff = np.asarray(out, dtype=np.float64) - gray
    assert 20 * np.log10(65535 / np.sqrt(np.mean(diff**2))) >= 42.0
    assert detect(out, SECRET).payload == PAYLOAD


@pytest.mark.parametrize("size", [(256, 256), (257, 1999), (1999, 260)])
def test_small_and_elongated(size: tuple[int, int]) -> None:
    image = photo_like(*size, seed=8)
    out = embed(image, PAYLOAD, SECRET)
    assert out.size == size and psnr(image, out) >= 42.0
    assert detect(out, SECRET).payload == PAYLOAD


def _texture(size: int, seed: int) -> Image.Image:
    """Full-frame high-contrast texture: the photo itself drowns a uniform mark."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (size, size))
    from scipy import ndimage

    tex = ndimage.gaussian_filter(noise, 1.2) * 90 + ndimage.gaussian_filter(noise, 4) * 120
    return Image.fromarray(np.clip(128 + tex, 0, 255).astype(np.uint8), "L")


def test_informed_embedding_rescues_full_frame_texture() -> None:
    image = _texture(512, seed=21)
    uniform = WatermarkConfig(informed=0.0)
    informed = embed(image, PAYLOAD, SECRET)
    assert psnr(image, informed) >= 42.0
    uniform_found = detect(embed(image, PAYLOAD, SECRET, uniform), SECRET)
    informed_found = detect(informed, SECRET)
    assert informed_found.payload == PAYLOAD
    assert informed_found.score >= uniform_found.score - 0.5


def test_many_secrets_on_unmarked_images_find_nothing() -> None:
    rng = np.random.default_rng(99)
    secrets = [WatermarkSecret(f"k{i}", rng.bytes(32)) for i in range(100)]
    for seed in (31, 32):
        image = photo_like(512, 400, seed=seed)
        found = detect(image.rotate(2, resample=Image.Resampling.BICUBIC), secrets)
        assert not found.detected and found.secrets_tried == 100


@pytest.mark.slow
def test_large_image() -> None:
    small = photo_like(600, 400, seed=9, gray=True)
    image = small.resize((6000, 4000), Image.Resampling.BILINEAR)
    out = embed(image, PAYLOAD, SECRET)
    assert detect(out, SECRET).payload == PAYLOAD
    half = out.resize((1500, 1000), Image.Resampling.BOX)
    assert detect(half, SECRET).payload == PAYLOAD


def test_refuses_bad_images() -> None:
    with pytest.raises(InputError, match="at least 256"):
        embed(photo_like(255, 400), PAYLOAD, SECRET)
    with pytest.raises(UnsupportedMedia, match="LAB"):
        embed(photo_like(300, 300).convert("LAB"), PAYLOAD, SECRET)
    with pytest.raises(InputError, match="over the limit"):
        embed(photo_like(300, 300), PAYLOAD, SECRET, WatermarkConfig(max_pixels=256 * 300))
    with pytest.raises(InputError, match="too small"):
        detect(photo_like(100, 100), SECRET)


def test_refuses_caller_misuse(photo: Image.Image) -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        embed(photo, b"short", SECRET)
    with pytest.raises(TypeError):
        embed(photo, "0123456789abcdef", SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        embed(np.zeros((300, 300, 3), np.uint8), PAYLOAD, SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="16 bytes"):
        WatermarkSecret("short", b"too short")
    with pytest.raises(TypeError):
        detect(photo, [])
    with pytest.raises(ValueError):
        WatermarkConfig(target_psnr=41.0, min_psnr=42.0)


def test_format_constants() -> None:
    assert ALGORITHM == "org.provenance-toolkit.wm.image.v2"
    assert TAG_BITS >= 32
    # Every decoding is checked against both formats' tags: the bound counts both.
    assert WatermarkConfig().false_positive_bound(1) == 8 * 2 * 2.0**-32
    assert WatermarkConfig().false_positive_bound(3) == 3 * 8 * 2 * 2.0**-32
