"""Start-up CPU of the CLI against ``python -c "import c2pa"`` (issue 14, item 1).

    python -m bench.startup [--rounds 15]

Each command runs in a fresh interpreter; its CPU time (user + system, from
``getrusage(RUSAGE_CHILDREN)`` around the wait) is taken over interleaved rounds, so drift
hits every command alike, and the medians are compared with the baseline. Bytecode is
cached (in a temporary ``PYTHONPYCACHEPREFIX``, filled by a warm-up run), as in an
installed package: with ``PYTHONDONTWRITEBYTECODE`` and an editable install every run
would also compile the project's sources. The signed JPEG for ``verify`` is made once,
before timing, in a temporary home. Context rows (not targets) show what typer itself
costs: the interpreter alone, ``import typer``, typer's parameter coercion (pydantic,
imported by every command that parses an option value), and ``--help`` without rich.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._report import write_section

#: The issue's targets: command -> the most CPU it may cost, as a multiple of the baseline.
TARGETS = {"--version": 2.5, "--help": 2.5, "verify FILE --no-watermark": 4.0}
BASELINE = 'python -c "import c2pa"'
CONTEXT = (
    'python -c "pass"',
    'python -c "import typer"',
    'python -c "import typer._adapters"',
    "provenance --help, TYPER_USE_RICH=0",
)


def cpu_of(argv: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + system) one run of ``argv`` costs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def signed_jpeg(tmp: Path) -> tuple[Path, Path]:
    """A home and a JPEG signed (with a watermark) into it, through the library."""
    from fixtures.support import FAST_CONFIG, PASSPHRASE, encode, make_key_store, natural_image
    from provenance.signing.session import ContentSigner

    home = tmp / "home"
    make_key_store(home, config=FAST_CONFIG)
    with ContentSigner(home, PASSPHRASE) as signer:
        data = signer.sign_image(encode(natural_image(512, 384), "JPEG", quality=90), model="m")
    path = tmp / "signed.jpg"
    path.write_bytes(data)
    return home, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    python = sys.executable
    script = str(Path(python).with_name("provenance"))
    with tempfile.TemporaryDirectory() as tmp:
        home, signed = signed_jpeg(Path(tmp))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        env["PROVENANCE_HOME"] = str(home)
        plain = {**env, "TYPER_USE_RICH": "0"}
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            BASELINE: ([python, "-c", "import c2pa"], env),
            "--version": ([script, "--version"], env),
            "--help": ([script, "--help"], env),
            "verify FILE --no-watermark": ([script, "verify", str(signed), "--no-watermark"], env),
            CONTEXT[0]: ([python, "-c", "pass"], env),
            CONTEXT[1]: ([python, "-c", "import typer"], env),
            CONTEXT[2]: ([python, "-c", "import typer._adapters"], env),
            CONTEXT[3]: ([script, "--help"], plain),
        }
        for argv, child_env in commands.values():  # warm the page cache, write the bytecode
            cpu_of(argv, child_env)
        check = subprocess.run(
            commands["verify FILE --no-watermark"][0], env=env, capture_output=True
        )
        if not check.stdout.startswith(b"trusted"):
            raise SystemExit(f"verify did not find the signed JPEG trusted: {check.stdout!r}")
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, (argv, child_env) in commands.items():
                times[name].append(cpu_of(argv, child_env))

    base = statistics.median(times[BASELINE])

    def row(name: str, label: str, target: str) -> str:
        median = statistics.median(times[name])
        low, high = min(times[name]) * 1000, max(times[name]) * 1000
        return (
            f"| {label} | {median * 1000:.0f} ms ({low:.0f}-{high:.0f}) "
            f"| {median / base:.2f} | {target} |"
        )

    rows = [
        "| command | CPU median (min-max) | x baseline | target |",
        "|---|---|---|---|",
        row(BASELINE, f"`{BASELINE}`", "baseline"),
    ]
    for name, limit in TARGETS.items():
        met = statistics.median(times[name]) / base <= limit
        rows.append(row(name, f"`provenance {name}`", f"{limit:g}x: {'met' if met else 'missed'}"))
    rows.extend(row(name, f"`{name}`", "context") for name in CONTEXT)
    body = (
        f"CPU time (user + system) of one fresh process, median of {args.rounds} interleaved "
        "rounds after a warm-up run each, bytecode cached; `verify` reads a signed "
        "512x384 JPEG with a home holding a key store. The baseline is the same interpreter "
        "importing c2pa-python; context rows are not targets. typer's own costs show there: "
        "the CLI's help is plain text (`rich_markup_mode=None`: rendering it with rich "
        "cost about a third of `--help`), so `TYPER_USE_RICH=0` changes nothing now; a "
        "command that parses an option value (`verify`) imports pydantic for typer's "
        "parameter coercion (`typer._adapters`), which no setting of typer 0.29 avoids."
        "\n\n" + "\n".join(rows)
    )
    print(body)
    write_section("startup", "CLI start-up CPU", body)


if __name__ == "__main__":
    main()
