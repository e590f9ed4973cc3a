"""Audio mark benchmark: exact recovery per attack of ../shared/bench/av_attacks.py.

    python -m bench.audio_watermark   # ~3 min on 2 cores: one 10 s clip per content

Few clips (one speech-like at 16 kHz, one music-like at 44.1 kHz, from fixtures.sounds):
a cell is 1 or 0, not a rate. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
import av_attacks

from fixtures.sounds import music, speech
from provenance.watermark.audio import detect, embed

KEY = b"0123456789abcdef0123456789abcdef"
PAYLOAD = bytes.fromhex("0011223344556677")


def main() -> None:
    clips = {
        "speech 16 kHz": (speech(10, 16000), 16000),
        "music 44.1 kHz": (music(10, 44100), 44100),
    }
    rows: dict[str, list[str]] = {}
    print(f"# {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}")
    for label, (source, rate) in clips.items():
        started = time.perf_counter()
        marked = np.clip(embed(source, rate, KEY, PAYLOAD), -1, 1).astype(np.float32)
        embed_x = len(source) / rate / (time.perf_counter() - started)
        snr = 10 * np.log10(
            np.sum(np.square(source, dtype=np.float64))
            / np.sum(np.square(marked - source, dtype=np.float64))
        )
        print(f"{label}: mark-to-signal {snr:.1f} dB, embed {embed_x:.0f}x real time", flush=True)
        spent = 0.0
        for name in av_attacks.audio_attacks():
            attacked, out_rate = av_attacks.AUDIO_ATTACKS[name](marked, rate)
            started = time.perf_counter()
            found = detect(attacked, out_rate, KEY)
            spent += time.perf_counter() - started
            rows.setdefault(name, []).append("1" if found.payload == PAYLOAD else "0")
        print(f"{label}: detect {len(rows) * 10 / spent:.0f}x real time", flush=True)
        nulls = sum(
            detect(av_attacks.AUDIO_ATTACKS["crop_5s"](source, rate)[0], rate, KEY).payload
            is not None
            for _ in range(1)
        )
        print(f"{label}: unmarked payloads {nulls}", flush=True)
    print("| attack | " + " | ".join(clips) + " |\n|---|" + "---|" * len(clips))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
