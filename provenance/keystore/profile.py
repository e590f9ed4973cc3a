"""Checks a signing certificate against the c2pa-rs certificate profile, in plain words.

c2pa-rs refuses a certificate outside its profile with messages such as "the certificate
is invalid", which tell the user nothing about which rule failed; users name this the
field's top pain point (c2pa-python #199, #319; c2pa-rs #2262, #2497). This module
checks the same rules before a certificate enters the store and says, for each
failure, what is wrong, what c2pa-rs would print, and how to fix it. The c2pa-rs
messages quoted here were observed with c2pa-python 0.38.1 (c2pa-rs 0.91.3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from .ca import C2PA_CLAIM_SIGNING_EKU, algorithm_of

_DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_INVALID = "the certificate is invalid"
_T = TypeVar("_T", bound=x509.ExtensionType)
_ACCEPTED_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


@dataclass(frozen=True)
class ProfileProblem:
    """One rule the certificate breaks.

    ``rule`` is a short stable name for tests and JSON, ``explanation`` says what is
    wrong and how to fix it, ``c2pa_says`` is what c2pa-rs reports for it.
    """

    rule: str
    explanation: str
    c2pa_says: str

    def __str__(self) -> str:
        return f"{self.explanation} (c2pa-rs reports: {self.c2pa_says!r})"


def check_signing_certificate(
    leaf: x509.Certificate, *, now: dt.datetime | None = None
) -> list[ProfileProblem]:
    """Every profile rule ``leaf`` breaks, in the order a person should fix them."""
    now = now or dt.datetime.now(dt.UTC)
    problems: list[ProfileProblem] = []

    def problem(rule: str, explanation: str, c2pa_says: str = _INVALID) -> None:
        problems.append(ProfileProblem(rule, explanation, c2pa_says))

    if leaf.version is not x509.Version.v3:
        problem("version", "the certificate is not X.509 version 3, so it has no extensions")
    if algorithm_of(leaf.public_key()) is None:
        problem(
            "key-type",
            "the key type is not one the key store signs with: use EC P-256, P-384 or "
            "P-521, RSA of 2048 bits or more, or Ed25519",
        )
    algorithm = leaf.signature_hash_algorithm
    if algorithm is not None and not isinstance(algorithm, _ACCEPTED_HASHES):
        problem(
            "signature-hash",
            f"the issuer signed the certificate with {algorithm.name}; "
            "C2PA accepts SHA-256, SHA-384 or SHA-512 only",
        )
    extensions = leaf.extensions

    basic = _extension(extensions, x509.BasicConstraints)
    if basic is not None and basic.ca:
        problem(
            "ca",
            "the certificate is a CA certificate (BasicConstraints CA:true); a C2PA signer "
            "must be an end-entity certificate issued by that CA",
        )
    usage = _extension(extensions, x509.KeyUsage)
    if usage is None or not usage.digital_signature:
        problem(
            "key-usage",
            "the KeyUsage extension must be present and allow digitalSignature",
        )
    elif usage.key_cert_sign:
        problem("key-usage", "the KeyUsage allows keyCertSign, which only CA certificates may")
    if _extension(extensions, x509.AuthorityKeyIdentifier) is None:
        problem(
            "authority-key-identifier",
            "the Authority Key Identifier extension is missing; C2PA requires it so the "
            "verifier can find the issuing CA (reissue the certificate with AKI)",
        )
    problems.extend(_check_eku(_extension(extensions, x509.ExtendedKeyUsage)))
    if _is_self_signed(leaf):
        problem(
            "self-signed",
            "the certificate is self-signed: no trust anchor can vouch for it, so "
            "manifests at best read Valid with signingCredential.untrusted; get it "
            "issued by a CA (or create the identity in the key store, whose local CA issues it)",
            "the certificate was self-signed / signingCredential.untrusted",
        )
    if leaf.not_valid_after_utc <= now:
        problem(
            "expired",
            f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
            "signingCredential.expired",
        )
    if leaf.not_valid_before_utc > now:
        problem(
            "not-yet-valid",
            f"the certificate is valid only from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
            "signingCredential.expired",
        )
    return problems


def _check_eku(eku: x509.ExtendedKeyUsage | None) -> list[ProfileProblem]:
    rule = "extended-key-usage"
    if eku is None or len(eku) == 0:
        return [
            ProfileProblem(
                rule,
                "the Extended Key Usage extension is missing; C2PA requires one "
                "(emailProtection, plus the C2PA claim-signing EKU 1.3.6.1.4.1.62558.2.1)",
                _INVALID,
            )
        ]
    purposes = set(eku)
    if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in purposes:
        return [
            ProfileProblem(
                rule,
                "the Extended Key Usage contains anyExtendedKeyUsage, which C2PA forbids",
                _INVALID,
            )
        ]
    if ExtendedKeyUsageOID.EMAIL_PROTECTION in purposes:
        return []
    if purposes & {C2PA_CLAIM_SIGNING_EKU, _DOCUMENT_SIGNING_EKU}:
        return [
            ProfileProblem(
                rule,
                "the Extended Key Usage has documentSigning or C2PA claim signing but not "
                "emailProtection; c2pa-rs accepts those only when every signer and verifier "
                "lists them in trust.trust_config, so add emailProtection (1.3.6.1.5.5.7.3.4)",
                "signingCredential.invalid: certificate missing required EKU",
            )
        ]
    names = ", ".join(sorted(_eku_name(oid) for oid in purposes))
    return [
        ProfileProblem(
            rule,
            f"the Extended Key Usage ({names}) is not one C2PA accepts for signing "
            "manifests; TLS (serverAuth) and code-signing certificates cannot sign C2PA "
            "claims: ask the CA for emailProtection and C2PA claim signing "
            "(1.3.6.1.4.1.62558.2.1)",
            _INVALID,
        )
    ]


def _eku_name(oid: ObjectIdentifier) -> str:
    name = getattr(oid, "_name", None)
    return name if isinstance(name, str) and name != "Unknown OID" else oid.dotted_string


def _extension(extensions: x509.Extensions, kind: type[_T]) -> _T | None:
    try:
        return extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
