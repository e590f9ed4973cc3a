"""The invisible keyed text payload: round trip, survival per transform, what removes it."""

from __future__ import annotations

import html
import html.parser
import json
import re
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.errors import InputError
from provenance.watermark import WatermarkSecret
from provenance.watermark.text import (
    WORDS_PER_COPY,
    PayloadNotEmbeddable,
    detect_payload,
    embed_payload,
)
from provenance.watermark.text.config import VS_CARRIER, ZW_CARRIER

SECRET = WatermarkSecret("default", bytes(range(32)))
OTHER = WatermarkSecret("other", bytes(range(1, 33)))
PAYLOAD = bytes.fromhex("0123456789abcdef")
_LOREM = (
    "Provenance signals let readers tell generated text from written text. The committee "
    "reviewed the draft, asked for sources, and agreed that a short summary (about fifty "
    "words) should still carry the mark. Café owners, naïve critics and résumé writers "
    "were consulted; 42% said they copy text between apps daily."
)
TEXT = " ".join([_LOREM] * 6)  # about 300 words
_VS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_ZW = re.compile("[\u200b\u200c\u200d\u2060-\u2064]")


class _TextOnly(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_round_trip(text: str) -> str:
    """Text -> HTML paragraphs -> sanitised -> extracted text, as a CMS would."""
    bleach = pytest.importorskip("bleach")
    page = "".join(f"<p>{html.escape(p)}</p><script>x()</script>" for p in text.split("\n"))
    cleaned = bleach.clean(page, tags={"p"}, strip=True)
    parser = _TextOnly()
    parser.feed(cleaned)
    return html.unescape("\n".join(parser.parts))


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "identity": lambda t: t,
    "nfc": lambda t: unicodedata.normalize("NFC", t),
    "nfkc": lambda t: unicodedata.normalize("NFKC", t),
    "nfkd-then-nfc": lambda t: unicodedata.normalize("NFC", unicodedata.normalize("NFKD", t)),
    "json": lambda t: json.loads(json.dumps({"text": t}))["text"],
    "json-ascii-escapes": lambda t: json.loads(json.dumps(t, ensure_ascii=True)),
    "html-sanitise": _html_round_trip,
    "whitespace-collapse": lambda t: " ".join(t.split()),
    "utf16-round-trip": lambda t: t.encode("utf-16").decode("utf-16"),
}


@pytest.fixture(scope="module")
def marked() -> str:
    return embed_payload(TEXT, PAYLOAD, SECRET)


def test_round_trip_in_both_carriers(marked: str) -> None:
    found = detect_payload(marked, [OTHER, SECRET])
    assert found.detected and found.payload == PAYLOAD and found.secret_name == "default"
    assert found.carriers == (VS_CARRIER, ZW_CARRIER)
    words = len(TEXT.split())
    assert found.copies >= 2 * (words // WORDS_PER_COPY)
    assert 0 < found.false_positive_bound < 1e-7


def test_nothing_visible_is_added(marked: str) -> None:
    added = _ZW.sub("", _VS.sub("", marked))
    assert added == TEXT
    assert {unicodedata.category(c) for c in set(marked) - set(TEXT)} <= {"Mn", "Cf"}


def test_a_wrong_secret_or_unmarked_text_finds_nothing(marked: str) -> None:
    assert not detect_payload(marked, [OTHER]).detected
    assert not detect_payload(TEXT, [SECRET]).detected
    assert detect_payload(TEXT, [SECRET]).payload is None


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_survives(marked: str, name: str) -> None:
    found = detect_payload(TRANSFORMS[name](marked), [SECRET])
    assert found.payload == PAYLOAD
    assert found.carriers == (VS_CARRIER, ZW_CARRIER)


def test_every_fifty_word_excerpt_carries_a_whole_copy_of_each_carrier(marked: str) -> None:
    words = marked.split()
    for offset in range(len(words) - 49):
        found = detect_payload(" ".join(words[offset : offset + 50]), [SECRET])
        assert found.payload == PAYLOAD, offset
        assert found.carriers == (VS_CARRIER, ZW_CARRIER), offset


@pytest.mark.parametrize(
    ("stripper", "left"),
    [(lambda t: _ZW.sub("", t), VS_CARRIER), (lambda t: _VS.sub("", t), ZW_CARRIER)],
    ids=["zero-width-remover", "variation-selector-remover"],
)
def test_each_carrier_alone_still_carries_it(
    marked: str, stripper: Callable[[str], str], left: str
) -> None:
    found = detect_payload(stripper(marked), [SECRET])
    assert found.payload == PAYLOAD and found.carriers == (left,)


@pytest.mark.parametrize(
    "remover",
    [
        lambda t: t.encode("ascii", "ignore").decode(),
        lambda t: "".join(c for c in t if unicodedata.category(c) not in ("Cf", "Mn")),
        lambda t: _VS.sub("", _ZW.sub("", t)),
    ],
    ids=["ascii-ignore", "strip-format-and-marks", "both-strippers"],
)
def test_what_removes_it(marked: str, remover: Callable[[str], str]) -> None:
    assert not detect_payload(remover(marked), [SECRET]).detected


def test_a_damaged_copy_is_corrected(marked: str) -> None:
    excerpt = " ".join(marked.split()[:50])
    zw = re.search("[\u200b-\u200d\u2060-\u2064]{38}", excerpt)
    assert zw is not None
    # Symbol 1 of a zero-width copy holds bits 3-5 of the 114: inside the codeword's byte 0.
    run = zw.group()
    damaged = run[:1] + ("\u200b" if run[1] != "\u200b" else "\u200c") + run[2:]
    changed = excerpt[: zw.start()] + damaged + excerpt[zw.end() :]
    assert damaged != run and detect_payload(_VS.sub("", changed), [SECRET]).payload == PAYLOAD


def test_survives_the_c2pa_wrapper_being_appended_and_stripped(marked: str) -> None:
    from provenance.credentials.text.wrapper import encode_wrapper, strip_wrapper

    wrapped = marked + encode_wrapper(bytes(2000))
    assert detect_payload(wrapped, [SECRET]).payload == PAYLOAD
    assert detect_payload(strip_wrapper(wrapped), [SECRET]).payload == PAYLOAD
    with pytest.raises(ValueError, match="embed the payload first"):
        embed_payload(wrapped, PAYLOAD, SECRET)


def test_short_texts_carry_one_copy_of_each() -> None:
    found = detect_payload(embed_payload("Hello there, world.", PAYLOAD, SECRET), [SECRET])
    assert found.payload == PAYLOAD and found.carriers == (VS_CARRIER, ZW_CARRIER)


def test_combining_marks_keep_their_letter() -> None:
    text = unicodedata.normalize("NFD", TEXT)  # "Cafe\u0301": nothing may split e from ◌́
    marked = embed_payload(text, PAYLOAD, SECRET)
    assert _VS.sub("", _ZW.sub("", marked)) == text
    assert not re.search("[\U000e0100-\U000e01ef\u200b-\u200d\u2060-\u2064]\u0301", marked)
    assert detect_payload(unicodedata.normalize("NFC", marked), [SECRET]).payload == PAYLOAD


def test_text_without_hosts_is_refused() -> None:
    with pytest.raises(PayloadNotEmbeddable) as caught:
        embed_payload("\u4e2d\u6587\u6587\u672c \u0639\u0631\u0628\u064a", PAYLOAD, SECRET)
    assert isinstance(caught.value, InputError)


def test_the_payload_is_eight_bytes() -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        embed_payload(TEXT, b"short", SECRET)


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_arbitrary_unmarked_text_finds_nothing(text: str) -> None:
    assert not detect_payload(text, [SECRET]).detected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.from_regex(r"[A-Za-z\u00e9\u00fc0-9.,;!?'-]{1,12}", fullmatch=True), min_size=1),
    st.binary(min_size=8, max_size=8),
)
def test_arbitrary_words_round_trip(words: list[str], payload: bytes) -> None:
    text = " ".join(words)
    found = detect_payload(embed_payload(text, payload, SECRET), [SECRET])
    assert found.payload == payload
