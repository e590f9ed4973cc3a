"""The key store's time-stamping authority: its certificate, storage, rotation, old stores,
the external URL setting, and backups."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fixtures.support import FAST_CONFIG, PASSPHRASE
from provenance.errors import (
    IdentityNotFound,
    Remedy,
    TimeStampAuthorityMissing,
    UsageError,
    WrongPassphrase,
)
from provenance.keystore import KeyStore
from provenance.timestamp import LocalAuthority, stamp


def tsa_cert(store: KeyStore) -> x509.Certificate:
    return x509.load_pem_x509_certificates(store.tsa.chain_pem())[0]


def root_cert(store: KeyStore) -> x509.Certificate:
    return x509.load_pem_x509_certificate(store.root_pem())


def make_old(home: Path) -> None:
    """Turn the store under ``home`` into one written before the TSA existed (index
    version 1, no TSA files, no CRL, no revoked_since)."""
    index_path = home / "keystore" / "index.json"
    document = json.loads(index_path.read_text())
    for version in document.pop("tsa")["versions"]:
        (home / "keystore" / version["chain_file"]).unlink()
        if version["key_file"]:
            (home / "keystore" / version["key_file"]).unlink()
    crl = document.pop("crl")
    if crl is not None:
        (home / "keystore" / crl["file"]).unlink()
    document.pop("tsa_url")
    for identity in document["identities"].values():
        for version in identity["versions"]:
            version.pop("revoked_since")
    document["version"] = 1
    index_path.write_text(json.dumps(document, indent=2))


def audit_events(store: KeyStore) -> list[str]:
    lines = (store.path / "audit.log").read_text().splitlines()
    return [json.loads(line)["event"] for line in lines]


def test_init_makes_a_tsa_with_the_rfc3161_profile(fast_store: KeyStore) -> None:
    cert, root = tsa_cert(fast_store), root_cert(fast_store)
    chain = x509.load_pem_x509_certificates(fast_store.tsa.chain_pem())
    assert [c.subject for c in chain] == [cert.subject, root.subject]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Test Org Time-Stamping Authority"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Test Org"
    assert cert.issuer == root.subject
    cert.verify_directly_issued_by(root)
    ext = cert.extensions
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = ext.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    ski = ext.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())  # type: ignore[arg-type]
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    # Long-lived (it must outlive the signing identities), never past the root.
    assert cert.not_valid_after_utc <= root.not_valid_after_utc
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3640
    signing = fast_store.identities.get()
    assert cert.not_valid_after_utc > signing.not_after


def test_the_tsa_stamps_and_never_signs(fast_store: KeyStore) -> None:
    authority = fast_store.tsa.local_authority(PASSPHRASE)
    assert isinstance(authority, LocalAuthority)
    expected = [tsa_cert(fast_store).subject, root_cert(fast_store).subject]
    assert [c.subject for c in authority.chain] == expected
    found = stamp(authority, b"a claim signature")
    assert "Time-Stamping Authority" in found.tsa
    assert abs(found.gen_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    # Not a signing identity: not listed, not usable with --identity, name reserved.
    assert "tsa" not in [i.name for i in fast_store.identities.list()]
    with pytest.raises(IdentityNotFound):
        fast_store.signer("tsa", PASSPHRASE)
    with pytest.raises(UsageError, match="time-stamping authority"):
        fast_store.identities.create("tsa", passphrase=PASSPHRASE)
    # And no signing certificate can stamp: none has the time-stamping EKU.
    leaf = x509.load_pem_x509_certificate(fast_store.identities.chain_pem("default"))
    ekus = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.TIME_STAMPING not in list(ekus)
    with pytest.raises(WrongPassphrase, match="time-stamping authority"):
        fast_store.tsa.local_authority("not the passphrase")


def test_rotate_keeps_the_old_certificate_and_drops_its_key(fast_store: KeyStore) -> None:
    old = fast_store.tsa.info()
    assert old is not None and old.version == 1
    new = fast_store.tsa.rotate(PASSPHRASE)
    assert new.version == 2 and new.serial != old.serial
    assert [v.status for v in new.versions] == ["retired", "active"]
    assert [v.has_private_key for v in new.versions] == [False, True]
    assert len(list((fast_store.path / "private").glob("tsa.*"))) == 1
    assert len(list((fast_store.path / "certs").glob("tsa.*"))) == 2  # the old one stays
    assert tsa_cert(fast_store).serial_number == new.serial
    assert fast_store.tsa.local_authority(PASSPHRASE).chain[0].serial_number == new.serial
    assert audit_events(fast_store)[-1] == "tsa-rotate"


def test_an_old_store_gets_its_tsa_on_first_use(store_home: Path) -> None:
    make_old(store_home)
    store = KeyStore.open(store_home, config=FAST_CONFIG)
    assert store.tsa.info() is None
    with pytest.raises(TimeStampAuthorityMissing, match="no time-stamping authority") as caught:
        store.tsa.chain_pem()
    assert caught.value.exit_code == 2 and caught.value.remedy is Remedy.CREATE_TSA
    with pytest.raises(TimeStampAuthorityMissing):
        store.tsa.rotate(PASSPHRASE)
    authority = store.tsa.local_authority(PASSPHRASE)
    assert authority.chain[0] == tsa_cert(store)
    assert audit_events(store)[-1] == "tsa-create"
    document = json.loads((store.path / "index.json").read_text())
    assert document["version"] == 2 and document["tsa"]["versions"][0]["status"] == "active"
    # Asking again uses the same authority; an explicit --create is refused now.
    assert store.tsa.local_authority(PASSPHRASE).chain[0] == authority.chain[0]
    with pytest.raises(UsageError, match="already has a time-stamping authority"):
        store.tsa.create(PASSPHRASE)


def test_create_tsa_for_an_old_store(store_home: Path) -> None:
    make_old(store_home)
    store = KeyStore.open(store_home, config=FAST_CONFIG)
    with pytest.raises(WrongPassphrase):
        store.tsa.create("not the passphrase")
    assert store.tsa.info() is None
    info = store.tsa.create(PASSPHRASE)
    assert info.version == 1 and info.mode == "local" and not info.expired
    assert b"BEGIN CERTIFICATE" in store.tsa.chain_pem()


def test_external_tsa_url_is_validated_and_persisted(fast_store: KeyStore) -> None:
    assert fast_store.tsa.url is None
    fast_store.tsa.set_url("https://tsa.example.com/rfc3161")
    reopened = KeyStore.open(fast_store.home)
    assert reopened.tsa.url == "https://tsa.example.com/rfc3161"
    info = reopened.tsa.info()
    assert info is not None and info.mode == "external"
    for bad in ("ftp://tsa.example.com", "tsa.example.com", "https://", "http://a b/", ""):
        with pytest.raises(UsageError, match="not a time-stamping authority URL"):
            fast_store.tsa.set_url(bad)
    assert fast_store.tsa.url == "https://tsa.example.com/rfc3161"
    fast_store.tsa.set_url(None)
    assert KeyStore.open(fast_store.home).tsa.url is None
    assert audit_events(fast_store)[-2:] == ["tsa-url", "tsa-url"]


def test_backup_and_restore_carry_the_tsa(fast_store: KeyStore, tmp_path: Path) -> None:
    fast_store.tsa.rotate(PASSPHRASE)
    before = fast_store.tsa.chain_pem()
    backup = fast_store.backup(tmp_path / "store.bak", PASSPHRASE)
    restored = KeyStore.restore(tmp_path / "new-home", backup, PASSPHRASE, config=FAST_CONFIG)
    assert restored.tsa.chain_pem() == before
    info = restored.tsa.info()
    assert info is not None and info.version == 2
    found = stamp(restored.tsa.local_authority(PASSPHRASE), b"after the restore")
    assert "Time-Stamping Authority" in found.tsa
