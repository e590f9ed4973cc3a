"""What a home directory (``--home``) configures: the verifier's trust, revocations and keys.

Shared by the CLI and the HTTP server so that both judge a file the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from provenance.credentials.read import TrustSettings
from provenance.keystore import KeyStore
from provenance.repository import DEFAULT_FILENAME
from provenance.verify import VerifyConfig
from provenance.watermark.image import WatermarkSecret

__all__ = [
    "default_repository",
    "verify_config_for_home",
    "watermark_secret",
    "watermark_secrets",
]


def verify_config_for_home(
    home: Path, extra_anchors_pem: Iterable[str] = (), trust_config: str | None = None
) -> VerifyConfig:
    """Trust anchors, revoked serials and watermark keys of the key store at ``home``
    (when there is one) plus extra PEM anchors and an EKU list; no repository."""
    pems: list[str] = []
    revoked: dict[int, str] = {}
    secrets: list[WatermarkSecret] = []
    if KeyStore.exists(home):
        store = KeyStore.open(home)
        pems.append(store.trust_anchors_pem())
        revoked = store.revoked_serials()
        secrets = watermark_secrets(store)
    pems.extend(extra_anchors_pem)
    trust = TrustSettings(
        anchors_pem="\n".join(p for p in pems if p.strip()), trust_config=trust_config
    )
    return VerifyConfig(trust=trust, revoked_serials=revoked, watermark_secrets=tuple(secrets))


def default_repository(home: Path) -> Path:
    """The SQLite repository file under ``home``."""
    return home / DEFAULT_FILENAME


def watermark_secrets(store: KeyStore, name: str | None = None) -> list[WatermarkSecret]:
    """The keys to detect with: all of the store's, or only the one named."""
    keys = [store.watermark_key(name)] if name else store.watermark_keys()
    return [WatermarkSecret(key.name, key.secret) for key in keys]


def watermark_secret(store: KeyStore, name: str | None = None) -> WatermarkSecret:
    """The key to embed with: the one named, else the store's default."""
    key = store.watermark_key(name)
    return WatermarkSecret(key.name, key.secret)
