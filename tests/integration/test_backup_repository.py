"""Backups that restore everything (issue 14, item 8): keys, trust and the SQLite repository.

Signed with a watermark, backed up, restored into a new home: a stripped copy verified
there reads ``recovered``, as it did in the old home.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.keystore import KeyStore
from provenance.keystore.backup import _open
from provenance.repository import Record, SQLiteRepository


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def strip(data: bytes) -> bytes:
    """A platform's copy: re-encoded JPEG, no metadata."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def verdict(home: Path, path: Path) -> str:
    result = run("--home", str(home), "verify", "--json", str(path))
    reports = json.loads(result.stdout)
    return str(reports[0]["verdict"])


def labels(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT manifest_label FROM records")}
    except sqlite3.OperationalError:  # not even the table
        return set()
    finally:
        db.close()


@pytest.fixture
def signed(tmp_path: Path, env_store: KeyStore, home: Path) -> Path:
    """A watermarked, signed image; its record in HOME/repository.sqlite."""
    source = tmp_path / "in.jpg"
    source.write_bytes(encode(natural_image(512, 384), "JPEG", quality=92))
    result = run("sign", str(source), "-o", str(tmp_path / "signed.jpg"), "--model", "gen")
    assert result.exit_code == 0, result.output
    assert (home / "repository.sqlite").is_file()
    return tmp_path / "signed.jpg"


def test_a_restored_home_recovers_stripped_copies(signed: Path, home: Path, tmp_path: Path) -> None:
    backup = tmp_path / "home.bak"
    result = run("keys", "backup", str(backup))
    assert result.exit_code == 0, result.output
    assert "and the repository" in result.stdout and "(1 record)" in result.stdout

    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(strip(signed.read_bytes()))
    assert verdict(home, stripped) == "recovered"

    new_home = tmp_path / "new-home"
    result = run("--home", str(new_home), "keys", "restore", str(backup))
    assert result.exit_code == 0, result.output
    assert f"the repository at {new_home / 'repository.sqlite'} (1 record)" in result.stdout
    assert verdict(new_home, stripped) == "recovered"
    assert verdict(new_home, signed) == "trusted"  # the trust anchors came back too

    # Left out, the same restore reads `watermarked`, and both commands say why.
    bare = tmp_path / "bare.bak"
    result = run("keys", "backup", "--no-repository", str(bare))
    assert result.exit_code == 0 and "repository" not in result.stdout
    other = tmp_path / "other-home"
    result = run("--home", str(other), "keys", "restore", str(bare))
    assert result.exit_code == 0 and "the backup holds no repository" in result.stdout
    assert verdict(other, stripped) == "watermarked"


def test_the_copy_is_consistent_while_a_signer_holds_the_log(
    signed: Path, home: Path, tmp_path: Path
) -> None:
    """Records still in the write-ahead log (a connection open, no checkpoint) are in the
    backup: it is taken through SQLite, not by copying the file."""
    live = SQLiteRepository(home / "repository.sqlite")
    record_id = live.reserve_id()
    live.put(
        Record(
            record_id=record_id,
            manifest=b"manifest",
            manifest_label="urn:c2pa:in-the-log",
            binding_alg="org.example",
            binding_value="v",
            media_type="image/jpeg",
            signer="default",
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    assert (home / "repository.sqlite-wal").stat().st_size > 0
    raw = tmp_path / "raw-copy.sqlite"
    raw.write_bytes((home / "repository.sqlite").read_bytes())
    assert "urn:c2pa:in-the-log" not in labels(raw)  # what a copy of the file would keep

    backup = tmp_path / "home.bak"
    result = run("keys", "backup", str(backup))
    assert result.exit_code == 0 and "(2 records)" in result.stdout, result.output
    live.close()
    restored = KeyStore.restore(tmp_path / "new", backup, PASSPHRASE)
    assert restored.restored_repository is not None
    assert restored.restored_repository.records == 2
    with SQLiteRepository(tmp_path / "new" / "repository.sqlite") as repo:
        assert repo.get_by_label("urn:c2pa:in-the-log") is not None


def test_restoring_over_a_repository_keeps_it_aside(
    signed: Path, home: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "home.bak"
    assert run("keys", "backup", str(backup)).exit_code == 0
    target = tmp_path / "target"
    target.mkdir()
    with SQLiteRepository(target / "repository.sqlite") as existing:
        existing.reserve_id()  # a repository of its own, no key store
    result = run("--home", str(target), "keys", "restore", str(backup))
    assert result.exit_code == 2
    assert "a repository already exists" in result.output and "--force" in result.output
    assert not (target / "keystore").exists()  # nothing was touched

    result = run("--home", str(target), "keys", "restore", "--force", str(backup))
    assert result.exit_code == 0, result.output
    (aside,) = target.glob("repository.replaced-*.sqlite")
    assert f"kept at {aside}" in result.output
    with SQLiteRepository(aside) as kept:
        assert kept.find_by_binding("org.provenance-toolkit.wm.image.v1", "x") == []
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(strip(signed.read_bytes()))
    assert verdict(target, stripped) == "recovered"


def test_a_postgresql_repository_is_named_as_left_out(
    signed: Path, home: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["keys", "backup", str(tmp_path / "b.bak"), "--repository", "postgresql:///prov"],
    )
    assert result.exit_code == 0, result.output
    # The home's SQLite repository still comes along; the PostgreSQL one is said to not.
    assert "and the repository" in result.stdout
    assert "PostgreSQL repository is not in this backup" in result.stderr
    assert "pg_dump" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_backup_without_a_repository_says_so_and_stays_version_1(
    env_store: KeyStore, home: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["keys", "backup", str(tmp_path / "b.bak")])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"note: no repository at {home / 'repository.sqlite'}: the backup holds the key store only"
    )
    blob = (tmp_path / "b.bak").read_bytes()
    payload = json.loads(_open(tmp_path / "b.bak", blob, PASSPHRASE.encode()))
    assert payload["version"] == 1 and "repository" not in payload  # older toolkits read it
    restored = KeyStore.restore(tmp_path / "new", tmp_path / "b.bak", PASSPHRASE)
    assert restored.restored_repository is None
    assert not (tmp_path / "new" / "repository.sqlite").exists()
