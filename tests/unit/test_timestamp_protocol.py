"""RFC 3161 messages: what the toolkit's authority writes is what asn1crypto (strictly)
and the checks read back; every wrong answer is named."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from asn1crypto import cms, tsp
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from fixtures.support import ExternalCA
from provenance.errors import TimeStampError
from provenance.timestamp import LocalAuthority, check_response, make_request, parse_request, stamp
from provenance.timestamp.protocol import TimeStampRequest, build_response, refusal

NOW = dt.datetime(2026, 12, 1, 18, 30, 5, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def tsa() -> tuple[ec.EllipticCurvePrivateKey, list[object]]:
    ca = ExternalCA("Protocol Root")
    key, cert = ca.leaf(ekus=[ExtendedKeyUsageOID.TIME_STAMPING])
    return key, [cert, ca.cert]


def test_a_response_is_well_formed_der_that_asn1crypto_reads_strictly(tsa: tuple) -> None:
    key, chain = tsa
    request = parse_request(make_request(b"the signature").der)
    der = build_response(request, key, chain, policy="2.25.7", serial=42, now=NOW)
    response = tsp.TimeStampResp.load(der, strict=True)  # asn1crypto's own definition
    assert response["status"]["status"].native == "granted"
    signed = response["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["serial_number"].native == 42
    assert info["policy"].dotted == "2.25.7"
    assert info["gen_time"].native == NOW
    assert info["nonce"].native == request.nonce
    assert info["message_imprint"]["hashed_message"].native == request.digest
    assert len(signed["certificates"]) == 2
    attributes = signed["signer_infos"][0]["signed_attrs"]
    names = {a["type"].native for a in attributes}
    assert names == {"content_type", "message_digest", "signing_certificate_v2"}
    encodings = [a.dump() for a in attributes]
    assert encodings == sorted(encodings)  # DER's SET OF order
    found = check_response(der, request)
    assert found.gen_time == NOW and "imported signer" in found.tsa
    assert isinstance(cms.ContentInfo.load(found.token), cms.ContentInfo)


def test_the_local_authority_stamps_a_message(tsa: tuple) -> None:
    key, chain = tsa
    found = stamp(LocalAuthority(key, chain, clock=lambda: NOW), b"message")
    assert found.gen_time == NOW
    token = cms.ContentInfo.load(found.token)
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"message").digest()
    assert len(token["content"]["certificates"]) == 1  # the TSA's certificate alone


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("nonce", "wrong nonce"),
        ("imprint", "wrong message imprint"),
        ("signature", "signature does not verify"),
        ("refused", "refused the request (rejection: busy)"),
        ("garbage", "not an RFC 3161 response"),
    ],
)
def test_each_wrong_answer_is_named(tsa: tuple, change: str, message: str) -> None:
    key, chain = tsa
    request = make_request(b"data")
    if change == "refused":
        der = refusal("rejection", "busy")
    elif change == "garbage":
        der = b"<html>not a time-stamp</html>"
    else:
        answered = request
        if change == "nonce":
            answered = parse_request(make_request(b"data").der)
        if change == "imprint":
            other = hashlib.sha256(b"other data").digest()
            answered = TimeStampRequest("sha256", other, request.nonce, True, b"")
        der = build_response(answered, key, chain, policy="2.25.7", serial=1, now=NOW)
        if change == "signature":
            other, _ = ExternalCA("Other").leaf(ekus=[ExtendedKeyUsageOID.TIME_STAMPING])
            forged = build_response(request, other, chain, policy="2.25.7", serial=1, now=NOW)
            der = forged
    with pytest.raises(TimeStampError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_response(der, request)


def test_a_request_that_is_not_one_is_refused() -> None:
    with pytest.raises(TimeStampError, match="not an RFC 3161 time-stamp request"):
        parse_request(b"GET / HTTP/1.1")
