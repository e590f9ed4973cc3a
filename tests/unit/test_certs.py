"""``credentials.certs``: the signing chain read from a manifest store's bytes, and every
way a store that is not one (or a hostile one) is refused with one line."""

from __future__ import annotations

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from fixtures.support import ExternalCA
from provenance.credentials import jumbf
from provenance.credentials.certs import (
    MAX_CHAIN_CERTIFICATES,
    MAX_STORE_BYTES,
    check_manifest_store,
    signing_chain,
)
from provenance.errors import InputError

CA = ExternalCA("Certs Test Root")
LEAF = CA.leaf()[1]
OTHER = ExternalCA("Other Root").leaf()[1]


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def cose(protected: dict[object, object], unprotected: dict[object, object] | None = None,
         *, tag: int | None = 18) -> bytes:  # fmt: skip
    message = [cbor2.dumps(protected), unprotected or {}, None, b"\x00" * 64]
    return cbor2.dumps(cbor2.CBORTag(tag, message) if tag is not None else message)


def manifest(label: str, signature: bytes | None, box_label: str = "c2pa.signature") -> bytes:
    children = [jumbf.superbox(jumbf.CLAIM, "c2pa.claim.v2", [jumbf.content_box(b"\xa0")])]
    if signature is not None:
        children.append(jumbf.superbox(jumbf.SIGNATURE, box_label, [jumbf.content_box(signature)]))
    return jumbf.superbox(jumbf.MANIFEST, label, children)


def store(*manifests: bytes) -> bytes:
    return jumbf.superbox(jumbf.MANIFEST_STORE, "c2pa", list(manifests))


def test_a_chain_array_in_the_protected_header_comes_back_leaf_first() -> None:
    data = store(manifest("urn:a", cose({1: -7, 33: [der(LEAF), der(CA.cert)]})))
    assert signing_chain(data) == [LEAF, CA.cert]
    assert signing_chain(data, "urn:a") == [LEAF, CA.cert]


def test_a_single_certificate_and_the_unprotected_header_are_accepted() -> None:
    assert signing_chain(store(manifest("urn:a", cose({1: -7, 33: der(LEAF)})))) == [LEAF]
    unprotected = store(manifest("urn:a", cose({1: -7}, {33: [der(LEAF)]})))
    assert signing_chain(unprotected) == [LEAF]
    untagged = store(manifest("urn:a", cose({1: -7, 33: der(LEAF)}, tag=None)))
    assert signing_chain(untagged) == [LEAF]


def test_the_protected_header_wins_over_the_unprotected_one() -> None:
    data = store(manifest("urn:a", cose({33: der(LEAF)}, {33: der(OTHER)})))
    assert signing_chain(data) == [LEAF]


def test_the_active_manifest_is_the_named_one_else_the_last() -> None:
    data = store(
        manifest("urn:parent", cose({33: der(OTHER)})), manifest("urn:child", cose({33: der(LEAF)}))
    )
    assert signing_chain(data) == [LEAF]
    assert signing_chain(data, "urn:parent") == [OTHER]
    with pytest.raises(InputError, match="no manifest with the active label"):
        signing_chain(data, "urn:missing")


def test_an_update_manifest_box_counts_as_a_manifest() -> None:
    update = manifest("urn:update", cose({33: der(OTHER)}))
    update = update.replace(jumbf.MANIFEST, b"c2um" + jumbf.MANIFEST[4:], 1)
    data = store(manifest("urn:a", cose({33: der(LEAF)})), update)
    assert signing_chain(data) == [OTHER]
    assert signing_chain(data, "urn:update") == [OTHER]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "it is empty"),
        (b"\xff\xd8\xff\xe0" + bytes(60), "no JUMBF superbox at its start"),
        (bytes(range(256)) * 4, "no JUMBF superbox at its start"),
        (store(manifest("urn:a", cose({33: der(LEAF)})))[:-1], "not all of it"),
        (jumbf.superbox(jumbf.CBOR, "x", [jumbf.content_box(b"")]), "not a C2PA manifest store"),
        (store(), "holds no manifest"),
        (store(manifest("urn:a", None)), "no claim signature box"),
        (store(manifest("urn:a", cose({33: der(LEAF)}), "c2pa.other")), "no claim signature box"),
        (store(manifest("urn:a", b"\xff\xff\xff")), "not CBOR"),
        (store(manifest("urn:a", cose({33: der(LEAF)}, tag=17))), "tag 17, not COSE_Sign1"),
        (store(manifest("urn:a", cbor2.dumps([1, 2]))), "an array of four"),
        (store(manifest("urn:a", cose({1: -7}))), "no certificate chain"),
        (store(manifest("urn:a", cose({33: "not bytes"}))), "not a certificate or an array"),
        (store(manifest("urn:a", cose({33: []}))), "not a certificate or an array"),
        (store(manifest("urn:a", cose({33: [der(LEAF), b"junk"]}))), "certificate 2 of the"),
        (store(manifest("urn:a", cose({33: [der(LEAF)] * (MAX_CHAIN_CERTIFICATES + 1)}))),
         "too many"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)  # fmt: skip
def test_what_is_not_a_signed_store_is_one_input_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        signing_chain(data)
    assert "\n" not in str(caught.value)


def test_hostile_shapes_end_quickly() -> None:
    deep = jumbf.content_box(b"x")
    for _ in range(200):  # nested far deeper than jumbf reads
        deep = jumbf.superbox(jumbf.MANIFEST, "m", [deep])
    with pytest.raises(InputError, match="nest too deeply"):
        signing_chain(store(deep))
    nested_cbor = b"\x81" * 100_000 + b"\x00"  # an array in an array ... a hundred thousand deep
    with pytest.raises(InputError, match="not CBOR"):
        signing_chain(store(manifest("urn:a", nested_cbor)))
    lying = b"\x5b" + (2**62).to_bytes(8, "big")  # a byte string "of 4 EiB"
    with pytest.raises(InputError, match="not CBOR"):
        signing_chain(store(manifest("urn:a", lying)))


def test_a_store_over_the_limit_is_refused_before_it_is_parsed() -> None:
    too_big = (MAX_STORE_BYTES + 1).to_bytes(4, "big") + b"jumb" + bytes(8) + jumbf.MANIFEST_STORE
    with pytest.raises(InputError, match="is not read"):
        check_manifest_store(too_big + bytes(MAX_STORE_BYTES + 1 - len(too_big)))


def test_the_time_stamp_authority_comes_from_the_token() -> None:
    """``signer_certificates``: the leaf, and the certificate that signed the sigTst2
    token (what a compromised key's revocation asks about); no token: None."""
    import datetime as dt

    from cryptography.x509.oid import ExtendedKeyUsageOID

    from provenance.credentials.certs import signer_certificates
    from provenance.timestamp import check_response, make_request
    from provenance.timestamp.protocol import build_response

    tsa_key, tsa_cert = CA.leaf(ekus=[ExtendedKeyUsageOID.TIME_STAMPING])
    request = make_request(b"claim signature")
    response = build_response(
        request, tsa_key, [tsa_cert, CA.cert], policy="2.25.1", serial=3,
        now=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    token = check_response(response, request).token
    stamped = {"sigTst2": {"tstTokens": [{"val": token}]}}
    data = store(manifest("urn:a", cose({1: -7, 33: [der(LEAF), der(CA.cert)]}, stamped)))
    assert signer_certificates(data) == (LEAF, tsa_cert)
    bare = store(manifest("urn:a", cose({1: -7, 33: der(LEAF)})))
    assert signer_certificates(bare) == (LEAF, None)
    damaged = {"sigTst2": {"tstTokens": [{"val": b"\x30\x03junk"}]}}
    assert signer_certificates(store(manifest("urn:a", cose({33: der(LEAF)}, damaged)))) == (
        LEAF,
        None,
    )
