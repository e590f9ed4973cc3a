"""A Signer whose private key was decrypted from the local key store into memory."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from .ca import SigningKey
from .signer import Algorithm

#: The hash each algorithm signs with (Ed25519 hashes inside the algorithm).
_HASHES: dict[Algorithm, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    Algorithm.ES256: hashes.SHA256,
    Algorithm.ES384: hashes.SHA384,
    Algorithm.ES512: hashes.SHA512,
    Algorithm.PS256: hashes.SHA256,
    Algorithm.PS384: hashes.SHA384,
    Algorithm.PS512: hashes.SHA512,
}
_KEY_TYPES: dict[Algorithm, type] = {
    Algorithm.ES256: ec.EllipticCurvePrivateKey,
    Algorithm.ES384: ec.EllipticCurvePrivateKey,
    Algorithm.ES512: ec.EllipticCurvePrivateKey,
    Algorithm.PS256: rsa.RSAPrivateKey,
    Algorithm.PS384: rsa.RSAPrivateKey,
    Algorithm.PS512: rsa.RSAPrivateKey,
    Algorithm.ED25519: ed25519.Ed25519PrivateKey,
}
_CURVES = {Algorithm.ES256: "secp256r1", Algorithm.ES384: "secp384r1", Algorithm.ES512: "secp521r1"}


class LocalSigner:
    """Signs with an in-memory key; the key never leaves this object.

    The algorithm is fixed at construction and checked against the key type, so a
    mismatch (say an RSA key with ``es256``) fails here rather than as c2pa-rs's
    opaque "COSE signature invalid" at signing time.
    """

    def __init__(
        self, identity: str, algorithm: Algorithm, certificate_chain_pem: bytes, key: SigningKey
    ) -> None:
        if not isinstance(key, _KEY_TYPES[algorithm]):
            raise ValueError(f"a {type(key).__name__} cannot sign with {algorithm}")
        if isinstance(key, ec.EllipticCurvePrivateKey):
            curve = _CURVES[algorithm]
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
        """ECDSA signatures come out DER-encoded; c2pa-python converts them for COSE.

        RSASSA-PSS uses MGF1 with the signature's own hash and a salt as long as the
        hash, as COSE (RFC 8230) and C2PA require.
        """
        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        digest = _HASHES[self._algorithm]()
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest))
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return key.sign(data, pss, digest)

    def __repr__(self) -> str:
        return f"LocalSigner(identity={self._identity!r}, algorithm={self._algorithm.value!r})"
