"""PostgreSQL manifest repository: one database shared by signers on several machines.

The same interface and the same semantics as ``SQLiteRepository``: ``reserve_id`` inserts
a random 64-bit id (``ON CONFLICT DO NOTHING``, retried), ``put`` fills a reserved row
exactly once, and look-ups go by record id, soft binding or manifest label. Every
statement runs on its own (autocommit), each one atomic; only creating the schema is a
transaction, under an advisory lock so that two processes starting at once do not race.

Opening never creates anything: a database without the tables reads as an empty
repository (what ``verify`` needs), and the first write creates them. Passwords are
never taken from the URL (it would be on a command line): libpq reads them from
``PGPASSWORD``, ``~/.pgpass`` (``PGPASSFILE``) or a service file. One connection per
thread and per process: a forked worker opens its own. A connection lost once the
repository is open (a restart, a fail-over) is made again, within a bound, and the
statement repeated (each is safe to repeat, ``put`` included). docs/repository.md says
how to operate it.

psycopg is imported only here, and this module only by ``open_repository`` for a
``postgresql://`` location, so that nothing else pays for it at start-up.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from provenance.errors import RepositoryError, RepositoryUnreachable, UsageError
from provenance.repository.base import Record, SQLLookups, from_sql, to_sql

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
except ImportError:  # pragma: no cover - the optional extra is not installed
    psycopg = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = 1
RECORDS = "provenance_records"
VERSION_TABLE = "provenance_schema_version"
#: pg_advisory_xact_lock key held while the schema is created or upgraded (an arbitrary
#: constant: the first 8 bytes of sha256("provenance-toolkit repository schema")).
_SCHEMA_LOCK = 0x2F1B_6C0E_55D3_7A41
_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)""",
    f"""CREATE TABLE IF NOT EXISTS {RECORDS} (
    record_id      bigint PRIMARY KEY,   -- the watermark payload, as a signed 64-bit int
    reserved_at    timestamptz NOT NULL DEFAULT now(),
    manifest       bytea,                -- NULL: reserved, not yet filled
    manifest_label text,
    binding_alg    text,
    binding_value  text,
    media_type     text,
    signer         text,
    created_at     timestamptz,
    CHECK ((manifest IS NULL) = (created_at IS NULL))
)""",
    f"CREATE INDEX IF NOT EXISTS {RECORDS}_binding ON {RECORDS} (binding_alg, binding_value)"
    " WHERE manifest IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {RECORDS}_label ON {RECORDS} (manifest_label)"
    " WHERE manifest IS NOT NULL",
    f"INSERT INTO {VERSION_TABLE} (version) VALUES ({SCHEMA_VERSION}) ON CONFLICT DO NOTHING",
)
_COLUMNS = (
    "record_id, manifest, manifest_label, binding_alg, binding_value, media_type, signer, "
    "created_at"
)
_PASSWORD_REFUSED = (
    "the repository URL carries a password, and a URL is seen on command lines and in "
    "process lists: leave it out and let libpq find it in PGPASSWORD, ~/.pgpass "
    "(PGPASSFILE) or a service file (PGSERVICEFILE, ?service=NAME)"
)
#: Seconds to wait for the server when the URL does not say (libpq waits forever).
CONNECT_TIMEOUT = 10
#: How long a lost connection is made again before a statement fails: a restart or a
#: fail-over takes seconds. The waits between attempts (seconds) grow to the last one;
#: a server that does not answer at all adds at most one CONNECT_TIMEOUT. The
#: environment variable RECONNECT_ENV sets another bound (0 to 3600 seconds).
RECONNECT_SECONDS = 30.0
RECONNECT_ENV = "PROVENANCE_REPOSITORY_RECONNECT"
_BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)


def reconnect_seconds() -> float:
    """The reconnect bound: ``RECONNECT_ENV`` when set, else ``RECONNECT_SECONDS``."""
    text = os.environ.get(RECONNECT_ENV, "").strip()
    if not text:
        return RECONNECT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise UsageError(
            f"{RECONNECT_ENV} must be a number of seconds from 0 to 3600, not {text!r}"
        )
    return seconds


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


class PostgresRepository(SQLLookups):
    """A repository in one PostgreSQL database, ``url`` as libpq takes it.

    Connects at once, so that a server that cannot be reached is a usage error
    (``RepositoryUnreachable``) when the repository is opened (at the start of ``sign``
    or ``verify``), not at the first file. Once open, a lost connection is made again
    for up to ``reconnect_seconds`` before a statement fails (``RepositoryError``). A
    schema newer than this version reads is refused.
    """

    _MARK = "%s"

    def __init__(self, url: str) -> None:
        if psycopg is None:  # pragma: no cover - the optional extra is not installed
            raise UsageError(
                "a PostgreSQL repository needs psycopg: pip install 'provenance-toolkit[postgres]'"
            )
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"not a usable PostgreSQL URL: {_first_line(exc)}") from None
        if "password" in params:
            raise UsageError(_PASSWORD_REFUSED)
        self.url = url
        self.reconnect_seconds = reconnect_seconds()
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = CONNECT_TIMEOUT
        if "application_name" not in params:
            extra["application_name"] = "provenance-toolkit"
        self._extra = extra
        self._local = threading.local()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._connections: list[psycopg.Connection[tuple[Any, ...]]] = []
        self._schema_ready = False
        self._outage = False  # reconnecting gave up, and nothing has worked since
        self._opened = False  # the server answered once: a lost connection is then retried
        self._check_schema()
        self._opened = True

    # -- connections --------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        """This thread's connection, made when it has none or lost it (psycopg errors)."""
        pid = os.getpid()
        if pid != self._pid:
            # A forked child: the parent's connections are its own (psycopg does not close
            # them here); this process starts afresh.
            self._pid, self._lock, self._connections = pid, threading.Lock(), []
            self._local = threading.local()
        conn: psycopg.Connection[tuple[Any, ...]] | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        conn = psycopg.connect(self.url, autocommit=True, **self._extra)
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _run(self, what: str, action: Callable[[psycopg.Connection[Any]], T], *, retry: bool) -> T:
        """``action`` on this thread's connection; errors as one line naming ``what``.

        ``retry`` (only for what is safe to repeat): when the connection is lost (the
        server restarted or failed over, an idle connection was dropped) or cannot be
        made again, connect again and repeat, backing off, for up to
        ``reconnect_seconds``; then ``RepositoryError``. Until the server answers again,
        later calls try once and fail at once, so a batch whose server is gone reports
        each file in turn rather than waiting the bound for each. While the repository is
        being opened nothing is repeated: a server that cannot be reached then is
        ``RepositoryUnreachable``, a usage error before any work.
        """
        deadline: float | None = None
        delays = iter(_BACKOFF)
        while True:
            conn: psycopg.Connection[Any] | None = None
            try:
                conn = self._connection()
                result = action(conn)
            except psycopg.Error as exc:
                cause = _first_line(exc)
                if conn is None and not self._opened:
                    raise RepositoryUnreachable(
                        f"cannot connect to the repository {self.url}: {cause}"
                    ) from None
                lost = conn is None or conn.broken
                if not (lost and retry and self._opened):
                    raise RepositoryError(f"{self.url}: {what}: {cause}") from None
            else:
                self._outage = False
                return result
            now = time.monotonic()
            if deadline is None:
                if self._outage:
                    raise RepositoryError(
                        f"{self.url}: {what}: {cause} (the repository is still lost; "
                        f"reconnecting for {self.reconnect_seconds:g} s gave up earlier)"
                    ) from None
                log.warning("repository connection lost (%s); reconnecting", cause)
                deadline = now + self.reconnect_seconds
            delay = next(delays, _BACKOFF[-1])
            if now + delay > deadline:
                self._outage = True
                raise RepositoryError(
                    f"{self.url}: {what}: {cause} (the repository is lost: no connection "
                    f"after reconnecting for {self.reconnect_seconds:g} s)"
                ) from None
            time.sleep(delay)

    # -- the schema ----------------------------------------------------------------------

    def _check_schema(self) -> bool:
        """Whether the tables exist (and are a version this reads); never creates them."""
        if self._schema_ready:
            return True

        def version(conn: psycopg.Connection[Any]) -> int | None:
            row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,)).fetchone()
            if not row or not row[0]:
                return None
            found = conn.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
            return int(found[0]) if found and found[0] is not None else None

        found = self._run("reading the schema version", version, retry=True)
        if found is None:
            return False
        if found != SCHEMA_VERSION:
            raise RepositoryError(
                f"{self.url}: repository schema version {found} is not supported "
                f"(this version reads {SCHEMA_VERSION})"
            )
        self._schema_ready = True
        return True

    def create_schema(self) -> None:
        """Create the tables and indexes if they are missing: one transaction, under an
        advisory lock, so that concurrent first writers wait for each other.

        The first ``reserve_id`` or ``put`` calls it; a database owner can call it once
        beforehand so that signers need no right to create tables."""
        if self._check_schema():
            return

        def create(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    conn.execute(statement)

        try:
            self._run("creating the repository tables", create, retry=True)
        except RepositoryError as exc:
            if "permission denied" in str(exc):
                raise RepositoryError(
                    f"{exc}; the first signer needs the right to create tables in the "
                    "database (or its owner creates them: docs/repository.md)"
                ) from None
            raise
        if not self._check_schema():
            raise RepositoryError(f"{self.url}: the repository tables were not created")
        log.info("created the repository schema (version %d) in %s", SCHEMA_VERSION, self.url)

    # -- the Repository interface ----------------------------------------------------------

    def reserve_id(self) -> int:
        self.create_schema()
        for _ in range(16):  # a clash among 2**64 ids is rare; 16 in a row is impossible
            record_id = secrets.randbits(64)

            def insert(conn: psycopg.Connection[Any], record_id: int = record_id) -> int:
                cursor = conn.execute(
                    f"INSERT INTO {RECORDS} (record_id) VALUES (%s) "
                    "ON CONFLICT (record_id) DO NOTHING",
                    (to_sql(record_id),),
                )
                return cursor.rowcount

            # Safe to repeat: at worst an id reserved and never filled (reads as absent).
            if self._run("reserving a record id", insert, retry=True) == 1:
                return record_id
        raise RepositoryError("could not reserve a free record id")

    def put(self, record: Record) -> None:
        self.create_schema()
        attempts = 0
        values = (
            record.manifest,
            record.manifest_label,
            record.binding_alg,
            record.binding_value,
            record.media_type,
            record.signer,
            record.created_at,
            to_sql(record.record_id),
        )

        def update(conn: psycopg.Connection[Any]) -> int:
            nonlocal attempts
            attempts += 1
            cursor = conn.execute(
                f"UPDATE {RECORDS} SET manifest = %s, manifest_label = %s, binding_alg = %s, "
                "binding_value = %s, media_type = %s, signer = %s, created_at = %s "
                "WHERE record_id = %s AND manifest IS NULL",
                values,
            )
            return cursor.rowcount

        def insert(conn: psycopg.Connection[Any]) -> int:
            cursor = conn.execute(
                f"INSERT INTO {RECORDS} (manifest, manifest_label, binding_alg, binding_value, "
                "media_type, signer, created_at, record_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (record_id) DO NOTHING",
                values,
            )
            return cursor.rowcount

        # Repeated on a lost connection: the first try may have been stored with its
        # answer lost, which the record's label (a new urn:uuid each signature) tells.
        if self._run("storing a record", update, retry=True) == 1:
            return
        if attempts > 1:
            if self._stored_as(record):
                return
            # The server lost this signer's reservation with the connection (a crash
            # under asynchronous commit, a fail-over to a replica behind): the id is still
            # this signer's, and its watermark already carries it.
            if self._run("storing a record", insert, retry=True) == 1 or self._stored_as(record):
                log.warning(
                    "record %s: reserved again, its reservation was lost", record.record_hex
                )
                return
        raise RepositoryError(f"record {record.record_hex} was not reserved or is already stored")

    def _stored_as(self, record: Record) -> bool:
        """Whether ``record``'s id holds ``record`` (by its manifest label)."""
        found = self.get(record.record_id)
        return found is not None and found.manifest_label == record.manifest_label

    def _query(self, where: str, args: tuple[object, ...]) -> list[Record]:
        if not self._check_schema():
            return []  # no tables yet: nothing was ever signed into this database

        def select(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM {RECORDS} WHERE manifest IS NOT NULL AND {where} "
                "ORDER BY created_at, record_id",
                args,
            ).fetchall()

        rows = self._run("reading records", select, retry=True)
        return [
            Record(
                record_id=from_sql(row[0]),
                manifest=bytes(row[1]),
                manifest_label=row[2],
                binding_alg=row[3],
                binding_value=row[4],
                media_type=row[5],
                signer=row[6],
                created_at=row[7].astimezone(dt.UTC),
            )
            for row in rows
        ]

    def close(self) -> None:
        """Close this process's connections (every thread's)."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> PostgresRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
