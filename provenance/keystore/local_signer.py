"""A Signer whose private key was decrypted from the local key store into memory."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .ca import SigningKey
from .signer import Algorithm

__all__ = ["LocalSigner"]


class LocalSigner:
    """Signs with an in-memory key; the key never leaves this object.

    The algorithm is fixed at construction and checked against the key type, so a
    mismatch (say an RSA key with ``es256``) fails here rather than as c2pa-rs's
    opaque "COSE signature invalid" at signing time.
    """

    def __init__(
        self, identity: str, algorithm: Algorithm, certificate_chain_pem: bytes, key: SigningKey
    ) -> None:
        expected: dict[Algorithm, type] = {
            Algorithm.ES256: ec.EllipticCurvePrivateKey,
            Algorithm.ES384: ec.EllipticCurvePrivateKey,
            Algorithm.PS256: rsa.RSAPrivateKey,
            Algorithm.ED25519: ed25519.Ed25519PrivateKey,
        }
        if not isinstance(key, expected[algorithm]):
            raise ValueError(f"a {type(key).__name__} cannot sign with {algorithm}")
        if isinstance(key, ec.EllipticCurvePrivateKey):
            curve = {Algorithm.ES256: "secp256r1", Algorithm.ES384: "secp384r1"}[algorithm]
            if key.curve.name != curve:
                raise ValueError(f"{algorithm} needs curve {curve}, the key is {key.curve.name}")
        self._identity = identity
        self._algorithm = algorithm
        self._chain = certificate_chain_pem
        self._key = key

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    @property
    def certificate_chain_pem(self) -> bytes:
        return self._chain

    def sign(self, data: bytes) -> bytes:
        """ECDSA signatures come out DER-encoded; c2pa-python converts them for COSE."""
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            digest = hashes.SHA256() if self._algorithm is Algorithm.ES256 else hashes.SHA384()
            return key.sign(data, ec.ECDSA(digest))
        if isinstance(key, rsa.RSAPrivateKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return key.sign(data, pss, hashes.SHA256())
        return key.sign(data)

    def __repr__(self) -> str:
        return f"LocalSigner(identity={self._identity!r}, algorithm={self._algorithm.value!r})"
