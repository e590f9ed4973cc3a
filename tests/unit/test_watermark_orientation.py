"""Quarter turns, mirror images and EXIF orientation: the mark reads in every one of them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from fixtures.support import natural_image
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import WatermarkConfig, detect, embed
from provenance.watermark.image.pattern import ORIENTATIONS, reorient

SECRET = WatermarkSecret("test", b"orientation-test-key-0123456789ab")
PAYLOAD = bytes.fromhex("00000000000004d2")
# What each of Pillow's transposes is, as the detector names it.
TRANSPOSES = {
    None: "0",
    Image.Transpose.ROTATE_90: "90",
    Image.Transpose.ROTATE_180: "180",
    Image.Transpose.ROTATE_270: "270",
    Image.Transpose.FLIP_LEFT_RIGHT: "mirror+0",
    Image.Transpose.FLIP_TOP_BOTTOM: "mirror+180",
    Image.Transpose.TRANSPOSE: "mirror+90",
    Image.Transpose.TRANSVERSE: "mirror+270",
}


@pytest.fixture(scope="module")
def marked() -> Image.Image:
    return embed(natural_image(640, 480, seed=3), PAYLOAD, SECRET)


def jpeg(image: Image.Image, quality: int = 75, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, **options)
    return out.getvalue()


def test_orientations_are_the_dihedral_group() -> None:
    tile = np.random.default_rng(0).normal(size=(16, 16))
    seen = set()
    for o in ORIENTATIONS:
        turned = reorient(tile, o)
        assert np.array_equal(reorient(turned, o, inverse=True), tile)
        seen.add(turned.tobytes())
    assert len(seen) == 8
    assert [o.mirrored for o in ORIENTATIONS].count(True) == 4


@pytest.mark.parametrize("transpose", list(TRANSPOSES), ids=lambda t: TRANSPOSES[t])
def test_every_turn_and_flip_reads(marked: Image.Image, transpose: Image.Transpose | None) -> None:
    image = marked if transpose is None else marked.transpose(transpose)
    found = detect(image, [SECRET])
    assert found.payload == PAYLOAD
    assert found.orientation == TRANSPOSES[transpose]
    # ... and after what platforms add on top: a resize and JPEG 75.
    width, height = image.size
    small = image.resize((width * 3 // 4, height * 3 // 4), Image.Resampling.BICUBIC)
    attacked = Image.open(io.BytesIO(jpeg(small)))
    assert detect(attacked, [SECRET]).payload == PAYLOAD


def test_reported_geometry_follows_the_turn(marked: Image.Image) -> None:
    upright = detect(marked, [SECRET])
    turned = detect(marked.transpose(Image.Transpose.ROTATE_90), [SECRET])
    assert upright.angle == pytest.approx(0.0, abs=0.5)
    assert abs(turned.angle) == pytest.approx(90.0, abs=0.5)
    assert upright.tile_to_input is not None and turned.tile_to_input is not None
    (a, b, _), (c, d, _) = turned.tile_to_input
    assert a * d - b * c > 0  # a turn, not a mirror image
    mirrored = detect(marked.transpose(Image.Transpose.FLIP_LEFT_RIGHT), [SECRET])
    assert mirrored.tile_to_input is not None
    (a, b, _), (c, d, _) = mirrored.tile_to_input
    assert a * d - b * c < 0


def test_exif_orientation_applied_by_a_platform(marked: Image.Image) -> None:
    """A camera JPEG stores pixels sideways with Orientation 6; a platform turns it upright
    (exif_transpose) and re-encodes without metadata: the mark still reads."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    stored = jpeg(marked, quality=92, exif=exif.tobytes())
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(stored)))
    assert shown.size == (marked.height, marked.width)
    platform = Image.open(io.BytesIO(jpeg(shown.convert("RGB"))))
    found = detect(platform, [SECRET])
    assert found.payload == PAYLOAD and found.orientation == "270"
    # The stored pixels, read without applying the tag, read upright.
    assert detect(Image.open(io.BytesIO(stored)), [SECRET]).orientation == "0"


def test_orientations_do_not_add_decoding_attempts() -> None:
    """Orientations are searched on the pilot, which decodes nothing: the bound is still
    max_decodes tag checks per format and secret, and an unmarked image reports nothing."""
    config = WatermarkConfig()
    for seed in range(4):
        found = detect(natural_image(640, 480, seed=100 + seed), [SECRET], config)
        assert not found.detected and found.p_value == 1.0
    assert config.false_positive_bound(1) == config.max_decodes * 2 * 2.0**-32
