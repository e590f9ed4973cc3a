"""KeyStore lifecycle, signing, rotation, revocation, expiry and on-disk layout."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from fixtures.support import FAST_CONFIG, PASSPHRASE
from provenance.errors import (
    IdentityNotFound,
    IdentityUnusable,
    KeyStoreExists,
    KeyStoreMissing,
    PassphraseRequired,
    Remedy,
    UsageError,
    WrongPassphrase,
)
from provenance.keystore import Algorithm, KeyStore, Signer
from provenance.keystore import store as store_module


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leaf_of(signer: Signer) -> x509.Certificate:
    return x509.load_pem_x509_certificates(signer.certificate_chain_pem)[0]


def test_init_makes_default_identity_trust_anchor_and_watermark_key(fast_store: KeyStore) -> None:
    (info,) = fast_store.identities.list()
    assert (info.name, info.algorithm, info.status, info.is_default) == (
        "default",
        Algorithm.ES256,
        "active",
        True,
    )
    assert info.subject == "O=Test Org,CN=default"
    assert 364 <= (info.not_after - info.not_before).days <= 366
    (anchor,) = fast_store.trust.list()
    assert anchor.is_local_root and "BEGIN CERTIFICATE" in fast_store.trust.pem()
    root = x509.load_pem_x509_certificate(anchor.pem.encode())
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca and basic.path_length == 0
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days >= 3650
    key = fast_store.watermark_keys.get()
    assert key.name == "default" and len(key.secret) == 32
    assert fast_store.watermark_keys.list() == [key]
    assert "secret" not in repr(key) and key.secret.hex() not in repr(key)


def test_file_modes(fast_store: KeyStore) -> None:
    root = fast_store.path
    assert mode(root) == 0o700
    assert mode(root / "private") == 0o700
    assert mode(root / "watermark") == 0o700
    assert mode(root / "watermark" / "keys.json") == 0o600
    assert mode(root / "audit.log") == 0o600
    keys = list((root / "private").iterdir())
    assert len(keys) == 3 and all(mode(k) == 0o600 for k in keys)  # root, default, TSA
    assert all(p.suffix == ".pem" for p in (root / "certs").iterdir())


def test_keys_are_scrypt_pkcs8_at_the_default_cost(fast_store: KeyStore) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = next((fast_store.path / "private").glob("default.*")).read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    der = base64.b64decode(b"".join(data.splitlines()[1:-1]))
    assert bytes.fromhex("06092b06010401da47040b") in der  # the scrypt OID, not PBKDF2
    assert bytes.fromhex("02024000") in der  # N = 2**14
    assert isinstance(load_pem_private_key(data, PASSPHRASE.encode()), ec.EllipticCurvePrivateKey)


def test_create_refuses_existing_and_open_refuses_missing(store_home: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyStoreExists, match="already exists"):
        KeyStore.create(store_home, PASSPHRASE)
    with pytest.raises(KeyStoreMissing, match=r"^no key store at ") as caught:
        KeyStore.open(tmp_path / "nowhere")
    assert caught.value.exit_code == 2
    assert caught.value.remedy is Remedy.CREATE_STORE  # the CLI names `keys init`
    assert not KeyStore.exists(tmp_path / "nowhere")
    assert KeyStore.exists(store_home)


def test_missing_and_wrong_passphrase_differ(fast_store: KeyStore) -> None:
    with pytest.raises(PassphraseRequired, match="a passphrase is needed"):
        fast_store.signer(None, "")
    with pytest.raises(WrongPassphrase, match="does not decrypt the key for identity 'default'"):
        fast_store.signer(None, "not the passphrase")
    with pytest.raises(WrongPassphrase, match="root CA"):
        fast_store.identities.create("x", passphrase="not the passphrase")


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_signature_verifies_with_the_leaf_key(fast_store: KeyStore, algorithm: Algorithm) -> None:
    fast_store.identities.create(f"id-{algorithm.value}", algorithm, passphrase=PASSPHRASE)
    signer = fast_store.signer(f"id-{algorithm.value}", PASSPHRASE)
    assert signer.algorithm is algorithm and signer.identity == f"id-{algorithm.value}"
    data = b"claim bytes"
    signature = signer.sign(data)
    public = leaf_of(signer).public_key()
    digest = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}.get(
        algorithm.value[-3:]
    )
    if isinstance(public, ec.EllipticCurvePublicKey):
        assert digest is not None
        curves = {"es256": "secp256r1", "es384": "secp384r1", "es512": "secp521r1"}
        assert public.curve.name == curves[algorithm.value]
        public.verify(signature, data, ec.ECDSA(digest))
    elif isinstance(public, rsa.RSAPublicKey):
        assert public.key_size >= 2048 and digest is not None
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        public.verify(signature, data, pss, digest)
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(signature, data)


def test_leaf_certificate_profile(fast_store: KeyStore) -> None:
    leaf = leaf_of(fast_store.signer(None, PASSPHRASE))
    ext = leaf.extensions
    assert leaf.version is x509.Version.v3
    usage = ext.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    ekus = {oid.dotted_string for oid in ext.get_extension_for_class(x509.ExtendedKeyUsage).value}
    assert ekus == {"1.3.6.1.4.1.62558.2.1", "1.3.6.1.5.5.7.3.4"}
    ext.get_extension_for_class(x509.AuthorityKeyIdentifier)
    ext.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_unknown_and_invalid_names(fast_store: KeyStore) -> None:
    with pytest.raises(
        IdentityNotFound, match=r"no signing identity named 'ghost' \(known: default"
    ):
        fast_store.signer("ghost", PASSPHRASE)
    with pytest.raises(UsageError, match="not a valid identity name"):
        fast_store.identities.create("../evil", passphrase=PASSPHRASE)
    with pytest.raises(UsageError, match="already exists"):
        fast_store.identities.create("default", passphrase=PASSPHRASE)
    with pytest.raises(IdentityNotFound):
        fast_store.watermark_keys.get("ghost")


def test_rotate_retires_old_version_and_keeps_its_certificate(fast_store: KeyStore) -> None:
    old = fast_store.identities.get("default")
    new = fast_store.identities.rotate("default", PASSPHRASE)
    assert new.version == 2 and new.status == "active" and new.serial != old.serial
    assert [v.status for v in new.versions] == ["retired", "active"]
    assert [v.has_private_key for v in new.versions] == [False, True]
    assert b"BEGIN CERTIFICATE" in fast_store.identities.chain_pem("default", version=1)
    assert leaf_of(fast_store.signer("default", PASSPHRASE)).serial_number == new.serial
    assert len(list((fast_store.path / "private").glob("default.*"))) == 1


def test_revoked_identity_refuses_to_sign(fast_store: KeyStore) -> None:
    fast_store.identities.rotate("default", PASSPHRASE)
    info = fast_store.identities.revoke("default", "key leaked", PASSPHRASE)
    assert info.status == "revoked" and info.revocation_reason == "key leaked"
    with pytest.raises(IdentityUnusable, match=r"revoked .* \(key leaked\)"):
        fast_store.signer(None, PASSPHRASE)
    with pytest.raises(IdentityUnusable, match="revoked"):
        fast_store.signer(None, "")  # refused before the passphrase matters
    for version in info.versions:
        revocation = fast_store.identities.revocation(version.serial)
        assert revocation is not None and revocation.identity == "default"
        assert revocation.reason == "key leaked"
    assert fast_store.identities.revocation(12345) is None
    assert set(fast_store.identities.revoked_serials()) == {v.serial for v in info.versions}
    assert not list((fast_store.path / "private").glob("default.*"))
    with pytest.raises(UsageError, match="already revoked"):
        fast_store.identities.revoke("default", "again", PASSPHRASE)
    with pytest.raises(IdentityUnusable, match="cannot be rotated"):
        fast_store.identities.rotate("default", PASSPHRASE)


def test_expired_and_not_yet_valid_identities_refuse(
    fast_store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_store.identities.create("short", Algorithm.ED25519, days=1, passphrase=PASSPHRASE)
    fast_store.signer("short", PASSPHRASE)
    real_now = store_module.now_utc()
    monkeypatch.setattr(store_module, "now_utc", lambda: real_now + dt.timedelta(days=2))
    with pytest.raises(IdentityUnusable, match=r"'short' expired on .* UTC$") as expired:
        fast_store.signer("short", PASSPHRASE)
    assert expired.value.remedy is Remedy.ROTATE  # the CLI names `keys rotate`
    monkeypatch.setattr(store_module, "now_utc", lambda: real_now - dt.timedelta(days=1))
    with pytest.raises(IdentityUnusable, match="valid only from"):
        fast_store.signer("short", PASSPHRASE)


def test_days_cannot_outlive_the_root(fast_store: KeyStore) -> None:
    with pytest.raises(UsageError, match="outlive the root CA"):
        fast_store.identities.create("long", days=40000, passphrase=PASSPHRASE)


def test_audit_log_records_events_as_json_lines(fast_store: KeyStore) -> None:
    fast_store.identities.create("audited", Algorithm.ED25519, passphrase=PASSPHRASE)
    fast_store.audit_event("sign", identity="audited", output="/tmp/x.jpg")
    lines = [json.loads(line) for line in (fast_store.path / "audit.log").read_text().splitlines()]
    assert [line["event"] for line in lines] == ["init", "create", "tsa-create", "create", "sign"]
    last = lines[-1]
    assert last["identity"] == "audited" and last["details"] == {"output": "/tmp/x.jpg"}
    dt.datetime.fromisoformat(last["time"])


def test_watermark_keys(fast_store: KeyStore) -> None:
    created = fast_store.watermark_keys.create("second")
    assert created.secret != fast_store.watermark_keys.get().secret
    assert [k.name for k in fast_store.watermark_keys.list()] == ["default", "second"]
    assert fast_store.watermark_keys.get("second") == created
    with pytest.raises(UsageError, match="already exists"):
        fast_store.watermark_keys.create("second")


def test_export_chain_is_public_pem(fast_store: KeyStore) -> None:
    chain = fast_store.identities.chain_pem("default")
    assert b"PRIVATE" not in chain
    cert = x509.load_pem_x509_certificates(chain)[0]
    assert cert.public_bytes(serialization.Encoding.PEM) == chain
    assert FAST_CONFIG.scrypt.log2_n == 10  # the fixture store writes new keys cheaply
