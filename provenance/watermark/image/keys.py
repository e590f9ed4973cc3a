"""The image mark's keyed material, derived from a ``WatermarkSecret``'s key."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def subkey(key: bytes, label: str) -> bytes:
    """An independent 32-byte key for one purpose (HMAC-SHA256 as a PRF)."""
    return hmac.new(key, b"provenance-wm-image-v1/" + label.encode(), hashlib.sha256).digest()


def keyed_rng(key: bytes, label: str) -> np.random.Generator:
    """A NumPy generator seeded from the secret; the same on every platform."""
    import numpy as np  # here: a secret is made (key stores, text marks) without NumPy

    seed = np.frombuffer(subkey(key, label), dtype="<u8")
    return np.random.Generator(np.random.PCG64(seed.tolist()))
