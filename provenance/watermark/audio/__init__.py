"""The audio mark (``org.provenance-toolkit.wm.audio.v1``): a first slice, not attached.

A keyed mark in the energies of 64 ms x log-spaced band tiles (350-3400 Hz) of a mono
8 kHz downmix, repeated in 3.07 s blocks with a keyed sync pattern; detection searches
pitch (+-100 cents), time scale (0.90-1.10), speed (0.8-1.25) and offset, and decodes
the 64-bit record id plus a 32-bit keyed tag with the image mark's code. A payload is
reported only on an exact tag: at most ``MAX_DECODES`` decoding attempts a key, so the
false-positive bound is ``MAX_DECODES x keys x 2^-32``.

Not attached to the audio kind: on speech-like audio it does not yet read back what it
writes (docs/benchmarks.md, "Audio watermark"), so ``AudioKind.mark`` stays None.
"""

from __future__ import annotations

from .config import ALGORITHM, MAX_DECODES, TAG_BITS
from .detect import Finding
from .mark import check_markable, detect, embed

__all__ = ["ALGORITHM", "MAX_DECODES", "TAG_BITS", "Finding", "check_markable", "detect", "embed"]
