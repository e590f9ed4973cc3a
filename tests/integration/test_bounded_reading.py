"""Every command reads through the bounded reader: FIFOs and devices are refused at once.

The real ``provenance`` executable runs with a timeout, so a command that waits for a
FIFO's writer or reads /dev/zero until memory runs out fails the test instead of hanging.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.keystore import KeyStore

PROVENANCE = Path(sys.executable).with_name("provenance")
PASSPHRASE = "bounded reading passphrase"
KINDS = {
    "fifo": "is a FIFO (named pipe), not a regular file; pipe data through '-' instead",
    "zero": "is a character device, not a regular file",
}
COMMANDS = {
    "verify": ["verify"],
    "inspect": ["inspect"],
    "watermark-detect": ["watermark", "detect"],
    "text-detect": ["text", "detect", "--tokenizer", "gpt2"],
    "sign": ["sign"],
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("bounded")
    KeyStore.create(root / "home", PASSPHRASE, org="Test Org")
    os.mkfifo(root / "fifo.png")
    os.symlink("/dev/zero", root / "zero.png")
    env = {
        **os.environ,
        "PROVENANCE_HOME": str(root / "home"),
        "PROVENANCE_PASSPHRASE": PASSPHRASE,
        "NO_COLOR": "1",
    }
    return root, env


def provenance(
    env: dict[str, str], *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    if not PROVENANCE.exists():
        pytest.skip(f"{PROVENANCE} is not installed (pip install -e .)")
    try:
        done = subprocess.run(
            [str(PROVENANCE), *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"provenance {' '.join(args)} did not finish in 20 s")
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_non_regular_inputs_are_refused_in_one_line(
    setup: tuple[Path, dict[str, str]], command: str, kind: str
) -> None:
    root, env = setup
    source = root / f"{kind}.png"
    args = [*COMMANDS[command], str(source)]
    if command == "sign":
        args += ["-o", str(root / f"signed-{kind}.png"), "--model", "m"]
    result = provenance(env, *args)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 3, (result.stdout, result.stderr)
    if command == "verify":  # verify reports each file on stdout and counts on stderr
        assert result.stdout.startswith("error") and result.stdout.rstrip().endswith(KINDS[kind])
        assert "1 error" in result.stderr
        return
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert source.name in lines[0] and lines[0].endswith(KINDS[kind])
    assert not (root / f"signed-{kind}.png").exists()


def test_text_detect_bounds_standard_input(setup: tuple[Path, dict[str, str]]) -> None:
    _, env = setup
    result = provenance(env, "text", "detect", "-", stdin=b"x" * (16 * 1024 * 1024 + 1))
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "error: cannot read standard input: larger than the 16,777,216-byte limit"
    ]


def test_watermark_detect_refuses_an_oversized_file_before_reading(
    setup: tuple[Path, dict[str, str]],
) -> None:
    root, env = setup
    sparse = root / "huge.png"
    with sparse.open("wb") as handle:
        handle.truncate(600 * 1024 * 1024)  # sparse: over the 512 MiB limit, no disk used
    result = provenance(env, "watermark", "detect", str(sparse))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "larger than the 536,870,912-byte limit" in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["trust", "add", "{fifo}"],
        ["keys", "import", "ext", "--key", "{fifo}", "--chain", "{zero}"],
        ["--home", "{fresh}", "keys", "restore", "{fifo}"],
    ],
    ids=["trust-add", "keys-import", "keys-restore"],
)
def test_key_store_inputs_are_refused_in_one_line(
    setup: tuple[Path, dict[str, str]], args: list[str]
) -> None:
    root, env = setup
    paths = {"fifo": root / "fifo.png", "zero": root / "zero.png", "fresh": root / "fresh"}
    result = provenance(env, *[arg.format(**paths) for arg in args])
    assert result.returncode == 3 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "fifo.png: cannot read the " in lines[0] and KINDS["fifo"] in lines[0]
    assert not (root / "fresh").exists()
