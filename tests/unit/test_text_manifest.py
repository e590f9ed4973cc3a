"""Signed C2PA text manifests: each algorithm validates in c2pa-rs; edits break the binding."""

from __future__ import annotations

import unicodedata
from typing import Any

import cbor2
import pytest

from fixtures.support import PASSPHRASE
from provenance.credentials import jumbf
from provenance.credentials.manifest import AIContent, manifest_definition
from provenance.credentials.read import CredentialReader, TrustSettings
from provenance.credentials.softbinding import SoftBinding, soft_binding_assertion, soft_bindings
from provenance.credentials.text import (
    TextWrapperError,
    embed_text_manifest,
    find_wrapper,
    read_text_manifest,
    strip_text_manifest,
)
from provenance.errors import SigningError
from provenance.keystore import Algorithm, KeyStore

TEXT = (
    "The committee met on Tuesday.\n\nIt agreed  to publish the report, "
    "with a café-style summary (naïve readers welcome) and one emoji: \u2728."
)


def definition(**extra: Any) -> dict[str, Any]:
    content = AIContent(model="test-model", model_version="1.0", title="report.txt")
    return manifest_definition(content, "text/plain", **extra)


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    """One key store for the module: creating one costs about half a second."""
    return KeyStore.create(tmp_path_factory.mktemp("text-keys") / "home", PASSPHRASE)


@pytest.fixture(scope="module")
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture(scope="module")
def reader(module_store: KeyStore) -> CredentialReader:
    return CredentialReader(TrustSettings(anchors_pem=module_store.trust.pem()))


@pytest.fixture(scope="module")
def signed(module_store: KeyStore, passphrase: str) -> tuple[str, bytes]:
    return embed_text_manifest(TEXT, definition(), module_store.signer(None, passphrase))


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_every_algorithm_signs_text_that_validates(
    module_store: KeyStore, passphrase: str, reader: CredentialReader, algorithm: Algorithm
) -> None:
    module_store.identities.create(f"text-{algorithm.value}", algorithm, passphrase=passphrase)
    signer = module_store.signer(f"text-{algorithm.value}", passphrase)
    signed, manifest = embed_text_manifest(TEXT, definition(), signer)
    found = read_text_manifest(signed, reader)
    assert found is not None
    assert (found.state, found.failure_codes) == ("Trusted", ())
    assert found.active["signature_info"]["common_name"] == f"text-{algorithm.value}"
    assert find_wrapper(signed).manifest == manifest  # type: ignore[union-attr]


def test_signed_text_is_the_nfc_text_plus_one_wrapper(
    module_store: KeyStore, passphrase: str, reader: CredentialReader
) -> None:
    nfd = unicodedata.normalize("NFD", TEXT)
    assert nfd != TEXT
    text, _ = embed_text_manifest(nfd, definition(), module_store.signer(None, passphrase))
    wrapper = find_wrapper(text)
    assert wrapper is not None
    assert text[: wrapper.start] == TEXT == strip_text_manifest(text)
    assert wrapper.stop == len(text)
    assert read_text_manifest(text, reader).state == "Trusted"  # type: ignore[union-attr]


def test_the_exclusion_covers_exactly_the_wrapper_utf8_bytes(signed: tuple[str, bytes]) -> None:
    text, manifest = signed
    wrapper = find_wrapper(text)
    assert wrapper is not None
    store = jumbf.parse_superbox(manifest)
    manifest_box = store.child(jumbf.MANIFEST)
    assert manifest_box is not None
    assertions = manifest_box.child(jumbf.ASSERTION_STORE)
    assert assertions is not None
    hash_box = next(b for b in assertions.superboxes() if b.label == "c2pa.hash.data")
    data = cbor2.loads(hash_box.content() or b"")
    assert data["exclusions"] == [{"start": wrapper.utf8_start, "length": wrapper.utf8_length}]
    assert wrapper.utf8_start + wrapper.utf8_length == len(text.encode("utf-8"))


def test_the_store_reads_like_an_image_manifest(
    module_store: KeyStore, passphrase: str, reader: CredentialReader
) -> None:
    binding = SoftBinding.for_payload("org.provenance-toolkit.wm.text.v1", bytes(range(8)))
    extra = [soft_binding_assertion(binding)]
    text, _ = embed_text_manifest(
        TEXT, definition(extra_assertions=extra), module_store.signer(None, passphrase)
    )
    found = read_text_manifest(text, reader)
    assert found is not None and found.state == "Trusted"
    created = found.assertion("c2pa.actions")
    assert created is not None
    action = created["actions"][0]
    assert action["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    assert action["softwareAgent"] == {"name": "test-model", "version": "1.0"}
    assert found.assertion("cawg.training-mining") is not None
    assert soft_bindings(found) == [binding]
    assert found.active["title"] == "report.txt"
    assert found.store["validation_state"] == "Trusted"


def test_without_the_anchor_the_text_is_valid_not_trusted(signed: tuple[str, bytes]) -> None:
    found = read_text_manifest(signed[0], CredentialReader())
    assert found is not None
    assert (found.state, found.failure_codes) == ("Valid", ("signingCredential.untrusted",))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("Tuesday", "Monday", 1),
        lambda t: "\n" + t,
        lambda t: t.replace("met on", "met on\n", 1),
        lambda t: " ".join(t.split()),
        lambda t: t.replace("agreed  to", "agreed to", 1),
    ],
    ids=["edited-word", "leading-newline", "added-newline", "collapsed-whitespace", "double-space"],
)
def test_edits_break_the_binding(
    signed: tuple[str, bytes], reader: CredentialReader, tamper: Any
) -> None:
    found = read_text_manifest(tamper(signed[0]), reader)
    assert found is not None
    assert found.state == "Invalid"
    assert found.failure_codes == ("assertion.dataHash.mismatch",)
    assert found.store["validation_state"] == "Invalid"


def test_a_changed_manifest_byte_fails_in_c2pa_rs(
    signed: tuple[str, bytes], reader: CredentialReader
) -> None:
    text, manifest = signed
    target = manifest.index(b"trainedAlgorithmicMedia")
    forged = manifest[:target] + b"T" + manifest[target + 1 :]
    wrapper = find_wrapper(text)
    assert wrapper is not None
    from provenance.credentials.text.wrapper import encode_wrapper

    found = read_text_manifest(text[: wrapper.start] + encode_wrapper(forged), reader)
    assert found is not None and found.state == "Invalid"
    assert "assertion.hashedURI.mismatch" in found.failure_codes


def test_no_wrapper_is_none(reader: CredentialReader) -> None:
    assert read_text_manifest(TEXT, reader) is None


def test_a_cut_wrapper_is_corrupted(signed: tuple[str, bytes], reader: CredentialReader) -> None:
    found = read_text_manifest(signed[0][:-20], reader)
    assert found is not None
    assert (found.state, found.failure_codes) == ("Invalid", ("manifest.text.corruptedWrapper",))
    with pytest.raises(TextWrapperError):
        strip_text_manifest(signed[0][:-20])


def test_a_doubled_wrapper_is_refused(signed: tuple[str, bytes], reader: CredentialReader) -> None:
    found = read_text_manifest(signed[0] + signed[0], reader)
    assert found is not None
    assert (found.state, found.failure_codes) == ("Invalid", ("manifest.text.multipleWrappers",))


def test_a_wrapper_around_garbage_is_corrupted(reader: CredentialReader) -> None:
    from provenance.credentials.text.wrapper import encode_wrapper

    found = read_text_manifest(TEXT + encode_wrapper(b"not a manifest store"), reader)
    assert found is not None
    assert found.failure_codes == ("manifest.text.corruptedWrapper",)


def test_signing_signed_text_is_refused(
    signed: tuple[str, bytes], module_store: KeyStore, passphrase: str
) -> None:
    with pytest.raises(SigningError, match="already carries"):
        embed_text_manifest(signed[0], definition(), module_store.signer(None, passphrase))


def test_a_failing_signer_is_a_signing_error(module_store: KeyStore, passphrase: str) -> None:
    real = module_store.signer(None, passphrase)

    class Broken:
        identity = "broken"
        algorithm = real.algorithm
        certificate_chain_pem = real.certificate_chain_pem

        def sign(self, data: bytes) -> bytes:
            raise RuntimeError("HSM offline")

    with pytest.raises(SigningError, match="HSM offline"):
        embed_text_manifest(TEXT, definition(), Broken())
