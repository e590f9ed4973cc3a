"""Bounded reading of user-given inputs, and atomic file writes.

Every input a command reads goes through ``read_input`` (a path) or ``read_stdin`` (``-``),
or ``open_input`` for content read as a stream (audio, video): only regular files are
read, never more than the limit, and opening a FIFO never blocks.

Every output goes through ``write_output`` (``check_output`` first, before expensive work):
a temporary file with a short name of its own in the output's folder, fsynced, then put in
place whole. Without ``force`` it is hard-linked to the output's name, which fails if the
name exists, so of two writers to one name exactly one wins (no check-then-write race);
with ``force`` it is renamed over the output, which must be a regular file (or absent).
Every failure is one ``OutputError`` line and no file is left behind (docs/design.md,
"Writing").
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, BinaryIO, TypeVar, cast

from provenance.errors import InputError, OutputError, OutputExists, OutputRefused, UsageError

T = TypeVar("T")

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


def _kind_of(mode: int) -> str:
    """What a file that is not regular is, for messages ("a FIFO (named pipe)", ...)."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    hint = "; pipe data through '-' instead" if stat.S_ISFIFO(mode) else ""
    return f"is {_kind_of(mode)}, not a regular file{hint}"


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
    with open_input(path, limit) as handle:
        return read_opened(handle, limit)


def read_opened(handle: BinaryIO, limit: int) -> bytes:
    """The whole of a file ``open_input`` opened, from its start, at most ``limit`` bytes
    (``InputError`` beyond them, also for a file that grows while it is read)."""
    try:
        handle.seek(0)
        size = os.fstat(handle.fileno()).st_size
        return _read_bounded(handle.read, limit, first=size + 1)
    except OSError as exc:
        raise _os_error(exc) from None


@contextlib.contextmanager
def open_input(path: Path, limit: int) -> Iterator[io.BufferedReader]:
    """The regular file ``path`` (symlinks followed) opened for reading as a seekable
    binary stream, for content read in pieces, never whole (audio, video).

    The same refusals as ``read_input`` (one line, no path), checked on the file that was
    opened: not a regular file, or over ``limit`` bytes. The stream is closed on exit.
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
        info = os.fstat(fd)  # the file opened, whatever the path is now
        problem = _not_regular(info.st_mode)
        if problem is None:
            os.set_blocking(fd, True)  # a regular file: O_NONBLOCK served the open only
        handle = os.fdopen(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise _os_error(exc) from None
    with handle:
        if problem is not None:
            raise InputError(problem)
        if info.st_size > limit:
            raise _too_large(limit)
        yield handle


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


#: Temporary files get short names of their own, never built from the output's name: a
#: valid output name (up to NAME_MAX bytes) always leaves room for the temporary one.
_TMP_PREFIX = ".prov-"
_TMP_SUFFIX = ".tmp"
#: What link(2) answers on file systems without hard links (FAT, exFAT, some FUSE/SMB).
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})
#: Kernel file systems: whatever errno they give, the answer is "not here".
_KERNEL_FS = ("/proc", "/sys")


def _exists_message(path: Path) -> str:
    return f"{path}: output already exists"


def _check_replaceable(path: Path) -> None:
    """Refuse to replace anything but a regular file (absent is fine).

    A symbolic link is never followed: it is replaced itself, and only when what it points
    to is a regular file or nothing (a dangling link); its target is left as it was.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(info.st_mode):
        return
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            return  # dangling (or a loop): replacing the link loses nothing
        if stat.S_ISREG(target.st_mode):
            return
        raise OutputRefused(
            f"{path}: is a symbolic link to {_kind_of(target.st_mode)}, not a regular "
            "file; refusing to replace it"
        )
    kind = _kind_of(info.st_mode)
    raise OutputRefused(f"{path}: is {kind}, not a regular file; refusing to replace it")


def _under_kernel_fs(path: Path) -> str | None:
    where = os.path.realpath(path.parent)
    for root in _KERNEL_FS:
        if where == root or where.startswith(root + "/"):
            return root
    return None


def output_error(path: Path, exc: OSError) -> OutputError:
    """The one-line error for an OSError met while checking or writing the output ``path``.

    ``OutputRefused`` (exit 2) for what the caller can fix by choosing another path; plain
    ``OutputError`` (exit 1) for a disk that is full, an I/O error and the rest.
    """
    path = Path(path)
    kernel = _under_kernel_fs(path)
    if kernel is not None:
        return OutputRefused(
            f"{path}: is under {kernel}, a kernel file system; outputs cannot be written there"
        )
    code = exc.errno
    refused = {
        errno.ENOENT: f"{path.parent}: output directory does not exist",
        errno.ENOTDIR: f"{path}: a part of the output's path is not a directory",
        errno.EACCES: f"{path}: permission denied",
        errno.EPERM: f"{path}: permission denied",
        errno.EROFS: f"{path}: the file system is read-only",
        errno.ENAMETOOLONG: f"{path}: the name is too long for the file system",
        errno.EISDIR: f"{path}: is a directory",
        errno.ELOOP: f"{path}: too many levels of symbolic links",
        errno.EXDEV: f"{path}: is a mount point (on another file system); cannot replace it",
        errno.EBUSY: f"{path}: is in use (a mount point?); cannot replace it",
    }
    if code in refused:
        return OutputRefused(refused[code])
    if code == errno.ENOSPC:
        return OutputError(f"{path}: no space left on the device; nothing was written")
    if code == errno.EDQUOT:
        return OutputError(f"{path}: disk quota exceeded; nothing was written")
    if code == errno.EFBIG:
        return OutputError(f"{path}: too large for the file system; nothing was written")
    return OutputError(f"{path}: cannot write: {exc.strerror or exc}; nothing was written")


@contextlib.contextmanager
def atomic_write(
    path: Path, mode: int = 0o644, *, replace: bool, readable: bool = False
) -> Iterator[IO[bytes]]:
    """Yield a binary file that becomes ``path`` whole, and only if the block completes.

    ``replace=False``: the finished file is hard-linked to ``path``, which fails with
    ``OutputExists`` if the name exists, however late it appeared (on a file system without
    hard links: the name is claimed with O_EXCL, then the file renamed over the claim).
    ``replace=True``: renamed over ``path``, which must be absent or a regular file (or a
    symbolic link to one, which is replaced itself), else ``OutputRefused``.

    ``readable``: the file is opened for reading too (a writer that goes back over what
    it wrote, as c2pa-rs does to patch a manifest into a stream).

    On any exception the temporary file is removed and ``path`` is untouched. Other
    failures are the OSError itself (``write_output`` turns them into one line).
    """
    path = Path(path)
    if replace:
        _check_replaceable(path)
    fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, mode)
            handle = os.fdopen(fd, "w+b" if readable else "wb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            _check_replaceable(path)  # again: it may have changed while the data was written
            os.replace(tmp, path)
        else:
            _link_into_place(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _link_into_place(tmp: Path, path: Path) -> None:
    """Give the finished ``tmp`` the name ``path`` unless that name exists (then refuse)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExists(_exists_message(path)) from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        _claim_then_rename(tmp, path)
        return
    with contextlib.suppress(OSError):
        tmp.unlink()


def _claim_then_rename(tmp: Path, path: Path) -> None:
    """No hard links here: create ``path`` exclusively (empty), then rename ``tmp`` over it.

    Still exactly one winner (O_EXCL), but the name is an empty file for the moment
    between the two steps, and stays one if the process is killed right then.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        os.close(os.open(path, flags, 0o600))
    except FileExistsError:
        raise OutputExists(_exists_message(path)) from None
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` atomically with the given permission bits.

    For the toolkit's own files (key store, tokens), replaced by default; OSErrors are
    raised as they are, for the caller to word.
    """
    with atomic_write(path, mode, replace=replace) as handle:
        handle.write(data)


def write_output(path: Path, data: bytes, *, force: bool, mode: int = 0o644) -> None:
    """Write a user-named output whole, or not at all; every failure is one error line.

    Without ``force`` an existing ``path`` is never replaced (``OutputExists``, also when it
    appears while writing); with ``force`` only a regular file is (``OutputRefused``).
    """
    path = Path(path)
    try:
        with atomic_write(path, mode, replace=force) as handle:
            handle.write(data)
    except OSError as exc:
        raise output_error(path, exc) from None


def write_output_from(path: Path, write: Callable[[IO[bytes]], T], *, force: bool) -> T:
    """``write_output`` for content made straight into the file: ``write`` gets the
    temporary file (readable and seekable too) and what it returns is returned. The same
    guarantees: the output appears whole or not at all; OSErrors are one error line,
    also those a writer met and reported as something else (c2pa-rs writes through
    callbacks and says "embedding error" for a disk that filled up under it)."""
    path = Path(path)
    target: _EarlyWriteback | None = None
    try:
        with atomic_write(path, replace=force, readable=True) as handle:
            target = _EarlyWriteback(handle)
            return write(cast(IO[bytes], target))
    except OSError as exc:
        raise output_error(path, exc) from None
    except Exception as exc:
        if target is not None and target.failure is not None:
            raise output_error(path, target.failure) from exc
        raise


#: ``sync_file_range(2)``'s flag that starts writeback and does not wait for it (Linux).
_SYNC_FILE_RANGE_WRITE = 2
#: How much is written between two starts of writeback.
_WRITEBACK_EVERY = 4 * 1024 * 1024


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's ``sync_file_range`` (Linux), None where there is none; loaded on first use
    (ctypes is not imported at start-up)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    function.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], function)


class _EarlyWriteback:
    """A file that starts writing itself to disk as it grows (``sync_file_range``), so the
    fsync that ends ``atomic_write`` has little left to wait for: a writer that works on
    after writing (c2pa-rs hashes its output again) overlaps the disk with that work.
    Everything else is the file's own."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._unsynced = 0
        #: The first OSError the file raised: a writer may report it in its own words.
        self.failure: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            written = self._handle.write(data)
            self._unsynced += written
            if self._unsynced >= _WRITEBACK_EVERY:
                start = _sync_file_range()
                if start is not None:
                    self._handle.flush()
                    start(self._handle.fileno(), 0, 0, _SYNC_FILE_RANGE_WRITE)  # best effort
                self._unsynced = 0
        except OSError as exc:
            self.failure = self.failure or exc
            raise
        return written

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        try:
            return self._handle.seek(offset, whence)  # flushes what is buffered
        except OSError as exc:
            self.failure = self.failure or exc
            raise

    def flush(self) -> None:
        try:
            self._handle.flush()
        except OSError as exc:
            self.failure = self.failure or exc
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)


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


def check_output(output: Path, *, force: bool = False, source: Path | None = None) -> None:
    """Refuse an output that cannot be written, before any expensive work.

    The name exists (without ``force``), is not a regular file (with it), is the input, is
    too long; the folder is missing, not a folder, or refuses a new file (read-only,
    permissions, /proc, /sys: a file is created there and removed at once to find out).
    ``write_output`` still checks again: the file system can change in between.
    """
    output = Path(output)
    try:
        info: os.stat_result | None = os.lstat(output)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise output_error(output, exc) from None
    if info is not None:
        if source is not None and _same_file(source, output):
            raise UsageError(f"{output}: output is the input; the input is never modified")
        if not force:
            raise OutputExists(_exists_message(output))
        _check_replaceable(output)
    parent = output.parent
    try:
        parent_mode = os.stat(parent).st_mode
    except OSError as exc:
        raise output_error(output, exc) from None
    if not stat.S_ISDIR(parent_mode):
        raise OutputRefused(f"{parent}: is not a directory (the output's folder)")
    try:
        fd, probe = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=parent)
    except OSError as exc:
        raise output_error(output, exc) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _same_file(source: Path, output: Path) -> bool:
    try:
        return os.path.samefile(source, output)
    except OSError:
        return False


def check_input(path: Path) -> None:
    """Refuse, without reading it, an input ``read_input`` would refuse for what it is:
    missing, unreadable, not a regular file. Messages do not name the path."""
    try:
        problem = _not_regular(os.stat(path).st_mode)
    except OSError as exc:
        raise _os_error(exc) from None
    if problem is not None:
        raise InputError(problem)


def check_paths(source: Path, output: Path, *, force: bool = False) -> None:
    """Refuse a bad input or output before any expensive work (or passphrase prompt)."""
    try:
        check_input(source)
    except InputError as exc:
        raise exc.about(source) from None
    check_output(output, force=force, source=source)
