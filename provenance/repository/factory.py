"""Opening a repository from a path or URL: the one place that knows the backends."""

from __future__ import annotations

from pathlib import Path

from provenance.errors import UsageError
from provenance.repository.base import Repository


def open_repository(location: str | Path) -> Repository:
    """A repository from a path (SQLite file) or a URL.

    ``sqlite:///abs/path.db`` or a plain path opens SQLite; ``postgresql://...`` (or
    ``postgres://``) a PostgreSQL database through psycopg (the ``postgres`` extra),
    imported only then. Opening creates a SQLite file but never PostgreSQL tables: those
    are made by the first write (docs/repository.md).
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from provenance.repository.postgres import PostgresRepository

        return PostgresRepository(text)
    from provenance.repository.sqlite import SQLiteRepository

    if text.startswith("sqlite:///"):
        return SQLiteRepository(Path(text.removeprefix("sqlite://")))
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise UsageError(
            f"repository URL scheme {scheme!r} is not supported; use a SQLite path "
            "(sqlite:///path/to/repository.db) or a PostgreSQL URL (postgresql://...)"
        )
    return SQLiteRepository(Path(text))
