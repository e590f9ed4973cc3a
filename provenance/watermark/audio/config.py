"""The audio mark's format (fixed per ``ALGORITHM`` version) and its search grid.

Changing a format constant changes what is embedded and needs a new ``ALGORITHM``;
the search grid and the strength only change how hard the engine tries.
"""

from __future__ import annotations

from typing import Final

ALGORITHM: Final = "org.provenance-toolkit.wm.audio.v1"

#: Everything is analysed as a mono downmix at this rate: the phone band (8 kHz) and a
#: 16 kHz voice note keep every carrier.
RATE: Final = 8000
#: Analysis frames: 64 ms Hann windows every 32 ms (in seconds, whatever the input rate).
FRAME_SECONDS: Final = 0.064
HOP_SECONDS: Final = 0.032
#: A tile is SLOT_FRAMES frames (64 ms) by one band; the carriers are the tiles' energies.
SLOT_FRAMES: Final = 2
#: Log-spaced bands between these edges (Hz): inside the phone band, above most hum.
LOW_HZ: Final = 350.0
HIGH_HZ: Final = 3400.0
BANDS: Final = 24
#: A block is this many slots (3.07 s); blocks repeat back to back from the first sample.
BLOCK_SLOTS: Final = 48
#: Tiles of each block that carry the keyed sync pattern instead of coded bits.
SYNC_TILES: Final = 234

PAYLOAD_BITS: Final = 64
TAG_BITS: Final = 32

#: Embedding: every active tile's energy moves by +-STRENGTH_DB, and the informed step adds
#: up to MAX_GAIN_DB where the content itself works against a bit.
STRENGTH_DB: Final = 1.0
TARGET_DB: Final = 1.5
MAX_GAIN_DB: Final = 3.0
#: Feature clipping (dB): a loud onset counts no more than this.
CLIP_DB: Final = 6.0
#: A tile is active (marked, and read) when its energy is within this of the loud tiles.
ACTIVE_RANGE_DB: Final = 40.0

#: Shortest input marked or decided from, and the share of it that must carry sound.
MIN_SECONDS: Final = 3.5
MIN_ACTIVE_SHARE: Final = 0.25

#: The detection search: pitch factors (cents), time factors, and speed (both at once).
PITCH_CENTS: Final = tuple(range(-100, 101, 25))
TIME_FACTORS: Final = tuple(round(0.90 + 0.01 * i, 3) for i in range(21))
SPEED_FACTORS: Final = (0.8, 0.85, 0.9, 0.95, 1.05, 1.1, 1.15, 1.2, 1.25)
#: Sub-slot offsets searched (fractions of a slot).
PHASES: Final = 4
#: Audio is searched in windows of this length (seconds), one block apart.
WINDOW_SECONDS: Final = 9.2
#: Sync z-score a window needs to take part in the combined decoding.
SYNC_Z: Final = 4.0
#: Decoding attempts per key at most: the combined decoding plus one per window, up to
#: this many; with TAG_BITS it bounds the false-positive rate (MAX_DECODES x 2^-32 a key).
MAX_DECODES: Final = 16
