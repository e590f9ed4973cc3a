"""`--workers` over the machine's limit is said once on stderr (issue 23, item 18), not
capped silently."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from fixtures.support import encode, natural_image
from provenance.batch import WORKERS_PER_CPU, max_workers


def test_a_worker_count_over_the_limit_is_said_once(home: Path, tmp_path: Path) -> None:
    files = []
    for number in range(3):
        path = tmp_path / f"f{number}.png"
        path.write_bytes(encode(natural_image(64, 48, seed=number), "PNG"))
        files.append(str(path))
    over = max_workers() + 1
    result = CliRunner().invoke(app, ["verify", "--workers", str(over), *files])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: --workers {over} is over this machine's limit of {max_workers()} "
        f"({WORKERS_PER_CPU} per CPU); at most {max_workers()} run at once"
    ]
    within = CliRunner().invoke(app, ["verify", "--workers", str(max_workers()), *files])
    assert within.exit_code == 0 and "note:" not in within.stderr
