"""``read_input`` / ``read_stdin``: regular files only, bounded, never blocking on a FIFO."""

from __future__ import annotations

import io
import os
import re
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from provenance._internal.fs import check_paths, read_input, read_stdin
from provenance.errors import InputError

T = TypeVar("T")
FIFO_MESSAGE = "is a FIFO (named pipe), not a regular file; pipe data through '-' instead"


def finishes(call: Callable[[], T], seconds: float = 5.0) -> T | BaseException:
    """``call()``'s result or exception, failing the test if it has not returned in time."""
    outcome: list[T | BaseException] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return outcome[0]


def refusal(path: Path, limit: int = 1024) -> str:
    outcome = finishes(lambda: read_input(path, limit))
    assert isinstance(outcome, InputError), outcome
    assert str(path) not in str(outcome)  # callers prefix the name
    return str(outcome)


def test_reads_a_regular_file_and_a_symlink_to_one(tmp_path: Path) -> None:
    data = os.urandom(5000)
    (tmp_path / "f.bin").write_bytes(data)
    os.symlink(tmp_path / "f.bin", tmp_path / "link.bin")
    assert read_input(tmp_path / "f.bin", 5000) == data  # exactly the limit is allowed
    assert read_input(tmp_path / "link.bin", 10**9) == data
    (tmp_path / "empty").write_bytes(b"")
    assert read_input(tmp_path / "empty", 0) == b""


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert refusal(tmp_path / "pipe") == FIFO_MESSAGE
    os.symlink(tmp_path / "pipe", tmp_path / "pipe.jpg")
    assert refusal(tmp_path / "pipe.jpg") == FIFO_MESSAGE


def test_devices_are_refused_through_symlinks(tmp_path: Path) -> None:
    os.symlink("/dev/zero", tmp_path / "zero.png")
    assert refusal(tmp_path / "zero.png") == "is a character device, not a regular file"
    assert refusal(Path("/dev/null")) == "is a character device, not a regular file"


def test_a_directory_and_a_socket_are_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path) == "is a directory"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.sock"))
        assert refusal(tmp_path / "s.sock") == "is a socket, not a regular file"
    finally:
        server.close()


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 1025)
    assert refusal(tmp_path / "big", 1024) == "larger than the 1,024-byte limit"


def test_a_file_growing_past_the_limit_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing"
    path.write_bytes(b"x" * 100)
    real_fstat = os.fstat

    def stale_fstat(fd: int) -> os.stat_result:  # the size seen before a writer appended
        with path.open("ab") as handle:
            handle.write(b"y" * 5000)
        result = real_fstat(fd)
        fields = list(result)
        fields[6] = 100  # st_size
        return os.stat_result(fields)

    monkeypatch.setattr("provenance._internal.fs.os.fstat", stale_fstat)
    assert refusal(path, 1024) == "larger than the 1,024-byte limit"


def test_a_file_whose_size_is_not_known_is_read_whole() -> None:
    status = Path("/proc/self/status")
    if not status.is_file():
        pytest.skip("no /proc")
    assert os.stat(status).st_size == 0
    assert b"Name:" in read_input(status, 1 << 20)


def test_missing_and_unreadable(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nope") == "no such file"
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    assert refusal(tmp_path / "dangling") == "no such file"
    assert refusal(tmp_path / "nope" / "below") == "no such file"
    (tmp_path / "plain").write_bytes(b"x")
    assert refusal(tmp_path / "plain" / "child") == "cannot read: Not a directory"
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        (tmp_path / "locked").write_bytes(b"x")
        (tmp_path / "locked").chmod(0)
        assert refusal(tmp_path / "locked") == "permission denied"


def test_read_stdin_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"x" * 3000))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert read_stdin(3000) == b"x" * 3000
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x" * 3001)))
    with pytest.raises(InputError, match=r"^larger than the 3,000-byte limit$"):
        read_stdin(3000)
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match="standard input is closed"):
        read_stdin(10)


def test_check_paths_names_the_kind(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    os.symlink("/dev/zero", tmp_path / "zero.png")
    out = tmp_path / "out.png"
    with pytest.raises(InputError, match=re.escape(f"pipe: {FIFO_MESSAGE}")):
        check_paths(tmp_path / "pipe", out)
    with pytest.raises(InputError, match=r"zero\.png: is a character device"):
        check_paths(tmp_path / "zero.png", out)
    with pytest.raises(InputError, match=r": is a directory$"):
        check_paths(tmp_path, out)
    with pytest.raises(InputError, match=r"missing\.png: no such file$"):
        check_paths(tmp_path / "missing.png", out)
