"""Worker processes are bounded and never outlive the command (issue 14, item 7).

``--workers`` is capped at 4 per CPU and at the number of files (Python 3.11's process
pool forks every worker at once under the fork start method, so the count is settled
before the pool starts); each worker exits when its parent is gone, even a SIGKILLed
one. Processes are counted from /proc (psutil is not a dependency).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from fixtures.support import encode, natural_image
from provenance.batch import local
from provenance.batch.job import FileJob
from provenance.batch.local import WORKERS_PER_CPU, max_workers
from provenance.batch.task import VerifyJob, error_report
from provenance.report import Report
from provenance.verify.verifier import VerifyConfig

CLI = Path(sys.executable).with_name("provenance")

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


# -- /proc ----------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid``, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None and info[1] == pid:
                found.add(int(entry))
    return found


def descendants(pid: int) -> set[int]:
    found = children(pid)
    for child in list(found):
        found |= descendants(child)
    return found


def running(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[0] != "Z"  # a zombie has exited: only its entry is left


def watch(process: subprocess.Popen[bytes], until: float = 120) -> set[int]:
    """Every process seen below ``process`` until it exits."""
    seen: set[int] = set()
    deadline = time.monotonic() + until
    while process.poll() is None and time.monotonic() < deadline:
        seen |= descendants(process.pid)
        time.sleep(0.002)
    return seen


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    first = folder / "0.png"
    first.write_bytes(encode(natural_image(320, 240), "PNG"))
    for index in range(1, count):  # unmarked: each costs a full watermark search
        shutil.copy(first, folder / f"{index}.png")
    return sorted(folder.iterdir())


def verify(*args: str | Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(CLI), "verify", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


# -- the cap, in the engine -----------------------------------------------------------------


class FakePool:
    """Stands in for the process pool: records how many workers it would start."""

    started: ClassVar[list[int]] = []

    def __init__(self, workers: int, job: FileJob[Report]) -> None:
        FakePool.started.append(workers)

    def submit(self, path: Path) -> cf.Future[Report]:
        future: cf.Future[Report] = cf.Future()
        future.set_result(error_report(path, "pooled"))
        return future

    def result(self, item: Path | Report, future: cf.Future[Report] | None) -> Report:
        return item if isinstance(item, Report) else future.result()  # type: ignore[union-attr]

    def close(self) -> None:
        pass


@pytest.fixture
def fake_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    FakePool.started = []
    monkeypatch.setattr(local, "_Pool", FakePool)
    monkeypatch.setattr(local, "run_file", lambda job, path: error_report(path, "here"))
    monkeypatch.setattr(local.os, "cpu_count", lambda: 2)
    yield FakePool.started


def items(files: int, reports: int = 0) -> Iterator[Path | Report]:
    for index in range(reports):
        yield error_report(f"r{index}", "walk error")
    for index in range(files):
        yield Path(f"f{index}")


@pytest.mark.parametrize(
    ("files", "reports", "asked", "started"),
    [
        (3, 0, 60, [3]),  # never more workers than files
        (3, 5, 60, [3]),  # walk errors need no worker
        (50, 0, 100_000, [8]),  # 4 per CPU (2 CPUs here)
        (50, 0, 3, [3]),
        (1, 4, 60, []),  # one file: verified in this process
        (9, 0, 1, []),
    ],
)
@pytest.mark.parametrize("ordered", [True, False])
def test_workers_are_capped_by_files_and_cpus(
    fake_pool: list[int], files: int, reports: int, asked: int, started: list[int], ordered: bool
) -> None:
    out = list(
        local.run_locally(
            items(files, reports), VerifyJob(VerifyConfig()), workers=asked, ordered=ordered
        )
    )
    assert fake_pool == started
    assert len(out) == files + reports
    if ordered:
        expected = [i.path if isinstance(i, Report) else str(i) for i in items(files, reports)]
        assert [r.path for r in out] == expected


def test_the_cap_is_four_per_cpu_and_the_help_says_so() -> None:
    from cli.main import app

    assert WORKERS_PER_CPU == 4
    assert max_workers() == 4 * (os.cpu_count() or 1)
    result = CliRunner().invoke(app, ["verify", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert f"capped at {WORKERS_PER_CPU} per CPU" in " ".join(result.stdout.split())


# -- the real command -----------------------------------------------------------------------


@pytest.mark.parametrize("walk", [False, True])
def test_60_workers_on_3_files_start_at_most_3_processes(
    env_store: object, tmp_path: Path, walk: bool
) -> None:
    files = photos(tmp_path / "three", 3)
    inputs: list[str | Path] = ["-r", tmp_path / "three"] if walk else list(files)
    process = verify("--workers", "60", *inputs)
    seen = watch(process)
    assert process.wait() == 0, process.stderr.read() if process.stderr else ""
    assert 0 < len(seen) <= 3, seen


def test_no_process_of_the_command_is_left_after_it_ends(env_store: object, tmp_path: Path) -> None:
    photos(tmp_path / "eight", 8)
    process = verify("--workers", "4", "-r", tmp_path / "eight")
    seen = watch(process)
    assert process.wait() == 0
    assert 0 < len(seen) <= 4
    assert [pid for pid in seen if running(pid)] == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_workers_exit_when_the_command_is_killed(
    env_store: object, tmp_path: Path, sig: signal.Signals
) -> None:
    photos(tmp_path / "many", 300)
    process = verify("--workers", "2", "-r", tmp_path / "many")
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = descendants(process.pid)
        time.sleep(0.02)
    assert len(workers) == 2, "the workers did not start"
    time.sleep(0.5)  # busy verifying
    assert process.poll() is None, "the batch ended before it could be killed"
    process.send_signal(sig)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if running(pid)]
    for pid in left:  # do not leave them behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []
