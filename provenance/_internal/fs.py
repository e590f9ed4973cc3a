"""Atomic file writes: temp file in the target's directory, fsync, os.replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from provenance.errors import InputError, OutputExists, UsageError

__all__ = ["atomic_write", "atomic_write_bytes", "check_paths"]


@contextlib.contextmanager
def atomic_write(path: Path, mode: int = 0o644) -> Iterator[IO[bytes]]:
    """Yield a binary file that replaces ``path`` only if the block completes.

    On any exception the temporary file is removed and ``path`` is untouched, so a
    reader never sees a partial file and a failed write never destroys the old one.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically with the given permission bits."""
    with atomic_write(path, mode) as handle:
        handle.write(data)


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_paths(source: Path, output: Path, *, force: bool = False) -> None:
    """Refuse a bad input or output before any expensive work (or passphrase prompt)."""
    if not source.exists():
        raise InputError(f"{source}: no such file")
    if not source.is_file():
        raise InputError(f"{source}: not a regular file")
    if output.exists():
        if output.resolve() == source.resolve():
            raise UsageError(f"{output}: output is the input; the input is never modified")
        if not force:
            raise OutputExists(f"{output}: output already exists (use --force to replace it)")
        if output.is_dir():
            raise UsageError(f"{output}: output is a directory")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: output directory does not exist")
