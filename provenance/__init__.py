"""provenance-toolkit: make AI-generated content identifiable.

Signed C2PA manifests (Content Credentials), a signing key store with a local CA, and a
verifier that gives one verdict per file. The names below are the public API; anything
else (modules with a leading underscore in particular) may change without notice.

``import provenance`` is cheap: each name loads its module on first use (PEP 562), so a
program that only signs text never imports NumPy, SciPy or Pillow's decoders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes
from provenance._version import __version__

if TYPE_CHECKING:
    from provenance._internal.allocator import keep_freed_memory
    from provenance.batch.many import iter_files, verify_many
    from provenance.credentials.manifest import AIContent, DigitalSourceType, TrainingMining
    from provenance.credentials.read import TrustSettings
    from provenance.credentials.sign import ManifestSigner, SignOptions
    from provenance.errors import ProvenanceError
    from provenance.keystore import Algorithm, KeyStore, Signer
    from provenance.kinds.media import Limits, sniff
    from provenance.signing.session import ContentSigner
    from provenance.signing.sign import SignResult, sign_bytes, sign_file
    from provenance.verify.verifier import Report, Verdict, Verifier, VerifyConfig

__all__ = [
    "AIContent",
    "Algorithm",
    "ContentSigner",
    "DigitalSourceType",
    "KeyStore",
    "Limits",
    "ManifestSigner",
    "ProvenanceError",
    "Report",
    "SignOptions",
    "SignResult",
    "Signer",
    "TrainingMining",
    "TrustSettings",
    "Verdict",
    "Verifier",
    "VerifyConfig",
    "__version__",
    "iter_files",
    "keep_freed_memory",
    "sign_bytes",
    "sign_file",
    "sniff",
    "verify_many",
]

# Where each public name lives; keep in step with the TYPE_CHECKING block above.
__getattr__ = lazy_attributes(
    __name__,
    {
        "AIContent": "provenance.credentials.manifest",
        "keep_freed_memory": "provenance._internal.allocator",
        "Algorithm": "provenance.keystore",
        "ContentSigner": "provenance.signing.session",
        "DigitalSourceType": "provenance.credentials.manifest",
        "KeyStore": "provenance.keystore",
        "Limits": "provenance.kinds.media",
        "ManifestSigner": "provenance.credentials.sign",
        "ProvenanceError": "provenance.errors",
        "Report": "provenance.verify.verifier",
        "SignOptions": "provenance.credentials.sign",
        "SignResult": "provenance.signing.sign",
        "Signer": "provenance.keystore",
        "TrainingMining": "provenance.credentials.manifest",
        "TrustSettings": "provenance.credentials.read",
        "Verdict": "provenance.verify.verifier",
        "Verifier": "provenance.verify.verifier",
        "VerifyConfig": "provenance.verify.verifier",
        "iter_files": "provenance.batch.many",
        "sign_bytes": "provenance.signing.sign",
        "sign_file": "provenance.signing.sign",
        "sniff": "provenance.kinds.media",
        "verify_many": "provenance.batch.many",
    },
)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
