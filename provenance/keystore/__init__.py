"""Signing identities, the local CA, trust anchors and watermark secrets.

``KeyStore`` is the entry point; ``Signer`` is the protocol credential signing uses, so a
KMS or PKCS#11 backend can stand in for the local store later.
"""

from __future__ import annotations

from ._material import CertificateProfileError
from .backup import MAGIC as BACKUP_MAGIC
from .config import MIN_PASSPHRASE_LENGTH, KeyStoreConfig, ScryptCost
from .profile import ProfileProblem, check_signing_certificate
from .records import (
    Added,
    AllowedCertificate,
    CrlInfo,
    IdentityInfo,
    IdentityStatus,
    IdentityVersion,
    Revocation,
    TrustAnchor,
    TsaInfo,
    WatermarkKey,
)
from .signer import Algorithm, Signer
from .store import KeyStore

__all__ = [
    "BACKUP_MAGIC",
    "MIN_PASSPHRASE_LENGTH",
    "Added",
    "Algorithm",
    "AllowedCertificate",
    "CertificateProfileError",
    "CrlInfo",
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
    "TsaInfo",
    "WatermarkKey",
    "check_signing_certificate",
]
