"""The Signer protocol: the one thing credential signing needs from a key store.

A signer holds (or reaches) a private key and its certificate chain. The local key
store implements it with keys in memory; a KMS or PKCS#11 backend implements the same
three members and nothing else changes.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable


class Algorithm(enum.StrEnum):
    """Signature algorithms C2PA allows that the key store can create."""

    ES256 = "es256"
    ES384 = "es384"
    ES512 = "es512"
    PS256 = "ps256"
    PS384 = "ps384"
    PS512 = "ps512"
    ED25519 = "ed25519"


@runtime_checkable
class Signer(Protocol):
    """Signs bytes for a C2PA claim signature."""

    @property
    def identity(self) -> str:
        """Name of the signing identity (for logs and reports)."""
        ...

    @property
    def algorithm(self) -> Algorithm:
        """The COSE algorithm the signature is made with."""
        ...

    @property
    def certificate_chain_pem(self) -> bytes:
        """Leaf certificate first, then intermediates (the root may be included), PEM."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Return the signature over ``data`` (ECDSA as DER, PSS/Ed25519 raw)."""
        ...
