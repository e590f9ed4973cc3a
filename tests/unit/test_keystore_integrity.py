"""Corrupt and foreign files, failing writes, locking and concurrent writers."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
from pathlib import Path

import filelock
import pytest

from fixtures.support import FAST_CONFIG, PASSPHRASE
from provenance.errors import KeyStoreCorrupt, KeyStoreError
from provenance.keystore import Algorithm, KeyStore, KeyStoreConfig


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"format": "someone-else", "version": 1}', "not a provenance key store index"),
        (b'{"format": "provenance-keystore", "version": 99}', "index version 99 is not supported"),
        (b"[1, 2, 3]", "must be a JSON object"),
    ],
    ids=["bad-json", "foreign", "future-version", "wrong-schema"],
)
def test_corrupt_or_foreign_index_is_named_and_never_overwritten(
    store_home: Path, content: bytes, message: str
) -> None:
    index = store_home / "keystore" / "index.json"
    index.write_bytes(content)
    with pytest.raises(KeyStoreCorrupt, match=message) as caught:
        KeyStore.open(store_home)
    assert str(index) in str(caught.value)
    assert index.read_bytes() == content


def test_writes_refuse_a_corrupt_index(fast_store: KeyStore) -> None:
    document = json.loads((fast_store.path / "index.json").read_text())
    document["identities"]["default"]["versions"][0]["status"] = "sparkling"
    damaged = json.dumps(document).encode()
    (fast_store.path / "index.json").write_bytes(damaged)
    with pytest.raises(KeyStoreCorrupt, match="unknown identity status 'sparkling'"):
        fast_store.identities.create("new", Algorithm.ED25519, passphrase=PASSPHRASE)
    assert (fast_store.path / "index.json").read_bytes() == damaged


def test_tampered_key_file_is_corruption_not_a_wrong_passphrase(fast_store: KeyStore) -> None:
    key_file = next((fast_store.path / "private").glob("default.*"))
    key_file.write_bytes(key_file.read_bytes().replace(b"A", b"B", 1))
    with pytest.raises(KeyStoreCorrupt, match=f"{key_file}.*SHA-256 mismatch"):
        fast_store.signer(None, PASSPHRASE)


def test_corrupt_watermark_and_trust_files_are_named(fast_store: KeyStore) -> None:
    keys = fast_store.path / "watermark" / "keys.json"
    keys.write_text('{"format": "provenance-watermark-keys", "version": 1}')
    with pytest.raises(KeyStoreCorrupt, match=str(keys)):
        fast_store.watermark_keys.get()
    anchor = next((fast_store.path / "trust").glob("*.pem"))
    anchor.write_text("garbage")
    with pytest.raises(KeyStoreCorrupt, match=str(anchor)):
        fast_store.trust.pem()


def test_failing_write_leaves_the_store_intact_and_usable(
    fast_store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {p: p.read_bytes() for p in fast_store.path.rglob("*") if p.is_file()}

    def disk_full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("provenance._internal.fs.os.replace", disk_full)
    with pytest.raises(KeyStoreError, match=r"disk is full.*unchanged"):
        fast_store.identities.create("doomed", Algorithm.ED25519, passphrase=PASSPHRASE)
    with pytest.raises(KeyStoreError, match="disk is full"):
        fast_store.identities.rotate("default", PASSPHRASE)
    monkeypatch.undo()
    after = {p: p.read_bytes() for p in fast_store.path.rglob("*") if p.is_file()}
    audit = fast_store.path / "audit.log"
    assert {p: d for p, d in after.items() if p != audit} == {
        p: d for p, d in before.items() if p != audit
    }
    assert [i.name for i in fast_store.identities.list()] == ["default"]
    fast_store.signer(None, PASSPHRASE).sign(b"still works")
    fast_store.identities.create("later", Algorithm.ED25519, passphrase=PASSPHRASE)


def test_lock_timeout_gives_a_clear_error(store_home: Path) -> None:
    config = KeyStoreConfig(scrypt=FAST_CONFIG.scrypt, lock_timeout_seconds=0.2)
    busy = KeyStore.open(store_home, config=config)
    with (
        filelock.FileLock(store_home / ".keystore.lock"),
        pytest.raises(KeyStoreError, match="is busy: another provenance process"),
    ):
        busy.watermark_keys.create("blocked")


def _create(home: str, name: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    store = KeyStore.open(Path(home), config=FAST_CONFIG)
    barrier.wait()
    store.identities.create(name, Algorithm.ED25519, passphrase=PASSPHRASE)


def _rotate(home: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    store = KeyStore.open(Path(home), config=FAST_CONFIG)
    barrier.wait()
    store.identities.rotate("default", PASSPHRASE)


def _run_all(targets: list[tuple[object, tuple[object, ...]]]) -> None:
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=t, args=a) for t, a in targets]  # type: ignore[arg-type]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0] * len(processes)


def test_two_processes_create_identities_at_once(store_home: Path) -> None:
    barrier = multiprocessing.get_context("fork").Barrier(2)
    home = str(store_home)
    _run_all([(_create, (home, "alpha", barrier)), (_create, (home, "beta", barrier))])
    store = KeyStore.open(store_home)
    assert [i.name for i in store.identities.list()] == ["alpha", "beta", "default"]
    for name in ("alpha", "beta"):
        store.signer(name, PASSPHRASE).sign(b"x")


def test_two_processes_rotate_at_once(store_home: Path) -> None:
    barrier = multiprocessing.get_context("fork").Barrier(2)
    home = str(store_home)
    _run_all([(_rotate, (home, barrier)), (_rotate, (home, barrier))])
    info = KeyStore.open(store_home).identities.get("default")
    assert [v.status for v in info.versions] == ["retired", "retired", "active"]
    assert len({v.serial for v in info.versions}) == 3
    assert len(list((store_home / "keystore" / "private").glob("default.*"))) == 1
    KeyStore.open(store_home).signer("default", PASSPHRASE).sign(b"x")
