"""What the library logs reaches a terminal worded as the CLI's own lines: "warning: ..."."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fixtures.media import mp4
from provenance.keystore import KeyStore

CLI = Path(sys.executable).with_name("provenance")


def test_library_warnings_read_like_the_cli_s_own(
    env_store: KeyStore, passphrase: str, tmp_path: Path
) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(mp4().data)
    env = {**os.environ, "PROVENANCE_HOME": str(env_store.home),
           "PROVENANCE_PASSPHRASE": passphrase}  # fmt: skip
    done = subprocess.run(
        [str(CLI), "sign", str(source), "-o", str(tmp_path / "clip.jpg")],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert f"warning: {source}: video content has no watermark in this toolkit; signed with " \
        "C2PA alone" in lines  # fmt: skip
    assert any(line.startswith("warning: ") and "does not match its content type" in line
               for line in lines)  # fmt: skip
    assert "warning: no --model given; the manifest will not name the model" in lines
    assert not any(line.startswith("WARNING") for line in lines)
