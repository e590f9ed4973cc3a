"""Signing identities, the local CA, trust anchors and watermark secrets.

``KeyStore`` is the entry point and keeps the lifecycle (``exists``, ``create``, ``open``,
``restore``, ``backup``, ``signer``, ``audit_event``); what the store holds is reached
through its concerns, one object each:

- ``store.identities``: ``list``, ``get``, ``create``, ``import_key``, ``rotate``,
  ``revoke``, ``revocations``, ``chain_pem``, ``full_chain_pem``;
- ``store.trust`` (trust anchors): ``list``, ``pem``, ``add``, ``remove``,
  ``chain_is_anchored``; ``store.allowed`` (allowed certificates): ``list``, ``pem``,
  ``add``, ``remove``;
- ``store.crls``: ``issue``, ``current``, ``current_pem``, ``add``, ``list``,
  ``pem_list``, ``remove``, ``problem``;
- ``store.tsa`` (time-stamping): ``info``, ``url``, ``set_url``, ``create``, ``rotate``,
  ``chain_pem``, ``local_authority``;
- ``store.watermark_keys``: ``list``, ``get``, ``create``.

``Signer`` is the protocol credential signing uses, so a KMS or PKCS#11 backend can stand
in for the local store later. This package imports ``errors``, ``_internal``,
``credentials.crl`` and, when they are used, ``timestamp`` and ``repository``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

if TYPE_CHECKING:
    from provenance.errors import CertificateProfileError
    from provenance.keystore.backup import count_records
    from provenance.keystore.records import DEFAULT_CRL_DAYS
    from provenance.keystore.trust import is_ca_or_root, is_self_signed

    from ._pkcs8 import ScryptCost
    from .backup import MAGIC as BACKUP_MAGIC
    from .config import MIN_PASSPHRASE_LENGTH, KeyStoreConfig
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

# Each name loads its module on first use: the CLI's start-up reads ``Algorithm`` without
# importing cryptography, which only opening a store or a certificate needs.
__getattr__ = lazy_attributes(
    __name__,
    {
        "count_records": "provenance.keystore.backup",
        "DEFAULT_CRL_DAYS": "provenance.keystore.records",
        "is_ca_or_root": "provenance.keystore.trust",
        "is_self_signed": "provenance.keystore.trust",
        "BACKUP_MAGIC": ".backup:MAGIC",
        "MIN_PASSPHRASE_LENGTH": ".config",
        "Added": ".records",
        "Algorithm": ".signer",
        "AllowedCertificate": ".records",
        "CertificateProfileError": "provenance.errors",
        "check_signing_certificate": ".profile",
        "CrlInfo": ".records",
        "IdentityInfo": ".records",
        "IdentityStatus": ".records",
        "IdentityVersion": ".records",
        "KeyStore": ".store",
        "KeyStoreConfig": ".config",
        "ProfileProblem": ".profile",
        "Revocation": ".records",
        "ScryptCost": "._pkcs8",
        "Signer": ".signer",
        "TrustAnchor": ".records",
        "TsaInfo": ".records",
        "WatermarkKey": ".records",
    },
)

__all__ = [
    "BACKUP_MAGIC",
    "DEFAULT_CRL_DAYS",
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
    "count_records",
    "is_ca_or_root",
    "is_self_signed",
]
