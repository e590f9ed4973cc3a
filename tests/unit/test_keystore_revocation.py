"""Revocation with a time (``since``), the root CA's CRL, imported CRLs and how the
verifier reads them (anchor-signed only, stale ones reported)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fixtures.support import FAST_CONFIG, PASSPHRASE, ExternalCA, make_key_store
from provenance.credentials.crl import load_crls, revocations_from_crls
from provenance.errors import InputError, KeyStoreError, UsageError
from provenance.home import revocations_of, verify_config_for_home
from provenance.keystore import KeyStore

UTC = dt.UTC


def root_of(store: KeyStore) -> x509.Certificate:
    return x509.load_pem_x509_certificate(store.root_pem())


def crl_of(pem: bytes) -> x509.CertificateRevocationList:
    (crl,) = load_crls(pem, "test")
    return crl


def test_revoke_records_since_and_checks_it(fast_store: KeyStore) -> None:
    info = fast_store.identities.create("press", passphrase=PASSPHRASE)
    future = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    with pytest.raises(UsageError, match="in the future"):
        fast_store.identities.revoke("press", "lost", PASSPHRASE, since=future)
    with pytest.raises(UsageError, match="before identity 'press' had a valid certificate"):
        fast_store.identities.revoke(
            "press", "lost", PASSPHRASE, since=info.not_before - dt.timedelta(1)
        )
    with pytest.raises(UsageError, match="time zone"):
        fast_store.identities.revoke("press", "lost", PASSPHRASE, since=dt.datetime(2026, 1, 1))
    assert fast_store.identities.revocations() == []  # nothing was recorded by the refusals
    since = (info.not_before + dt.timedelta(minutes=1)).astimezone(
        dt.timezone(dt.timedelta(hours=2))
    )
    fast_store.identities.revoke("press", "keyCompromise", PASSPHRASE, since=since)
    (revocation,) = fast_store.identities.revocations()
    assert revocation.identity == "press" and revocation.serial == info.serial
    assert revocation.since == since and revocation.since.utcoffset() == dt.timedelta(0)
    assert revocation.revoked_at > revocation.since
    assert revocation.issuer == info.issuer
    events = [json.loads(line) for line in (fast_store.path / "audit.log").read_text().splitlines()]
    assert [e["event"] for e in events[-2:]] == ["revoke", "crl-issue"]
    assert events[-2]["details"]["since"] == revocation.since.isoformat()


def test_default_since_is_now_and_reaches_the_verifier(fast_store: KeyStore) -> None:
    before = dt.datetime.now(UTC).replace(microsecond=0)
    fast_store.identities.revoke("default", "laptop lost", PASSPHRASE)
    (revocation,) = fast_store.identities.revocations()
    assert revocation.since == revocation.revoked_at >= before
    (entry,) = revocations_of(fast_store).entries
    assert (entry.serial, entry.reason, entry.since) == (
        revocation.serial,
        "laptop lost",
        revocation.since,
    )


def test_old_revocations_take_since_from_revoked_at(store_home: Path) -> None:
    store = KeyStore.open(store_home, config=FAST_CONFIG)
    store.identities.revoke("default", "old", PASSPHRASE, since=None)
    index = store.path / "index.json"
    document = json.loads(index.read_text())
    version = document["identities"]["default"]["versions"][0]
    version["revoked_since"] = None  # as an index from before --since reads
    version["revoked_at"] = "2026-01-02T03:04:05+00:00"
    index.write_text(json.dumps(document))
    (revocation,) = store.identities.revocations()
    assert revocation.since == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_root_issues_a_crl_of_its_revocations(fast_store: KeyStore) -> None:
    assert fast_store.crls.current_pem() is None
    pressed = fast_store.identities.create("press", passphrase=PASSPHRASE)
    since = pressed.not_before + dt.timedelta(seconds=30)
    fast_store.identities.revoke("press", "Key Compromise", PASSPHRASE, since=since)
    fast_store.identities.revoke("default", "laptop lost", PASSPHRASE)
    stored = fast_store.crls.current_pem()
    assert stored is not None
    crl = crl_of(stored)
    root = root_of(fast_store)
    assert crl.issuer == root.subject and crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    entries = {e.serial_number: e for e in crl}
    assert set(entries) == {pressed.serial, fast_store.identities.get().serial}
    press = entries[pressed.serial]
    assert press.revocation_date_utc == since.replace(microsecond=0)
    invalidity = press.extensions.get_extension_for_class(x509.InvalidityDate).value
    assert invalidity.invalidity_date_utc == since.replace(microsecond=0)
    reason = press.extensions.get_extension_for_class(x509.CRLReason).value
    assert reason.reason is x509.ReasonFlags.key_compromise
    other = entries[fast_store.identities.get().serial]
    with pytest.raises(x509.ExtensionNotFound):  # free text: unspecified, no reason code
        other.extensions.get_extension_for_class(x509.CRLReason)
    # Issued again on request: a higher number, the old file replaced.
    fresh = crl_of(fast_store.crls.issue(PASSPHRASE, days=30))
    assert fresh.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 3
    assert fresh.next_update_utc is not None
    assert fresh.next_update_utc - fresh.last_update_utc == dt.timedelta(days=30)
    assert fast_store.crls.current_pem() == fresh.public_bytes(serialization.Encoding.PEM)
    assert [p.name for p in (fast_store.path / "certs").glob("root-ca.crl.*")] == [
        "root-ca.crl.3.pem"
    ]
    with pytest.raises(UsageError, match="1 to 366 days"):
        fast_store.crls.issue(PASSPHRASE, days=0)


def test_verifier_honours_only_anchor_signed_crls(tmp_path: Path) -> None:
    issuer = make_key_store(tmp_path / "issuer", config=FAST_CONFIG)
    info = issuer.identities.create("press", passphrase=PASSPHRASE)
    since = info.not_before + dt.timedelta(seconds=10)
    issuer.identities.revoke("press", "superseded", PASSPHRASE, since=since)
    pem = issuer.crls.current_pem()
    assert pem is not None
    crl, root = crl_of(pem), root_of(issuer)
    entries, sources = revocations_from_crls([crl], [root])
    (entry,) = entries
    assert (entry.serial, entry.reason) == (info.serial, "superseded")
    assert entry.issuer == root.public_bytes(serialization.Encoding.DER)  # the CRL's signer
    assert entry.since == since.replace(microsecond=0)
    assert entry.source.startswith("CRL of Test Org Root CA, issued ")
    assert sources == (entry.source + " (1 revoked)",)
    assert entry.covers(since - dt.timedelta(seconds=1)) is False  # stamped before: trusted
    assert entry.covers(since) and entry.covers(None)
    # Not an anchor here: ignored, and said so.
    entries, sources = revocations_from_crls([crl], [ExternalCA().cert])
    assert entries == () and sources[0].endswith("ignored, its issuer is not a trust anchor here")
    # Same name, other key (a forged CRL, or another CA under that name): ignored.
    forged_key = ec.generate_private_key(ec.SECP384R1())
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(crl.issuer)
        .last_update(crl.last_update_utc)
        .next_update(crl.last_update_utc + dt.timedelta(days=1))
        .sign(forged_key, hashes.SHA384())
    )
    entries, sources = revocations_from_crls([forged], [root])
    assert entries == () and "signature does not verify" in sources[0]
    # The same CRL twice (imported and --crl) counts once.
    assert len(revocations_from_crls([crl, crl], [root])[1]) == 1


def test_a_stale_crl_is_applied_and_reported(fast_store: KeyStore) -> None:
    fast_store.identities.revoke("default", "keyCompromise", PASSPHRASE)
    ten_days_ago = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(days=10)
    crl = crl_of(fast_store.crls.issue(PASSPHRASE, days=7, now=ten_days_ago))
    entries, sources = revocations_from_crls([crl], [root_of(fast_store)])
    assert len(entries) == 1
    assert "stale: its next update was due" in sources[0] and "(applied anyway)" in sources[0]
    info = fast_store.crls.current()
    assert info is not None and info.stale


def test_import_keeps_the_newest_crl_per_issuer(tmp_path: Path) -> None:
    issuer = make_key_store(tmp_path / "issuer", org="Issuer Org", config=FAST_CONFIG)
    verifier = make_key_store(tmp_path / "verifier", config=FAST_CONFIG)
    first = issuer.crls.issue(PASSPHRASE)
    issuer.identities.revoke("default", "keyCompromise", PASSPHRASE)
    second = issuer.crls.current_pem()
    assert second is not None
    ((info, status),) = verifier.crls.add(first)
    assert status == "added" and info.entries == 0 and info.number == 1
    assert verifier.crls.problem(info) == "its issuer is not a trust anchor here"
    assert [s for _, s in verifier.crls.add(second)] == ["updated"]
    assert [s for _, s in verifier.crls.add(first)] == ["older"]
    assert [s for _, s in verifier.crls.add(second)] == ["unchanged"]
    (listed,) = verifier.crls.list()
    assert (listed.number, listed.entries, listed.stale) == (2, 1, False)
    # Honoured once the issuer's root is an anchor here.
    verifier.trust.add(issuer.root_pem())
    assert verifier.crls.problem(listed) is None
    config = verify_config_for_home(verifier.home)
    assert [e.serial for e in config.revocations.entries] == [issuer.identities.get().serial]
    assert config.revocations.sources[0] == "this key store"
    assert config.revocations.sources[1].startswith("CRL of Issuer Org Root CA")
    # An extra CRL for one run goes the same way; removing the import drops it.
    assert verifier.crls.remove(listed.id) == listed
    assert verifier.crls.remove(listed.id) is None and verifier.crls.list() == []
    assert verify_config_for_home(verifier.home).revocations.sources == ("this key store",)
    extra = verify_config_for_home(verifier.home, extra_crls_pem=[second])
    assert len(extra.revocations.entries) == 1


def test_import_refuses_a_crl_that_its_anchor_did_not_sign(tmp_path: Path) -> None:
    verifier = make_key_store(tmp_path / "verifier", config=FAST_CONFIG)
    root = root_of(verifier)
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(dt.datetime.now(UTC))
        .next_update(dt.datetime.now(UTC) + dt.timedelta(days=1))
        .sign(ec.generate_private_key(ec.SECP384R1()), hashes.SHA384())
    )
    with pytest.raises(KeyStoreError, match="does not verify with the trust anchor"):
        verifier.crls.add(forged.public_bytes(serialization.Encoding.PEM))
    assert verifier.crls.list() == []
    with pytest.raises(InputError, match="holds no CRL"):
        verifier.crls.add(b"not a CRL")


def test_a_crl_of_another_ca_of_the_same_name_is_kept_apart(tmp_path: Path) -> None:
    namesake = make_key_store(tmp_path / "namesake", config=FAST_CONFIG)  # also "Test Org"
    verifier = make_key_store(tmp_path / "verifier", config=FAST_CONFIG)
    own = verifier.crls.issue(PASSPHRASE)
    pem = namesake.crls.issue(PASSPHRASE)
    ((info, status),) = verifier.crls.add(pem)  # not the anchor's key: kept, not honoured
    assert status == "added"
    assert verifier.crls.problem(info) == (
        "its signature does not verify with the trust anchor of that name"
    )
    assert [s for _, s in verifier.crls.add(own)] == ["added"]  # its own id, no clash
    assert len(verifier.crls.list()) == 2


def test_the_stores_own_revocation_is_about_its_own_certificates(fast_store: KeyStore) -> None:
    """``this key store`` revokes the certificate it issued, not another CA's with the
    same serial, the same issuer name and the same authority key identifier."""
    info = fast_store.identities.create("press", passphrase=PASSPHRASE)
    fast_store.identities.revoke("press", "Key Compromise", PASSPHRASE)
    revocations = revocations_of(fast_store)
    (entry,) = revocations.entries
    assert entry.compromised and entry.reason == "keyCompromise"  # as the CRL names it
    (revocation,) = fast_store.identities.revocations()
    assert revocation.compromised
    mine = x509.load_pem_x509_certificates(fast_store.identities.chain_pem("press"))[0]
    assert revocations.lookup(info.serial, mine) is entry
    root = root_of(fast_store)
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    impostor_key = ec.generate_private_key(ec.SECP256R1())
    namesake = (
        x509.CertificateBuilder()
        .subject_name(mine.subject)
        .issuer_name(root.subject)
        .public_key(impostor_key.public_key())
        .serial_number(info.serial)
        .not_valid_before(mine.not_valid_before_utc)
        .not_valid_after(mine.not_valid_after_utc)
        .add_extension(x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False)
        .sign(impostor_key, hashes.SHA256())
    )
    assert revocations.lookup(info.serial, namesake) is None
    # A certificate that could not be read: the serial alone decides (never lost).
    assert revocations.lookup(info.serial, None) is entry


def test_an_imported_identity_is_revoked_as_its_cas_and_stamped_by_the_store(
    fast_store: KeyStore,
) -> None:
    """An identity imported from another CA: the store's revocation matches that CA's
    certificate, and the store's own authority (its root's) is still its own: for a
    compromise, that authority's stamp dates nothing."""
    from fixtures.support import cert_pem, key_pem

    ca = ExternalCA("Imported Root")
    key, leaf = ca.leaf()
    fast_store.identities.import_key("ext", key_pem(key), cert_pem(leaf, ca.cert), PASSPHRASE)
    fast_store.identities.revoke("ext", "keyCompromise", PASSPHRASE)
    (entry,) = revocations_of(fast_store).entries
    assert entry.revokes(leaf) and entry.compromised
    own_tsa = x509.load_pem_x509_certificates(fast_store.tsa.chain_pem())[0]
    assert entry.certified(own_tsa)
    assert not entry.certified(ExternalCA("Elsewhere TSA").leaf()[1])
