"""Bounded reading of user-given inputs, and atomic file writes.

Every input a command reads goes through ``read_input`` (a path) or ``read_stdin`` (``-``):
only regular files are read, never more than the limit, and opening a FIFO never blocks.
Writes go to a temp file in the target's directory, are fsynced, then ``os.replace``d.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from provenance.errors import InputError, OutputExists, UsageError

__all__ = ["atomic_write", "atomic_write_bytes", "check_paths", "read_input", "read_stdin"]

#: Bytes asked for per read once the expected size has been read (growth, /proc files).
_CHUNK = 1024 * 1024
#: O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
#: O_NOCTTY: a terminal swapped in after the check never becomes the controlling one.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file; pipe data through '-' instead"
    if stat.S_ISCHR(mode):
        return "is a character device, not a regular file"
    if stat.S_ISBLK(mode):
        return "is a block device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def _too_large(limit: int) -> InputError:
    return InputError(f"larger than the {limit:,}-byte limit")


def _os_error(exc: OSError) -> InputError:
    """The one-line InputError for a failed open, stat or read (no path: callers add it)."""
    if isinstance(exc, FileNotFoundError):
        return InputError("no such file")
    if isinstance(exc, PermissionError):
        return InputError("permission denied")
    if isinstance(exc, IsADirectoryError):
        return InputError("is a directory")
    return InputError(f"cannot read: {exc.strerror or exc}")


def read_input(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``limit`` of them.

    ``InputError`` (exit 3) for a missing or unreadable file, a directory, FIFO, device or
    socket (named in the message), and a file over ``limit`` bytes, including one that
    grows past it while being read. Messages do not name the path: callers prefix it.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    try:
        # Checked before opening too: opening some devices has effects (a tape rewinds).
        problem = _not_regular(os.stat(path).st_mode)
        if problem is not None:
            raise InputError(problem)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _os_error(exc) from None
    try:
        with os.fdopen(fd, "rb", buffering=0) as handle:
            info = os.fstat(handle.fileno())  # the file opened, whatever the path is now
            problem = _not_regular(info.st_mode)
            if problem is not None:
                raise InputError(problem)
            if info.st_size > limit:
                raise _too_large(limit)
            return _read_bounded(handle.read, limit, first=info.st_size + 1)
    except OSError as exc:
        raise _os_error(exc) from None


def read_stdin(limit: int) -> bytes:
    """Standard input's bytes, at most ``limit`` of them (``InputError`` beyond that)."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise InputError("cannot read: standard input is closed")
    try:
        return _read_bounded(stream.read, limit, first=_CHUNK)
    except (OSError, ValueError) as exc:  # ValueError: a closed stream
        strerror = exc.strerror if isinstance(exc, OSError) else None
        raise InputError(f"cannot read: {strerror or exc}") from None


def _read_bounded(read: Callable[[int], bytes | None], limit: int, *, first: int) -> bytes:
    """Read until EOF, refusing more than ``limit`` bytes; ``first`` is the first request.

    Asking for one byte more than the file's size sees EOF at once for a file that stays
    put, and catches one that grows (or a /proc file that reports size 0).
    """
    parts: list[bytes] = []
    total = 0
    want = min(first, limit + 1)
    while total <= limit:
        chunk = read(want)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        want = min(_CHUNK, limit + 1 - total)
    if total > limit:
        raise _too_large(limit)
    return parts[0] if len(parts) == 1 else b"".join(parts)


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
    try:
        problem = _not_regular(os.stat(source).st_mode)
    except OSError as exc:
        raise InputError(f"{source}: {_os_error(exc)}") from None
    if problem is not None:
        raise InputError(f"{source}: {problem}")
    if output.exists():
        if output.resolve() == source.resolve():
            raise UsageError(f"{output}: output is the input; the input is never modified")
        if not force:
            raise OutputExists(f"{output}: output already exists (use --force to replace it)")
        if output.is_dir():
            raise UsageError(f"{output}: output is a directory")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: output directory does not exist")
