"""Where a found image watermark is missing: altered and unknown cells of the grid.

Synthetic photos (fixtures/support.py); recall and false alarms over real photos and the
attack suite are the benchmark's job (bench/localisation.py).
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fixtures.support import photo_like
from provenance.report import ImageGeometry, MarkStatus, Region, Watermark, to_json
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import Region as EngineRegion
from provenance.watermark.image import altered_regions, detect, embed

SECRET = WatermarkSecret("test", b"0123456789abcdef0123456789abcdef")
PAYLOAD = bytes.fromhex("0123456789abcdef")
#: A rectangle well inside the textured part of photo_like(512, 384): cells (col, row)
#: 5..6 x 2..4 of the 8 x 8 grid lie mostly inside it.
BOX = (300, 100, 420, 220)


@pytest.fixture(scope="module")
def marked() -> Image.Image:
    return embed(photo_like(512, 384, seed=3), PAYLOAD, SECRET)


def regions_of(image: Image.Image) -> tuple[EngineRegion, ...]:
    found = detect(image, [SECRET])
    assert found.detected
    return altered_regions(image, found, SECRET)


def painted(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    out = image.copy()
    ImageDraw.Draw(out).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=(90, 140, 60))
    return out


def inside(region: EngineRegion, box: tuple[int, int, int, int]) -> float:
    """Share of the region's area inside ``box``."""
    dx = min(region.x + region.width, box[2]) - max(region.x, box[0])
    dy = min(region.y + region.height, box[3]) - max(region.y, box[1])
    return max(dx, 0) * max(dy, 0) / (region.width * region.height)


def altered(regions: tuple[EngineRegion, ...]) -> list[EngineRegion]:
    return [r for r in regions if r.state == "altered"]


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_painted_rectangle_is_found_where_it_is(marked: Image.Image) -> None:
    found = altered(regions_of(painted(marked, BOX)))
    assert found, "the painted rectangle was not found"
    assert all(inside(r, BOX) > 0.3 for r in found)  # nothing flagged elsewhere
    assert sum(inside(r, BOX) >= 0.5 for r in found) >= 2
    assert all(r.state in ("altered", "unknown") for r in found)


def test_boxes_are_input_pixels_with_area_shares(marked: Image.Image) -> None:
    regions = regions_of(painted(marked, BOX))
    assert regions
    for r in regions:
        assert 0 <= r.x < 512 and 0 <= r.y < 384
        assert r.x + r.width <= 512 and r.y + r.height <= 384
        assert r.share == pytest.approx(r.width * r.height / (512 * 384))
    cells = {(r.x, r.y) for r in regions}
    assert len(cells) == len(regions)  # one entry a cell


def test_clean_image_has_no_altered_cells(marked: Image.Image) -> None:
    assert altered(regions_of(marked)) == []


def test_jpeg_75_of_the_whole_image_flags_nothing(marked: Image.Image) -> None:
    assert altered(regions_of(jpeg(marked, 75))) == []


def test_flat_region_is_unknown_never_altered(marked: Image.Image) -> None:
    # photo_like has a smooth, noiseless "sky" in its top-right corner: the mark does not
    # survive rounding there, and nothing else in the picture is as flat to compare with.
    sky = (round(0.75 * 512), 0, 512, round(0.3 * 384))
    for image in (marked, jpeg(marked, 75)):
        regions = regions_of(image)
        over_sky = [r for r in regions if inside(r, sky) >= 0.5]
        assert over_sky and all(r.state == "unknown" for r in over_sky)


def test_clipped_area_is_unknown_never_altered() -> None:
    # Pure white cannot carry the mark (the embedder's change is clipped there).
    photo = np.array(photo_like(512, 384, seed=5))
    photo[:, :128] = 255
    image = embed(Image.fromarray(photo), PAYLOAD, SECRET)
    regions = regions_of(image)
    white = [r for r in regions if r.x + r.width <= 128]
    assert len(white) == 16 and all(r.state == "unknown" for r in white)
    assert altered(regions) == []


def test_found_after_a_quarter_turn_in_the_turned_image(marked: Image.Image) -> None:
    turned = painted(marked, BOX).transpose(Image.Transpose.ROTATE_90)
    # ROTATE_90 is counter-clockwise: input (x, y) goes to (y, width - 1 - x).
    box = (BOX[1], 512 - BOX[2], BOX[3], 512 - BOX[0])
    found = altered(regions_of(turned))
    assert found and all(inside(r, box) > 0.3 for r in found)


def test_refuses_misuse(marked: Image.Image) -> None:
    found = detect(marked, [SECRET])
    with pytest.raises(ValueError, match="found a mark"):
        altered_regions(marked, dataclasses.replace(found, detected=False), SECRET)
    with pytest.raises(ValueError, match="grid"):
        altered_regions(marked, found, SECRET, grid=0)
    with pytest.raises(TypeError):
        altered_regions(np.zeros((8, 8)), found, SECRET)  # type: ignore[arg-type]


def test_report_json_is_plain() -> None:
    mark = Watermark(
        MarkStatus.FOUND,
        detected=True,
        payload="00",
        geometry=ImageGeometry(altered_regions=(Region(64, 48, 64, 48, 0.0156, "altered"),)),
    )
    assert to_json(mark)["altered_regions"] == [
        {"x": 64, "y": 48, "width": 64, "height": 48, "share": 0.0156, "state": "altered"}
    ]
    assert to_json(Watermark(MarkStatus.NOT_FOUND))["altered_regions"] == []


@pytest.mark.parametrize("size", [(512, 384), (300, 1000), (1700, 520)])
def test_residual_is_the_detectors(size: tuple[int, int]) -> None:
    """The cells are measured on exactly the residual the detector folds (sync.analyse)."""
    from provenance.watermark.image.sync import analyse, analysis_grid, whitening

    luma = np.asarray(photo_like(*size, seed=1).convert("L"), dtype=np.float32)
    small, factor, corner = analysis_grid(luma)
    analysis = analyse(luma)
    high, weight = whitening(small)
    mine = high * weight
    assert factor == pytest.approx(analysis.factor)
    assert (corner[0] / factor, corner[1] / factor) == pytest.approx(analysis.origin)
    np.testing.assert_allclose(mine - mine.mean(), analysis.residual, atol=1e-5)


def test_the_image_kind_reports_the_regions(marked: Image.Image) -> None:
    from fixtures.support import encode
    from provenance.kinds.image import ImageKind
    from provenance.kinds.media import Limits

    data = encode(painted(marked, BOX), "PNG")
    engine = ImageKind().mark
    assert engine is not None
    mark = engine.detect(data, "image/png", [SECRET], Limits())
    assert mark.found and mark.geometry is not None
    regions = mark.geometry.altered_regions
    altered_ = [r for r in regions if r.state == "altered"]
    assert altered_ and all(isinstance(r, Region) for r in regions)
    assert all(inside(r, BOX) > 0.3 for r in altered_)  # type: ignore[arg-type]


def test_a_failed_localisation_keeps_the_finding(
    marked: Image.Image, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fixtures.support import encode
    from provenance.kinds.image import ImageKind
    from provenance.kinds.media import Limits
    from provenance.watermark.image import regions as engine

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "altered_regions", broken)
    kind_engine = ImageKind().mark
    assert kind_engine is not None
    mark = kind_engine.detect(encode(marked, "PNG"), "image/png", [SECRET], Limits())
    assert mark.found and mark.payload == PAYLOAD.hex() and mark.geometry is not None
    assert mark.geometry.altered_regions == ()
    assert "localising it failed" in caplog.text
