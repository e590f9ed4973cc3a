"""Embed the keyed payload in text: a copy of each carrier at least every few words."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Final

from provenance.errors import PayloadNotEmbeddable
from provenance.watermark.secret import WatermarkSecret

from .carriers import encode_run, has_wrapper, vs_host, zw_host
from .config import FORMAT, LAYOUT, VS_CARRIER, ZW_CARRIER, Layout, PayloadFormat
from .frame import encode_codeword

log = logging.getLogger(__name__)

_WORD: Final = re.compile(r"\S+")
Host = Callable[[str, int, int], int | None]
HostAt = Callable[[int], int | None]


def embed_payload(
    text: str,
    payload: bytes,
    secret: WatermarkSecret,
    *,
    layout: Layout = LAYOUT,
    fmt: PayloadFormat = FORMAT,
) -> str:
    """``text`` with ``payload`` (8 bytes) invisibly repeated in the layout's carriers.

    Embed before signing: the C2PA wrapper's hash must cover the payload, so a text that
    already carries a wrapper is refused (``ValueError``). ``PayloadNotEmbeddable`` when
    no word offers a host character (text without Latin, Greek or Cyrillic letters,
    digits or punctuation). ``fmt=FORMAT_V1, layout=LAYOUT_V1`` writes what v1 wrote.
    """
    if not isinstance(text, str):
        raise TypeError("text must be str")
    if has_wrapper(text):
        raise ValueError("the text already carries a C2PA wrapper: embed the payload first")
    codeword = encode_codeword(payload, secret, fmt)
    words = [(match.start(), match.end()) for match in _WORD.finditer(text)]
    vs: list[tuple[int, str]] = []
    zw: list[tuple[int, str]] = []
    if VS_CARRIER in layout.carriers:
        vs = _placements(text, words, vs_host, encode_run(codeword, fmt.vs), 0, layout)
    if ZW_CARRIER in layout.carriers:
        phase = layout.words_per_copy // 2 if layout.stagger else 0
        zw = _placements(text, words, zw_host, encode_run(codeword, fmt.zw), phase, layout)
    if not vs and not zw:
        raise PayloadNotEmbeddable("the text has no character the invisible payload can follow")
    if len(layout.carriers) > 1 and (not vs or not zw):
        log.warning("the text carries the payload in one carrier only")
    # At one position the selector run goes first: it must follow its letter directly.
    insertions = sorted([*((p, 0, r) for p, r in vs), *((p, 1, r) for p, r in zw)])
    parts: list[str] = []
    cursor = 0
    for position, _, run in insertions:
        parts.append(text[cursor:position])
        parts.append(run)
        cursor = position
    parts.append(text[cursor:])
    return "".join(parts)


def _placements(
    text: str, words: list[tuple[int, int]], host: Host, run: str, phase: int, layout: Layout
) -> list[tuple[int, str]]:
    """(position, run) for each copy of one carrier."""
    found: dict[int, int | None] = {}

    def host_at(index: int) -> int | None:  # looked at lazily: most words never are
        if index not in found:
            found[index] = host(text, *words[index])
        return found[index]

    place = _from_slots if layout.from_slot else _gapless
    chosen = place(host_at, len(words), phase, layout.words_per_copy)
    return [(position, run) for i in chosen if (position := host_at(i)) is not None]


def _gapless(host_at: HostAt, count: int, phase: int, period: int) -> list[int]:
    """Word indices: the latest host word at most ``period`` words after the previous copy
    (the first within the first ``period - phase`` words), until the last copy is within
    ``period`` words of the end, so that every run of ``period`` words holds one. Where
    no word of a stretch is a host, the first host after it is taken."""
    chosen: list[int] = []
    previous, deadline = -1, period - 1 - phase
    while previous + period < count or not chosen:
        stretch = range(min(deadline, count - 1), previous, -1)
        pick = next((i for i in stretch if host_at(i) is not None), None)
        if pick is None:
            after = range(max(deadline, previous) + 1, count)
            pick = next((i for i in after if host_at(i) is not None), None)
            if pick is None:
                break
        chosen.append(pick)
        previous, deadline = pick, pick + period
    return chosen


def _from_slots(host_at: HostAt, count: int, phase: int, period: int) -> list[int]:
    """v1's placement: the first host word at or after each slot, slots ``period`` apart."""
    chosen: list[int] = []
    slot = min(phase, max(0, count - 1))
    for index in range(count):
        if index >= slot and host_at(index) is not None:
            chosen.append(index)
            slot = index + period
    return chosen
