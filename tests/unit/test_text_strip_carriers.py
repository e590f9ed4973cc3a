"""``strip_carriers`` and the LLM detector's view of a signed text: only our characters go."""

from __future__ import annotations

import pytest

from provenance.credentials.text.wrapper import encode_wrapper
from provenance.watermark import WatermarkSecret
from provenance.watermark.llm import without_provenance_marks
from provenance.watermark.text import detect_payload, embed_payload, strip_carriers

SECRET = WatermarkSecret("default", bytes(range(32)))
PAYLOAD = bytes.fromhex("0123456789abcdef")
# Characters ordinary text uses one at a time: emoji presentation, a ZWJ emoji sequence, a
# keycap, an ideographic variation sequence, a Persian ZWNJ, a word joiner, a leading BOM.
ORDINARY = (
    "\ufeffI \u2764\ufe0f this: \U0001f469\u200d\U0001f469\u200d\U0001f467 #\ufe0f\u20e3, "
    "\u845b\U000e0100 and \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 with a\u2060b."
)
TEXT = " ".join(
    f"Paragraph {i} explains how a careful model writes calm sentences about rivers."
    for i in range(10)
)


def test_removes_both_carriers_and_nothing_else() -> None:
    source = f"{TEXT} {ORDINARY} {TEXT}"
    marked = embed_payload(source, PAYLOAD, SECRET)
    assert marked != source and detect_payload(marked, [SECRET]).detected
    assert strip_carriers(marked) == source
    assert strip_carriers(ORDINARY) == ORDINARY
    assert strip_carriers(source) == source


def test_removes_the_wrapper_whole_damaged_or_doubled() -> None:
    marked = embed_payload(TEXT, PAYLOAD, SECRET)
    wrapper = encode_wrapper(b"\x00\x01 a manifest store's bytes \xff" * 20)
    signed = f"{marked}\n{ORDINARY}{wrapper}"
    expected = f"{TEXT}\n{ORDINARY}"
    assert without_provenance_marks(signed) == expected
    assert without_provenance_marks(signed[:-25]) == expected  # cut short: corrupted
    assert without_provenance_marks(signed + wrapper) == expected  # two wrappers
    no_marker = signed.replace("\ufeff", "")  # a byte-order-mark remover was here
    assert without_provenance_marks(no_marker) == expected.replace("\ufeff", "")
    assert strip_carriers(signed) == expected


@pytest.mark.parametrize(
    "text", ["", "plain", "a\ufe0f", "\u200b", "x\ufeff", "2\u2062x + f\u2061(y)\u2064"]
)
def test_leaves_short_texts_alone(text: str) -> None:
    assert strip_carriers(text) == text == without_provenance_marks(text)
