"""Encrypted backups: round trip, wrong passphrase, tampering, overwrite rules."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fixtures.support import FAST_CONFIG, PASSPHRASE
from provenance.errors import (
    InputError,
    KeyStoreExists,
    OutputExists,
    WrongPassphrase,
)
from provenance.keystore import BACKUP_MAGIC, Algorithm, KeyStore


def test_backup_restore_round_trip(fast_store: KeyStore, tmp_path: Path) -> None:
    fast_store.identities.create("extra", Algorithm.ED25519, passphrase=PASSPHRASE)
    fast_store.watermark_keys.create("wm2")
    backup = fast_store.backup(tmp_path / "store.bak", PASSPHRASE)
    data = backup.read_bytes()
    assert data.startswith(BACKUP_MAGIC) and data[8] == 1
    assert b"BEGIN" not in data and b"extra" not in data  # everything is encrypted
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600

    restored = KeyStore.restore(tmp_path / "elsewhere", backup, PASSPHRASE, config=FAST_CONFIG)
    assert [i.name for i in restored.identities.list()] == ["default", "extra"]
    assert restored.watermark_keys.get("wm2").secret == fast_store.watermark_keys.get("wm2").secret
    assert restored.trust.pem() == fast_store.trust.pem()
    restored.signer("extra", PASSPHRASE).sign(b"x")
    assert stat.S_IMODE(restored.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(next((restored.path / "private").iterdir()).stat().st_mode) == 0o600
    events = (restored.path / "audit.log").read_text()
    assert '"event": "backup"' not in events.splitlines()[0]
    assert '"event": "restore"' in events


def test_wrong_passphrase_on_restore_touches_nothing(fast_store: KeyStore, tmp_path: Path) -> None:
    backup = fast_store.backup(tmp_path / "store.bak", PASSPHRASE)
    target = tmp_path / "target"
    with pytest.raises(WrongPassphrase, match="does not decrypt the backup"):
        KeyStore.restore(target, backup, "wrong")
    assert not target.exists()  # decrypted before anything is created


def test_tampered_or_foreign_backup_is_refused(fast_store: KeyStore, tmp_path: Path) -> None:
    backup = fast_store.backup(tmp_path / "store.bak", PASSPHRASE)
    data = bytearray(backup.read_bytes())
    data[-5] ^= 1
    backup.write_bytes(bytes(data))
    with pytest.raises(WrongPassphrase, match="or the file was altered"):
        KeyStore.restore(tmp_path / "t", backup, PASSPHRASE)
    (tmp_path / "foreign.bin").write_bytes(b"PK\x03\x04 not ours")
    with pytest.raises(InputError, match="not a provenance key store backup"):
        KeyStore.restore(tmp_path / "t", tmp_path / "foreign.bin", PASSPHRASE)


def test_backup_refuses_to_overwrite_without_force(fast_store: KeyStore, tmp_path: Path) -> None:
    existing = tmp_path / "store.bak"
    existing.write_bytes(b"precious")
    with pytest.raises(OutputExists, match=r"already exists$"):
        fast_store.backup(existing, PASSPHRASE)
    assert existing.read_bytes() == b"precious"
    fast_store.backup(existing, PASSPHRASE, force=True)
    assert existing.read_bytes().startswith(BACKUP_MAGIC)


def test_restore_over_existing_store_needs_force_and_keeps_it_aside(
    fast_store: KeyStore, tmp_path: Path
) -> None:
    backup = fast_store.backup(tmp_path / "store.bak", PASSPHRASE)
    fast_store.identities.create("after-backup", Algorithm.ED25519, passphrase=PASSPHRASE)
    with pytest.raises(KeyStoreExists, match="already exists at"):
        KeyStore.restore(fast_store.home, backup, PASSPHRASE)
    restored = KeyStore.restore(fast_store.home, backup, PASSPHRASE, force=True)
    assert [i.name for i in restored.identities.list()] == ["default"]
    (aside,) = fast_store.home.glob("keystore.replaced-*")
    kept = KeyStore.open(fast_store.home)  # the live store is the restored one...
    assert "after-backup" not in [i.name for i in kept.identities.list()]
    assert (aside / "index.json").read_text().count("after-backup") > 0  # ...the old one kept
