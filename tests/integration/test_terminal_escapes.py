"""A file name full of terminal escapes reaches the terminal escaped, from every command."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner, Result

from cli.main import app
from provenance.keystore import KeyStore
from provenance.keystore.ca import issue_root

PASSPHRASE = "terminal escapes passphrase"
# Colours the name red, then an OSC sequence that retitles the terminal, ended by BEL.
HOSTILE = "\x1b[31mRED\x1b[0m\x1b]0;pwned\x07"


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--home", str(home), *args])


def assert_escaped(result: Result) -> None:
    shown = result.stdout + result.stderr
    assert "\x1b" not in shown and "\x07" not in shown, repr(shown)
    assert "RED" in shown  # still recognisable
    assert "Traceback" not in shown
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", PASSPHRASE)
    path = tmp_path / "store"
    KeyStore.create(path, PASSPHRASE, org="Test Org")
    return path


def test_names_are_hostile_and_usable_on_this_file_system(tmp_path: Path) -> None:
    path = tmp_path / f"{HOSTILE}.jpg"
    path.write_bytes(b"x")
    assert os.fsencode(path.name) == f"{HOSTILE}.jpg".encode()


def test_sign_prints_the_names_escaped(
    home: Path, tmp_path: Path, image_file: Callable[..., Path]
) -> None:
    source = image_file(f"{HOSTILE}.jpg", "JPEG")
    output = tmp_path / f"{HOSTILE}-signed.jpg"
    signed = run(home, "sign", str(source), "-o", str(output))  # also warns: no --model
    assert signed.exit_code == 0, signed.output
    assert_escaped(signed)
    assert signed.stdout.startswith("signed ") and "RED-signed.jpg" in signed.stdout
    assert output.exists()

    again = run(home, "sign", str(source), "-o", str(output), "--model", "m")  # output exists
    assert again.exit_code == 2
    assert_escaped(again)
    assert again.stderr.startswith("error: ") and len(again.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["sign", "{missing}", "-o", "{out}"], 3),
        (["sign", "{junk}", "-o", "{out}"], 3),
        (["watermark", "detect", "{junk}"], 3),
        (["watermark", "detect", "{missing}"], 3),
        (["text", "detect", "{missing}"], 3),
        (["text", "detect", "{binary}"], 3),
        (["trust", "add", "{missing}"], 3),
        (["keys", "import", "ext", "--key", "{missing}", "--chain", "{missing}"], 3),
        (["keys", "backup", "{junk}"], 2),
        (["keys", "restore", "--force", "{missing}"], 3),
    ],
)
def test_error_messages_escape_the_names(
    home: Path, tmp_path: Path, args: list[str], code: int
) -> None:
    paths = {
        name: str(tmp_path / f"{HOSTILE}.{name}") for name in ("missing", "junk", "binary", "out")
    }
    Path(paths["junk"]).write_bytes(b"not an image, not text \x00\x01")
    Path(paths["binary"]).write_bytes(b"\xff\xfe\x00 not UTF-8")
    result = run(home, *[arg.format(**paths) for arg in args])
    assert result.exit_code == code, result.output
    assert_escaped(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


def hostile_ca_pem() -> bytes:
    """A self-signed CA certificate whose subject carries the escapes."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_root(key, f"{HOSTILE} Org", days=365, now=dt.datetime.now(dt.UTC))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_certificate_subjects_are_escaped(home: Path, tmp_path: Path) -> None:
    pem = tmp_path / f"{HOSTILE}.pem"
    pem.write_bytes(hostile_ca_pem())
    added = run(home, "trust", "add", str(pem))
    assert added.exit_code == 0, added.output
    assert_escaped(added)
    assert "RED Org Root CA" in added.stdout
    listed = run(home, "trust", "list")
    assert listed.exit_code == 0 and "RED Org Root CA" in listed.stdout
    assert_escaped(listed)


def test_invalid_identity_names_are_refused_escaped(home: Path) -> None:
    created = run(home, "keys", "create", f"{HOSTILE}id")
    assert created.exit_code == 2
    assert_escaped(created)
