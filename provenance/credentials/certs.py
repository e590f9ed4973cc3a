"""The signing certificate chain of a manifest store, as c2patool's ``--certs`` prints it.

c2pa-python's JSON carries no chain (c2pa-rs skips ``SignatureInfo.cert_chain`` when it
serialises), so it is read here from the store's bytes: the active manifest's claim
signature box (``c2pa.signature``) holds a COSE_Sign1 (RFC 9052) whose ``x5chain``
header (label 33, RFC 9360) is one DER certificate or an array of them, leaf first.
c2pa-rs takes it from the protected header, else from the unprotected one; so does this.
The time-stamping authority's certificates (inside the ``sigTst``/``sigTst2`` token) are
not part of the signing chain; ``signer_certificates`` gives the one that signed the token
too (a revocation for key compromise asks who certified that authority).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import cbor2
from cryptography import x509

from provenance.credentials import jumbf
from provenance.errors import InputError

#: The largest store parsed (as ``read.MAX_SIDECAR_BYTES``: thumbnails and ingredients).
MAX_STORE_BYTES: Final = 64 * 1024 * 1024
#: More certificates than any real chain has (c2pa-rs's own chains are 2 to 4 long).
MAX_CHAIN_CERTIFICATES: Final = 16
_X5CHAIN, _COSE_SIGN1_TAG = 33, 18
_STAMP_HEADERS: Final = ("sigTst2", "sigTst")
_SIGNATURE_LABEL: Final = "c2pa.signature"
# A manifest box is a standard manifest (c2ma) or an update manifest (c2um), which
# c2pa-rs names active when it is the last (conformance update_manifest.jpg).
_MANIFEST_TYPES: Final = (jumbf.MANIFEST, jumbf.UPDATE_MANIFEST)


def check_manifest_store(data: bytes) -> None:
    """Raise ``InputError`` unless ``data`` starts as a C2PA manifest store: one ``jumb``
    box spanning all of it whose description names the ``c2pa`` store type. Cheap: only
    the first two box headers are read."""
    if not data:
        raise InputError("it is empty, not a C2PA manifest store")
    if len(data) > MAX_STORE_BYTES:
        raise InputError(f"a manifest store over {MAX_STORE_BYTES:,} bytes is not read")
    if len(data) < 8 + 8 + 16 or data[4:8] != b"jumb" or data[12:16] != b"jumd":
        raise InputError("it is not a C2PA manifest store (no JUMBF superbox at its start)")
    if int.from_bytes(data[:4], "big") != len(data):
        raise InputError("it is not a C2PA manifest store (its JUMBF box is not all of it)")
    if data[16:32] != jumbf.MANIFEST_STORE:
        raise InputError("it is a JUMBF box but not a C2PA manifest store")


def signing_chain(store: bytes, label: str | None = None) -> list[x509.Certificate]:
    """The certificates that signed manifest ``label`` of ``store`` (None: the last
    manifest, which C2PA makes the active one), leaf first.

    Pure and bounded: the store is parsed once (at most ``MAX_STORE_BYTES``, boxes nested
    at most as deep as ``jumbf`` allows), at most ``MAX_CHAIN_CERTIFICATES`` are decoded.
    Raises ``InputError`` (one line) for anything that is not a signed manifest store.
    """
    return _chain(_headers(store, label))


def signer_certificates(
    store: bytes, label: str | None = None
) -> tuple[x509.Certificate, x509.Certificate | None]:
    """The certificate that signed manifest ``label`` of ``store`` (None: the active one)
    and the certificate of the authority that time-stamped it (None: no time-stamp, or
    one whose signer is not in it). ``InputError`` as ``signing_chain``; a damaged token
    is no authority (c2pa-rs says whether a time-stamp counts, not this)."""
    headers = _headers(store, label)
    return _chain(headers)[0], _time_stamp_signer(headers)


def _headers(store: bytes, label: str | None) -> list[Mapping[Any, Any]]:
    """The COSE headers of manifest ``label``'s claim signature (None: the active one)."""
    check_manifest_store(store)
    signature = _signature_box(jumbf.parse_superbox(store), label)
    payload = signature.content(b"cbor")
    if payload is None:
        raise InputError("the claim signature box holds no CBOR")
    return _cose_headers(payload)


def _chain(headers: list[Mapping[Any, Any]]) -> list[x509.Certificate]:
    for header in headers:
        found = header.get(_X5CHAIN, header.get("x5chain"))
        if found is not None:
            return _certificates(found)
    raise InputError("the claim signature carries no certificate chain (x5chain)")


def _time_stamp_signer(headers: list[Mapping[Any, Any]]) -> x509.Certificate | None:
    """The certificate that signed the first token of ``sigTst2`` (else ``sigTst``)."""
    for name in _STAMP_HEADERS:
        for header in headers:
            stamps = header.get(name)
            tokens = stamps.get("tstTokens") if isinstance(stamps, Mapping) else None
            if not isinstance(tokens, list | tuple) or not tokens:
                continue
            first = tokens[0]
            token = first.get("val") if isinstance(first, Mapping) else None
            return token_signer(token) if isinstance(token, bytes) else None
    return None


def token_signer(token: bytes) -> x509.Certificate | None:
    """The certificate among an RFC 3161 token's (CMS SignedData) that its signer info
    names, else None."""
    # These load only where a time-stamp is asked about.
    from asn1crypto import cms

    from provenance.timestamp.protocol import named_certificate

    try:
        signed = cms.ContentInfo.load(token)["content"]
        choices = signed["certificates"] or ()
        return named_certificate(signed["signer_infos"][0], (c.chosen for c in choices))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _signature_box(store: jumbf.Superbox, label: str | None) -> jumbf.Superbox:
    manifests = [box for box in store.superboxes() if box.uuid in _MANIFEST_TYPES]
    if not manifests:
        raise InputError("the manifest store holds no manifest")
    if label is None:
        manifest = manifests[-1]
    else:
        named = [box for box in manifests if box.label == label]
        if not named:
            raise InputError("the manifest store has no manifest with the active label")
        manifest = named[-1]
    signature = manifest.child(jumbf.SIGNATURE)
    if signature is None or signature.label != _SIGNATURE_LABEL:
        raise InputError("the active manifest has no claim signature box")
    return signature


def _cose_headers(payload: bytes) -> list[Mapping[Any, Any]]:
    """The protected and unprotected header maps of a COSE_Sign1, in that order."""
    try:
        message = cbor2.loads(payload)
    except Exception as exc:  # cbor2 raises several types (and RecursionError) on junk
        raise InputError(f"the claim signature is not CBOR ({type(exc).__name__})") from None
    if isinstance(message, cbor2.CBORTag):
        if message.tag != _COSE_SIGN1_TAG:
            raise InputError(f"the claim signature has CBOR tag {message.tag}, not COSE_Sign1")
        message = message.value
    # cbor2 decodes an array as a list, or as a tuple inside a tag (measured, cbor2 5.x).
    if not isinstance(message, list | tuple) or len(message) != 4:
        raise InputError("the claim signature is not a COSE_Sign1 (an array of four)")
    protected_bytes, unprotected = message[0], message[1]
    if not isinstance(protected_bytes, bytes):
        raise InputError("the claim signature's protected header is not a byte string")
    try:
        protected = cbor2.loads(protected_bytes) if protected_bytes else {}
    except Exception as exc:
        raise InputError(f"the protected header is not CBOR ({type(exc).__name__})") from None
    # Inside a tag cbor2 decodes a map as a FrozenDict, which is a Mapping, not a dict.
    return [h for h in (protected, unprotected) if isinstance(h, Mapping)]


def _certificates(found: object) -> list[x509.Certificate]:
    ders = [found] if isinstance(found, bytes) else found
    if (
        not isinstance(ders, list | tuple)
        or not ders
        or not all(isinstance(d, bytes) for d in ders)
    ):
        raise InputError("the x5chain header is not a certificate or an array of them")
    if len(ders) > MAX_CHAIN_CERTIFICATES:
        raise InputError(f"the x5chain header lists {len(ders)} certificates, too many")
    certificates = []
    for position, der in enumerate(ders, 1):
        try:
            certificates.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise InputError(f"certificate {position} of the x5chain is not DER X.509") from None
    return certificates
