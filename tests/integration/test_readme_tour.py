"""The README's "A five-minute tour" runs as written, command by command.

The commands are parsed out of README.md (the first ``sh`` block after the tour's
heading), so the test breaks when the tour changes. Each line runs in bash, as a reader
would paste it, with the real ``provenance`` console script first on PATH, in a
temporary working directory and home. The test makes the input files the tour names
(gen.png, shared.jpg, answer.txt, partner-root.pem, ...) just before the first command
that reads them. Every command must exit 0, or the code its comment states ("exit N"),
and a comment that starts with a verdict ("# trusted ...") must match what it prints.
Only the lines in SKIPPED do not run, each for the reason given.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from fixtures.demo_image import landscape
from fixtures.support import PASSPHRASE, REPO

pytestmark = pytest.mark.slow

#: Tour lines (their command, comment removed) that need what this machine lacks.
SKIPPED = {
    "find /data -name '*.jpg' | provenance verify --from-file - --unordered --timeout 30 "
    "--jsonl": "needs /data, a folder of a user's images",
    "provenance verify --engine dask --scheduler tcp://sched:8786 -r --jsonl /shared/outputs": (
        "needs a Dask scheduler at tcp://sched:8786 and the shared folder /shared"
    ),
}
#: What the tour's `export` lines set; the test sets both itself, to its own values.
EXPORTED = {"PROVENANCE_HOME", "PROVENANCE_PASSPHRASE"}
VERDICTS = ("trusted", "valid", "invalid", "recovered", "watermarked", "none", "error")
ANSWER = (
    "The tides are driven mainly by the Moon's gravity, with a smaller pull from the Sun. "
    "Where the two line up, at new and full moon, the ranges are largest: spring tides. "
    "At the quarter moons they partly cancel and the ranges are smallest: neap tides. "
    "Local coastlines and the depth of the sea shape how high the water finally rises.\n"
)


def tour_lines() -> list[tuple[str, str]]:
    """(command, comment) for every command line of the tour, in order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A five-minute tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None, "the tour has no ```sh block"
    lines = []
    for raw in block.group(1).splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue  # blank, or a comment line (also the continuation of one)
        command, comment = _split_comment(raw)
        lines.append((command, comment))
    return lines


def _split_comment(line: str) -> tuple[str, str]:
    """The command and its trailing ``# comment``, split at the first unquoted ``#``
    that starts a word (as the shell reads it)."""
    quote: str | None = None
    for at, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or line[at - 1].isspace()):
            return line[:at].strip(), line[at + 1 :].strip()
    return line.strip(), ""


def _expected_exit(comment: str) -> int:
    found = re.search(r"\bexit (?:code )?(\d+)", comment)
    return int(found.group(1)) if found else 0


class Tour:
    """The working directory, homes and input makers of one run of the tour."""

    def __init__(self, root: Path) -> None:
        self.work = root / "work"
        self.work.mkdir()
        self.home = root / "provenance-home"
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "PROVENANCE_HOME": str(self.home),
            "PROVENANCE_PASSPHRASE": PASSPHRASE,
            "NO_COLOR": "1",
        }
        self.makers: dict[str, Callable[[Path], object]] = {
            "gen.png": lambda p: landscape(640, 480).save(p),
            "in.png": lambda p: landscape(512, 384, seed=3).save(p),
            "shared.jpg": self._shared,
            "outputs/": self._outputs,
            "generated/": self._generated,
            "answer.txt": lambda p: p.write_text(ANSWER, encoding="utf-8"),
            "generated.txt": lambda p: p.write_text(ANSWER * 3, encoding="utf-8"),
            "partner-root.pem": lambda p: self._partner("keys export --root", p),
            "partner-signer.pem": lambda p: self._partner("keys export default", p),
        }

    def run(
        self, command: str, *, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=self.work,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def make_inputs(self, command: str) -> None:
        words = shlex.split(command)
        for name, make in self.makers.items():
            path = self.work / name
            if name in words and not path.exists():
                make(path)

    def _shared(self, path: Path) -> None:
        """What a platform does to gen-signed.png: metadata stripped, resized, JPEG 75."""
        image = Image.open(self.work / "gen-signed.png").convert("RGB")
        width, height = image.size
        smaller = image.resize((width * 3 // 4, height * 3 // 4), Image.Resampling.BICUBIC)
        smaller.save(path, quality=75)

    def _outputs(self, path: Path) -> None:
        path.mkdir()
        (path / "gen-signed.png").write_bytes((self.work / "gen-signed.png").read_bytes())

    def _generated(self, path: Path) -> None:
        """A generator's output folder: two images, one in a subfolder."""
        (path / "batch-2").mkdir(parents=True)
        landscape(400, 300, seed=5).save(path / "a.png")
        landscape(400, 300, seed=6).convert("RGB").save(path / "batch-2" / "b.jpg", quality=90)

    def _partner(self, export: str, path: Path) -> None:
        """What another organisation's key store exports (`provenance EXPORT > PATH`)."""
        partner = {**self.env, "PROVENANCE_HOME": str(self.work.parent / "partner-home")}
        if not (self.work.parent / "partner-home").exists():
            made = self.run('provenance keys init --org "Partner Lab"', env=partner)
            assert made.returncode == 0, made.stderr
        exported = self.run(f"provenance {export} > {shlex.quote(path.name)}", env=partner)
        assert exported.returncode == 0, exported.stderr


def test_the_tour_parses_into_the_commands_it_shows() -> None:
    lines = tour_lines()
    commands = [command for command, _ in lines]
    assert commands[0].startswith("export PROVENANCE_HOME=")
    assert any(c.startswith("provenance keys export default > chain.pem") for c in commands)
    assert set(SKIPPED) <= set(commands), "a skipped line is no longer in the tour"
    exported = {c.split()[1].split("=")[0] for c in commands if c.startswith("export ")}
    assert exported == EXPORTED


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    tour = Tour(tmp_path)
    ran = []
    for command, comment in tour_lines():
        if command.startswith("export "):
            continue  # PROVENANCE_HOME and PROVENANCE_PASSPHRASE: set by Tour, see EXPORTED
        if command in SKIPPED:
            continue
        tour.make_inputs(command)
        result = tour.run(command)
        want = _expected_exit(comment)
        assert result.returncode == want, (
            f"`{command}` exited {result.returncode}, the tour expects {want}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
        assert "Traceback" not in result.stderr, result.stderr
        said = comment.split()[0] if comment else ""
        if said in VERDICTS:
            assert result.stdout.startswith(said), (command, result.stdout)
        ran.append(command)
    assert len(ran) >= 15

    # The tour's advice on chain.pem ("verifiers: `trust add chain.pem`"), followed by a
    # verifier with a key store of their own.
    verifier = {**tour.env, "PROVENANCE_HOME": str(tmp_path / "verifier-home")}
    for command, verdict in (
        ('provenance keys init --org "Verifier"', None),
        ("provenance verify gen-signed.png", "valid"),
        ("provenance trust add chain.pem", None),
        ("provenance verify gen-signed.png", "trusted"),
    ):
        result = tour.run(command, env=verifier)
        assert result.returncode == 0, (command, result.stderr)
        if verdict:
            assert result.stdout.startswith(verdict), (command, result.stdout)
