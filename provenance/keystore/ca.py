"""The local certificate authority: one root that issues C2PA signing certificates.

The leaf profile is the one c2pa-rs enforces at sign and read time
(``certificate_profile.rs``): X.509 v3, Authority and Subject Key Identifiers,
KeyUsage digitalSignature (critical, no keyCertSign), BasicConstraints CA:false and an
EKU that is not anyEKU. The EKU pair C2PA claim signing + emailProtection was measured
to read ``Trusted`` with the root as ``trust.user_anchors`` and no ``trust_config``;
the claim-signing EKU alone would need every verifier to configure ``trust_config``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from .signer import Algorithm

C2PA_CLAIM_SIGNING_EKU = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
LEAF_EKUS = (C2PA_CLAIM_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION)

# Certificates start a few minutes in the past: a verifier whose clock runs slightly
# behind would otherwise see a freshly issued certificate as "not yet valid".
_BACKDATE = dt.timedelta(minutes=5)

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class _Subject:
    common_name: str
    organization: str

    def name(self) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, self.common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization),
            ]
        )


def generate_key(algorithm: Algorithm, *, rsa_bits: int = 3072) -> SigningKey:
    """A fresh private key of the type ``algorithm`` signs with."""
    if algorithm is Algorithm.ES256:
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm is Algorithm.ES384:
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm is Algorithm.ES512:
        return ec.generate_private_key(ec.SECP521R1())
    if algorithm in (Algorithm.PS256, Algorithm.PS384, Algorithm.PS512):
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if algorithm is Algorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown algorithm {algorithm!r}")


def algorithm_of(public_key: CertificatePublicKeyTypes) -> Algorithm | None:
    """The C2PA algorithm a key of this type signs with, or None if the store has none.

    An RSA key can sign PS256, PS384 or PS512; an imported one signs PS256.
    """
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {
            "secp256r1": Algorithm.ES256,
            "secp384r1": Algorithm.ES384,
            "secp521r1": Algorithm.ES512,
        }.get(public_key.curve.name)
    if isinstance(public_key, rsa.RSAPublicKey):
        return Algorithm.PS256 if public_key.key_size >= 2048 else None
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return Algorithm.ED25519
    return None


def _signature_hash(
    key: CertificateIssuerPrivateKeyTypes,
) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    # Ed25519 signs the message itself; cryptography wants None for it.
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 521:
        return hashes.SHA512()
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def issue_root(
    key: ec.EllipticCurvePrivateKey, organization: str, *, days: int, now: dt.datetime
) -> x509.Certificate:
    """A self-signed root that may issue leaf certificates only (pathlen 0)."""
    subject = _Subject(f"{organization} Root CA", organization).name()
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
    )
    return builder.sign(key, _signature_hash(key))


def issue_leaf(
    *,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_cert: x509.Certificate,
    public_key: CertificatePublicKeyTypes,
    common_name: str,
    organization: str,
    days: int,
    now: dt.datetime,
) -> x509.Certificate:
    """A C2PA claim-signing certificate for ``public_key`` under the local root."""
    subject = _Subject(common_name, organization)
    builder = _end_entity(issuer_cert, public_key, subject, now + dt.timedelta(days=days), now)
    builder = builder.add_extension(x509.ExtendedKeyUsage(list(LEAF_EKUS)), critical=False)
    return builder.sign(issuer_key, _signature_hash(issuer_key))


def _end_entity(
    issuer_cert: x509.Certificate,
    public_key: CertificatePublicKeyTypes,
    subject: _Subject,
    not_after: dt.datetime,
    now: dt.datetime,
) -> x509.CertificateBuilder:
    """What every end-entity certificate of the local CA has (the c2pa-rs profile): not a
    CA, KeyUsage digitalSignature alone (critical), both key identifiers. The caller adds
    the extended key usage."""
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return (
        x509.CertificateBuilder()
        .subject_name(subject.name())
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski.value),
            critical=False,
        )
    )


def issue_tsa(
    *,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_cert: x509.Certificate,
    public_key: ec.EllipticCurvePublicKey,
    organization: str,
    days: int,
    now: dt.datetime,
) -> x509.Certificate:
    """A time-stamping authority's certificate for ``public_key`` under the local root.

    RFC 3161 §2.3: the time-stamping EKU alone, critical. c2pa-rs checks a TSA with its
    end-entity profile (``time_stamp/verify.rs``: trust list plus that EKU), so it also has
    KeyUsage digitalSignature (critical), CA:false and both key identifiers. It never
    outlives the root: ``days`` is cut at the root's not_after.
    """
    not_after = min(now + dt.timedelta(days=days), issuer_cert.not_valid_after_utc)
    subject = _Subject(f"{organization} Time-Stamping Authority", organization)
    builder = _end_entity(issuer_cert, public_key, subject, not_after, now)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
    )
    return builder.sign(issuer_key, _signature_hash(issuer_key))
