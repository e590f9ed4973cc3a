"""Shared fixtures: images made on the fly, a key store in a temporary home, the conformance set."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PASSPHRASE = "correct horse battery staple"
REPO = Path(__file__).resolve().parent.parent


def conformance_dir() -> Path | None:
    """The shared C2PA conformance files: $PROVENANCE_CONFORMANCE_DIR or ../shared."""
    configured = os.environ.get("PROVENANCE_CONFORMANCE_DIR")
    candidate = Path(configured) if configured else REPO.parent / "shared" / "conformance" / "c2pa"
    return candidate if (candidate / "expected.json").is_file() else None


def natural_image(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients, edges and mild texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = 120 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0)
    edges = 50.0 * ((x + 2 * y) % 97 < 48)
    noise = rng.normal(0, 6, (height, width))
    channels = [base + edges + noise, base * 0.8 + noise, 200 - base * 0.5 + edges * 0.3]
    pixels = np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunks(data: bytes) -> list[bytes]:
    """A PNG's chunks (length, type, data, CRC each), for splicing files in tests."""
    chunks, at = [], 8
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        chunks.append(data[at : at + 12 + length])
        at += 12 + length
    return chunks


@pytest.fixture
def image_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a generated image: ``image_file("photo.jpg", "JPEG")``."""

    def make(
        name: str = "photo.jpg", fmt: str = "JPEG", size: tuple[int, int] = (400, 300)
    ) -> Path:
        path = tmp_path / name
        path.write_bytes(encode(natural_image(*size), fmt))
        return path

    return make


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", PASSPHRASE)
    return PASSPHRASE


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory, also exported as PROVENANCE_HOME."""
    path = tmp_path / "home"
    monkeypatch.setenv("PROVENANCE_HOME", str(path))
    return path


@pytest.fixture
def store(home: Path, passphrase: str) -> Iterator[object]:
    """A fresh key store (local CA, default identity, default watermark key)."""
    from provenance.keystore import KeyStore

    yield KeyStore.create(home, passphrase, org="Test Org")


@pytest.fixture(scope="session")
def conformance() -> tuple[Path, dict[str, dict[str, list[str]]]]:
    root = conformance_dir()
    if root is None:
        pytest.skip(
            "C2PA conformance files not found: set PROVENANCE_CONFORMANCE_DIR or "
            "check out ../shared next to this repository"
        )
    expected = json.loads((root / "expected.json").read_text())["files"]
    return root, expected
