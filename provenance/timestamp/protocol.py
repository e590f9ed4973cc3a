"""RFC 3161 messages: time-stamp requests, responses and their checks (asn1crypto).

The structures come from asn1crypto (TimeStampReq, TimeStampResp, TSTInfo, CMS
SignedData); the signatures from pyca/cryptography. Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any, ClassVar, Final

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from provenance.errors import TimeStampError

_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_DIGEST_SIZES: Final = {"sha256": 32, "sha384": 48, "sha512": 64}
_GRANTED: Final = ("granted", "granted_with_mods")


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp as the RFC has it: asn1crypto's ``tsp.TimeStampResp`` makes
    the token mandatory, so a refusal (which carries none) would not parse."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclasses.dataclass(frozen=True)
class TimeStampRequest:
    """What a request asks to be stamped: a digest, its algorithm, a nonce."""

    hash_algorithm: str  # "sha256", "sha384", "sha512"
    digest: bytes
    nonce: int | None
    cert_req: bool
    der: bytes
    imprint_der: bytes | None = None  # the request's own encoding, echoed in the token


@dataclasses.dataclass(frozen=True)
class Stamp:
    """A checked time-stamp: the token (a CMS ContentInfo, DER) and what it says."""

    token: bytes
    gen_time: dt.datetime
    tsa: str  # the signing certificate's subject, RFC 4514


def make_request(message: bytes, hash_algorithm: str = "sha256") -> TimeStampRequest:
    """A request for ``message`` (hashed here) with a fresh 64-bit nonce, asking for the
    TSA's certificate."""
    digest = hashlib.new(hash_algorithm, message).digest()
    nonce = random_serial()
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": hash_algorithm},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return TimeStampRequest(hash_algorithm, digest, nonce, True, request.dump())


def parse_request(der: bytes) -> TimeStampRequest:
    """A request as received; ``TimeStampError`` for anything that is not one."""
    try:
        request = tsp.TimeStampReq.load(der, strict=True)
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        digest = imprint["hashed_message"].native
        nonce = request["nonce"].native
        cert_req = bool(request["cert_req"].native)
        imprint_der = bytes(imprint.dump())
    except (ValueError, TypeError, KeyError) as exc:
        raise TimeStampError(f"not an RFC 3161 time-stamp request ({exc})") from None
    if algorithm not in _DIGEST_SIZES or len(digest) != _DIGEST_SIZES[algorithm]:
        raise TimeStampError(f"unsupported message imprint ({algorithm})")
    return TimeStampRequest(algorithm, digest, nonce, cert_req, der, imprint_der)


def build_response(
    request: TimeStampRequest,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    chain: list[x509.Certificate],
    *,
    policy: str,
    serial: int,
    now: dt.datetime,
) -> bytes:
    """A granted TimeStampResp for ``request``, signed by ``key`` (certificate ``chain[0]``).

    The token's signed attributes carry the content type, the digest of the TSTInfo and
    an ESS signing-certificate-v2 reference to the TSA's certificate, as RFC 3161 and RFC
    5816 ask; the certificates go in when the request asks for them. The DER is written
    here, field by field: asn1crypto took milliseconds a token to build one, many times the
    signature's cost (asn1crypto still parses and checks every response, ``check_response``).
    """
    certificate = chain[0]
    gen_time = now.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ").encode("ascii")
    info = _tlv(
        0x30,
        _integer(1)
        + _oid(policy)
        + (request.imprint_der or _imprint(request.hash_algorithm, request.digest))
        + _integer(serial)
        + _tlv(0x18, gen_time)
        + _tlv(0x30, _integer(1))  # accuracy: 1 second
        + (_integer(request.nonce) if request.nonce is not None else b""),
    )
    attributes = sorted(  # DER orders a SET OF by the members' encodings
        [
            _tlv(0x30, _oid("1.2.840.113549.1.9.3") + _tlv(0x31, _oid(_TST_INFO))),
            _tlv(
                0x30,
                _oid("1.2.840.113549.1.9.4")
                + _tlv(0x31, _tlv(0x04, hashlib.sha256(info).digest())),
            ),
            _tlv(
                0x30,
                _oid("1.2.840.113549.1.9.16.2.47")
                + _tlv(0x31, _signing_certificate_v2(certificate)),
            ),
        ]
    )
    signed_attributes = b"".join(attributes)
    signature, algorithm = _sign(key, _tlv(0x31, signed_attributes))
    sha256 = _tlv(0x30, _oid("2.16.840.1.101.3.4.2.1"))
    signer = _tlv(
        0x30,
        _integer(1)
        + _tlv(0x30, certificate.issuer.public_bytes() + _integer(certificate.serial_number))
        + sha256
        + _tlv(0xA0, signed_attributes)
        + _tlv(0x30, _oid(algorithm))
        + _tlv(0x04, signature),
    )
    certificates = b""
    if request.cert_req:
        certificates = _tlv(
            0xA0, b"".join(c.public_bytes(serialization.Encoding.DER) for c in chain)
        )
    signed_data = _tlv(
        0x30,
        _integer(3)
        + _tlv(0x31, sha256)
        + _tlv(0x30, _oid(_TST_INFO) + _tlv(0xA0, _tlv(0x04, info)))
        + certificates
        + _tlv(0x31, signer),
    )
    token = _tlv(0x30, _oid("1.2.840.113549.1.7.2") + _tlv(0xA0, signed_data))
    return _tlv(0x30, _tlv(0x30, _integer(0)) + token)  # status: granted


_TST_INFO: Final = "1.2.840.113549.1.9.16.1.4"
_DIGEST_OIDS: Final = {
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}


def _imprint(algorithm: str, digest: bytes) -> bytes:
    return _tlv(0x30, _tlv(0x30, _oid(_DIGEST_OIDS[algorithm])) + _tlv(0x04, digest))


def _integer(value: int) -> bytes:
    """A DER INTEGER (two's complement, minimal); only non-negative values occur here."""
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


@functools.lru_cache(maxsize=64)
def _oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def refusal(status: str = "rejection", text: str | None = None) -> bytes:
    """A TimeStampResp that refuses (no token), with an optional status string."""
    info: dict[str, Any] = {"status": status}
    if text:
        info["status_string"] = [text]
    return bytes(_TimeStampResp({"status": info}).dump())


def _signing_certificate_v2(certificate: x509.Certificate) -> bytes:
    """The ESS SigningCertificateV2 value (RFC 5035) naming ``certificate`` by its SHA-256,

    SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 } and ESSCertIDv2 ::=
    SEQUENCE { certHash OCTET STRING } (hashAlgorithm is SHA-256 by DEFAULT, so omitted).
    """
    der = certificate.public_bytes(serialization.Encoding.DER)
    cert_hash = _tlv(0x04, hashlib.sha256(der).digest())
    return _tlv(0x30, _tlv(0x30, _tlv(0x30, cert_hash)))


def _tlv(tag: int, value: bytes) -> bytes:
    """One DER element: tag, definite length, value."""
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + value


def _sign(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, data: bytes) -> tuple[bytes, str]:
    """The signature over ``data`` and its algorithm's OID."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256())), "1.2.840.10045.4.3.2"
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "1.2.840.113549.1.1.11"


def random_serial() -> int:
    """A random positive 63-bit integer (serial numbers, nonces)."""
    return secrets.randbits(63) + 1


def read_response(response_der: bytes) -> Stamp:
    """The token of a response this toolkit built itself (no checks but its form)."""
    try:
        response = _TimeStampResp.load(response_der)
        token = response["time_stamp_token"]
        signed = token["content"]
        info = signed["encap_content_info"]["content"].parsed
        first = signed["certificates"][0].chosen
        subject = x509.load_der_x509_certificate(first.dump()).subject.rfc4514_string()
        return Stamp(bytes(token.dump()), info["gen_time"].native, subject)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise TimeStampError(f"the time-stamp response is malformed ({exc})") from None


def check_response(response_der: bytes, request: TimeStampRequest) -> Stamp:
    """The token of a response to ``request``, checked: status granted, the nonce and the
    message imprint echoed, signed by a certificate with only the time-stamping purpose,
    the signature and the TSTInfo digest right. ``TimeStampError`` says what is wrong."""
    try:
        response = _TimeStampResp.load(response_der, strict=True)
        status = response["status"]["status"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimeStampError(f"the answer is not an RFC 3161 response ({exc})") from None
    if status not in _GRANTED:
        text = response["status"]["status_string"].native
        detail = f": {'; '.join(text)}" if text else ""
        raise TimeStampError(f"the time-stamp authority refused the request ({status}{detail})")
    token = response["time_stamp_token"]
    try:
        signed = token["content"]
        info = signed["encap_content_info"]["content"].parsed
        content = signed["encap_content_info"]["content"].contents
        imprint = info["message_imprint"]
        nonce = info["nonce"].native
        gen_time = info["gen_time"].native
        signer = signed["signer_infos"][0]
        certificates = [c.chosen for c in signed["certificates"]]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise TimeStampError(f"the time-stamp token is malformed ({exc})") from None
    if request.nonce is not None and nonce != request.nonce:
        raise TimeStampError("the time-stamp answers another request (wrong nonce)")
    if (
        imprint["hash_algorithm"]["algorithm"].native != request.hash_algorithm
        or imprint["hashed_message"].native != request.digest
    ):
        raise TimeStampError("the time-stamp is over other data (wrong message imprint)")
    certificate = _signing_certificate(signer, certificates)
    _check_signature(signer, content, certificate)
    return Stamp(bytes(token.dump()), gen_time, certificate.subject.rfc4514_string())


def named_certificate(
    signer: cms.SignerInfo, certificates: Iterable[asn1_x509.Certificate]
) -> x509.Certificate | None:
    """The certificate among ``certificates`` that a CMS signer info names (by issuer
    and serial, or by subject key identifier), else None."""
    sid = signer["sid"].chosen
    for candidate in certificates:
        if isinstance(sid, cms.IssuerAndSerialNumber):
            match = (
                candidate.issuer == sid["issuer"]
                and candidate.serial_number == sid["serial_number"].native
            )
        else:
            match = candidate.key_identifier == sid.native
        if match:
            return x509.load_der_x509_certificate(candidate.dump())
    return None


def _signing_certificate(
    signer: cms.SignerInfo, certificates: list[asn1_x509.Certificate]
) -> x509.Certificate:
    certificate = named_certificate(signer, certificates)
    if certificate is None:
        raise TimeStampError("the time-stamp token does not carry its signing certificate")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or list(usage.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TimeStampError(
            f"the time-stamp was signed by a certificate that is not a time-stamping "
            f"authority's ({certificate.subject.rfc4514_string()}: its extended key usage "
            "must be time stamping alone)"
        )
    return certificate


def _check_signature(signer: cms.SignerInfo, content: bytes, certificate: x509.Certificate) -> None:
    algorithm = signer["digest_algorithm"]["algorithm"].native
    if algorithm not in _HASHES:
        raise TimeStampError(f"the time-stamp uses an unsupported digest ({algorithm})")
    attributes = signer["signed_attrs"]
    digests = [a["values"][0].native for a in attributes if a["type"].native == "message_digest"]
    if digests != [hashlib.new(algorithm, content).digest()]:
        raise TimeStampError("the time-stamp token's digest does not match its content")
    # What was signed is the attributes' DER as a SET (tag 0x31), not their [0] tagging:
    # the received bytes, re-framed (re-encoding them would cost milliseconds).
    signed_bytes = _tlv(0x31, attributes.contents)
    signature = signer["signature"].native
    public = certificate.public_key()
    chosen = _HASHES[algorithm]
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, signed_bytes, ec.ECDSA(chosen))
        elif isinstance(public, rsa.RSAPublicKey):
            scheme = signer["signature_algorithm"].signature_algo
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size)
                if scheme == "rsassa_pss"
                else padding.PKCS1v15()
            )
            public.verify(signature, signed_bytes, pad, chosen)
        else:
            raise TimeStampError("the time-stamp authority's key type is not supported")
    except InvalidSignature:
        raise TimeStampError("the time-stamp token's signature does not verify") from None
