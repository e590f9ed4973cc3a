"""provenance-toolkit: make AI-generated content identifiable.

Signed C2PA manifests (Content Credentials), invisible watermarks, a signing key store with
a local CA, and a verifier that gives one verdict per file. The names below are the
default path; each package's ``__init__`` is the front door to the rest
(``provenance.keystore``, ``provenance.credentials``, ``provenance.kinds``,
``provenance.watermark``, ``provenance.batch`` ...). Anything not exported by a front door
(modules with a leading underscore in particular) may change without notice.

    from provenance import ContentSigner, SignSettings, Verifier, VerifyConfig

    with ContentSigner(home, passphrase, SignSettings(model="my-diffusion")) as signer:
        signer.sign_file("gen.png", "gen-signed.png")   # watermarked, time-stamped

``import provenance`` is cheap: each name loads its module on first use (PEP 562), so a
program that only signs text never imports NumPy, SciPy or Pillow's decoders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes
from provenance._version import __version__

if TYPE_CHECKING:
    from provenance.batch.many import sign_many, verify_many
    from provenance.credentials.manifest import AIContent, DigitalSourceType, TrainingMining
    from provenance.errors import ProvenanceError
    from provenance.keystore import KeyStore
    from provenance.kinds.media import Limits
    from provenance.report import Report, Verdict
    from provenance.signing.session import ContentSigner
    from provenance.signing.settings import SignSettings
    from provenance.verify.verifier import Verifier, VerifyConfig

__all__ = [
    "AIContent",
    "ContentSigner",
    "DigitalSourceType",
    "KeyStore",
    "Limits",
    "ProvenanceError",
    "Report",
    "SignSettings",
    "TrainingMining",
    "Verdict",
    "Verifier",
    "VerifyConfig",
    "__version__",
    "sign_many",
    "verify_many",
]

# Where each public name lives; keep in step with the TYPE_CHECKING block above.
__getattr__ = lazy_attributes(
    __name__,
    {
        "AIContent": "provenance.credentials.manifest",
        "ContentSigner": "provenance.signing.session",
        "DigitalSourceType": "provenance.credentials.manifest",
        "KeyStore": "provenance.keystore.store",
        "Limits": "provenance.kinds.media",
        "ProvenanceError": "provenance.errors",
        "Report": "provenance.report",
        "SignSettings": "provenance.signing.settings",
        "TrainingMining": "provenance.credentials.manifest",
        "Verdict": "provenance.report",
        "Verifier": "provenance.verify.verifier",
        "VerifyConfig": "provenance.verify.verifier",
        "sign_many": "provenance.batch.many",
        "verify_many": "provenance.batch.many",
    },
)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
