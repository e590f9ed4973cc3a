"""Start-up stays cheap: heavy modules load only when a command needs them (issue 14).

Each case runs a fresh interpreter and lists the modules it imported by the time it exits.
Timings are measured in bench/startup.py, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from fixtures.support import PASSPHRASE, REPO, natural_image
from provenance.signing.session import ContentSigner

# What no command may load unless it needs it: the watermark engines, Pillow's decoders,
# the server, the Dask engine and the LLM stack.
HEAVY = (
    "numpy",
    "scipy",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
    "PIL.WebPImagePlugin",
    "fastapi",
    "uvicorn",
    "dask",
    "distributed",
    "torch",
    "transformers",
    "tokenizers",
)
# Not even these for the version and the help: c2pa-rs's bindings, cryptography, Pillow,
# the key store, the verifier and the batch engine's process pool.
NOT_FOR_HELP = (
    *HEAVY,
    "PIL",
    "c2pa",
    "cryptography",
    "filelock",
    "provenance.keystore.store",
    "provenance.verify.verifier",
    "multiprocessing",
)

# Runs ``code`` (which may raise SystemExit), then writes the loaded module names as JSON.
_PROBE = """
import json, sys
out = sys.argv.pop(1)
try:
    exec(compile(sys.argv.pop(1), "<probe>", "exec"))
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(out, "w") as handle:
    json.dump({"modules": sorted(sys.modules), "exit": code}, handle)
"""


def loaded(tmp_path: Path, code: str, *argv: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` with ``argv``."""
    out = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), code, *argv],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(out.read_text())
    assert found["exit"] in (0, None), (found["exit"], result.stdout, result.stderr)
    return set(found["modules"])


def cli(*args: str) -> str:
    """Code that runs the console script's entry point with ``args``."""
    return (
        f"import sys; sys.argv = ['provenance', *{list(args)!r}]; import cli.main; cli.main.main()"
    )


def present(modules: set[str], names: Iterable[str]) -> list[str]:
    """Which of ``names`` (a package counts with its submodules) were imported."""
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


def test_importing_the_cli_loads_nothing_heavy(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "import cli.main")
    assert present(modules, NOT_FOR_HELP) == []
    assert "typer" in modules  # the probe works


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_load_nothing_heavy(tmp_path: Path, flag: str) -> None:
    modules = loaded(tmp_path, cli(flag))
    assert present(modules, NOT_FOR_HELP) == []


@pytest.mark.parametrize("group", ["keys", "trust", "watermark", "text"])
def test_command_group_help_loads_nothing_heavy(tmp_path: Path, group: str) -> None:
    assert present(loaded(tmp_path, cli(group, "--help")), NOT_FOR_HELP) == []


def test_importing_the_library_is_cheap(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "import provenance; provenance.__version__")
    assert present(modules, NOT_FOR_HELP) == []
    # A public name loads its module on first use, and only then.
    modules = loaded(tmp_path, "import provenance; provenance.AIContent; provenance.Limits")
    assert "provenance.credentials.manifest" in modules
    assert present(modules, NOT_FOR_HELP) == []


@pytest.fixture
def signed_jpeg(store_home: Path, tmp_path: Path) -> Path:
    with ContentSigner(store_home, PASSPHRASE, model="m") as signer:
        data = signer.sign_image(natural_image(320, 256), format="JPEG")
    path = tmp_path / "signed.jpg"
    path.write_bytes(data)
    return path


def test_verify_without_the_watermark_loads_no_watermark_engine(
    tmp_path: Path, store_home: Path, signed_jpeg: Path
) -> None:
    env = {"PROVENANCE_HOME": str(store_home)}
    modules = loaded(tmp_path, cli("verify", str(signed_jpeg), "--no-watermark"), env=env)
    assert present(modules, HEAVY) == []
    assert present(modules, ["PIL", "multiprocessing", "provenance.credentials.sign"]) == []
    # The store's own boxes are parsed only for a serial some revocation lists.
    assert present(modules, ["cbor2", "provenance.credentials.certs"]) == []
    assert "c2pa" in modules  # it did verify


def test_verify_with_the_watermark_loads_the_engine_when_it_needs_it(
    tmp_path: Path, store_home: Path, signed_jpeg: Path
) -> None:
    env = {"PROVENANCE_HOME": str(store_home)}
    modules = loaded(tmp_path, cli("verify", str(signed_jpeg)), env=env)
    assert "numpy" in modules and "provenance.watermark.image.detector" in modules
    assert present(modules, ["fastapi", "dask", "torch", "transformers"]) == []


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check itself works: a module that imports numpy is caught."""
    modules = loaded(
        tmp_path, "import provenance.watermark.image; provenance.watermark.image.detect"
    )
    assert present(modules, HEAVY) == ["numpy", "scipy"]


def test_text_detection_still_runs_end_to_end(tmp_path: Path, store_home: Path) -> None:
    """``text detect`` imports its detector lazily; it still finds and runs it."""
    text = tmp_path / "plain.txt"
    text.write_text("Plain words written by a person, not generated by any model. " * 6)
    env = {"PROVENANCE_HOME": str(store_home)}
    code = cli("text", "detect", str(text), "--json")
    modules = loaded(tmp_path, code, env=env)
    assert "numpy" in modules and "provenance.watermark.llm.detector" in modules
