"""Deterministic generated English-like text for the text benchmarks.

No corpus is downloaded or shipped: sentences are drawn with a seeded generator from a
fixed vocabulary (with a few accented words and punctuation), so every run measures the
same bytes and the text is free of any licence.
"""

from __future__ import annotations

import random

_VOCABULARY = (
    "the model wrote a short report about river data and city budgets while editors "
    "checked sources quotes dates figures before publishing each summary for readers "
    "who compare claims across several outlets every morning café résumé naïve façade "
    "provenance signal marks generated text so platforms can label it clearly"
)


def generated_text(size_bytes: int, seed: int = 0) -> str:
    """About ``size_bytes`` of UTF-8 text in sentences and paragraphs."""
    rng = random.Random(seed)
    vocabulary = _VOCABULARY.split()
    parts: list[str] = []
    total = 0
    while total < size_bytes:
        words = [rng.choice(vocabulary) for _ in range(rng.randint(6, 18))]
        sentence = " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!", ";"])
        sentence += "\n\n" if rng.random() < 0.15 else " "
        parts.append(sentence)
        total += len(sentence.encode("utf-8"))
    text = "".join(parts).encode("utf-8")[:size_bytes].decode("utf-8", "ignore")
    return text.rstrip() + "."
