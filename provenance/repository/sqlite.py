"""SQLite manifest repository: WAL mode, safe for concurrent writers in several processes.

Every write is one short ``BEGIN IMMEDIATE`` transaction, so writers queue on SQLite's
lock (with a busy timeout) instead of failing; readers never block in WAL mode.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from provenance.errors import RepositoryError, UsageError
from provenance.repository.base import Record, SQLLookups, from_sql, to_sql

log = logging.getLogger(__name__)

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_id      INTEGER PRIMARY KEY,   -- the watermark payload, as a signed 64-bit int
    reserved_at    TEXT NOT NULL,
    manifest       BLOB,
    manifest_label TEXT,
    binding_alg    TEXT,
    binding_value  TEXT,
    media_type     TEXT,
    signer         TEXT,
    created_at     TEXT
);
CREATE INDEX IF NOT EXISTS records_binding ON records (binding_alg, binding_value);
CREATE INDEX IF NOT EXISTS records_label ON records (manifest_label);
"""
_COLUMNS = (
    "record_id, manifest, manifest_label, binding_alg, binding_value, media_type, signer, "
    "created_at"
)


class SQLiteRepository(SQLLookups):
    """A repository in one SQLite file; one connection per thread."""

    _MARK = "?"

    def __init__(self, path: Path, *, busy_timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise UsageError(f"{self.path.parent}: repository folder does not exist")
        self._timeout = busy_timeout_seconds
        self._local = threading.local()
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):  # executescript would commit early
                if statement.strip():
                    db.execute(statement)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            elif version != _SCHEMA_VERSION:
                raise RepositoryError(
                    f"{self.path}: repository schema version {version} is not supported "
                    f"(this version reads {_SCHEMA_VERSION})"
                )

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.DatabaseError as exc:
                raise RepositoryError(f"{self.path}: not a usable repository ({exc})") from None
            self._local.db = db
        return db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise RepositoryError(f"{self.path}: {exc}") from None

    def reserve_id(self) -> int:
        now = dt.datetime.now(dt.UTC).isoformat()
        for _ in range(16):  # a clash among 2**64 ids is rare; 16 in a row is impossible
            record_id = secrets.randbits(64)
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO records (record_id, reserved_at) VALUES (?, ?)",
                    (to_sql(record_id), now),
                )
                if cursor.rowcount == 1:
                    return record_id
        raise RepositoryError("could not reserve a free record id")

    def put(self, record: Record) -> None:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE records SET manifest = ?, manifest_label = ?, binding_alg = ?, "
                "binding_value = ?, media_type = ?, signer = ?, created_at = ? "
                "WHERE record_id = ? AND manifest IS NULL",
                (
                    record.manifest,
                    record.manifest_label,
                    record.binding_alg,
                    record.binding_value,
                    record.media_type,
                    record.signer,
                    record.created_at.isoformat(),
                    to_sql(record.record_id),
                ),
            )
            if cursor.rowcount != 1:
                raise RepositoryError(
                    f"record {record.record_hex} was not reserved or is already stored"
                )

    def _query(self, where: str, args: tuple[object, ...]) -> list[Record]:
        try:
            rows = (
                self._connection()
                .execute(
                    f"SELECT {_COLUMNS} FROM records WHERE manifest IS NOT NULL AND {where}", args
                )
                .fetchall()
            )
        except sqlite3.DatabaseError as exc:
            raise RepositoryError(f"{self.path}: {exc}") from None
        return [
            Record(
                record_id=from_sql(row[0]),
                manifest=bytes(row[1]),
                manifest_label=row[2],
                binding_alg=row[3],
                binding_value=row[4],
                media_type=row[5],
                signer=row[6],
                created_at=dt.datetime.fromisoformat(row[7]),
            )
            for row in rows
        ]

    def close(self) -> None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def __enter__(self) -> SQLiteRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
