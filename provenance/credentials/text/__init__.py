"""C2PA manifests in plain text (C2PA 2.x, "Embedding Manifests into Unstructured Text").

    from provenance.credentials.text import embed_text_manifest, read_text_manifest

    signed, store = embed_text_manifest(text, definition, signer)
    found = read_text_manifest(signed, reader)   # ManifestStore, or None without a wrapper

c2pa-python cannot sign text, so the manifest store is built here (``credentials.jumbf``,
``claim``, ``cose``) and signed through the key store's ``Signer``; c2pa-rs validates the store's
signature, chain and assertion hashes, and ``verify`` checks the text's hard binding.
"""

from __future__ import annotations

from provenance.errors import CorruptedWrapper, MultipleWrappers, TextWrapperError

from .sign import embed_text_manifest
from .verify import read_text_manifest, strip_text_manifest
from .wrapper import find_wrapper

__all__ = [
    "CorruptedWrapper",
    "MultipleWrappers",
    "TextWrapperError",
    "embed_text_manifest",
    "find_wrapper",
    "read_text_manifest",
    "strip_text_manifest",
]
