"""Issue 23, items 1 and 5, through the real CLI: a revocation is its own CA's word about
its own certificates (another trusted root's CRL, even one under the same name and key
identifier, revokes nothing of RT3 Lab's), and a key taken with its key store cannot be
saved by that store's own time-stamps (a stolen copy signing under a clock set back)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE, encode, natural_image
from tests.integration.test_timestamps import FaultyTSA

FAKETIME = shutil.which("faketime")
PROVENANCE = Path(sys.executable).with_name("provenance")


def run(home: Path, *args: str) -> Result:
    env = {"PROVENANCE_PASSPHRASE": PASSPHRASE, "PROVENANCE_HOME": None}
    result = CliRunner(env=env).invoke(app, ["--home", str(home), *args])
    assert "Traceback" not in result.output
    return result


def ok(home: Path, *args: str) -> Result:
    result = run(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def verified(home: Path, *args: str) -> dict[str, Any]:
    (line,) = run(home, "verify", "--jsonl", *args).stdout.splitlines()
    found: dict[str, Any] = json.loads(line)
    return found


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("issuers") / "gen.png"
    path.write_bytes(encode(natural_image(160, 120, seed=23), "PNG"))
    return path


# --- item 1: a CRL from another trusted root --------------------------------------------


def _impostor_root(
    genuine: x509.Certificate,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A partner's root with RT3 Lab's root's very name and key identifier, another key."""
    key = ec.generate_private_key(ec.SECP384R1())
    ski = genuine.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(genuine.subject)
        .issuer_name(genuine.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA384())
    )
    return key, certificate


def _crl_listing(serial: int, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate) -> bytes:
    now = dt.datetime.now(dt.UTC)
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(serial)
        .revocation_date(now - dt.timedelta(hours=1))
        .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
        .build()
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=7))
        .add_revoked_certificate(entry)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False)
        .sign(key, hashes.SHA384())
    )
    return crl.public_bytes(serialization.Encoding.PEM)


def test_a_crl_from_another_trusted_root_revokes_nothing_of_this_signer(
    tmp_path: Path, image: Path
) -> None:
    rt3, home_b = tmp_path / "rt3", tmp_path / "homeB"
    ok(rt3, "keys", "init", "--org", "RT3 Lab")
    signed = tmp_path / "rt3.png"
    ok(rt3, "sign", str(image), "-o", str(signed), "--no-watermark")
    root_pem = ok(rt3, "keys", "export", "--root").stdout.encode()
    genuine = x509.load_pem_x509_certificate(root_pem)
    leaf = x509.load_pem_x509_certificates(ok(rt3, "keys", "export", "default").stdout.encode())[0]

    key, impostor = _impostor_root(genuine)
    (tmp_path / "rt3-root.pem").write_bytes(root_pem)
    (tmp_path / "partner-root.pem").write_bytes(impostor.public_bytes(serialization.Encoding.PEM))
    partner_crl = tmp_path / "partner.crl.pem"
    partner_crl.write_bytes(_crl_listing(leaf.serial_number, key, impostor))

    ok(home_b, "keys", "init", "--org", "Verifier Org")
    ok(home_b, "trust", "add", str(tmp_path / "rt3-root.pem"))
    assert verified(home_b, str(signed))["verdict"] == "trusted"
    added = ok(home_b, "trust", "add", str(tmp_path / "partner-root.pem"))
    assert "warning: " in added.stderr and "has the name of trust anchor" in added.stderr
    assert genuine.subject.rfc4514_string() in added.stderr

    # Through `verify --crl`: the CRL is consulted (its anchor signed it), yet it is the
    # partner's word about the partner's certificates only.
    found = verified(home_b, "--crl", str(partner_crl), str(signed))
    assert found["verdict"] == "trusted", found["summary"]
    assert "revoked" not in found["summary"]
    (line,) = [s for s in found["credentials"]["revocation_sources"] if s.startswith("CRL of")]
    assert line.endswith("(1 revoked)"), line  # applied, not ignored
    # After `trust add` of the CRL: the same.
    ok(home_b, "trust", "add", str(partner_crl))
    found = verified(home_b, str(signed))
    assert found["verdict"] == "trusted", found["summary"]

    # RT3 Lab's own CRL still revokes its own certificate.
    ok(rt3, "keys", "revoke", "default", "--reason", "keyCompromise")
    own_crl = tmp_path / "rt3.crl.pem"
    own_crl.write_text(ok(rt3, "keys", "export", "--crl").stdout)
    found = verified(home_b, "--crl", str(own_crl), str(signed))
    assert found["verdict"] == "invalid" and "CRL of RT3 Lab Root CA" in found["summary"]


# --- item 5: a stolen key store and a clock set back ------------------------------------


def faked(home: Path, offset: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert FAKETIME is not None
    env = {**os.environ, "PROVENANCE_PASSPHRASE": PASSPHRASE}
    env.pop("PROVENANCE_HOME", None)
    command = [FAKETIME, "-f", offset, str(PROVENANCE), "--home", str(home), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def tsa() -> Iterator[FaultyTSA]:
    authority = FaultyTSA()
    yield authority
    authority.close()


@pytest.mark.skipif(FAKETIME is None, reason="libfaketime missing: apt-get install faketime")
def test_a_stolen_store_cannot_sign_before_a_key_compromise(
    tmp_path: Path, image: Path, tsa: FaultyTSA
) -> None:
    home, stolen, home_b = tmp_path / "home", tmp_path / "stolen", tmp_path / "homeB"
    ok(home, "keys", "init", "--org", "Press Org")
    ok(home, "keys", "create", "press2")
    tsa_root = tmp_path / "tsa-root.pem"
    tsa_root.write_bytes(tsa.root.public_bytes(serialization.Encoding.PEM))
    ok(home, "trust", "add", str(tsa_root))
    # Signed honestly before the theft: one stamp from the store's own authority, one
    # from an external one.
    own, external = tmp_path / "own.png", tmp_path / "external.png"
    ok(home, "sign", str(image), "-o", str(own), "-i", "press2", "--no-watermark")
    tsa.mode = "ok"
    ok(home, "sign", str(image), "-o", str(external), "-i", "press2", "--no-watermark",
       "--tsa", tsa.url)  # fmt: skip
    shutil.copytree(home, stolen)

    time.sleep(1.1)  # the revocation (whole seconds) comes after both stamps
    revoked = ok(home, "keys", "revoke", "press2", "--reason", "keyCompromise")
    assert "note: a compromised key" in revoked.stderr
    assert "this store's own time-stamping authority is now invalid" in revoked.stderr
    assert "root CA is compromised too" in revoked.stderr

    forged = tmp_path / "forged.png"
    faked(stolen, "-20s", "sign", str(image), "-o", str(forged), "-i", "press2", "--no-watermark")

    bundle = tmp_path / "root-and-crl.pem"
    bundle.write_text(
        ok(home, "keys", "export", "--root").stdout + ok(home, "keys", "export", "--crl").stdout
    )
    ok(home_b, "keys", "init", "--org", "Verifier Org")
    ok(home_b, "trust", "add", str(bundle))
    ok(home_b, "trust", "add", str(tsa_root))
    for verifier, source in ((home, "this key store"), (home_b, "CRL of Press Org Root CA")):
        found = verified(verifier, str(forged))
        assert found["verdict"] == "invalid", found["summary"]
        assert "because its key was compromised" in found["summary"], found["summary"]
        assert source in found["summary"]
        assert found["credentials"]["signed_at"] is not None  # stamped "before", by its own TSA
        # The honest signature stamped by the store's own authority cannot be told from
        # the forgery: it is invalid too.
        assert verified(verifier, str(own))["verdict"] == "invalid"
        # An external authority's stamp still shows it was signed before the revocation.
        kept = verified(verifier, str(external))
        assert kept["verdict"] == "trusted", kept["summary"]
        assert "signed before press2 was revoked on" in kept["summary"]
