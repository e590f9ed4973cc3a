"""COSE_Sign1 claim signatures (RFC 9052) as C2PA profiles them.

The claim is the detached payload (encoded as nil); the protected header holds the
algorithm (label 1) and the certificate chain (``x5chain``, label 33, RFC 9360); the
external AAD is empty. The unprotected header carries a zero-filled ``pad`` byte string:
C2PA "Multiple Step Processing" puts a claim generator's slack there because the
unprotected header is outside the signature, so the padding can grow after signing
without signing again. It also carries the RFC 3161 time-stamp as C2PA 2.x stores it
(``sigTst2``): a token over the COSE countersignature structure of the signature, which
is where c2pa-rs and c2patxt read it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from provenance.errors import SigningError
from provenance.keystore.signer import Algorithm, Signer

#: Time-stamps a message: the RFC 3161 token (CMS ContentInfo, DER) over it.
Stamper = Callable[[bytes], bytes]

#: COSE algorithm identifiers (IANA COSE Algorithms registry).
COSE_ALGORITHMS: Final = {
    Algorithm.ES256: -7,
    Algorithm.ES384: -35,
    Algorithm.ES512: -36,
    Algorithm.PS256: -37,
    Algorithm.PS384: -38,
    Algorithm.PS512: -39,
    Algorithm.ED25519: -8,
}
_ECDSA_COORDINATE_BYTES: Final = {Algorithm.ES256: 32, Algorithm.ES384: 48, Algorithm.ES512: 66}
_ALG, _X5CHAIN, _COSE_SIGN1_TAG = 1, 33, 18


@dataclasses.dataclass(frozen=True)
class SignedClaim:
    """A signature over one claim; ``encode`` adds the unsigned padding."""

    protected: bytes
    signature: bytes
    time_stamp: bytes | None = None  # the sigTst2 token

    def encode(self, pad: int = 0) -> bytes:
        """The tagged COSE_Sign1 with ``pad`` zero bytes in the unprotected header."""
        unprotected: dict[str, object] = {"pad": bytes(pad)}
        if self.time_stamp is not None:
            unprotected["sigTst2"] = {"tstTokens": [{"val": self.time_stamp}]}
        message = [self.protected, unprotected, None, self.signature]
        return cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, message), canonical=True)


def certificate_chain_der(chain_pem: bytes) -> list[bytes]:
    """The DER certificates of a PEM chain, leaf first."""
    try:
        certificates = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise SigningError(f"the signer's certificate chain is not PEM: {exc}") from exc
    return [certificate.public_bytes(Encoding.DER) for certificate in certificates]


def countersign_data(protected: bytes, signature: bytes) -> bytes:
    """What a C2PA v2 time-stamp (``sigTst2``) is over: the COSE countersignature
    structure (RFC 9338) of the signature, with an empty external AAD."""
    return cbor2.dumps(["CounterSignature", protected, b"", cbor2.dumps(signature)])


def sign_claim(claim: bytes, signer: Signer, stamper: Stamper | None = None) -> SignedClaim:
    """Sign ``claim`` (CBOR bytes) with ``signer`` as a C2PA COSE_Sign1, time-stamped by
    ``stamper`` when given."""
    algorithm = Algorithm(signer.algorithm)
    chain = certificate_chain_der(signer.certificate_chain_pem)
    if not chain:
        raise SigningError(f"the signer {signer.identity!r} has no certificate")
    header = {_ALG: COSE_ALGORITHMS[algorithm], _X5CHAIN: chain[0] if len(chain) == 1 else chain}
    protected = cbor2.dumps(header, canonical=True)
    to_sign = cbor2.dumps(["Signature1", protected, b"", claim])
    try:
        signature = signer.sign(to_sign)
    except Exception as exc:
        raise SigningError(f"the signer {signer.identity!r} failed: {exc}") from exc
    if algorithm in _ECDSA_COORDINATE_BYTES:
        signature = _ecdsa_raw(signature, _ECDSA_COORDINATE_BYTES[algorithm])
    token = stamper(countersign_data(protected, signature)) if stamper else None
    return SignedClaim(protected, signature, token)


def _ecdsa_raw(signature: bytes, size: int) -> bytes:
    """COSE wants ECDSA as r || s, each ``size`` bytes; signers return DER (or raw)."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        if len(signature) == 2 * size:  # a signer that already returns raw r || s
            return signature
        raise SigningError("the signer returned an ECDSA signature that is not DER") from None
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
