"""Watermark secrets and the keyed material derived from them."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MIN_KEY_BYTES", "WatermarkSecret", "keyed_rng", "subkey"]

MIN_KEY_BYTES = 16


@dataclasses.dataclass(frozen=True)
class WatermarkSecret:
    """A named watermark secret: ``name`` is reported on detection, ``key`` stays private."""

    name: str
    key: bytes = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError("WatermarkSecret.name must be a non-empty str")
        if not isinstance(self.key, bytes):
            raise TypeError("WatermarkSecret.key must be bytes")
        if len(self.key) < MIN_KEY_BYTES:
            raise ValueError(f"a watermark key needs at least {MIN_KEY_BYTES} bytes")


def subkey(key: bytes, label: str) -> bytes:
    """An independent 32-byte key for one purpose (HMAC-SHA256 as a PRF)."""
    return hmac.new(key, b"provenance-wm-image-v1/" + label.encode(), hashlib.sha256).digest()


def keyed_rng(key: bytes, label: str) -> np.random.Generator:
    """A NumPy generator seeded from the secret; the same on every platform."""
    import numpy as np  # here: a secret is made (key stores, text marks) without NumPy

    seed = np.frombuffer(subkey(key, label), dtype="<u8")
    return np.random.Generator(np.random.PCG64(seed.tolist()))
