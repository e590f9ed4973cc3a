"""Interoperability of C2PA text manifests with two independent implementations.

* c2pa-rs (through c2pa-python) reads our bare JUMBF store (``application/c2pa``) and
  validates the claim signature, the chain and every assertion's hashed URI; it reports
  the data hash as a mismatch only because it has no asset.
* c2patxt (PyPI, pure Python, C2PA 2.4 Annex A.8) verifies our signed text, binding
  included, and we verify the text it signs.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import c2pa
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding

from fixtures.support import PASSPHRASE
from provenance.credentials.manifest import AIContent, manifest_definition
from provenance.credentials.read import CredentialReader, TrustSettings
from provenance.credentials.sign import ManifestSigner
from provenance.credentials.text import embed_text_manifest, read_text_manifest
from provenance.keystore import Algorithm, KeyStore
from provenance.keystore.ca import issue_leaf, issue_root

TEXT = "Generated text, signed once.\nA second line with a café and an emoji \u2728."


def definition() -> dict[str, Any]:
    return manifest_definition(AIContent(model="interop-model"), "text/plain")


@pytest.fixture(scope="module")
def all_algorithms_store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    store = KeyStore.create(tmp_path_factory.mktemp("interop") / "home", PASSPHRASE)
    for algorithm in Algorithm:
        if algorithm is not Algorithm.ES256:  # the store's "default" identity
            store.identities.create(algorithm.value, algorithm, passphrase=PASSPHRASE)
    return store


def _identity(algorithm: Algorithm) -> str | None:
    return None if algorithm is Algorithm.ES256 else algorithm.value


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_c2pa_rs_validates_signature_and_assertion_hashes(
    all_algorithms_store: KeyStore, algorithm: Algorithm
) -> None:
    _, manifest = embed_text_manifest(
        TEXT, definition(), all_algorithms_store.signer(_identity(algorithm), PASSPHRASE)
    )
    context = c2pa.Context.from_dict({"trust": {"user_anchors": all_algorithms_store.trust.pem()}})
    reader = c2pa.Reader("application/c2pa", io.BytesIO(manifest), context=context)
    with reader:
        results = reader.get_validation_results()["activeManifest"]
    success = [entry["code"] for entry in results["success"]]
    failure = [entry["code"] for entry in results["failure"]]
    assert "claimSignature.validated" in success
    assert "signingCredential.trusted" in success
    assert success.count("assertion.hashedURI.match") == 3  # actions, hash.data, training
    assert failure == ["assertion.dataHash.mismatch"]  # no asset: checked by our verify


class _IssuedBy:
    """A c2patxt trust evaluator: the chain's last certificate is signed by an anchor."""

    def is_trusted(self, chain: list[x509.Certificate], anchors: list[x509.Certificate]) -> bool:
        for anchor in anchors:
            for certificate in chain:
                if certificate == anchor:
                    return True
                try:
                    certificate.verify_directly_issued_by(anchor)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return True
        return False


def _c2patxt() -> Any:
    return pytest.importorskip(
        "c2patxt", reason="c2patxt (test extra) is not installed: pip install -e '.[test]'"
    )


@pytest.mark.parametrize("algorithm", list(Algorithm))  # c2patxt verifies all seven
def test_c2patxt_verifies_our_text(all_algorithms_store: KeyStore, algorithm: Algorithm) -> None:
    c2patxt = _c2patxt()
    signed, _ = embed_text_manifest(
        TEXT, definition(), all_algorithms_store.signer(_identity(algorithm), PASSPHRASE)
    )
    anchors = all_algorithms_store.trust.pem().encode()
    trusted = c2patxt.verify(
        signed, context=c2patxt.VerifyContext(anchors_pem=anchors, trust_evaluator=_IssuedBy())
    )
    assert trusted.state is c2patxt.Provenance.TRUSTED, trusted.failure
    assert "assertion.dataHash.match" in {str(s.code.value) for s in trusted.success}
    assert c2patxt.verify(signed).state is c2patxt.Provenance.VALID
    edited = c2patxt.verify(signed.replace("once", "twice"))
    assert edited.state is c2patxt.Provenance.INVALID


def test_we_verify_c2patxt_text() -> None:
    c2patxt = _c2patxt()
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = issue_root(root_key, "Foreign CA", days=2, now=now)
    leaf_key = ed25519.Ed25519PrivateKey.generate()
    leaf = issue_leaf(
        issuer_key=root_key,
        issuer_cert=root,
        public_key=leaf_key.public_key(),
        common_name="c2patxt signer",
        organization="Foreign CA",
        days=1,
        now=now,
    )
    signer = c2patxt.Signer(private_key=leaf_key, certificates=(leaf,))
    disclosure = c2patxt.Disclosure(media_type="text/plain", model_type=c2patxt.ModelType.GENERIC)
    signed = c2patxt.embed(TEXT, signer, disclosure)

    anchors = root.public_bytes(Encoding.PEM).decode()
    found = read_text_manifest(signed, CredentialReader(TrustSettings(anchors_pem=anchors)))
    assert found is not None
    assert (found.state, found.failure_codes) == ("Trusted", ())
    assert found.active["signature_info"]["common_name"] == "c2patxt signer"
    untrusted = read_text_manifest(signed, CredentialReader())
    assert untrusted is not None and untrusted.state == "Valid"
    tampered = read_text_manifest(signed.replace("once", "twice"), CredentialReader())
    assert tampered is not None
    assert set(tampered.failure_codes) == {
        "signingCredential.untrusted",
        "assertion.dataHash.mismatch",
    }


def test_c2patxt_and_c2pa_rs_read_our_time_stamped_text(all_algorithms_store: KeyStore) -> None:
    """The sigTst2 token sits where c2pa-rs and c2patxt look for it."""
    c2patxt = _c2patxt()
    authority = all_algorithms_store.tsa.local_authority(PASSPHRASE)
    stamper = ManifestSigner(all_algorithms_store.signer(None, PASSPHRASE)).stamper
    assert stamper is None  # no authority given: no time-stamp
    with ManifestSigner(
        all_algorithms_store.signer(None, PASSPHRASE), time_stamps=authority
    ) as signer:
        signed, _ = embed_text_manifest(TEXT, definition(), signer.signer, signer.stamper)
    anchors = all_algorithms_store.trust.pem()
    found = read_text_manifest(signed, CredentialReader(TrustSettings(anchors_pem=anchors)))
    assert found is not None and found.state == "Trusted", found and found.failures
    assert found.stamped_at is not None
    assert "Time-Stamping Authority" in (found.stamped_by or "")
    result = c2patxt.verify(
        signed,
        context=c2patxt.VerifyContext(anchors_pem=anchors.encode(), trust_evaluator=_IssuedBy()),
    )
    assert result.state is c2patxt.Provenance.TRUSTED, result.failure
