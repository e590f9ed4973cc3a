"""The manifest repository: signed manifests kept by record id for soft-binding recovery.

When a platform strips an image's metadata, the watermark still carries the record id;
the repository gives back the manifest that was signed for it. ``open_repository``
takes a path or URL; SQLite ships, and any other backend implements ``Repository``.
"""

from __future__ import annotations

from provenance.repository.base import DEFAULT_FILENAME, Record, Repository
from provenance.repository.factory import open_repository
from provenance.repository.sqlite import SQLiteRepository

__all__ = ["DEFAULT_FILENAME", "Record", "Repository", "SQLiteRepository", "open_repository"]
