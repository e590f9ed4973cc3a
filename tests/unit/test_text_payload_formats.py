"""The payload's formats: v2 (written) and v1 (still read), the layout's guarantee, size."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.kinds.media import Limits
from provenance.kinds.text import TextKind
from provenance.report import MarkStatus
from provenance.watermark import WatermarkSecret
from provenance.watermark.text import (
    ALGORITHM,
    ALGORITHM_V1,
    FORMAT,
    FORMAT_V1,
    LAYOUT,
    LAYOUT_V1,
    Layout,
    PayloadNotEmbeddable,
    detect_payload,
    embed_payload,
    strip_carriers,
)
from provenance.watermark.text.carriers import decode_run, encode_run
from provenance.watermark.text.config import VS_CARRIER, ZW_CARRIER
from provenance.watermark.text.frame import decode_codeword, encode_codeword

SECRET = WatermarkSecret("default", bytes(range(32)))
PAYLOAD = bytes.fromhex("0123456789abcdef")
_LOREM = (
    "Provenance signals let readers tell generated text from written text. The committee "
    "reviewed the draft, asked for sources, and agreed that a short summary (about fifty "
    "words) should still carry the mark. Café owners, naïve critics and résumé writers "
    "were consulted; 42% said they copy text between apps daily."
)
TEXT = " ".join([_LOREM] * 6)  # 294 words
#: SHA-256 of ``embed_payload(TEXT, PAYLOAD, SECRET)`` as the v1 code wrote it (the tree
#: before v2): v1's embedder is kept byte for byte, so old signed texts are what it reads.
V1_OUTPUT_SHA256 = "a2961d7ad2093bf2305c8c5a1af73bcfd9755b6f81559886791c45534e0458f3"
_VS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_ZW = re.compile("[\u200b-\u200d\u2060-\u2064]")


def test_v1_output_is_what_v1_wrote_and_still_detects() -> None:
    old = embed_payload(TEXT, PAYLOAD, SECRET, fmt=FORMAT_V1, layout=LAYOUT_V1)
    assert hashlib.sha256(old.encode()).hexdigest() == V1_OUTPUT_SHA256
    found = detect_payload(old, [SECRET])
    assert found.payload == PAYLOAD and found.algorithm == ALGORITHM_V1
    assert found.carriers == (VS_CARRIER, ZW_CARRIER)
    assert detect_payload(old, [SECRET], formats=[FORMAT]).payload is None


def test_the_text_kind_writes_v2_and_reads_both() -> None:
    kind = TextKind()
    engine = kind.mark
    assert engine is not None
    assert engine.alg == ALGORITHM == "org.provenance-toolkit.wm.text.v2"
    assert engine.algs == {ALGORITHM, ALGORITHM_V1}
    limits = Limits()
    for fmt, layout in ((FORMAT, LAYOUT), (FORMAT_V1, LAYOUT_V1)):
        data = embed_payload(TEXT, PAYLOAD, SECRET, fmt=fmt, layout=layout).encode()
        mark = engine.detect(data, "text/plain", [SECRET], limits)
        assert mark.status is MarkStatus.FOUND and mark.payload == PAYLOAD.hex()
        assert mark.alg == fmt.algorithm  # the record is looked up under this binding


def test_formats_do_not_read_each_other() -> None:
    for fmt in (FORMAT, FORMAT_V1):
        word = encode_codeword(PAYLOAD, SECRET, fmt)
        assert decode_codeword(word, SECRET, fmt) == PAYLOAD
        other = FORMAT_V1 if fmt is FORMAT else FORMAT
        assert decode_codeword(word, SECRET, other) is None
    runs = {FORMAT.vs_run, FORMAT.zw_run, FORMAT_V1.vs_run, FORMAT_V1.zw_run}
    assert runs == {16, 38, 19, 64}  # a run's length tells its format


def test_v2_corrects_one_wrong_byte_and_v1_two() -> None:
    for fmt, correctable in ((FORMAT, 1), (FORMAT_V1, 2)):
        word = bytearray(encode_codeword(PAYLOAD, SECRET, fmt))
        for position in range(correctable):
            word[3 + 4 * position] ^= 0x5A
        assert decode_codeword(bytes(word), SECRET, fmt) == PAYLOAD
        word[1] ^= 0x01
        assert decode_codeword(bytes(word), SECRET, fmt) is None


@pytest.mark.parametrize("symbol", range(14))
def test_one_wrong_selector_is_corrected(symbol: int) -> None:
    """v2 selectors are byte-aligned: each of the first 14 carries one byte's low bits."""
    run = encode_run(encode_codeword(PAYLOAD, SECRET), FORMAT.vs)
    chars = list(run)
    chars[symbol] = chr(0xE0100 + (ord(chars[symbol]) - 0xE0100 + 37) % 128)
    damaged = "x" + "".join(chars)
    assert damaged[1:] != run
    assert detect_payload(damaged, [SECRET]).payload == PAYLOAD


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=14, max_size=14))
def test_every_codeword_round_trips_in_every_alphabet(codeword: bytes) -> None:
    for alphabet in (FORMAT.vs, FORMAT.zw):
        run = encode_run(codeword, alphabet)
        assert len(run) == alphabet.run_length(14) and set(run) <= set(alphabet.symbols)
        assert decode_run(run, alphabet, 14) == codeword


def test_the_default_costs_at_most_1_6_times_the_text() -> None:
    marked = embed_payload(TEXT, PAYLOAD, SECRET)
    old = embed_payload(TEXT, PAYLOAD, SECRET, fmt=FORMAT_V1, layout=LAYOUT_V1)
    size = len(TEXT.encode())
    assert len(marked.encode()) <= 1.6 * size < 2.9 * size <= len(old.encode())
    assert strip_carriers(marked) == TEXT == _ZW.sub("", _VS.sub("", marked))


def _copies(text: str) -> tuple[list[int], list[int]]:
    """Word indices holding a v2 copy of each carrier."""
    vs, zw = [], []
    for index, word in enumerate(text.split()):
        if re.search(f"[\U000e0100-\U000e017f]{{{FORMAT.vs_run}}}", word):
            vs.append(index)
        if re.search(f"[\u200b-\u200d\u2060-\u2064]{{{FORMAT.zw_run}}}", word):
            zw.append(index)
    return vs, zw


_WORD = st.one_of(
    st.from_regex(r"[A-Za-z0-9.,;!?'-]{1,10}", fullmatch=True),
    st.sampled_from(["\u4e2d\u6587", "\u0639\u0631\u0628\u064a", "\u2014", "12"]),  # few hosts
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_WORD, min_size=1, max_size=260), st.sampled_from([20, 30, 50]))
def test_every_window_of_words_per_copy_words_holds_each_carrier(
    words: list[str], period: int
) -> None:
    text = " ".join(words)
    layout = Layout(words_per_copy=period)
    try:
        marked = embed_payload(text, PAYLOAD, SECRET, layout=layout)
    except PayloadNotEmbeddable:  # a text with no host at all
        return
    for copies, carrier in zip(_copies(marked), (VS_CARRIER, ZW_CARRIER), strict=True):
        hosts = [
            i
            for i, w in enumerate(words)
            if (
                re.search("[A-Za-z]", w) if carrier == VS_CARRIER else re.search(r"[\x21-\x7e]$", w)
            )
        ]
        if not hosts:
            assert not copies
            continue
        assert copies
        # A window misses a copy only where the text offered no host word in it.
        for start in range(max(1, len(words) - period + 1)):
            window = range(start, start + period)
            if any(h in window for h in hosts):
                assert any(c in window for c in copies), (carrier, start)


def test_a_layout_of_one_carrier_writes_only_that_one() -> None:
    for carrier in (VS_CARRIER, ZW_CARRIER):
        marked = embed_payload(TEXT, PAYLOAD, SECRET, layout=Layout(50, (carrier,)))
        assert detect_payload(marked, [SECRET]).carriers == (carrier,)


@pytest.mark.parametrize(
    "options", [{"words_per_copy": 0}, {"carriers": ()}, {"carriers": ("emoji",)}]
)
def test_bad_layouts_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"words_per_copy|carriers"):
        Layout(**options)  # type: ignore[arg-type]


def test_false_positive_bound_counts_attempts_over_formats_and_secrets() -> None:
    others = [WatermarkSecret(f"k{i}", bytes([i]) * 32) for i in range(1, 4)]
    marked = embed_payload(TEXT, PAYLOAD, SECRET)
    vs, zw = _copies(marked)
    found = detect_payload(marked, [*others, SECRET])
    # Each wrong secret tries every run and a vote per carrier; the right one stops at it.
    attempts = 3 * (len(vs) + len(zw) + 2) + len(vs) + len(zw)
    assert found.payload == PAYLOAD
    assert found.false_positive_bound == pytest.approx(attempts * 2.0**-32)
