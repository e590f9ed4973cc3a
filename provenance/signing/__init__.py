"""Signing content of any kind: the watermark, the manifest, the repository record, the
output, through one signing session (``ContentSigner``).

May import: credentials, kinds, watermark, keystore, repository, timestamp, home, report,
errors, _internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

if TYPE_CHECKING:
    from provenance.signing.session import ContentSigner
    from provenance.signing.sign import SignResult, sign_bytes, sign_file

__all__ = ["ContentSigner", "SignResult", "sign_bytes", "sign_file"]

__getattr__ = lazy_attributes(
    __name__,
    {
        "ContentSigner": "provenance.signing.session",
        "SignResult": "provenance.signing.sign",
        "sign_bytes": "provenance.signing.sign",
        "sign_file": "provenance.signing.sign",
    },
)
