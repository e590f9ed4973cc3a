"""Revocation reaching every verifier, through the real CLI: `keys revoke --since`, the
root CA's CRL (`keys export --crl`), `trust add` of it in another home, `verify --crl`,
stale and foreign CRLs; and the key store's time-stamping authority (`keys tsa`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE, encode, natural_image

FAKETIME = shutil.which("faketime")
PROVENANCE = Path(sys.executable).with_name("provenance")


def run(home: Path, *args: str, passphrase: str | None = PASSPHRASE) -> Result:
    env = {"PROVENANCE_PASSPHRASE": passphrase, "PROVENANCE_HOME": None}
    result = CliRunner(env=env).invoke(app, ["--home", str(home), *args])
    assert "Traceback" not in result.output
    return result


def ok(home: Path, *args: str) -> Result:
    result = run(home, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def reports(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class World:
    issuer: Path
    root: Path  # the issuer's root CA certificate, PEM
    crl: Path  # the CRL the issuer exported after both revocations
    press: list[Path]  # signed by "press", revoked --since before it signed them
    desk: Path  # signed by "desk", revoked after it signed (time-stamped before)
    base: Path

    def home(self, name: str, org: str) -> Path:
        home = self.base / name
        ok(home, "keys", "init", "--org", org)
        return home


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("revocation")
    issuer = base / "issuer"
    ok(issuer, "keys", "init", "--org", "Issuer Org")
    image, text = base / "gen.png", base / "answer.txt"
    image.write_bytes(encode(natural_image(160, 120, seed=5), "PNG"))
    text.write_text("The capital of France is Paris; the Seine runs through it.\n")

    ok(issuer, "keys", "create", "desk")
    desk = base / "desk-signed.png"
    ok(issuer, "sign", str(image), "-o", str(desk), "-i", "desk", "--no-watermark")
    desk_signed = utc_now()

    ok(issuer, "keys", "create", "press")
    since = utc_now()
    press = [base / "press-signed.png", base / "press-signed.txt"]
    for source, output in zip((image, text), press, strict=True):
        ok(issuer, "sign", str(source), "-o", str(output), "-i", "press", "--no-watermark")
    revoked = ok(
        issuer, "keys", "revoke", "press", "--reason", "keyCompromise", "--since", since.isoformat()
    )
    assert f"as of {since:%Y-%m-%d %H:%M:%S} UTC" in revoked.stdout
    assert "CRL number 1" in revoked.stderr

    # "desk" is revoked now, after its signature's time-stamp (a second later at least).
    time.sleep(max(0.0, (desk_signed + dt.timedelta(seconds=1.1) - utc_now()).total_seconds()))
    ok(issuer, "keys", "revoke", "desk", "--reason", "superseded")

    crl, root = base / "crl.pem", base / "root.pem"
    crl.write_text(ok(issuer, "keys", "export", "--crl").stdout)
    root.write_text(ok(issuer, "keys", "export", "--root").stdout)
    return World(issuer, root, crl, press, desk, base)


def test_the_issuing_home_itself(world: World) -> None:
    result = run(world.issuer, "verify", "--jsonl", *map(str, world.press), str(world.desk))
    assert result.exit_code == 1
    press_image, press_text, desk = reports(result)
    for found in (press_image, press_text):
        assert found["verdict"] == "invalid" and "revoked" in found["summary"]
        assert found["credentials"]["signed_at"] is not None  # stamped, but after --since
        assert found["credentials"]["revocation_sources"] == ["this key store"]
    assert desk["verdict"] == "trusted"
    assert "signed before desk was revoked on" in desk["summary"]
    shown = ok(world.issuer, "keys", "show", "press")
    assert "revoked:" in shown.stdout and "(keyCompromise)" in shown.stdout
    assert "untrusted from: " in shown.stdout
    row = json.loads(ok(world.issuer, "keys", "show", "press", "--json").stdout)
    assert row["revoked_since"] < row["revoked_at"]


def test_a_home_that_imported_the_crl_reads_invalid(world: World) -> None:
    second = world.home("second", "Second Org")
    bundle = world.base / "root-and-crl.pem"
    bundle.write_text(world.root.read_text() + world.crl.read_text())
    added = ok(second, "trust", "add", str(bundle))  # the root and the CRL in one file
    assert "added: " in added.stdout and "O=Issuer Org,CN=Issuer Org Root CA" in added.stdout
    assert "added CRL: " in added.stdout and "number 2, 2 revoked" in added.stdout
    listed = json.loads(ok(second, "trust", "list", "--json").stdout)
    (crl_row,) = [row for row in listed if row["kind"] == "crl"]
    assert (crl_row["number"], crl_row["entries"], crl_row["stale"], crl_row["usable"]) == (
        2,
        2,
        False,
        True,
    )
    assert "CRL O=Issuer Org,CN=Issuer Org Root CA number 2" in ok(second, "trust", "list").stdout

    result = run(second, "verify", "--jsonl", *map(str, world.press), str(world.desk))
    assert result.exit_code == 1, result.stderr
    press_image, press_text, desk = reports(result)
    for found in (press_image, press_text):
        assert found["verdict"] == "invalid", found
        assert "CRL of Issuer Org Root CA" in found["summary"]
        sources = found["credentials"]["revocation_sources"]
        assert sources[0] == "this key store"
        assert sources[1].startswith("CRL of Issuer Org Root CA, issued ")
        assert sources[1].endswith("(2 revoked)")
    assert desk["verdict"] == "trusted" and "signed before desk was revoked" in desk["summary"]

    # Importing the same CRL again changes nothing; removing it forgets the revocations.
    again = ok(second, "trust", "add", str(world.crl))
    assert again.stdout.startswith("CRL already imported")
    removed = ok(second, "trust", "remove", crl_row["id"])
    assert removed.stdout.startswith(f"removed: {crl_row['id']}  CRL ")
    after = run(second, "verify", "--jsonl", str(world.press[0]))
    assert after.exit_code == 0 and reports(after)[0]["verdict"] == "trusted"


def test_a_home_without_the_crl_is_told_nothing_false(world: World) -> None:
    third = world.home("third", "Third Org")
    ok(third, "trust", "add", str(world.root))
    result = run(third, "verify", "--jsonl", *map(str, world.press))
    assert result.exit_code == 0
    for found in reports(result):
        assert found["verdict"] == "trusted"
        assert found["credentials"]["revocation_sources"] == ["this key store"]
    # The CRL for one run: --crl.
    once = run(third, "verify", "--jsonl", "--crl", str(world.crl), *map(str, world.press))
    assert once.exit_code == 1
    assert [r["verdict"] for r in reports(once)] == ["invalid", "invalid"]
    bad = run(third, "verify", "--crl", str(world.root), str(world.press[0]))
    assert bad.exit_code == 2 and "--crl" in bad.stderr and "holds no CRL" in bad.stderr


def test_a_crl_from_a_non_anchor_is_ignored_and_said_so(world: World) -> None:
    stranger = world.home("stranger", "Stranger Org")  # does not trust Issuer Org
    result = run(stranger, "verify", "--jsonl", "--crl", str(world.crl), str(world.press[0]))
    assert result.exit_code == 0
    (found,) = reports(result)
    assert found["verdict"] == "valid"  # signer not trusted here, and not revoked for it
    sources = found["credentials"]["revocation_sources"]
    assert sources[1].endswith("ignored, its issuer is not a trust anchor here")
    imported = ok(stranger, "trust", "add", str(world.crl))
    assert "verify ignores this CRL until its issuer is trusted" in imported.stderr
    assert "ignored: issuer not a trust anchor" in ok(stranger, "trust", "list").stdout


@pytest.mark.skipif(FAKETIME is None, reason="libfaketime missing: apt-get install faketime")
def test_a_stale_crl_is_applied_and_reported(world: World) -> None:
    late = world.home("late", "Late Org")
    ok(late, "trust", "add", str(world.root))
    ok(late, "trust", "add", str(world.crl))
    assert FAKETIME is not None
    env = {**os.environ, "PROVENANCE_PASSPHRASE": PASSPHRASE}
    env.pop("PROVENANCE_HOME", None)
    command = [FAKETIME, "-f", "+8d", str(PROVENANCE), "--home", str(late)]
    verified = subprocess.run(
        [*command, "verify", "--jsonl", str(world.press[0])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 1, verified.stderr
    (found,) = reports(verified)  # type: ignore[arg-type]
    assert found["verdict"] == "invalid"
    (stale,) = [s for s in found["credentials"]["revocation_sources"] if s.startswith("CRL")]
    assert "stale: its next update was due" in stale and "(applied anyway)" in stale
    listed = subprocess.run(
        [*command, "trust", "list"], capture_output=True, text=True, env=env, check=False
    )
    assert "STALE" in listed.stdout


def test_export_crl_prints_the_latest_without_a_passphrase(world: World) -> None:
    latest = run(world.issuer, "keys", "export", "--crl", passphrase=None)
    assert latest.exit_code == 0 and latest.stdout == world.crl.read_text()
    fresh = ok(world.issuer, "keys", "export", "--crl", "--days", "3")
    assert fresh.stdout.startswith("-----BEGIN X509 CRL-----") and fresh.stdout != latest.stdout
    assert run(world.issuer, "keys", "export", "--days", "3", "--root").exit_code == 2
    empty = world.home("empty", "Empty Org")
    refused = run(empty, "keys", "export", "--crl", passphrase=None)
    assert refused.exit_code == 1 and "a passphrase is needed" in refused.stderr
    assert ok(empty, "keys", "export", "--crl").stdout.startswith("-----BEGIN X509 CRL-----")


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("2999-01-01T00:00:00Z", "is in the future"),
        ("2000-01-01", "before identity 'default' had a valid certificate"),
        ("2026-01-01T00:00:00", "has no time zone"),
        ("yesterday", "is not a time"),
    ],
)
def test_revoke_since_refusals(world: World, tmp_path: Path, since: str, message: str) -> None:
    home = tmp_path / "home"
    shutil.copytree(world.issuer, home)
    result = run(home, "keys", "revoke", "default", "--since", since)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (
        "revoked" not in json.loads(ok(home, "keys", "show", "default", "--json").stdout)["status"]
    )


def test_keys_tsa_show_switch_rotate(world: World, tmp_path: Path) -> None:
    home = tmp_path / "tsa-home"
    shutil.copytree(world.issuer, home)
    shown = ok(home, "keys", "tsa")
    assert "mode:         local" in shown.stdout
    assert "subject:      O=Issuer Org,CN=Issuer Org Time-Stamping Authority" in shown.stdout
    assert "tsa" in ok(home, "keys", "list").stdout
    before = json.loads(ok(home, "keys", "show", "tsa", "--json").stdout)
    assert before["kind"] == "time-stamping" and before["version"] == 1

    used = ok(home, "keys", "tsa", "--use", "https://tsa.example.com/tsr")
    assert "mode:         external: https://tsa.example.com/tsr" in used.stdout
    bad = run(home, "keys", "tsa", "--use", "ftp://tsa.example.com")
    assert bad.exit_code == 2 and "not a time-stamping authority URL" in bad.stderr
    assert "mode:         local" in ok(home, "keys", "tsa", "--local").stdout
    assert run(home, "keys", "tsa", "--local", "--create").exit_code == 2
    assert run(home, "keys", "tsa", "--create").exit_code == 2  # it has one already

    rotated = ok(home, "keys", "rotate", "tsa")
    assert "rotated the time-stamping authority: version 2" in rotated.stdout
    after = json.loads(ok(home, "keys", "show", "tsa", "--json").stdout)
    assert [v["status"] for v in after["versions"]] == ["retired", "active"]
    # Content stamped by the old TSA certificate keeps verifying.
    assert reports(run(home, "verify", "--jsonl", str(world.desk)))[0]["verdict"] == "trusted"
    refused = run(home, "keys", "revoke", "tsa")
    assert refused.exit_code == 2 and "keys rotate tsa" in refused.stderr
    assert run(home, "keys", "create", "tsa").exit_code == 2


def test_backup_restore_carries_the_tsa(world: World, tmp_path: Path) -> None:
    backup = tmp_path / "store.bak"
    ok(world.issuer, "keys", "backup", str(backup))
    restored = tmp_path / "restored"
    ok(restored, "keys", "restore", str(backup))
    assert ok(restored, "keys", "tsa").stdout == ok(world.issuer, "keys", "tsa").stdout
    image = tmp_path / "after.png"
    image.write_bytes(encode(natural_image(96, 64, seed=9), "PNG"))
    signed = ok(restored, "sign", str(image), "-o", str(tmp_path / "out.png"), "--no-watermark")
    assert "time-stamped by the key store's time-stamping authority" in signed.stdout
    found = reports(run(restored, "verify", "--jsonl", str(tmp_path / "out.png")))[0]
    assert found["verdict"] == "trusted" and found["credentials"]["signed_at"] is not None


def test_an_old_store_gets_its_tsa_with_keys_tsa_create(world: World, tmp_path: Path) -> None:
    from tests.unit.test_keystore_tsa import make_old

    home = tmp_path / "old"
    shutil.copytree(world.issuer, home)
    make_old(home)
    shown = ok(home, "keys", "tsa")
    assert "none yet: run `provenance keys tsa --create`" in shown.stdout
    assert "none yet" in ok(home, "keys", "list").stdout
    created = ok(home, "keys", "tsa", "--create")
    assert "created the time-stamping authority" in created.stderr
    assert "Time-Stamping Authority" in created.stdout
