"""What a home directory (``--home``) configures: the verifier's trust, revocations and keys.

Shared by the CLI and the HTTP server so that both judge a file the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.credentials.revocation import Revocation, Revocations
from provenance.keystore import KeyStore
from provenance.repository.base import DEFAULT_FILENAME
from provenance.watermark import WatermarkSecret

# Verifying needs no CRL parsing unless there are CRLs: it loads in the function using it.
if TYPE_CHECKING:
    from provenance.keystore.records import WatermarkKey
    from provenance.verify.verifier import VerifyConfig


def verify_config_for_home(
    home: Path,
    extra_anchors_pem: Iterable[str] = (),
    trust_config: str | None = None,
    extra_allowed_pem: Iterable[str] = (),
    extra_crls_pem: Iterable[bytes] = (),
) -> VerifyConfig:
    """Trust anchors, allowed certificates, revoked serials and watermark keys of the key
    store at ``home`` (when there is one) plus extra PEM anchors, extra allowed (end-entity)
    certificates and an EKU list; no repository.

    Revocations are the store's own plus those of every CRL (imported into the store, or
    in ``extra_crls_pem``) that a trust anchor (the store's or an extra one) signed."""
    from provenance.credentials.read import TrustSettings
    from provenance.verify.verifier import VerifyConfig

    pems: list[str] = []
    crls: list[bytes] = []
    allowed: list[str] = []
    revocations = Revocations()
    secrets: list[WatermarkSecret] = []
    llm_keys: list[WatermarkKey] = []
    if KeyStore.exists(home):
        store = KeyStore.open(home)
        pems.append(store.trust.pem())
        allowed.append(store.allowed.pem())
        revocations = revocations_of(store)
        crls.extend(store.crls.pem_list())
        secrets = watermark_secrets(store)
        llm_keys = store.watermark_keys.list()
    pems.extend(extra_anchors_pem)
    crls.extend(extra_crls_pem)
    if crls:
        revocations = _with_crls(revocations, crls, pems)
    allowed.extend(extra_allowed_pem)
    trust = TrustSettings(
        anchors_pem="\n".join(p for p in pems if p.strip()),
        trust_config=trust_config,
        allowed_list="\n".join(p for p in allowed if p.strip()),
    )
    return VerifyConfig(
        trust=trust,
        revocations=revocations,
        watermark_secrets=tuple(secrets),
        llm_keys=tuple(llm_keys),
    )


def revocations_of(store: KeyStore) -> Revocations:
    """What the key store at hand knows of revoked signing certificates, each with the
    time it stopped being trustworthy (``keys revoke --since``) and the CA that issued it
    (the store's root, or an imported identity's CA): it revokes that CA's certificate
    with the serial, never another's. The root certifies the store's own time-stamping
    authority, whose stamps do not date a compromised key's signatures."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from provenance.keystore.crl import reason_flag

    def reason(text: str) -> str:
        """As the store's CRL says it (``key compromise`` -> ``keyCompromise``)."""
        flag = reason_flag(text)
        return flag.value if flag is not None else text or "unspecified"

    found = store.identities.revocations()
    if not found:
        return Revocations((), ("this key store",))
    # The store's time-stamping authority is its root's, whoever issued the identity.
    root = x509.load_pem_x509_certificate(store.root_pem()).public_bytes(Encoding.DER)
    return Revocations(
        tuple(
            Revocation(r.serial, reason(r.reason), r.since, "this key store", r.issuer_der, root)
            for r in found
        ),
        ("this key store",),
    )


def _with_crls(
    revocations: Revocations, crls: Iterable[bytes], anchors_pem: list[str]
) -> Revocations:
    """``revocations`` plus what the CRLs say, each CRL checked against the anchors."""
    from cryptography import x509

    from provenance.credentials.crl import load_crls, revocations_from_crls

    anchors: list[x509.Certificate] = []
    for pem in anchors_pem:
        if pem.strip():
            anchors.extend(x509.load_pem_x509_certificates(pem.encode()))
    found = [crl for data in crls for crl in load_crls(data, "a CRL")]
    entries, sources = revocations_from_crls(found, anchors)
    return Revocations(revocations.entries + entries, revocations.sources + sources)


def default_repository(home: Path) -> Path:
    """The SQLite repository file under ``home``."""
    return home / DEFAULT_FILENAME


def watermark_secrets(store: KeyStore, name: str | None = None) -> list[WatermarkSecret]:
    """The keys to detect with: all of the store's, or only the one named."""
    keys = [store.watermark_keys.get(name)] if name else store.watermark_keys.list()
    return [WatermarkSecret(key.name, key.secret) for key in keys]


def watermark_secret(store: KeyStore, name: str | None = None) -> WatermarkSecret:
    """The key to embed with: the one named, else the store's default."""
    key = store.watermark_keys.get(name)
    return WatermarkSecret(key.name, key.secret)
