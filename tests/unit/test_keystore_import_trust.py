"""Certificate profile checks, importing external identities, trust anchors, c2pa."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fixtures.support import PASSPHRASE, ExternalCA, c2pa_round_trip, cert_pem, key_pem
from provenance.errors import InputError, KeyStoreError, Remedy, UsageError, WrongPassphrase
from provenance.keystore import (
    Algorithm,
    CertificateProfileError,
    KeyStore,
    check_signing_certificate,
)

CODE_SIGNING = (ExtendedKeyUsageOID.CODE_SIGNING,)


@pytest.mark.parametrize(
    ("options", "rule", "explanation", "c2pa_says"),
    [
        ({"ekus": CODE_SIGNING}, "extended-key-usage", "codeSigning", "certificate is invalid"),
        (
            {"ekus": (ExtendedKeyUsageOID.SERVER_AUTH,)},
            "extended-key-usage",
            "TLS",
            "certificate is invalid",
        ),
        ({"ekus": ()}, "extended-key-usage", "is missing", "certificate is invalid"),
        (
            {"ekus": (ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,)},
            "extended-key-usage",
            "anyExtendedKeyUsage",
            "certificate is invalid",
        ),
        ({"ca": True}, "ca", "CA certificate", "certificate is invalid"),
        ({"aki": False}, "authority-key-identifier", "Authority Key", "certificate is invalid"),
        ({"self_signed": True}, "self-signed", "self-signed", "self-signed"),
        ({"days": -1}, "expired", "expired on", "signingCredential.expired"),
    ],
    ids=[
        "codeSigning",
        "serverAuth",
        "no-eku",
        "any-eku",
        "ca",
        "no-aki",
        "self-signed",
        "expired",
    ],
)
def test_profile_negatives_explain_what_c2pa_rs_says(
    options: dict[str, object], rule: str, explanation: str, c2pa_says: str
) -> None:
    _, leaf = ExternalCA().leaf(**options)  # type: ignore[arg-type]
    problems = check_signing_certificate(leaf)
    assert [p.rule for p in problems] == [rule]
    assert explanation in problems[0].explanation
    assert c2pa_says in problems[0].c2pa_says


def test_profile_accepts_a_proper_leaf() -> None:
    assert check_signing_certificate(ExternalCA().leaf()[1]) == []


def test_import_refuses_codesigning_in_plain_words(fast_store: KeyStore, tmp_path: Path) -> None:
    ca = ExternalCA()
    key, leaf = ca.leaf(ekus=CODE_SIGNING)
    with pytest.raises(CertificateProfileError, match="cannot sign C2PA manifests") as caught:
        fast_store.identities.import_key("ext", key_pem(key), cert_pem(leaf, ca.cert), PASSPHRASE)
    assert "the certificate is invalid" in caught.value.diagnostics()
    assert "codeSigning" in caught.value.diagnostics()
    assert [i.name for i in fast_store.identities.list()] == ["default"]


def test_import_refuses_a_key_that_does_not_match(fast_store: KeyStore) -> None:
    ca = ExternalCA()
    other_key, _ = ca.leaf()
    _, leaf = ca.leaf()
    with pytest.raises(KeyStoreError, match="does not belong to the first certificate"):
        fast_store.identities.import_key("ext", key_pem(other_key), cert_pem(leaf), PASSPHRASE)


def test_import_refuses_a_chain_out_of_order(fast_store: KeyStore) -> None:
    ca = ExternalCA()
    key, leaf = ca.leaf()
    with pytest.raises(KeyStoreError, match="did not issue certificate 1"):
        fast_store.identities.import_key(
            "ext", key_pem(key), cert_pem(leaf, ExternalCA().cert), PASSPHRASE
        )


def test_import_encrypted_key_uses_the_store_passphrase(fast_store: KeyStore) -> None:
    ca = ExternalCA()
    key, leaf = ca.leaf()
    with pytest.raises(WrongPassphrase, match="passphrase other than the key store's"):
        fast_store.identities.import_key("ext", key_pem(key, "other"), cert_pem(leaf), PASSPHRASE)
    info = fast_store.identities.import_key(
        "ext", key_pem(key, PASSPHRASE), cert_pem(leaf), PASSPHRASE
    )
    assert info.origin == "imported" and info.algorithm is Algorithm.ES256


def test_import_unreadable_inputs(fast_store: KeyStore, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the private key"):
        fast_store.identities.import_key("ext", tmp_path / "missing.pem", b"", PASSPHRASE)
    with pytest.raises(InputError, match="no PEM certificate"):
        fast_store.identities.import_key("ext", b"", b"nothing here", PASSPHRASE)


def test_imported_identity_signs_trusted_after_trust_add(
    fast_store: KeyStore, tmp_path: Path
) -> None:
    ca = ExternalCA()
    key, leaf = ca.leaf()
    (tmp_path / "key.pem").write_bytes(key_pem(key))
    (tmp_path / "chain.pem").write_bytes(cert_pem(leaf))
    fast_store.identities.import_key(
        "ext", tmp_path / "key.pem", tmp_path / "chain.pem", PASSPHRASE
    )
    assert not fast_store.trust.chain_is_anchored(fast_store.identities.chain_pem("ext"))
    signer = fast_store.signer("ext", PASSPHRASE)
    assert c2pa_round_trip(signer, fast_store.trust.pem()) == "Valid"
    (tmp_path / "root.pem").write_bytes(ca.pem)
    [(anchor, is_new)] = fast_store.trust.add(tmp_path / "root.pem")
    assert (
        is_new
        and not anchor.is_local_root
        and fast_store.trust.chain_is_anchored(fast_store.identities.chain_pem("ext"))
    )
    assert c2pa_round_trip(signer, fast_store.trust.pem()) == "Trusted"
    with pytest.raises(UsageError, match="imported: its CA must issue"):
        fast_store.identities.rotate("ext", PASSPHRASE)


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_c2pa_round_trip_reads_trusted(fast_store: KeyStore, algorithm: Algorithm) -> None:
    name = f"c2pa-{algorithm.value}"
    fast_store.identities.create(name, algorithm, passphrase=PASSPHRASE)
    assert c2pa_round_trip(fast_store.signer(name, PASSPHRASE), fast_store.trust.pem()) == "Trusted"


def test_trust_add_list_remove(fast_store: KeyStore) -> None:
    first, second = ExternalCA("First"), ExternalCA("Second")
    added = fast_store.trust.add(first.pem + second.pem)
    assert [is_new for _, is_new in added] == [True, True]
    assert [is_new for _, is_new in fast_store.trust.add(first.pem)] == [False]
    anchors = fast_store.trust.list()
    assert [a.is_local_root for a in anchors] == [True, False, False]
    assert fast_store.trust.pem().count("BEGIN CERTIFICATE") == 3
    removed = fast_store.trust.remove(added[0][0].id)
    assert removed.subject == "CN=First"
    assert len(fast_store.trust.list()) == 2
    with pytest.raises(UsageError, match="no trust anchor with id"):
        fast_store.trust.remove(added[0][0].id)
    with pytest.raises(UsageError, match="not a trust anchor id"):
        fast_store.trust.remove("zz")


def test_trust_add_refuses_a_leaf_alone_and_adds_nothing(
    fast_store: KeyStore, tmp_path: Path
) -> None:
    ca = ExternalCA()
    _, leaf = ca.leaf()
    (tmp_path / "leaf.pem").write_bytes(cert_pem(leaf))
    with pytest.raises(KeyStoreError) as refused:
        fast_store.trust.add(tmp_path / "leaf.pem")
    assert str(refused.value) == (
        "CN=imported signer is an end-entity (signing) certificate, not a CA: a trust anchor "
        "is the signer's root CA, and a signing certificate is trusted alone as an allowed one"
    )
    assert refused.value.remedy is Remedy.ALLOW_CERTIFICATE  # the CLI names `trust allow`
    assert len(fast_store.trust.list()) == 1
    with pytest.raises(InputError, match="no PEM certificate"):
        fast_store.trust.add(b"hello")


def test_trust_add_of_a_chain_adds_its_root_only(fast_store: KeyStore) -> None:
    ca = ExternalCA()
    _, leaf = ca.leaf()
    added = fast_store.trust.add(cert_pem(leaf) + ca.pem)
    assert [(anchor.subject, is_new) for anchor, is_new in added] == [("CN=External Root", True)]
    assert added.skipped == ("CN=imported signer",)
    assert len(fast_store.trust.list()) == 2
    with pytest.raises(KeyStoreError, match="without its root"):
        fast_store.trust.add(cert_pem(leaf, _intermediate(ca)))


def _intermediate(ca: ExternalCA) -> x509.Certificate:
    """A CA certificate that ``ca`` issued: not self-signed, so not a root."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Intermediate")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
