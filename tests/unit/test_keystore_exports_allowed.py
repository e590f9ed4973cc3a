"""Issue 12 items 6 and 7: exports, the allowed list, more algorithms, passphrase length.

Every verdict here comes from c2pa-rs through the library (signing with the key store,
reading with ``CredentialReader``/``Verifier``), for images and for text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from fixtures.support import (
    FAST_CONFIG,
    PASSPHRASE,
    ExternalCA,
    cert_pem,
    encode,
    key_pem,
    make_key_store,
    natural_image,
)
from provenance.credentials.manifest import AIContent, manifest_definition
from provenance.credentials.read import CredentialReader, TrustSettings
from provenance.credentials.sign import ManifestSigner
from provenance.credentials.text import embed_text_manifest, read_text_manifest
from provenance.errors import KeyStoreError, WeakPassphrase
from provenance.home import verify_config_for_home
from provenance.keystore import MIN_PASSPHRASE_LENGTH, Algorithm, KeyStore, _material
from provenance.report import Verdict
from provenance.signing.sign import sign_bytes
from provenance.verify.verifier import Verifier, VerifyConfig

TEXT = "A generated paragraph, signed once, with a café in it."


def image_signed_by(store: KeyStore, identity: str | None = None) -> bytes:
    signer = ManifestSigner(store.signer(identity, PASSPHRASE))
    png = encode(natural_image(96, 64), "PNG")
    return sign_bytes(png, signer, AIContent(model="gen")).data


def text_signed_by(store: KeyStore, identity: str | None = None) -> bytes:
    definition = manifest_definition(AIContent(model="gen"), "text/plain")
    signed, _ = embed_text_manifest(TEXT, definition, store.signer(identity, PASSPHRASE))
    return signed.encode()


def verdicts(verifier: Verifier, *assets: bytes) -> list[Verdict]:
    return [verifier.verify_bytes(asset, "asset").verdict for asset in assets]


@pytest.fixture
def other_store(tmp_path: Path) -> KeyStore:
    """A second organisation's store: the verifier of files signed in ``fast_store``."""
    return make_key_store(tmp_path / "partner", org="Partner Org", config=FAST_CONFIG)


# -- exports ------------------------------------------------------------------------------


def test_export_full_chain_is_the_manifest_chain_then_the_root(fast_store: KeyStore) -> None:
    full = fast_store.identities.full_chain_pem("default")
    certs = x509.load_pem_x509_certificates(full)
    assert len(certs) == 2 and certs[0].subject.rfc4514_string().endswith("CN=default")
    assert full.startswith(fast_store.identities.chain_pem("default"))
    root = fast_store.root_pem()
    assert x509.load_pem_x509_certificates(root) == certs[1:]
    [local] = [a for a in fast_store.trust.list() if a.is_local_root]
    assert local.pem.encode() == root


def test_export_full_chain_of_an_import_appends_a_trusted_root_it_has(
    fast_store: KeyStore, tmp_path: Path
) -> None:
    ca = ExternalCA()
    key, leaf = ca.leaf()
    fast_store.identities.import_key("ext", key_pem(key), cert_pem(leaf), PASSPHRASE)
    assert fast_store.identities.full_chain_pem("ext") == cert_pem(leaf)  # its root is unknown here
    fast_store.trust.add(ca.pem)
    assert fast_store.identities.full_chain_pem("ext") == cert_pem(leaf) + ca.pem


def test_trust_add_of_an_exported_chain_makes_its_files_trusted(
    fast_store: KeyStore, other_store: KeyStore, tmp_path: Path
) -> None:
    image, text = image_signed_by(fast_store), text_signed_by(fast_store)
    verifier = Verifier(verify_config_for_home(other_store.home))
    assert verdicts(verifier, image, text) == [Verdict.VALID, Verdict.VALID]
    (tmp_path / "chain.pem").write_bytes(fast_store.identities.full_chain_pem("default"))
    added = other_store.trust.add(tmp_path / "chain.pem")
    assert [(a.fingerprint_sha256, new) for a, new in added] == [
        (fast_store.trust.list()[0].fingerprint_sha256, True)
    ]
    assert added.skipped == (fast_store.identities.get().subject,)
    verifier = Verifier(verify_config_for_home(other_store.home))
    assert verdicts(verifier, image, text) == [Verdict.TRUSTED, Verdict.TRUSTED]


# -- the allowed list ---------------------------------------------------------------------


def test_allowed_list_goes_where_c2pa_rs_reads_it() -> None:
    # c2pa-rs 0.91.3 ignores a top-level trust.allowed_list (measured: Valid,
    # signingCredential.untrusted); it reads the allowed list of a trust.anchors entry.
    settings = TrustSettings(allowed_list="PEM")
    trust = settings.context_settings()["trust"]
    assert "allowed_list" not in trust
    assert trust["anchors"] == [
        {
            "trust_anchors": "",
            "trust_kind": "manifest",
            "trust_uri": "provenance-toolkit:allowed-list",
            "allowed_list": "PEM",
        }
    ]
    assert "trust" not in TrustSettings().context_settings()


def test_an_allowed_certificate_is_trusted_alone(
    fast_store: KeyStore, other_store: KeyStore, tmp_path: Path
) -> None:
    fast_store.identities.create("second", Algorithm.ED25519, passphrase=PASSPHRASE)
    allowed = [image_signed_by(fast_store), text_signed_by(fast_store)]
    not_allowed = [image_signed_by(fast_store, "second"), text_signed_by(fast_store, "second")]
    (tmp_path / "chain.pem").write_bytes(fast_store.identities.full_chain_pem("default"))
    added = other_store.allowed.add(tmp_path / "chain.pem")
    [(entry, is_new)] = added
    assert is_new and entry.subject == fast_store.identities.get().subject
    assert added.skipped == (
        x509.load_pem_x509_certificate(fast_store.root_pem()).subject.rfc4514_string(),
    )
    assert [c.id for c in other_store.allowed.list()] == [entry.id]
    assert other_store.trust.list()[0].is_local_root and len(other_store.trust.list()) == 1

    verifier = Verifier(verify_config_for_home(other_store.home))
    assert verdicts(verifier, *allowed) == [Verdict.TRUSTED, Verdict.TRUSTED]
    assert verdicts(verifier, *not_allowed) == [Verdict.VALID, Verdict.VALID]
    # the allowed list and trust anchors work together
    both = verify_config_for_home(other_store.home, [fast_store.trust.pem()])
    assert verdicts(Verifier(both), *not_allowed) == [Verdict.TRUSTED, Verdict.TRUSTED]

    assert other_store.allowed.remove(entry.id) == entry
    assert other_store.allowed.remove(entry.id) is None
    verifier = Verifier(verify_config_for_home(other_store.home))
    assert verdicts(verifier, *allowed) == [Verdict.VALID, Verdict.VALID]


def test_allowed_list_from_a_flag_without_a_store(fast_store: KeyStore, tmp_path: Path) -> None:
    image = image_signed_by(fast_store)
    leaf = fast_store.identities.chain_pem("default").decode()
    config = verify_config_for_home(tmp_path / "no-store", extra_allowed_pem=[leaf])
    assert verdicts(Verifier(config), image) == [Verdict.TRUSTED]
    trust = TrustSettings(anchors_pem=leaf)  # a leaf as an anchor makes nothing trusted
    assert verdicts(Verifier(VerifyConfig(trust=trust)), image) == [Verdict.VALID]


def test_allow_refuses_ca_certificates(fast_store: KeyStore, tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(fast_store.root_pem())
    with pytest.raises(KeyStoreError, match=r"is a CA certificate: the allowed list holds"):
        fast_store.allowed.add(tmp_path / "root.pem")
    assert fast_store.allowed.list() == []
    assert not fast_store.path.joinpath("allowed").exists()  # made with the first entry


def test_allowed_list_survives_backup_and_restore(
    fast_store: KeyStore, other_store: KeyStore, tmp_path: Path
) -> None:
    other_store.allowed.add(fast_store.identities.chain_pem("default"))
    backup = other_store.backup(tmp_path / "store.bak", PASSPHRASE)
    restored = KeyStore.restore(tmp_path / "restored", backup, PASSPHRASE, config=FAST_CONFIG)
    assert restored.allowed.list() == other_store.allowed.list()


# -- ES512, PS384, PS512 ------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [Algorithm.ES512, Algorithm.PS384, Algorithm.PS512])
def test_new_algorithms_sign_images_and_text_that_verify_trusted(
    fast_store: KeyStore, algorithm: Algorithm
) -> None:
    name = f"id-{algorithm.value}"
    info = fast_store.identities.create(name, algorithm, passphrase=PASSPHRASE)
    assert info.algorithm is algorithm
    verifier = Verifier(verify_config_for_home(fast_store.home))
    for asset in (image_signed_by(fast_store, name), text_signed_by(fast_store, name)):
        report = verifier.verify_bytes(asset, "asset")
        assert report.verdict is Verdict.TRUSTED, report.summary
        assert f"signed by {name}" in report.summary
    reader = CredentialReader(TrustSettings(anchors_pem=fast_store.trust.pem()))
    found = read_text_manifest(text_signed_by(fast_store, name).decode(), reader)
    assert found is not None and found.state == "Trusted"
    assert found.active["signature_info"]["alg"] == algorithm.value.capitalize()  # "Es512"


# -- the minimum passphrase length -------------------------------------------------------


def test_new_key_material_needs_a_long_passphrase(fast_store: KeyStore, tmp_path: Path) -> None:
    assert MIN_PASSPHRASE_LENGTH == 12
    with pytest.raises(WeakPassphrase) as refused:
        KeyStore.create(tmp_path / "new", "short", config=FAST_CONFIG)
    assert str(refused.value) == (
        "a passphrase needs at least 12 characters (this one has 5) to protect the new key store"
    )
    assert refused.value.exit_code == 2
    assert not KeyStore.exists(tmp_path / "new")
    eleven = "x" * 11
    with pytest.raises(WeakPassphrase, match="this one has 11"):
        fast_store.identities.create("bot", passphrase=eleven)
    with pytest.raises(WeakPassphrase, match="to rotate identity 'default'"):
        fast_store.identities.rotate("default", eleven)
    with pytest.raises(WeakPassphrase, match="to encrypt the backup"):
        fast_store.backup(tmp_path / "store.bak", eleven)
    assert not (tmp_path / "store.bak").exists()
    KeyStore.create(tmp_path / "twelve", "x" * 12, config=FAST_CONFIG)


def test_a_store_made_with_a_short_passphrase_still_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_material, "MIN_PASSPHRASE_LENGTH", 1)
    old = KeyStore.create(tmp_path / "old", "pw", config=FAST_CONFIG)
    backup = old.backup(tmp_path / "old.bak", "pw")
    monkeypatch.undo()
    assert old.signer(None, "pw").identity == "default"  # an existing key still opens
    restored = KeyStore.restore(tmp_path / "restored", backup, "pw", config=FAST_CONFIG)
    assert restored.signer(None, "pw").identity == "default"
    with pytest.raises(WeakPassphrase):
        restored.identities.create("new", passphrase="pw")
