"""C2PA credentials: manifest definitions, signing them with a key store's signer, reading
and validating manifest stores with c2pa-rs (images, audio, video) or in-house (``text/``,
the C2PA text wrapper), and the plain words for what failed.

``status`` holds the one rule for what a failure code does to credentials, ``store`` the
reader's JSON judged without c2pa, ``read`` the I/O around them, ``sign`` the manifest
signer and the parent check, ``manifest`` the AI manifest's assertions, ``crl`` and
``revocation`` revocation lists, ``tree`` the ingredient tree, ``certs`` and ``jumbf`` the
store's boxes and signing chain. May import: keystore (the signer), timestamp, errors,
_internal; never verify, signing, kinds or batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

if TYPE_CHECKING:
    from provenance.credentials.crl import CRL_PEM_MARKER, load_crls
    from provenance.credentials.manifest import (
        AIContent,
        DigitalSourceType,
        TrainingMining,
        user_assertions,
    )
    from provenance.credentials.read import CredentialReader, TrustSettings
    from provenance.credentials.sign import ManifestSigner
    from provenance.credentials.store import ManifestStore
    from provenance.credentials.tree import manifest_tree
    from provenance.credentials.tree import render as render_tree

__all__ = [
    "CRL_PEM_MARKER",
    "AIContent",
    "CredentialReader",
    "DigitalSourceType",
    "ManifestSigner",
    "ManifestStore",
    "TrainingMining",
    "TrustSettings",
    "load_crls",
    "manifest_tree",
    "render_tree",
    "user_assertions",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "CRL_PEM_MARKER": "provenance.credentials.crl",
        "AIContent": "provenance.credentials.manifest",
        "CredentialReader": "provenance.credentials.read",
        "DigitalSourceType": "provenance.credentials.manifest",
        "ManifestSigner": "provenance.credentials.sign",
        "ManifestStore": "provenance.credentials.store",
        "TrainingMining": "provenance.credentials.manifest",
        "TrustSettings": "provenance.credentials.read",
        "load_crls": "provenance.credentials.crl",
        "manifest_tree": "provenance.credentials.tree",
        "render_tree": "provenance.credentials.tree:render",
        "user_assertions": "provenance.credentials.manifest",
    },
)
