"""The distortion-free LLM watermark: keyed uniforms, the exponential-minimum choice, the exact
Gamma test, and the key store's record of each key's mode.

A toy bigram LM in numpy stands in for a model; the watermarked choice is the library's own
``choose_tokens`` over ``KeyedUniforms.noise_table``, as the transformers processor makes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from numpy.typing import NDArray
from scipy.stats import chisquare

from provenance.errors import KeyStoreCorrupt
from provenance.keystore import KeyStore
from provenance.watermark.llm import (
    ExponentialScheme,
    GreenList,
    KeyedUniforms,
    LLMMode,
    TextTokenizer,
    Verdict,
    detect_tokens,
    detect_tokens_exponential,
    detect_with_key,
    gamma_p_value,
    parse_mode,
)
from provenance.watermark.llm.exponential import choose_tokens, context_seen_before, first_contexts

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


def fresh_secrets(count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(32) for _ in range(count)]


# -- keyed uniforms ------------------------------------------------------------------------


def test_uniforms_follow_the_documented_construction() -> None:
    """AES-256(HMAC(secret, label)) of (pad, pad, context, token); top 53 bits + 1/2."""
    key = hmac.new(SECRET, b"provenance-llm-v2/exp/h=1", hashlib.sha256).digest()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    context, vocab = 464, 300
    expected = []
    for token in range(vocab):
        block = b"\xff" * 8 + context.to_bytes(4, "big") + token.to_bytes(4, "big")
        value = int.from_bytes(encryptor.update(block)[:8], "big") >> 11
        expected.append((value + 0.5) / 2**53)
    uniforms = KeyedUniforms(SECRET)
    assert uniforms.table([[context]], vocab)[0].tolist() == expected
    assert uniforms.values([[context]] * 3, [0, 7, 299]).tolist() == [
        expected[0],
        expected[7],
        expected[299],
    ]


def test_uniforms_are_keyed_per_key_and_context_width() -> None:
    table = KeyedUniforms(SECRET).table([[3], [4]], 2000)
    assert table.shape == (2, 2000) and table.min() > 0.0 and table.max() < 1.0
    assert abs(table.mean() - 0.5) < 0.02
    assert not np.array_equal(table, KeyedUniforms(OTHER_SECRET).table([[3], [4]], 2000))
    wider = KeyedUniforms(SECRET, ExponentialScheme(context_width=2)).table([[0, 3]], 2000)
    assert not np.array_equal(table[0], wider[0])
    # the noise table is the reused buffer: later calls do not change an earlier table()
    uniforms = KeyedUniforms(SECRET)
    first = uniforms.table([[3]], 500)
    uniforms.noise_table([[9]], 500)
    assert np.array_equal(first, KeyedUniforms(SECRET).table([[3]], 500))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda u: u.values([[1]], [1, 2]), ValueError),
        (lambda u: u.values([[1, 2]], [1]), ValueError),
        (lambda u: u.values([[-1]], [1]), ValueError),
        (lambda u: u.values([[1.5]], [1]), TypeError),
        (lambda u: u.table([[1]], 0), ValueError),
    ],
)
def test_uniforms_reject_misuse(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call(KeyedUniforms(SECRET))  # type: ignore[operator]
    with pytest.raises(ValueError):
        ExponentialScheme(context_width=4)
    with pytest.raises(ValueError):
        KeyedUniforms(b"short")


# -- the choice: distortion-free over keys -------------------------------------------------


def test_key_averaged_choice_is_the_model_distribution() -> None:
    """Over fresh keys the chosen token follows p exactly; the green-list bias does not."""
    p = np.array([0.4, 0.2, 0.15, 0.1, 0.08, 0.04, 0.02, 0.01])
    logits = np.log(p)[None, :]
    secrets = fresh_secrets(6000, seed=1)
    chosen = [
        int(choose_tokens(logits, KeyedUniforms(s).noise_table([[5]], p.size))[0]) for s in secrets
    ]
    counts = np.bincount(chosen, minlength=p.size)
    assert chisquare(counts, p * len(chosen)).pvalue > 1e-3
    biased = []
    for s in secrets:
        boosted = np.log(p) + 2.0 * GreenList(s).green_mask([[5]], p.size)[0]
        biased.append(int(np.argmax(boosted + np.random.default_rng(len(biased)).gumbel(size=8))))
    assert chisquare(np.bincount(biased, minlength=p.size), p * len(biased)).pvalue < 1e-6


def test_choice_respects_removed_tokens() -> None:
    logits = np.array([[0.0, -np.inf, 1.0, -np.inf]])
    for s in fresh_secrets(50, seed=2):
        noise = KeyedUniforms(s).noise_table([[1]], 4)
        assert int(choose_tokens(logits, noise)[0]) in {0, 2}
    with pytest.raises(ValueError):
        choose_tokens(np.zeros((1, 3)), np.zeros((1, 4)))


def test_first_contexts_and_repetition() -> None:
    ids = [1, 2, 1, 2, 3, 1, 2]
    # tokens 1..6 have contexts 1, 2, 1, 2, 3, 1: only the first of each is scored
    assert first_contexts(ids, 1).tolist() == [True, True, False, False, True, False]
    assert first_contexts(ids, 2).tolist() == [True, True, False, True, True]
    assert first_contexts([7], 1).tolist() == []
    assert context_seen_before(np.array([1, 2, 1]), 1)  # 1 was the context of token 2
    assert not context_seen_before(np.array([1, 2, 3]), 1)
    assert not context_seen_before(np.array([2, 1]), 1)  # 1 only as a token so far


# -- the exact test ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_p_value_is_the_exact_gamma_tail(n: int) -> None:
    for score in (0.5, n * 1.0, n * 2.5):
        tail = math.exp(-score) * sum(score**k / math.factorial(k) for k in range(n))
        assert gamma_p_value(score, n) == pytest.approx(tail, rel=1e-12)
    assert gamma_p_value(0.0, 5) == 1.0 and gamma_p_value(3.0, 0) == 1.0
    # deep in the tail, not rounded to 0: the same sum term by term in log space
    logs = [k * math.log(400.0) - math.lgamma(k + 1) - 400.0 for k in range(100)]
    peak = max(logs)
    exact = math.exp(peak) * math.fsum(math.exp(v - peak) for v in logs)
    assert exact < 1e-70 and gamma_p_value(400.0, 100) == pytest.approx(exact, rel=1e-10)
    with pytest.raises(ValueError):
        gamma_p_value(-1.0, 3)


@pytest.mark.parametrize(
    "text",
    [
        list(range(200)),  # no repeats
        [17, 4] * 100,  # "a b a b ...": two scored tokens only
        [int(x) for x in np.random.default_rng(5).integers(0, 20, 200)],  # many repeats
    ],
)
def test_null_p_values_are_uniform_over_keys(text: list[int]) -> None:
    """For a fixed text, over fresh keys, P[p <= alpha] = alpha (the Gamma null is exact)."""
    values = np.array(
        [detect_tokens_exponential(text, KeyedUniforms(s)).p_value for s in fresh_secrets(3000, 7)]
    )
    for alpha in (0.5, 0.1, 0.02):
        hits = int((values <= alpha).sum())
        sd = math.sqrt(values.size * alpha * (1 - alpha))
        assert abs(hits - values.size * alpha) < 4.5 * sd, (alpha, hits)


def test_repeated_text_is_scored_once() -> None:
    result = detect_tokens_exponential([17, 4] * 100, KeyedUniforms(SECRET))
    assert (result.tokens, result.positions, result.scored_tokens) == (200, 199, 2)
    assert result.repeated_contexts == 197 and result.verdict is Verdict.TOO_SHORT
    report = result.as_dict()
    assert json.loads(json.dumps(report)) == report
    assert set(report) >= {"verdict", "p_value", "scored_tokens", "score", "mean_score"}


class ToyBigramLM:
    def __init__(self, vocab: int = 512, scale: float = 2.0, seed: int = 0) -> None:
        self.vocab = vocab
        logits = np.random.default_rng(seed).normal(0.0, scale, (vocab, vocab))
        self.log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def sample(self, length: int, seed: int, uniforms: KeyedUniforms | None) -> NDArray[np.int64]:
        """One text; with ``uniforms``, watermarked as the processor does (repeated
        contexts sampled plainly)."""
        rng = np.random.default_rng(seed)
        ids = [int(rng.integers(0, self.vocab))]
        for _ in range(length - 1):
            logits = self.log_probs[ids[-1]][None, :]
            if uniforms is None or context_seen_before(np.array(ids), 1):
                ids.append(int(np.argmax(logits + rng.gumbel(size=logits.shape))))
            else:
                noise = uniforms.noise_table([[ids[-1]]], self.vocab)
                ids.append(int(choose_tokens(logits, noise)[0]))
        return np.array(ids)


@pytest.fixture(scope="module")
def toy() -> ToyBigramLM:
    return ToyBigramLM()


def test_toy_lm_watermark_is_detected_and_costs_no_likelihood(toy: ToyBigramLM) -> None:
    uniforms = KeyedUniforms(SECRET)
    texts = [toy.sample(200, seed=i, uniforms=uniforms) for i in range(10)]
    for text in texts:
        result = detect_tokens_exponential(text, uniforms)
        assert result.verdict is Verdict.WATERMARKED, result
        assert detect_tokens_exponential(text, KeyedUniforms(OTHER_SECRET)).p_value > 1e-6
        assert detect_tokens(text, GreenList(SECRET)).p_value > 1e-6  # another mode's test


def test_toy_lm_null_texts_are_not_flagged(toy: ToyBigramLM) -> None:
    secrets = fresh_secrets(200, seed=11)
    values = [
        detect_tokens_exponential(toy.sample(200, seed=1000 + i, uniforms=None), KeyedUniforms(s))
        for i, s in enumerate(secrets)
    ]
    assert not any(v.verdict is Verdict.WATERMARKED for v in values)
    assert sum(v.p_value <= 1e-2 for v in values) <= 8  # expected 2; 8 is past the 99.9th


# -- modes and the key store ---------------------------------------------------------------


def test_modes_parse() -> None:
    assert parse_mode("distortion-free") is LLMMode.DISTORTION_FREE
    assert parse_mode("green-list") is LLMMode.GREEN_LIST
    with pytest.raises(ValueError, match="valid: distortion-free, green-list"):
        parse_mode("kgw")


def keys_file(store: KeyStore) -> Path:
    return store.path / "watermark" / "keys.json"


def test_new_keys_record_the_distortion_free_mode(fast_store: KeyStore) -> None:
    assert fast_store.watermark_keys.get().llm_mode == "distortion-free"
    assert fast_store.watermark_keys.create("second").llm_mode == "distortion-free"
    document = json.loads(keys_file(fast_store).read_text())
    assert {k["llm_mode"] for k in document["keys"].values()} == {"distortion-free"}
    assert "llm_mode='distortion-free'" in repr(fast_store.watermark_keys.get("second"))


def test_keys_from_before_modes_read_as_green_list(fast_store: KeyStore) -> None:
    path = keys_file(fast_store)
    document = json.loads(path.read_text())
    for raw in document["keys"].values():
        raw.pop("llm_mode")  # the file as version 1 wrote it before modes
    path.write_text(json.dumps(document))
    assert fast_store.watermark_keys.get().llm_mode == "green-list"


def test_an_unknown_mode_is_a_corrupt_key_file(fast_store: KeyStore) -> None:
    path = keys_file(fast_store)
    document = json.loads(path.read_text())
    document["keys"]["default"]["llm_mode"] = "kgw"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyStoreCorrupt, match="unknown LLM watermark mode 'kgw'"):
        fast_store.watermark_keys.get()


def id_tokenizer() -> TextTokenizer:
    """Text that is token ids written out: '12 7 300 ...'."""
    return TextTokenizer(
        "ids",
        lambda text: [int(word) for word in text.split()],
        lambda ids: " ".join(map(str, ids)),
    )


def test_detect_with_key_uses_the_mode_the_key_records(
    fast_store: KeyStore, toy: ToyBigramLM
) -> None:
    key = fast_store.watermark_keys.get()
    tokenizer = id_tokenizer()
    text = tokenizer.decode(toy.sample(200, seed=3, uniforms=KeyedUniforms(key.secret)).tolist())
    found = detect_with_key(text, key, tokenizer)
    assert found.mode is LLMMode.DISTORTION_FREE and found.key == "default"
    assert found.verdict is Verdict.WATERMARKED and found.p_value <= 1e-6
    assert found.scored_tokens == found.result.scored_tokens >= 30
    report = found.as_dict()
    assert report["mode"] == "distortion-free" and report["key"] == "default"
    # the same text tested as a green-list mark carries no evidence
    assert detect_with_key(text, key, tokenizer, mode="green-list").p_value > 1e-6

    green_list = GreenList(key.secret)
    green = green_list.green_mask(np.arange(toy.vocab)[:, None], toy.vocab)
    rng = np.random.default_rng(4)
    ids = [0]
    for _ in range(199):
        logits = toy.log_probs[ids[-1]] + 2.0 * green[ids[-1]]
        ids.append(int(np.argmax(logits + rng.gumbel(size=logits.shape))))
    old_text = tokenizer.decode(ids)
    old = detect_with_key(old_text, key, tokenizer, mode=LLMMode.GREEN_LIST)
    assert old.mode is LLMMode.GREEN_LIST and old.verdict is Verdict.WATERMARKED
    assert "green_tokens" in old.as_dict()
