"""Embed the keyed payload in text: both carriers, one copy of each every few words."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Final

from provenance.errors import InputError
from provenance.watermark.image.keys import WatermarkSecret

from .carriers import encode_vs, encode_zw, has_wrapper, vs_host, zw_host
from .config import WORDS_PER_COPY
from .frame import encode_codeword

__all__ = ["PayloadNotEmbeddable", "embed_payload"]

log = logging.getLogger(__name__)

_WORD: Final = re.compile(r"\S+")
Host = Callable[[str, int, int], int | None]


class PayloadNotEmbeddable(InputError):
    """The text has no character either carrier may attach to."""


def embed_payload(text: str, payload: bytes, secret: WatermarkSecret) -> str:
    """``text`` with ``payload`` (8 bytes) invisibly repeated in both carriers.

    Embed before signing: the C2PA wrapper's hash must cover the payload, so a text that
    already carries a wrapper is refused (``ValueError``). ``PayloadNotEmbeddable`` when
    no word offers a host character (text without Latin, Greek or Cyrillic letters,
    digits or punctuation).
    """
    if not isinstance(text, str):
        raise TypeError("text must be str")
    if has_wrapper(text):
        raise ValueError("the text already carries a C2PA wrapper: embed the payload first")
    codeword = encode_codeword(payload, secret)
    words = [(match.start(), match.end()) for match in _WORD.finditer(text)]
    vs = _placements(text, words, vs_host, encode_vs(codeword), first_slot=0)
    zw = _placements(text, words, zw_host, encode_zw(codeword), first_slot=WORDS_PER_COPY // 2)
    if not vs and not zw:
        raise PayloadNotEmbeddable("the text has no character the invisible payload can follow")
    if not vs or not zw:
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
    text: str, words: list[tuple[int, int]], host: Host, run: str, *, first_slot: int
) -> list[tuple[int, str]]:
    """(position, run) for each copy: the first host word at or after each slot."""
    placed: list[tuple[int, str]] = []
    slot = min(first_slot, max(0, len(words) - 1))
    for index, (start, end) in enumerate(words):
        if index < slot:
            continue
        position = host(text, start, end)
        if position is not None:
            placed.append((position, run))
            slot = index + WORDS_PER_COPY
    return placed
