"""Key store faults not covered elsewhere: a write that fails before its rename, a process
killed between the temporary write and ``os.replace``, and a wrong passphrase on a write.

Covered in test_keystore_integrity.py: a rename failing with a full disk, corrupt and
foreign indexes, the lock timeout and two processes rotating at once; wrong and missing
passphrases on signing in test_keystore.py. Each test here ends by signing and writing.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.support import FAST_CONFIG, PASSPHRASE
from provenance.errors import KeyStoreError, WrongPassphrase
from provenance.keystore import Algorithm, KeyStore


def _snapshot(home: Path) -> dict[Path, bytes]:
    """Every store file but the append-only audit log."""
    root = home / "keystore"
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "audit.log"}


def _still_usable(home: Path, identity: str = "default") -> None:
    store = KeyStore.open(home, config=FAST_CONFIG)
    store.signer(identity, PASSPHRASE).sign(b"still works")
    store.identities.create("afterwards", Algorithm.ED25519, passphrase=PASSPHRASE)
    store.signer("afterwards", PASSPHRASE).sign(b"and writes too")


def test_disk_full_during_the_write_leaves_no_temp_file(
    fast_store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(fast_store.path.parent)

    def disk_full(fd: int) -> None:  # the data did not fit: fsync reports ENOSPC
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("provenance._internal.fs.os.fsync", disk_full)
    with pytest.raises(KeyStoreError, match="disk is full"):
        fast_store.identities.rotate("default", PASSPHRASE)
    monkeypatch.undo()
    assert _snapshot(fast_store.path.parent) == before
    assert not list(fast_store.path.rglob("*.tmp"))
    _still_usable(fast_store.path.parent)


def _crash_at_replace(home: str, operation: str, crash_at: int) -> None:
    """In a child: run ``operation`` and die (no cleanup, like SIGKILL) at the n-th rename."""
    real_replace = os.replace
    count = 0

    def replace(src: str | Path, dst: str | Path) -> None:
        nonlocal count
        count += 1
        if count == crash_at:
            os._exit(9)  # the temporary file is written and fsynced, the rename never happens
        real_replace(src, dst)

    setattr(os, "replace", replace)  # noqa: B010  # in this child process only
    store = KeyStore.open(Path(home), config=FAST_CONFIG)
    if operation == "create":
        store.identities.create("doomed", Algorithm.ED25519, passphrase=PASSPHRASE)
    else:
        store.identities.rotate("default", PASSPHRASE)
    os._exit(0)  # the operation finished before the n-th rename


def _run_child(target: Callable[..., None], *args: object) -> int | None:
    process = multiprocessing.get_context("fork").Process(target=target, args=args)
    process.start()
    process.join(60)
    return process.exitcode


@pytest.mark.parametrize("operation", ["create", "rotate"])
def test_crash_between_write_and_rename_loses_nothing(
    store_home: Path, tmp_path: Path, operation: str
) -> None:
    """Kill the writer at each rename in turn, each time on a fresh copy of the store."""
    versions_before = len(KeyStore.open(store_home).identities.get("default").versions)
    for crash_at in range(1, 50):
        home = tmp_path / f"crash-{crash_at}"
        shutil.copytree(store_home, home)
        exitcode = _run_child(_crash_at_replace, str(home), operation, crash_at)
        if exitcode == 0:
            break
        assert exitcode == 9
        assert list(home.rglob(".*.tmp")), "the crash left no written temporary file"
        store = KeyStore.open(home, config=FAST_CONFIG)
        store.signer("default", PASSPHRASE).sign(b"after a crash")
        versions = store.identities.get("default").versions
        assert [v.status for v in versions].count("active") == 1
        # The interrupted operation can simply be run again.
        if operation == "create":
            if "doomed" not in [i.name for i in store.identities.list()]:
                store.identities.create("doomed", Algorithm.ED25519, passphrase=PASSPHRASE)
            store.signer("doomed", PASSPHRASE).sign(b"x")
        else:
            store.identities.rotate("default", PASSPHRASE)
            assert len(store.identities.get("default").versions) in (
                versions_before + 1,
                versions_before + 2,
            )
        _still_usable(home)
    else:
        pytest.fail("the operation never finished")
    assert crash_at > 1, "no rename happened: the fault was never injected"


def test_wrong_passphrase_on_a_write_changes_nothing(fast_store: KeyStore) -> None:
    before = _snapshot(fast_store.path.parent)
    with pytest.raises(WrongPassphrase):
        fast_store.identities.rotate("default", "not the passphrase")
    with pytest.raises(WrongPassphrase):
        fast_store.identities.create("nope", Algorithm.ED25519, passphrase="not the passphrase")
    assert _snapshot(fast_store.path.parent) == before
    assert not list(fast_store.path.rglob("*.tmp"))
    _still_usable(fast_store.path.parent)
