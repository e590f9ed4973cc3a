"""Write one benchmark's section of docs/benchmarks.md between its markers.

Each benchmark owns the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->``;
rerunning it replaces only that section, with the command, machine and date on top.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from pathlib import Path

from filelock import FileLock

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _program() -> str:
    """How the running benchmark was started: ``-m bench.name`` or the script's path."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return f"-m {spec.name}" if spec is not None else Path(sys.argv[0]).as_posix()


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md."""
    command = "python " + " ".join([_program(), *sys.argv[1:]])
    header = (
        f"## {title}\n\n"
        f"- command: `{command}` (all benchmarks: `make bench`)\n"
        f"- machine: {machine()}\n"
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n\n"
    )
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    section = f"{begin}\n{header}{body.rstrip()}\n{end}"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    # Benchmarks run side by side each rewrite the whole page: one at a time.
    with FileLock(str(DOC) + ".lock"):
        text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
        if begin in text and end in text:
            before, rest = text.split(begin, 1)
            _, after = rest.split(end, 1)
            text = before + section + after
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        DOC.write_text(text)
    print(f"wrote section {name!r} of {DOC}", file=sys.stderr)
