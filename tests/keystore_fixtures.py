"""Fixtures and helpers for the key store tests (keys are generated here, never committed).

Import with ``from keystore_fixtures import *`` after putting ``tests/`` on sys.path; the
fixtures are registered by the test modules that import them.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance.keystore import KeyStore, KeyStoreConfig, ScryptCost, Signer

PASSPHRASE = "correct horse battery staple"
# A cheaper scrypt for tests that write many keys; files record their own cost, so a
# store written with it opens normally. test_default_cost_is_written covers the default.
FAST_CONFIG = KeyStoreConfig(scrypt=ScryptCost(log2_n=10, r=8, p=1), lock_timeout_seconds=20)


@pytest.fixture(scope="session")
def keystore_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised store (default config), made once and copied per test."""
    home = tmp_path_factory.mktemp("template-home")
    KeyStore.create(home, PASSPHRASE, org="Test Org")
    return home


@pytest.fixture
def store_home(keystore_template: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(keystore_template, home)
    return home


@pytest.fixture
def store(store_home: Path) -> KeyStore:
    return KeyStore.open(store_home, config=FAST_CONFIG)


def small_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


MANIFEST = {
    "claim_generator_info": [{"name": "provenance-toolkit-tests", "version": "0"}],
    "title": "test.jpg",
    "assertions": [
        {
            "label": "c2pa.actions",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/"
                        "trainedAlgorithmicMedia",
                    }
                ]
            },
        }
    ],
}


def c2pa_round_trip(signer: Signer, anchors_pem: str) -> str:
    """Sign a small JPEG with ``signer`` through c2pa-python and return the read state."""
    import c2pa

    algorithms = {
        "es256": c2pa.C2paSigningAlg.ES256,
        "es384": c2pa.C2paSigningAlg.ES384,
        "ps256": c2pa.C2paSigningAlg.PS256,
        "ed25519": c2pa.C2paSigningAlg.ED25519,
    }
    c2pa_signer = c2pa.Signer.from_callback(
        signer.sign, algorithms[signer.algorithm.value], signer.certificate_chain_pem.decode(), None
    )
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    output = io.BytesIO()
    with c2pa.Builder(MANIFEST, context) as builder:
        builder.sign(c2pa_signer, "image/jpeg", io.BytesIO(small_jpeg()), output)
    output.seek(0)
    read_context = c2pa.Context.from_dict(
        {"trust": {"user_anchors": anchors_pem}, "verify": {"remote_manifest_fetch": False}}
    )
    reader = c2pa.Reader("image/jpeg", output, context=read_context)
    return str(reader.get_validation_state())


class ExternalCA:
    """A CA outside the key store, for import tests; issues leaves to order."""

    def __init__(self, name: str = "External Root") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def leaf(
        self,
        *,
        ekus: Iterable[x509.ObjectIdentifier] = (
            x509.ObjectIdentifier("1.3.6.1.4.1.62558.2.1"),
            ExtendedKeyUsageOID.EMAIL_PROTECTION,
        ),
        ca: bool = False,
        aki: bool = True,
        self_signed: bool = False,
        days: int = 30,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported signer")])
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=2))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        ekus = list(ekus)
        if ekus:
            builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        issuer_key = key if self_signed else self.key
        if aki:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        return key, builder.sign(issuer_key, hashes.SHA256())


def key_pem(key: ec.EllipticCurvePrivateKey, passphrase: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
