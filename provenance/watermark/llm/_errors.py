"""Errors of the text watermark, rooted in ``provenance.errors``."""

from __future__ import annotations

from provenance.errors import InputError, ProvenanceError, UsageError

__all__ = ["LLMExtraMissing", "TokenizerNotFound", "TokenizerUnreadable"]

INSTALL_HINT = "pip install 'provenance-toolkit[llm]'"


class LLMExtraMissing(ProvenanceError):
    """An optional package of the ``llm`` extra (transformers, torch, tokenizers) is missing."""

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package {package!r}, which is not installed: "
            f"run {INSTALL_HINT}"
        )
        self.package = package


class TokenizerNotFound(UsageError):
    """No tokenizer of that name or at that path (exit 2)."""


class TokenizerUnreadable(InputError):
    """Tokenizer files exist but could not be loaded (exit 3)."""
