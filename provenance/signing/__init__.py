"""Signing content of any kind: the watermark, the manifest, the repository record, the
output, through one signing session (``ContentSigner``) configured by one frozen
``SignSettings``. ``sign`` holds the steps the session runs (given a manifest signer);
``signer`` builds the time-stamped manifest signer.

May import: credentials, kinds, watermark, keystore, repository, timestamp, home, report,
errors, _internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

if TYPE_CHECKING:
    from provenance._internal.fs import check_paths
    from provenance.credentials.read import sidecar_path
    from provenance.signing.session import ContentSigner
    from provenance.signing.settings import SignSettings
    from provenance.signing.sign import Signed, SignResult, read_asset

__all__ = [
    "ContentSigner",
    "SignResult",
    "SignSettings",
    "Signed",
    "check_paths",
    "read_asset",
    "sidecar_path",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "check_paths": "provenance._internal.fs",
        "read_asset": "provenance.signing.sign",
        "sidecar_path": "provenance.credentials.read",
        "ContentSigner": "provenance.signing.session",
        "SignResult": "provenance.signing.sign",
        "SignSettings": "provenance.signing.settings",
        "Signed": "provenance.signing.sign",
    },
)
