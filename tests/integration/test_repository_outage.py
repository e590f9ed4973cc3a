"""A PostgreSQL repository that drops mid-batch (issue 23, items 11 and 12).

The tests run their own throw-away server (tests/postgres_server.py), since they stop it
(``pg_ctl stop -m immediate``: connections cut, as in a crash) and start it again, and the
real console script, as a user runs it: `verify` of stripped copies whose credentials are
looked up in the repository, and `sign --out-dir` storing a record per file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fixtures.support import PASSPHRASE, encode, natural_image
from tests.postgres_server import PostgresServer, start_server

CLI = Path(sys.executable).with_name("provenance")


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    try:
        # Durable: commits survive the crash the tests make (the suite's other server
        # trades that for speed).
        with start_server(durable=True) as started:
            yield started
    except LookupError as exc:
        pytest.skip(f"repository outage tests need a PostgreSQL server: {exc}")


@pytest.fixture
def pg(server: PostgresServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A key store made by `provenance keys init`, a new database, the environment the CLI
    runs in; the server is running again after the test, whatever it did."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        **server.env(),
        "PROVENANCE_HOME": str(home),
        "PROVENANCE_PASSPHRASE": PASSPHRASE,
    }
    for name in ("PGPASSWORD", "PGSERVICE", "PGSERVICEFILE", "PGHOST", "PGUSER"):
        env.pop(name, None)
    subprocess.run([str(CLI), "keys", "init"], env=env, check=True, capture_output=True)
    try:
        yield {"home": home, "env": env, "url": server.create_database()}
    finally:
        with contextlib.suppress(RuntimeError):  # it was running
            server.start()


def stripped(data: bytes) -> bytes:
    """A platform's copy: decoded and re-encoded as JPEG, every byte of metadata gone."""
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def records(server: PostgresServer, url: str) -> set[str]:
    dbname = url.removeprefix("postgresql:///").split("?", 1)[0]
    rows = server.sql(dbname, "SELECT record_id FROM provenance_records WHERE manifest IS NOT NULL")
    return {f"{int(row[0]) % 2**64:016x}" for row in rows}  # type: ignore[call-overload]


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        bufsize=0,
    )


def wait_for_lines(process: subprocess.Popen[bytes], count: int) -> list[bytes]:
    assert process.stdout is not None
    return [process.stdout.readline() for _ in range(count)]


# -- item 11: verify ---------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_verify_reports_every_file_when_the_repository_drops(
    server: PostgresServer, pg: dict[str, Any], tmp_path: Path, workers: str
) -> None:
    env, url = pg["env"], pg["url"]
    source, signed = tmp_path / "in.jpg", tmp_path / "signed.jpg"
    source.write_bytes(encode(natural_image(384, 288, seed=3), "JPEG", quality=92))
    subprocess.run(
        [str(CLI), "sign", str(source), "-o", str(signed), "--model", "m", "--repository", url],
        env=env,
        check=True,
        capture_output=True,
    )
    folder = tmp_path / "stripped"
    folder.mkdir()
    copy = stripped(signed.read_bytes())
    total = 30
    for index in range(total):
        (folder / f"{index:02d}.jpg").write_bytes(copy)
    command = [str(CLI), "verify", "--jsonl", "-r", str(folder), "--repository", url]
    env = {**env, "PROVENANCE_REPOSITORY_RECONNECT": "4"}  # the bound, short for the test
    process = start([*command, "--workers", workers], env)
    head = wait_for_lines(process, 2)
    server.stop()  # mid-batch, and for good
    started = time.monotonic()
    rest, err = process.communicate(timeout=300)
    elapsed = time.monotonic() - started
    stderr = err.decode()

    reports = [json.loads(line) for line in (b"".join(head) + rest).decode().splitlines()]
    assert process.returncode == 3, stderr  # an error, none invalid; not a usage error
    assert len(reports) == total  # every file has its report
    verdicts = [report["verdict"] for report in reports]
    assert verdicts[:2] == ["recovered", "recovered"]
    assert set(verdicts) == {"recovered", "error"}
    failed = [report for report in reports if report["verdict"] == "error"]
    for report in failed:
        assert report["error"].startswith("the manifest repository could not be read: "), report
        assert "reconnecting" in report["error"], report
        assert report["media_type"] == "image/jpeg"
    recovered = total - len(failed)
    assert stderr.splitlines()[-1] == (
        f"{total} files: {recovered} recovered, {len(failed)} error; by kind: {total} image"
    )
    assert "Traceback" not in stderr
    # The reconnect is bounded once per worker, not once per file.
    assert elapsed < 120, elapsed


# -- item 12: sign --out-dir -------------------------------------------------------------------


def signing_batch(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "gen"
    folder.mkdir()
    for index in range(count):
        image = natural_image(320, 256, seed=index)
        (folder / f"{index:02d}.png").write_bytes(encode(image, "PNG"))
    return folder


def test_a_short_outage_while_signing_loses_no_file(
    server: PostgresServer, pg: dict[str, Any], tmp_path: Path
) -> None:
    env, url = pg["env"], pg["url"]
    folder, out = signing_batch(tmp_path, 10), tmp_path / "out"
    command = [str(CLI), "sign", "-r", str(folder), "--out-dir", str(out), "--jsonl"]
    process = start([*command, "--model", "m", "--repository", url, "--workers", "1"], env)
    head = wait_for_lines(process, 2)
    began = time.monotonic()
    server.stop()
    time.sleep(2)  # a restart, a fail-over: seconds
    server.start()
    outage = time.monotonic() - began
    rest, err = process.communicate(timeout=300)

    outcomes = [json.loads(line) for line in (b"".join(head) + rest).decode().splitlines()]
    lost = [(o["input"], o["status"], o["error"]) for o in outcomes if o["status"] != "signed"]
    assert process.returncode == 0, (err.decode(), f"outage {outage:.1f} s", lost)
    assert [o["status"] for o in outcomes] == ["signed"] * 10
    assert records(server, url) == {o["record"] for o in outcomes}
    assert len(list(out.rglob("*.png"))) == 10


def test_a_long_outage_fails_the_rest_and_keeps_outputs_and_records_consistent(
    server: PostgresServer, pg: dict[str, Any], tmp_path: Path
) -> None:
    env, url = pg["env"], pg["url"]
    env = {**env, "PROVENANCE_REPOSITORY_RECONNECT": "4"}  # the bound, short for the test
    folder, out = signing_batch(tmp_path, 8), tmp_path / "out"
    command = [str(CLI), "sign", "-r", str(folder), "--out-dir", str(out), "--jsonl"]
    process = start([*command, "--model", "m", "--repository", url, "--workers", "1"], env)
    head = wait_for_lines(process, 2)
    server.stop()
    rest, err = process.communicate(timeout=300)
    assert "after reconnecting for 4 s" in err.decode() + rest.decode()
    server.start()
    stderr = err.decode()

    outcomes = [json.loads(line) for line in (b"".join(head) + rest).decode().splitlines()]
    assert process.returncode == 1, stderr  # failed, not refused (exit 2)
    statuses = [o["status"] for o in outcomes]
    done = statuses.count("signed")  # the two seen, and one in hand when it stopped
    assert 2 <= done < 8 and statuses == ["signed"] * done + ["failed"] * (8 - done), outcomes
    for outcome in outcomes[done:]:
        assert "(the repository is " in outcome["error"], outcome
        assert outcome["record"] is None
        assert outcome["media_type"] == "image/png"
    # Nothing lost: a signed output for each record stored, and no output without one.
    written = {str(path) for path in out.rglob("*.png")}
    assert written == {o["output"] for o in outcomes if o["status"] == "signed"}
    assert records(server, url) == {o["record"] for o in outcomes if o["status"] == "signed"}
    assert stderr.splitlines()[-1] == f"8 files: {done} signed, {8 - done} failed; by kind: 8 image"
