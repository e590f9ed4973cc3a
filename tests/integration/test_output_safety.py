"""Outputs under concurrency and on odd paths (issue 14, item 6).

No-clobber is atomic (the finished temporary file is hard-linked into place), ``--force``
replaces only regular files (a symbolic link itself, never what it points to unless that
is a regular file), temporary names are short, and every output error is one line and an
exit code. The CLI cases run the real ``provenance`` in a subprocess; tests run as root,
so read-only and full file systems are real tmpfs mounts (skipped where mounting is not
allowed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures import media
from fixtures.support import PASSPHRASE, encode, natural_image
from provenance._internal import fs
from provenance._internal.fs import check_output, write_output
from provenance.errors import OutputError, OutputExists, OutputRefused
from provenance.keystore import KeyStore

CLI = Path(sys.executable).with_name("provenance")


def provenance(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


def one_error_line(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert needle in lines[0], lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".prov-"))


@pytest.fixture
def png(tmp_path: Path) -> Path:
    """An image whose signed copy is about 130 KB (over a 64 KiB tmpfs)."""
    path = tmp_path / "in.png"
    path.write_bytes(encode(natural_image(320, 240), "PNG"))
    return path


def sign(source: Path, output: Path | str, *extra: str) -> subprocess.CompletedProcess[str]:
    return provenance(
        "sign", source, "-o", output, "--no-watermark", "--no-timestamp", "--model", "m", *extra
    )


# -- the library: write_output -----------------------------------------------------------


def race(target: Path, payloads: list[bytes]) -> list[str]:
    """Two threads released at once, each writing one payload to ``target``."""
    barrier = threading.Barrier(len(payloads))
    outcomes: list[str] = []

    def write(data: bytes) -> None:
        barrier.wait()
        try:
            write_output(target, data, force=False)
            outcomes.append("ok")
        except OutputExists as exc:
            assert "already exists" in str(exc)
            outcomes.append("exists")

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_of_concurrent_writers_to_one_name_exactly_one_wins(tmp_path: Path) -> None:
    payloads = [bytes([n]) * 200_000 for n in (1, 2)]
    for round_ in range(25):
        target = tmp_path / f"out{round_}.bin"
        assert race(target, payloads) == ["exists", "ok"]
        assert target.read_bytes() in payloads  # one whole output, never a mix
    assert leftovers(tmp_path) == []


def test_without_hard_links_the_name_is_claimed_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))  # what FAT answers

    monkeypatch.setattr(fs.os, "link", no_links)
    target = tmp_path / "out.bin"
    write_output(target, b"first", force=False)
    with pytest.raises(OutputExists, match="already exists"):
        write_output(target, b"second", force=False)
    assert target.read_bytes() == b"first"
    for round_ in range(10):
        assert race(tmp_path / f"race{round_}", [b"a" * 100_000, b"b" * 100_000]) == [
            "exists",
            "ok",
        ]
    assert leftovers(tmp_path) == []


def test_the_output_appearing_while_writing_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.bin"
    real_fsync = os.fsync

    def someone_else_writes_first(fd: int) -> None:
        real_fsync(fd)
        if not target.exists():
            target.write_bytes(b"theirs")

    monkeypatch.setattr(fs.os, "fsync", someone_else_writes_first)
    with pytest.raises(OutputExists):
        write_output(target, b"ours", force=False)
    assert target.read_bytes() == b"theirs"
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_force_replaces_only_regular_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    to_device = tmp_path / "to-null"
    to_device.symlink_to("/dev/null")
    for path, kind in [
        (Path("/dev/null"), "character device"),
        (fifo, "FIFO"),
        (folder, "directory"),
        (to_device, "symbolic link to a character device"),
    ]:
        for check in (check_output, None):
            with pytest.raises(OutputRefused, match=f"is {'an?'} {kind}.*refusing to replace"):
                if check is None:
                    write_output(path, b"x", force=True)
                else:
                    check(path, force=True)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and folder.is_dir() and to_device.is_symlink()
    assert leftovers(tmp_path) == [] and leftovers(Path("/dev")) == []


def test_force_on_a_symlink_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target.bin"
    target.write_bytes(b"target stays")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    with pytest.raises(OutputExists):
        write_output(link, b"new", force=False)
    write_output(link, b"new", force=True)
    assert not link.is_symlink() and link.read_bytes() == b"new"
    assert target.read_bytes() == b"target stays"
    dangling = tmp_path / "dangling.bin"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputExists):  # the name is taken, even by a dangling link
        check_output(dangling, force=False)
    write_output(dangling, b"new", force=True)
    assert dangling.read_bytes() == b"new" and not (tmp_path / "nowhere").exists()


def test_temporary_names_are_short_whatever_the_output_is_called(tmp_path: Path) -> None:
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    longest = tmp_path / ("n" * (name_max - 4) + ".jpg")
    write_output(longest, b"fits", force=False)
    write_output(longest, b"again", force=True)
    assert longest.read_bytes() == b"again"
    too_long = tmp_path / ("n" * name_max + ".jpg")
    with pytest.raises(OutputRefused, match="name is too long"):
        check_output(too_long)
    with pytest.raises(OutputRefused, match="name is too long"):
        write_output(too_long, b"x", force=False)
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_no_file_and_the_old_one_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fs.os, "fsync", disk_full)
    with pytest.raises(OutputError, match="no space left on the device; nothing was written") as e:
        write_output(target, b"new", force=True)
    assert e.value.exit_code == 1
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("path", "where"),
    [("/proc/self/out.png", "/proc"), ("/proc/out.png", "/proc"), ("/sys/out.png", "/sys")],
)
def test_kernel_file_systems_are_refused_in_one_line(path: str, where: str) -> None:
    for force in (False, True):
        with pytest.raises(OutputRefused, match=f"under {where}, a kernel file system") as e:
            check_output(Path(path), force=force)
        assert e.value.exit_code == 2
        with pytest.raises(OutputRefused, match=f"under {where}"):
            write_output(Path(path), b"x", force=force)


def test_racing_signers_past_the_check_one_wins(
    tmp_path: Path, fast_store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sign_file calls that both passed every check before either wrote."""
    import provenance.signing.sign as signing
    from provenance.credentials.manifest import AIContent
    from provenance.signing.signer import manifest_signer

    inputs = []
    for n in (1, 2):
        inputs.append(tmp_path / f"in{n}.jpg")
        inputs[-1].write_bytes(encode(natural_image(200, 150, seed=n), "JPEG"))
    output = tmp_path / "same.jpg"
    barrier = threading.Barrier(2)
    lock = threading.Lock()
    real = signing.sign_loaded

    def sign_then_wait(*args: Any, **kwargs: Any) -> Any:
        with lock:  # one signer callback at a time, as the server does
            signed = real(*args, **kwargs)
        barrier.wait()  # both have signed: both checks are long passed
        return signed

    monkeypatch.setattr(signing, "sign_loaded", sign_then_wait)
    results: dict[int, object] = {}
    with manifest_signer(fast_store, None, PASSPHRASE, time_stamp=False) as signer:

        def run(n: int) -> None:
            try:
                results[n] = signing.sign_file(
                    inputs[n - 1], output, signer, AIContent(model=f"racing-model-{n}")
                )
            except OutputExists as exc:
                results[n] = exc

        threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    kinds = sorted(type(r).__name__ for r in results.values())
    assert kinds == ["OutputExists", "SignResult"], results
    (winner,) = [n for n, r in results.items() if isinstance(r, signing.SignResult)]
    assert f"racing-model-{winner}".encode() in output.read_bytes()
    assert f"racing-model-{3 - winner}".encode() not in output.read_bytes()
    assert leftovers(tmp_path) == []


# -- the CLI ------------------------------------------------------------------------------


def test_two_signs_to_one_name_at_once_one_succeeds(
    env_store: object, tmp_path: Path, png: Path
) -> None:
    second = tmp_path / "in2.png"
    second.write_bytes(encode(natural_image(320, 240, seed=7), "PNG"))
    for attempt in range(3):
        output = tmp_path / f"same{attempt}.png"
        command = [str(CLI), "sign", "--no-watermark", "--no-timestamp", "-o", str(output)]
        processes = [
            subprocess.Popen(
                [*command, str(source), "--model", f"model-{n}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n, source in ((1, png), (2, second))
        ]
        outcomes = [(p.wait(timeout=120), *p.communicate()) for p in processes]
        codes = sorted(code for code, _, _ in outcomes)
        assert codes == [0, 2], outcomes
        (winner,) = [n for n, (code, _, _) in enumerate(outcomes, 1) if code == 0]
        (loser_err,) = [err for code, _, err in outcomes if code == 2]
        assert "already exists" in loser_err and "Traceback" not in loser_err
        assert len(loser_err.splitlines()) == 1
        verified = provenance("verify", output)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert f"AI-generated by model-{winner}" in verified.stdout
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_force_onto_a_device_or_fifo_is_refused(
    env_store: object, tmp_path: Path, png: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target, kind in [("/dev/null", "character device"), ("/dev/full", "character device")]:
        one_error_line(sign(png, target, "--force"), 2, f"is a {kind}, not a regular file")
        assert stat.S_ISCHR(os.stat(target).st_mode)
    one_error_line(sign(png, fifo, "--force"), 2, "is a FIFO (named pipe), not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(Path("/dev")) == [] and leftovers(tmp_path) == []


def test_force_onto_a_symlink_replaces_the_link(
    env_store: object, tmp_path: Path, png: Path
) -> None:
    target = tmp_path / "elsewhere.png"
    target.write_bytes(b"not to be touched")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    one_error_line(sign(png, link), 2, "already exists")
    result = sign(png, link, "--force")
    assert result.returncode == 0, result.stderr
    assert not link.is_symlink() and link.stat().st_size > 1000
    assert target.read_bytes() == b"not to be touched"


def test_a_long_valid_output_name_works(env_store: object, tmp_path: Path, png: Path) -> None:
    output = tmp_path / ("x" * 236 + ".png")  # 240 bytes: valid, but no room for a suffix
    result = sign(png, output)
    assert result.returncode == 0, result.stderr
    assert output.stat().st_size > 1000 and leftovers(tmp_path) == []
    one_error_line(sign(png, tmp_path / ("x" * 256 + ".png")), 2, "name is too long")


@pytest.mark.parametrize(
    ("output", "needle"),
    [
        ("/proc/self/out.png", "under /proc, a kernel file system"),
        ("/sys/out.png", "under /sys, a kernel file system"),
        ("/sys/kernel/out.png", "under /sys, a kernel file system"),
        ("/no/such/folder/out.png", "output directory does not exist"),
        ("/etc/hostname/out.png", "is not a directory"),
    ],
)
def test_bad_output_paths_are_one_line(
    env_store: object, png: Path, output: str, needle: str
) -> None:
    for force in ((), ("--force",)):
        one_error_line(sign(png, output, *force), 2, needle)


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_disk_full_is_one_line_and_leaves_nothing(
    env_store: object, tmp_path: Path, png: Path
) -> None:
    with tmpfs(tmp_path / "small", "size=64k") as small:
        result = sign(png, small / "out.png")
        one_error_line(result, 1, "no space left on the device; nothing was written")
        assert list(small.iterdir()) == []
        (small / "old.png").write_bytes(b"old")
        one_error_line(sign(png, small / "old.png", "--force"), 1, "no space left")
        assert [p.name for p in small.iterdir()] == ["old.png"]
        assert (small / "old.png").read_bytes() == b"old"


def _inputs(folder: Path, png: Path) -> list[Path]:
    """One input of every kind: an image, text, and each audio and video container."""
    text = folder / "story.txt"
    text.write_text("A calm paragraph the model wrote about rivers and hills. " * 40)
    made = [png, text]
    for maker in media.every_kind():
        generated = maker()
        made.append(folder / generated.name)
        made[-1].write_bytes(generated.data)
    return made


def test_disk_full_while_signing_is_the_same_line_for_every_kind(
    env_store: object, tmp_path: Path, png: Path
) -> None:
    """Audio and video are signed by c2pa-rs writing through callbacks, which reported a
    full disk as "[c2pa: Other: embedding error]" or "[c2pa: Io: Other: UntrackedPointer]"."""
    inputs = _inputs(tmp_path, png)
    with tmpfs(tmp_path / "small", "size=64k") as small:
        (small / "filler").write_bytes(b"x" * (56 * 1024))  # 8 KiB left: no output fits
        for source in inputs:
            output = small / f"signed-{source.name}"
            one_error_line(
                sign(source, output),
                1,
                f"{output}: no space left on the device; nothing was written",
            )
            assert sorted(p.name for p in small.iterdir()) == ["filler"]


class _FillingFile:
    """A file on a disk that fills up after ``room`` bytes (ENOSPC, as write(2) says)."""

    def __init__(self, handle: Any, room: int) -> None:
        self._handle, self._room = handle, room

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return int(self._handle.write(data))

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def test_disk_full_while_streaming_is_named_without_a_tmpfs(
    env_store: object, tmp_path: Path, png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same without root: the output file (the one opened for reading and writing,
    which c2pa-rs goes back over) fills up after 4 KiB, through the CLI in-process."""
    from typer.testing import CliRunner

    from cli.main import app

    real_fdopen = os.fdopen

    def filling(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return _FillingFile(handle, 4096) if mode == "w+b" else handle

    monkeypatch.setattr(fs.os, "fdopen", filling)
    outputs = tmp_path / "out"
    outputs.mkdir()
    for source in _inputs(tmp_path, png)[2:]:  # audio and video: written by c2pa-rs
        output = outputs / f"signed-{source.name}"
        result = CliRunner().invoke(
            app, ["sign", str(source), "-o", str(output), "--no-timestamp", "--model", "m"]
        )
        assert result.exit_code == 1, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
        assert errors == [f"error: {output}: no space left on the device; nothing was written"]
        assert list(outputs.iterdir()) == []


def test_read_only_folder_is_refused_before_signing(
    env_store: object, tmp_path: Path, png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tmpfs(tmp_path / "ro", "ro,size=64k") as read_only:
        monkeypatch.delenv("PROVENANCE_PASSPHRASE")  # refused before the passphrase is needed
        one_error_line(sign(png, read_only / "out.png"), 2, "the file system is read-only")
