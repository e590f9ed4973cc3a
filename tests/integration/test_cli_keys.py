"""`provenance keys` and `provenance trust` through typer's CliRunner: exit code AND message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE, ExternalCA, cert_pem, key_pem

APP = app  # the real command tree, as users run it


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli-template") / "home"
    result = CliRunner(env={"PROVENANCE_PASSPHRASE": PASSPHRASE}).invoke(
        APP, ["--home", str(home), "keys", "init", "--org", "CLI Org"]
    )
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def home(initialised: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(initialised, target)
    return target


def run(home: Path, *args: str, passphrase: str | None = PASSPHRASE) -> Result:
    env = {"PROVENANCE_PASSPHRASE": passphrase}
    return CliRunner(env=env).invoke(APP, ["--home", str(home), *args])


def test_init_prints_result_and_refuses_a_second_time(home: Path, tmp_path: Path) -> None:
    result = run(tmp_path / "fresh", "keys", "init")
    assert result.exit_code == 0
    assert "created key store at" in result.stdout and "identity default: es256" in result.stdout
    again = run(home, "keys", "init")
    assert again.exit_code == 2
    assert "error: a key store already exists" in again.stderr


def test_init_without_passphrase_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path / "fresh", "keys", "init", passphrase=None)
    assert result.exit_code == 1
    assert "a passphrase is needed" in result.stderr and "PROVENANCE_PASSPHRASE" in result.stderr


def test_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path / "empty", "keys", "list")
    assert result.exit_code == 2
    assert "error: no key store at" in result.stderr and "provenance keys init" in result.stderr


def test_create_list_show_json(home: Path) -> None:
    created = run(home, "keys", "create", "bot", "--alg", "ed25519", "--days", "30")
    assert created.exit_code == 0 and "created identity bot (ed25519" in created.stdout
    listed = run(home, "keys", "list", "--json")
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)
    assert [(r["kind"], r["name"], r["algorithm"], r["status"]) for r in rows] == [
        ("signing", "bot", "ed25519", "active"),
        ("signing", "default", "es256", "active"),
        ("time-stamping", "tsa", "es256", "active"),
    ]
    plain = run(home, "keys", "list")
    assert "* default" in plain.stdout and "bot" in plain.stdout
    shown = run(home, "keys", "show", "bot")
    assert shown.exit_code == 0 and "subject:      O=CLI Org,CN=bot" in shown.stdout
    assert json.loads(run(home, "keys", "show", "bot", "--json").stdout)["version"] == 1


def test_wrong_passphrase_and_bad_algorithm(home: Path) -> None:
    wrong = run(home, "keys", "create", "bot", passphrase="not the store's passphrase")
    assert wrong.exit_code == 1
    assert "error: the passphrase does not decrypt the key for the key store's root CA" in (
        wrong.stderr
    )
    bad = run(home, "keys", "create", "bot", "--alg", "rsa1024")
    assert bad.exit_code == 2


def test_unknown_identity_exits_2(home: Path) -> None:
    result = run(home, "keys", "show", "ghost")
    assert result.exit_code == 2
    assert "error: no signing identity named 'ghost'" in result.stderr


def test_rotate_revoke_export(home: Path) -> None:
    rotated = run(home, "keys", "rotate", "default")
    assert rotated.exit_code == 0 and "version 2" in rotated.stdout
    exported = run(home, "keys", "export", "default")
    assert exported.exit_code == 0 and exported.stdout.startswith("-----BEGIN CERTIFICATE-----")
    revoked = run(home, "keys", "revoke", "default", "--reason", "laptop stolen")
    assert (
        revoked.exit_code == 0 and "revoked identity default (2 certificate(s))" in revoked.stdout
    )
    shown = run(home, "keys", "show", "default")
    assert "status:       revoked" in shown.stdout and "laptop stolen" in shown.stdout
    again = run(home, "keys", "rotate", "default")
    assert again.exit_code == 1 and "revoked and cannot be rotated" in again.stderr


def test_import_refusal_explains_c2pa_message(home: Path, tmp_path: Path) -> None:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca = ExternalCA()
    key, leaf = ca.leaf(ekus=(ExtendedKeyUsageOID.SERVER_AUTH,))
    (tmp_path / "k.pem").write_bytes(key_pem(key))
    (tmp_path / "c.pem").write_bytes(cert_pem(leaf))
    result = run(home, "keys", "import", "web", "--key", str(tmp_path / "k.pem"), "--chain",
                 str(tmp_path / "c.pem"))  # fmt: skip
    assert result.exit_code == 1
    assert "serverAuth" in result.stderr and "'the certificate is invalid'" in result.stderr
    assert result.stderr.count("\n") == 1  # one line, no traceback

    good_key, good_leaf = ca.leaf()
    (tmp_path / "k.pem").write_bytes(key_pem(good_key))
    (tmp_path / "c.pem").write_bytes(cert_pem(good_leaf))
    ok = run(home, "keys", "import", "ext", "--key", str(tmp_path / "k.pem"), "--chain",
             str(tmp_path / "c.pem"))  # fmt: skip
    assert ok.exit_code == 0 and "imported identity ext" in ok.stdout
    assert "provenance trust add" in ok.stderr


def test_backup_and_restore(home: Path, tmp_path: Path) -> None:
    backup = tmp_path / "ks.bak"
    assert run(home, "keys", "backup", str(backup)).exit_code == 0
    exists = run(home, "keys", "backup", str(backup))
    assert exists.exit_code == 2 and "already exists (use --force to replace it)" in exists.stderr
    assert run(home, "keys", "backup", str(backup), "--force").exit_code == 0
    refused = run(home, "keys", "restore", str(backup))
    assert refused.exit_code == 2 and "(use --force to replace it)" in refused.stderr
    wrong = run(tmp_path / "other", "keys", "restore", str(backup), passphrase="nope")
    assert wrong.exit_code == 1 and "does not decrypt the backup" in wrong.stderr
    restored = run(tmp_path / "other", "keys", "restore", str(backup))
    assert restored.exit_code == 0 and "(1 identities)" in restored.stdout
    forced = run(home, "keys", "restore", str(backup), "--force")
    assert forced.exit_code == 0 and len(list(home.glob("keystore.replaced-*"))) == 1


def test_trust_add_list_remove(home: Path, tmp_path: Path) -> None:
    ca = ExternalCA("Partner Root")
    (tmp_path / "roots.pem").write_bytes(ca.pem)
    added = run(home, "trust", "add", str(tmp_path / "roots.pem"))
    assert added.exit_code == 0 and added.stdout.startswith("added: ")
    again = run(home, "trust", "add", str(tmp_path / "roots.pem"))
    assert "already trusted" in again.stdout
    rows = json.loads(run(home, "trust", "list", "--json").stdout)
    assert [r["local_root"] for r in rows] == [True, False]
    plain = run(home, "trust", "list")
    assert "(local root CA)" in plain.stdout and "CN=Partner Root" in plain.stdout
    removed = run(home, "trust", "remove", rows[1]["id"])
    assert removed.exit_code == 0 and "removed: " in removed.stdout
    missing = run(home, "trust", "remove", rows[1]["id"])
    assert missing.exit_code == 2 and "no trust anchor with id" in missing.stderr
    _, leaf = ca.leaf()
    (tmp_path / "leaf.pem").write_bytes(cert_pem(leaf))
    refused = run(home, "trust", "add", str(tmp_path / "leaf.pem"))
    assert refused.exit_code == 1 and "is an end-entity (signing) certificate" in refused.stderr
    assert "`provenance keys export --root`" in refused.stderr
    assert f"`provenance trust allow {tmp_path / 'leaf.pem'}`" in refused.stderr
    unreadable = run(home, "trust", "add", str(tmp_path / "nothing.pem"))
    assert unreadable.exit_code == 3 and "cannot read" in unreadable.stderr


# -- issue 12: exports, the allowed list, passphrase length -----------------------------


def _signed_image(home: Path, tmp_path: Path) -> Path:
    """A PNG signed by the store at ``home`` (through the library)."""
    from fixtures.support import encode, natural_image
    from provenance.credentials.manifest import AIContent
    from provenance.credentials.sign import ManifestSigner
    from provenance.keystore import KeyStore
    from provenance.signing.sign import sign_bytes

    signer = ManifestSigner(KeyStore.open(home).signer(None, PASSPHRASE))
    signed = sign_bytes(encode(natural_image(96, 64), "PNG"), signer, AIContent(model="m"))
    path = tmp_path / "signed.png"
    path.write_bytes(signed.data)
    return path


def test_short_passphrases_are_refused_for_new_keys_and_backups(home: Path, tmp_path: Path) -> None:
    expected = "error: a passphrase needs at least 12 characters (this one has 5) to "
    for args, where in (
        (("keys", "init"), tmp_path / "fresh"),
        (("keys", "create", "bot"), home),
        (("keys", "rotate", "default"), home),
        (("keys", "backup", str(tmp_path / "ks.bak")), home),
    ):
        result = run(where, *args, passphrase="short")
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1
    assert not (tmp_path / "fresh" / "keystore").exists() and not (tmp_path / "ks.bak").exists()


def test_export_writes_the_chain_to_its_root_and_the_root_alone(home: Path) -> None:
    chain = run(home, "keys", "export", "default")
    assert chain.exit_code == 0 and chain.stdout.count("-----BEGIN CERTIFICATE-----") == 2
    root = run(home, "keys", "export", "--root")
    assert root.exit_code == 0 and root.stdout.count("-----BEGIN CERTIFICATE-----") == 1
    assert chain.stdout.endswith(root.stdout)
    for args in ((), ("default", "--root"), ("--root", "--tsa")):
        refused = run(home, "keys", "export", *args)
        assert refused.exit_code == 2 and "name one identity, or pass --root or --tsa" in (
            refused.stderr
        )


def test_trust_add_of_an_exported_chain_adds_the_root(
    home: Path, initialised: Path, tmp_path: Path
) -> None:
    partner = tmp_path / "partner"
    assert run(partner, "keys", "init", "--org", "Partner Lab").exit_code == 0
    (tmp_path / "chain.pem").write_text(run(partner, "keys", "export", "default").stdout)
    added = run(home, "trust", "add", str(tmp_path / "chain.pem"))
    assert added.exit_code == 0
    assert added.stdout.startswith("added: ") and "CN=Partner Lab Root CA" in added.stdout
    assert "note: left out, not a root CA: O=Partner Lab,CN=default" in added.stderr


def test_trust_allow_list_remove_and_verify_with_it(home: Path, tmp_path: Path) -> None:
    partner = tmp_path / "partner"
    assert run(partner, "keys", "init", "--org", "Partner Lab").exit_code == 0
    signed = _signed_image(partner, tmp_path)
    chain = tmp_path / "chain.pem"
    chain.write_text(run(partner, "keys", "export", "default").stdout)
    leaf = tmp_path / "leaf.pem"
    from cryptography import x509

    leaf.write_bytes(cert_pem(x509.load_pem_x509_certificates(chain.read_bytes())[0]))

    untrusted = run(home, "verify", str(signed))
    assert untrusted.exit_code == 0 and untrusted.stdout.startswith("valid ")
    as_anchor = run(home, "verify", "--trust-anchors", str(leaf), str(signed))
    assert as_anchor.stdout.startswith("valid ")
    assert f"warning: {leaf}: O=Partner Lab,CN=default is an end-entity (signing) " in (
        as_anchor.stderr
    )
    assert "makes nothing trusted" in as_anchor.stderr and "--allowed-list" in as_anchor.stderr
    flagged = run(home, "verify", "--allowed-list", str(leaf), str(signed))
    assert flagged.exit_code == 0 and flagged.stdout.startswith("trusted ")
    assert "warning" not in flagged.stderr

    allowed = run(home, "trust", "allow", str(chain))
    assert allowed.exit_code == 0 and allowed.stdout.startswith("allowed: ")
    assert "note: left out, a CA certificate: O=Partner Lab,CN=Partner Lab Root CA" in (
        allowed.stderr
    )
    rows = json.loads(run(home, "trust", "list", "--json").stdout)
    assert [(r["kind"], r["subject"]) for r in rows] == [
        ("anchor", "O=CLI Org,CN=CLI Org Root CA"),
        ("allowed", "O=Partner Lab,CN=default"),
    ]
    assert "(allowed signer)" in run(home, "trust", "list").stdout
    assert run(home, "verify", str(signed)).stdout.startswith("trusted ")
    assert run(home, "trust", "allow", str(leaf)).stdout.startswith("already allowed: ")
    ca_refused = run(home, "trust", "allow", str(tmp_path / "root.pem"))
    assert ca_refused.exit_code == 3  # no such file
    (tmp_path / "root.pem").write_text(run(partner, "keys", "export", "--root").stdout)
    ca_refused = run(home, "trust", "allow", str(tmp_path / "root.pem"))
    assert ca_refused.exit_code == 1 and "is a CA certificate: the allowed list" in (
        ca_refused.stderr
    )

    removed = run(home, "trust", "remove", rows[1]["id"])
    assert removed.exit_code == 0 and "(allowed signer)" in removed.stdout
    assert run(home, "verify", str(signed)).stdout.startswith("valid ")
