"""The watermark secret every mark engine takes: a named key, never printed."""

from __future__ import annotations

import dataclasses

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
