"""The attack list of the image-watermark benchmark: the shared suite plus the issue's extras.

The shared suite (``../shared/bench/attacks.py``, or $PROVENANCE_SHARED_BENCH/attacks.py:
ATTACKS and EXTRA_ATTACKS) is loaded as is from its file: ``shared/`` is not a package and
stays outside this repository. The extras are the ones the watermark issue names; every
random choice is seeded from the image size so a run is reproducible.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image, ImageEnhance

_SHARED = Path(
    os.environ.get(
        "PROVENANCE_SHARED_BENCH", Path(__file__).resolve().parents[2] / "shared" / "bench"
    )
)


def _load_shared(path: Path) -> ModuleType:
    """The shared attack suite, imported from its file (it is not on sys.path)."""
    spec = importlib.util.spec_from_file_location("_shared_bench_attacks", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the shared attack suite from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


shared = _load_shared(_SHARED / "attacks.py")

Attack = Callable[[Image.Image], Image.Image]


def _rgb(img: Image.Image) -> Image.Image:
    return img if img.mode == "RGB" else img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    _rgb(img).save(buf, "JPEG", quality=quality)
    out = Image.open(io.BytesIO(buf.getvalue()))
    return out.convert("RGB")


def _scale(fx: float, fy: float | None = None) -> Attack:
    def attack(img: Image.Image) -> Image.Image:
        w, h = img.size
        size = (max(1, round(w * fx)), max(1, round(h * (fx if fy is None else fy))))
        return _rgb(img).resize(size, Image.Resampling.BICUBIC)

    return attack


def _crop_area(fraction: float, strip: bool) -> Attack:
    """Keep ``fraction`` of the area at a seeded offset (square-ish, or a full-width strip)."""

    def attack(img: Image.Image) -> Image.Image:
        img = _rgb(img)
        w, h = img.size
        rng = np.random.default_rng(7919 * w + h + (1 if strip else 0))
        cw, ch = (
            (w, round(h * fraction))
            if strip
            else (round(w * fraction**0.5), round(h * fraction**0.5))
        )
        left = int(rng.integers(0, w - cw + 1))
        top = int(rng.integers(0, h - ch + 1))
        return img.crop((left, top, left + cw, top + ch))

    return attack


def _rotate(degrees: float) -> Attack:
    return lambda img: _rgb(img).rotate(
        degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(0, 0, 0)
    )


def _gamma(gamma: float) -> Attack:
    lut = [round(255 * (i / 255) ** gamma) for i in range(256)]
    return lambda img: _rgb(img).point(lut * 3)


def _combined(img: Image.Image) -> Image.Image:
    img = _scale(0.75)(_jpeg(img, 75))
    w, h = img.size
    cw, ch = round(w * 0.8), round(h * 0.8)
    left, top = (w - cw) // 2, (h - ch) // 2
    return img.crop((left, top, left + cw, top + ch))


EXTRA: dict[str, Attack] = {
    "jpeg_q40": lambda img: _jpeg(img, 40),
    "resize_0.75x_keep": _scale(0.75),
    "resize_1.5x_keep": _scale(1.5),
    "crop_50area_offset": _crop_area(0.5, strip=False),
    "crop_50area_strip": _crop_area(0.5, strip=True),
    "rotate_5": _rotate(5.0),
    "rotate_-3.5": _rotate(-3.5),
    "aspect_w1.1": _scale(1.1, 1.0),
    "aspect_h0.9": _scale(1.0, 0.9),
    "gamma_0.8": _gamma(0.8),
    "gamma_1.2": _gamma(1.2),
    "saturation_0": lambda img: ImageEnhance.Color(_rgb(img)).enhance(0.0),
    "jpeg75_resize0.75_crop80": _combined,
}

ALL: list[str] = [*shared.ATTACKS, *shared.EXTRA_ATTACKS, *EXTRA]


def apply(name: str, img: Image.Image) -> Image.Image:
    """The attacked copy (always RGB)."""
    return EXTRA[name](img) if name in EXTRA else shared.apply_attack(name, img)
