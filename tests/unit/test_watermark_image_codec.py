"""Payload codec, keyed layout and mask: the pieces under the image watermark."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.watermark.image.config import ALGORITHM, ALGORITHM_V1, PILOT_CELLS
from provenance.watermark.image.mask import FLAT_GAIN, texture_mask
from provenance.watermark.image.pattern import layout_for, render_tile
from provenance.watermark.image.payload import CODED_BITS, decode_soft, encode, tag_matches

KEY = b"k" * 32


def test_codec_corrects_noise_and_tag_is_keyed() -> None:
    rng = np.random.default_rng(0)
    payload = bytes(range(8))
    coded = encode(payload, KEY)
    assert coded.shape == (CODED_BITS,)
    noisy = (2.0 * coded - 1.0) + rng.normal(0, 0.7, CODED_BITS)
    bits = decode_soft(noisy)
    assert tag_matches(bits, KEY) == (payload, ALGORITHM)
    assert tag_matches(bits, b"x" * 32) is None


def test_each_format_has_its_own_tag() -> None:
    payload = bytes(range(8))
    v1 = decode_soft(2.0 * encode(payload, KEY, ALGORITHM_V1) - 1.0)
    v2 = decode_soft(2.0 * encode(payload, KEY) - 1.0)
    assert tag_matches(v1, KEY) == (payload, ALGORITHM_V1)
    assert tag_matches(v2, KEY) == (payload, ALGORITHM)
    assert not np.array_equal(v1, v2)  # same payload bits, other tag
    with pytest.raises(ValueError, match="unknown"):
        encode(payload, KEY, "org.example.wm")


def test_random_soft_values_rarely_pass_the_tag() -> None:
    rng = np.random.default_rng(1)
    hits = sum(
        tag_matches(decode_soft(rng.normal(size=CODED_BITS)), KEY) is not None for _ in range(300)
    )
    assert hits == 0


def test_layout_is_keyed_and_balanced() -> None:
    a, b = layout_for(KEY), layout_for(b"j" * 32)
    assert not np.array_equal(a.chips, b.chips)
    assert a.pilot.size == PILOT_CELLS
    counts = np.bincount(a.bit_of_cell, minlength=CODED_BITS)
    assert counts.min() >= 2 and counts.max() - counts.min() <= 1
    tile = render_tile(a.chips, 128)
    assert tile.shape == (128, 128)
    assert abs(float(np.sqrt(np.mean(tile**2))) - 1.0) < 0.1


@pytest.mark.parametrize("size", [128, 200, 2000])
def test_tile_renders_at_any_size(size: int) -> None:
    tile = render_tile(layout_for(KEY).chips, size)
    assert tile.shape == (size, size) and abs(float(tile.mean())) < 0.05


def test_mask_is_low_on_flat_regions() -> None:
    rng = np.random.default_rng(2)
    y = np.full((256, 256), 128.0, dtype=np.float32)
    y[:, 128:] += rng.normal(0, 20, (256, 128)).astype(np.float32)
    mask = texture_mask(y, 4.0)
    assert float(np.median(mask[:, :100])) <= FLAT_GAIN + 0.05
    assert float(np.median(mask[:, 160:])) > 1.0


def test_informed_weights_keep_energy_and_spare_pilots() -> None:
    from provenance.watermark.image.informed import bit_weights

    layout = layout_for(KEY)
    coded = encode(bytes(8), KEY)
    rng = np.random.default_rng(3)
    mark = np.ones(1024)  # the mark's own response: along each cell's symbol
    mark[layout.data] = 2.0 * coded[layout.bit_of_cell] - 1.0
    weak = bit_weights(rng.normal(0, 1.5, 1024), mark, layout, coded, 1.0)  # host dominates
    assert np.allclose(weak[layout.pilot], 1.0)
    assert float(np.mean(weak[layout.data] ** 2)) == pytest.approx(1.0, rel=1e-6)
    assert weak[layout.data].std() > 0.2
    strong = bit_weights(rng.normal(0, 0.05, 1024), mark, layout, coded, 1.0)  # mark dominates
    assert np.allclose(strong, 1.0)
    assert np.allclose(bit_weights(rng.normal(0, 1.5, 1024), mark, layout, coded, 0.0), 1.0)
