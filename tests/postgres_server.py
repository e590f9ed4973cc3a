"""A real PostgreSQL server for the tests, started by the suite itself and stopped after.

Debian's ``postgresql`` package (``.ci/run`` installs it when missing) puts ``initdb`` and
``pg_ctl`` under ``/usr/lib/postgresql/VERSION/bin``, not on PATH; ``PG_BIN`` points
elsewhere. The cluster lives in a temporary directory, listens on a unix socket in that
directory only (no TCP port, so a system cluster on 5432 is never touched), and takes
passwords (SCRAM) so that the toolkit's way of passing them, libpq's ``PGPASSFILE``, is
what the tests use. PostgreSQL refuses to run as root: as root the server runs as the
``postgres`` user the package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresServer", "find_binaries", "start_server"]

SUPERUSER = "provenance"


def find_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl`` (the newest version), or None."""
    configured = os.environ.get("PG_BIN")
    candidates = [configured] if configured else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        path = Path(folder)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


class PostgresServer:
    """A running throw-away cluster; ``url(dbname)`` names a database in it."""

    def __init__(self, root: Path, socket_dir: Path, password: str, run_as: str | None) -> None:
        self.root = root
        self.socket_dir = socket_dir
        self.password = password
        self.run_as = run_as
        self.passfile = root / "pgpass"
        self.start_seconds = 0.0
        self._counter = 0
        self._control: tuple[Path, Path, str] | None = None  # pg_ctl's folder, data, -o

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server now (``immediate``: as a crash would, connections cut) until
        ``start``: what a repository outage is."""
        binaries, data, _ = self._controls()
        _run(self.run_as, str(binaries / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop")

    def start(self) -> None:
        """Start it again after ``stop``, on the same socket, waiting until it takes
        connections."""
        binaries, data, options = self._controls()
        _run(
            self.run_as,
            *(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log")),
            *("-o", options, "-w", "-t", "60", "start"),
        )

    def _controls(self) -> tuple[Path, Path, str]:
        if self._control is None:
            raise RuntimeError("this server was not started by start_server")
        return self._control

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql:///{dbname}?host={self.socket_dir}&user={SUPERUSER}"

    def env(self) -> dict[str, str]:
        """What a client needs in its environment: the password file, nothing on argv."""
        return {"PGPASSFILE": str(self.passfile)}

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        self._counter += 1
        name = f"t{self._counter}_{secrets.token_hex(3)}"
        with psycopg.connect(self.url(), autocommit=True, password=self.password) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, dbname: str, statement: str) -> list[tuple[object, ...]]:
        """Run one statement as the superuser (for checks the interface does not offer)."""
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True, password=self.password) as conn:
            cursor = conn.execute(statement)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []


def _command(run_as: str | None, *args: str) -> list[str]:
    if run_as is None:
        return list(args)
    if shutil.which("runuser"):
        return ["runuser", "-u", run_as, "--", *args]
    import shlex

    return ["su", run_as, "-s", "/bin/sh", "-c", shlex.join(args)]


def _run(run_as: str | None, *args: str) -> None:
    result = subprocess.run(
        _command(run_as, *args), capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")


@contextlib.contextmanager
def start_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """initdb in a temporary directory, start on a unix socket there, stop afterwards.

    ``durable``: keep PostgreSQL's fsync on commit (for measurements); the tests turn it
    off. Raises ``LookupError`` with the reason when no server can be had here.
    """
    binaries = find_binaries()
    if binaries is None:
        raise LookupError(
            "no PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin "
            "or PG_BIN): apt-get install postgresql"
        )
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise LookupError(
                "running as root and there is no 'postgres' user to run the server as"
            ) from None
        run_as = account.pw_name
    # Short, and outside pytest's 0700 folders, which the postgres user could not enter
    # (a unix socket path has at most 107 bytes).
    root = Path(tempfile.mkdtemp(prefix="prov-pg-"))
    data, sockets = root / "data", root / "sock"
    password = secrets.token_urlsafe(18)
    pwfile = root / "pwfile"
    try:
        sockets.mkdir()
        pwfile.write_text(password + "\n")
        if run_as is not None:
            account = pwd.getpwnam(run_as)
            for path in (root, sockets, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)
        _run(
            run_as,
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=scram-sha-256",
            "--auth-host=reject",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        pwfile.unlink()
        options = f"-c listen_addresses='' -c unix_socket_directories='{sockets}'"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        started = time.monotonic()
        _run(
            run_as,
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        server = PostgresServer(root, sockets, password, run_as)
        server._control = (binaries, data, options)
        server.start_seconds = time.monotonic() - started
        server.passfile.write_text(f"*:*:*:{SUPERUSER}:{password}\n")
        server.passfile.chmod(0o600)
        try:
            yield server
        finally:
            subprocess.run(
                _command(run_as, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"),
                capture_output=True,
                timeout=60,
                check=False,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
