"""provenance-toolkit: make AI-generated content identifiable.

Signed C2PA manifests (Content Credentials), a signing key store with a local CA, and a
verifier that gives one verdict per file. The names below are the public API; anything
else (modules with a leading underscore in particular) may change without notice.
"""

from provenance._version import __version__
from provenance.batch import iter_files, verify_many
from provenance.credentials.manifest import AIContent, DigitalSourceType, TrainingMining
from provenance.credentials.read import TrustSettings
from provenance.credentials.sign import ManifestSigner, SignOptions
from provenance.errors import ProvenanceError
from provenance.keystore import Algorithm, KeyStore, Signer
from provenance.media import Limits, sniff
from provenance.sign import SignResult, sign_bytes, sign_file
from provenance.verify import Report, Verdict, Verifier, VerifyConfig

__all__ = [
    "AIContent",
    "Algorithm",
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
    "sign_bytes",
    "sign_file",
    "sniff",
    "verify_many",
]
