"""Ctrl-C in a batch: the reports so far flushed, the JSON list closed, exit 130, no traceback.

The real CLI runs in its own process group, which gets SIGINT the way a terminal sends it on
Ctrl-C: to the command and its worker processes alike.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures.support import process_group_gone

CLI = Path(sys.executable).with_name("provenance")


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT are POSIX")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_flushes_the_reports_so_far_and_exits_130(
    tmp_path: Path, env_store: object, workers: str
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, 320, dtype=np.float32)[None, :, None]
    pixels = np.clip(ramp + rng.normal(0, 12, (256, 320, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(folder / "0.png")
    data = (folder / "0.png").read_bytes()
    for index in range(1, 300):  # unmarked, so each one costs a full watermark search
        (folder / f"{index}.png").write_bytes(data)
    command = [str(CLI), "verify", "--json", "-r", "--workers", workers, str(folder)]
    # Unbuffered: communicate() reads the pipe itself, past whatever a buffer had taken.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        bufsize=0,
    )
    assert process.stdout is not None
    head = [process.stdout.readline() for _ in range(2)]  # "[" and the first report
    assert b'"path"' in head[1], head
    os.killpg(process.pid, signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    out, stderr = (b"".join(head) + rest).decode(), err.decode()

    assert process.returncode == 130, stderr
    reports = json.loads(out)  # the list is closed
    assert 1 <= len(reports) < 300
    assert {report["verdict"] for report in reports} == {"none"}
    assert stderr.splitlines() == [f"interrupted after {len(reports)} files: {len(reports)} none"]
    if not process_group_gone(process.pid):
        pytest.fail("worker processes outlived the interrupted batch")
