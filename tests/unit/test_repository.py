from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from provenance.errors import RepositoryError, UsageError
from provenance.repository import Record, SQLiteRepository, open_repository

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def record(record_id: int, label: str = "urn:c2pa:x", value: str = "AAAA") -> Record:
    return Record(
        record_id=record_id,
        manifest=b"\x00jumbf" + label.encode(),
        manifest_label=label,
        binding_alg="org.example.wm.v1",
        binding_value=value,
        media_type="image/jpeg",
        signer="default",
        created_at=NOW,
    )


def test_reserve_put_get_round_trip(tmp_path: Path) -> None:
    with SQLiteRepository(tmp_path / "r.db") as repo:
        record_id = repo.reserve_id()
        assert repo.get(record_id) is None  # reserved, not yet stored
        repo.put(record(record_id, value="v1"))
        got = repo.get(record_id)
        assert got == record(record_id, value="v1")
        assert repo.find_by_binding("org.example.wm.v1", "v1") == [got]
        assert repo.find_by_binding("other", "v1") == []
        assert repo.get_by_label("urn:c2pa:x") == got
        with pytest.raises(RepositoryError, match="already stored"):
            repo.put(record(record_id))
        with pytest.raises(RepositoryError, match="not reserved"):
            repo.put(record(12345))


def test_ids_above_2_63_survive_sqlite_signed_integers(tmp_path: Path) -> None:
    repo = SQLiteRepository(tmp_path / "r.db")
    top = 2**64 - 1
    with repo._transaction() as db:  # reserve a chosen id the way reserve_id does
        db.execute("INSERT INTO records (record_id, reserved_at) VALUES (?, ?)", (-1, "now"))
    repo.put(record(top))
    assert repo.get(top) == record(top)
    with pytest.raises(ValueError, match="64 bits"):
        record(2**64)


def _sign_many(path: str, count: int, queue: multiprocessing.Queue[list[int]]) -> None:
    repo = SQLiteRepository(Path(path))
    ids = []
    for index in range(count):
        record_id = repo.reserve_id()
        repo.put(record(record_id, label=f"urn:{record_id}", value=str(index)))
        ids.append(record_id)
    queue.put(ids)


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    SQLiteRepository(Path(path)).close()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[int]] = context.Queue()
    workers = [context.Process(target=_sign_many, args=(path, 150, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    all_ids = results[0] + results[1]
    assert len(set(all_ids)) == 300
    repo = SQLiteRepository(Path(path))
    assert all(repo.get(i) is not None for i in all_ids)
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_corrupt_or_foreign_files_are_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RepositoryError, match=r"junk\.db"):
        SQLiteRepository(junk)
    assert junk.read_bytes().startswith(b"this is not a database")  # never overwritten
    newer = tmp_path / "newer.db"
    sqlite3.connect(newer).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(RepositoryError, match="schema version 99"):
        SQLiteRepository(newer)


def test_open_repository_locations(tmp_path: Path) -> None:
    assert isinstance(open_repository(tmp_path / "a.db"), SQLiteRepository)
    assert isinstance(open_repository(f"sqlite://{tmp_path}/b.db"), SQLiteRepository)
    with pytest.raises(UsageError, match="'mysql' is not supported"):
        open_repository("mysql://db.example/provenance")
    # PostgreSQL is tried (tests/integration/test_postgres.py); a password in the URL is
    # refused before connecting.
    with pytest.raises(UsageError, match="carries a password"):
        open_repository("postgresql://signer:secret@db.example/provenance")
    with pytest.raises(UsageError, match="folder does not exist"):
        open_repository(tmp_path / "missing" / "c.db")


def test_the_reconnect_bound_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from provenance.repository.postgres import RECONNECT_ENV, RECONNECT_SECONDS, reconnect_seconds

    monkeypatch.delenv(RECONNECT_ENV, raising=False)
    assert reconnect_seconds() == RECONNECT_SECONDS
    monkeypatch.setenv(RECONNECT_ENV, "2.5")
    assert reconnect_seconds() == 2.5
    for bad in ("soon", "-1", "3601", "nan"):
        monkeypatch.setenv(RECONNECT_ENV, bad)
        with pytest.raises(UsageError, match=RECONNECT_ENV):
            reconnect_seconds()
