"""Signing identities, the local CA, trust anchors and watermark secrets.

``KeyStore`` is the entry point; ``Signer`` is the protocol credential signing uses, so a
KMS or PKCS#11 backend can stand in for the local store later.
"""

from __future__ import annotations

from ._material import CertificateProfileError
from .backup import MAGIC as BACKUP_MAGIC
from .config import KeyStoreConfig, ScryptCost
from .profile import ProfileProblem, check_signing_certificate
from .records import (
    IdentityInfo,
    IdentityStatus,
    IdentityVersion,
    Revocation,
    TrustAnchor,
    WatermarkKey,
)
from .signer import Algorithm, Signer
from .store import KeyStore

__all__ = [
    "BACKUP_MAGIC",
    "Algorithm",
    "CertificateProfileError",
    "IdentityInfo",
    "IdentityStatus",
    "IdentityVersion",
    "KeyStore",
    "KeyStoreConfig",
    "ProfileProblem",
    "Revocation",
    "ScryptCost",
    "Signer",
    "TrustAnchor",
    "WatermarkKey",
    "check_signing_certificate",
]
