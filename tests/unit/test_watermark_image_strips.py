"""Image watermark embedder: the mark is rendered a strip of rows at a time, and the strips
must not show: any strip height gives the same image, and the enlarged mask is Pillow's."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fixtures.support import photo_like, psnr
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import detect, embed, embedder

SECRET = WatermarkSecret("test", b"0123456789abcdef0123456789abcdef")
PAYLOAD = bytes.fromhex("0123456789abcdef")


@pytest.mark.parametrize("size", [(520, 390), (300, 700)])
def test_strip_height_does_not_change_the_result(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = photo_like(*size, seed=4)
    whole = np.asarray(embed(image, PAYLOAD, SECRET))  # one strip at this size
    monkeypatch.setattr(embedder, "_STRIP_PIXELS", 7 * size[0])  # 7-row strips, a short last
    strips = np.asarray(embed(image, PAYLOAD, SECRET))
    assert np.array_equal(whole, strips)
    assert psnr(image, Image.fromarray(strips)) >= 42.0
    assert detect(Image.fromarray(strips), SECRET).payload == PAYLOAD


@pytest.mark.parametrize(
    ("small_shape", "size"),
    [((512, 683), (1155, 866)), ((512, 512), (300, 300)), ((2048, 512), (300, 1200))],
)
def test_mask_rows_and_pixels_match_a_whole_image_resize(
    small_shape: tuple[int, int], size: tuple[int, int]
) -> None:
    rng = np.random.default_rng(0)
    small = rng.uniform(0.3, 3.0, small_shape).astype(np.float32)
    width, height = size
    whole = np.asarray(Image.fromarray(small, "F").resize(size, Image.Resampling.BILINEAR))
    mask = embedder._Mask(small, width, height)
    rows = np.concatenate([mask.rows(y, min(y + 37, height)) for y in range(0, height, 37)])
    # Bit for bit when Pillow resizes across first (it does when enlarging); some Pillow
    # versions resize down the other way round, a float32 rounding apart.
    np.testing.assert_allclose(rows, whole, rtol=1e-6)
    ys, xs = rng.integers(0, height, 500), rng.integers(0, width, 500)
    assert np.array_equal(mask.at(ys, xs), rows[ys, xs])
