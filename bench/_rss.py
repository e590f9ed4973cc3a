"""Peak resident memory of a process tree, sampled from /proc (Linux)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import IO


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(child) for child in text)
    except OSError:
        pass
    return found


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += _rss_bytes(current)
        stack.extend(_children(current))
    return total


def run_measured(
    command: list[str], env: dict[str, str] | None = None, stdout: IO[bytes] | None = None
) -> tuple[float, int, int]:
    """Run ``command`` (its output to ``stdout``, default nowhere); return
    (seconds, peak tree RSS in bytes, exit code)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=stdout or subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env or dict(os.environ),
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode not in (0, 1, 3):
        raise RuntimeError(f"{command[:3]} failed: {err.decode(errors='replace')[-500:]}")
    return elapsed, peak, process.returncode
