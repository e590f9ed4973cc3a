"""The manifest repository on a real PostgreSQL server (issue 14, item 4).

The suite starts its own server (tests/postgres_server.py: initdb in a temporary
directory, a unix socket there, stopped at the end) and gives each test a new database.
Passwords reach libpq the way docs/repository.md tells users: ``PGPASSFILE`` or
``PGPASSWORD``, never the URL. Without server binaries these tests skip, saying why.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.errors import RepositoryError, UsageError
from provenance.repository import Record, open_repository
from provenance.verify.recovery import check_repository
from tests.postgres_server import PostgresServer, start_server

CLI = Path(sys.executable).with_name("provenance")
NOW = dt.datetime(2026, 11, 26, 12, 30, 15, 123456, tzinfo=dt.UTC)
ALG = "org.example.wm.v1"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        with start_server() as server:
            yield server
    except LookupError as exc:
        pytest.skip(f"PostgreSQL repository tests need a server: {exc}")


@pytest.fixture
def pg_url(pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty database; the password reachable through PGPASSFILE only."""
    for name in ("PGPASSWORD", "PGSERVICE", "PGSERVICEFILE", "PGHOST", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in pg_server.env().items():
        monkeypatch.setenv(name, value)
    return pg_server.create_database()


def dbname(url: str) -> str:
    return url.removeprefix("postgresql:///").split("?", 1)[0]


def record(record_id: int, label: str = "urn:c2pa:x", value: str = "AAAA") -> Record:
    return Record(
        record_id=record_id,
        manifest=b"\x00jumbf" + label.encode(),
        manifest_label=label,
        binding_alg=ALG,
        binding_value=value,
        media_type="image/jpeg",
        signer="default",
        created_at=NOW,
    )


def tables(server: PostgresServer, url: str) -> set[str]:
    rows = server.sql(dbname(url), "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {str(row[0]) for row in rows}


# -- the repository contract ------------------------------------------------------------------


def test_contract_and_schema_made_on_first_write(pg_server: PostgresServer, pg_url: str) -> None:
    repo = open_repository(pg_url)
    assert repo.get(1) is None and repo.find_by_binding(ALG, "v") == []  # no tables: empty
    assert tables(pg_server, pg_url) == set()  # opening and reading created nothing
    record_id = repo.reserve_id()
    assert tables(pg_server, pg_url) == {"provenance_records", "provenance_schema_version"}
    assert repo.get(record_id) is None  # reserved, not yet stored
    repo.put(record(record_id, value="v1"))
    got = repo.get(record_id)
    assert got == record(record_id, value="v1")
    assert got is not None and got.created_at.tzinfo is dt.UTC
    assert repo.find_by_binding(ALG, "v1") == [got]
    assert repo.find_by_binding("other", "v1") == []
    assert repo.get_by_label("urn:c2pa:x") == got
    assert repo.get_by_label("urn:c2pa:missing") is None
    assert repo.get(12345) is None
    with pytest.raises(RepositoryError, match="already stored"):
        repo.put(record(record_id))
    with pytest.raises(RepositoryError, match="not reserved"):
        repo.put(record(12345))
    versions = pg_server.sql(dbname(pg_url), "SELECT version FROM provenance_schema_version")
    assert versions == [(1,)]
    indexes = pg_server.sql(
        dbname(pg_url), "SELECT indexname FROM pg_indexes WHERE tablename = 'provenance_records'"
    )
    assert {row[0] for row in indexes} == {
        "provenance_records_pkey",
        "provenance_records_binding",
        "provenance_records_label",
    }
    repo.close()


def test_ids_above_2_63_and_a_second_process_reading(
    pg_server: PostgresServer, pg_url: str
) -> None:
    repo = open_repository(pg_url)
    repo.reserve_id()  # creates the tables
    pg_server.sql(dbname(pg_url), "INSERT INTO provenance_records (record_id) VALUES (-1)")
    top = 2**64 - 1
    repo.put(record(top))
    assert repo.get(top) == record(top)
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from provenance.repository import open_repository; "
            "r = open_repository(sys.argv[1]).get(2**64 - 1); print(r.record_hex, r.signer)",
            pg_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.split() == ["ffffffffffffffff", "default"]


def test_newer_schema_is_refused(pg_server: PostgresServer, pg_url: str) -> None:
    open_repository(pg_url).reserve_id()
    pg_server.sql(dbname(pg_url), "INSERT INTO provenance_schema_version (version) VALUES (99)")
    with pytest.raises(RepositoryError, match="schema version 99 is not supported"):
        open_repository(pg_url)


def _reserve_and_fill(url: str, count: int, start: Any, queue: Any) -> None:
    start.wait()
    repo = open_repository(url)
    ids = []
    for index in range(count):
        record_id = repo.reserve_id()
        repo.put(record(record_id, label=f"urn:c2pa:{os.getpid()}-{index}", value=str(record_id)))
        ids.append(record_id)
    queue.put(ids)
    repo.close()


def test_processes_reserving_at_once_get_unique_ids(pg_server: PostgresServer, pg_url: str) -> None:
    """Four processes open a database without tables and write at once: the schema is made
    once (advisory lock), every id is distinct and every record is there."""
    context = multiprocessing.get_context("spawn")
    start, queue = context.Event(), context.Queue()
    workers = [
        context.Process(target=_reserve_and_fill, args=(pg_url, 50, start, queue)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # every process imported and waiting
    start.set()
    ids = [record_id for _ in workers for record_id in queue.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(ids) == len(set(ids)) == 200
    count = pg_server.sql(
        dbname(pg_url), "SELECT count(*) FROM provenance_records WHERE manifest IS NOT NULL"
    )
    assert count == [(200,)]
    repo = open_repository(pg_url)
    assert all(repo.get(record_id) is not None for record_id in ids[::17])


def _use_inherited(repo: Any, queue: Any) -> None:
    record_id = repo.reserve_id()
    repo.put(record(record_id, label=f"urn:c2pa:child-{os.getpid()}", value="child"))
    queue.put(record_id)
    repo.close()  # closes the child's own connection, never the parent's


@pytest.mark.skipif(sys.platform != "linux", reason="fork")
def test_forked_workers_reconnect_and_threads_have_their_own(pg_url: str) -> None:
    repo = open_repository(pg_url)
    first = repo.reserve_id()  # the parent's connection is open when the children fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_use_inherited, args=(repo, queue)) for _ in range(3)]
    for child in children:
        child.start()
    child_ids = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    repo.put(record(first, label="urn:c2pa:parent"))  # the parent's connection still works
    assert repo.get(first) is not None
    assert len(repo.find_by_binding(ALG, "child")) == 3 and first not in child_ids

    errors: list[BaseException] = []

    def thread_work() -> None:
        try:
            for _ in range(20):
                record_id = repo.reserve_id()
                repo.put(record(record_id, label="urn:c2pa:thread", value="thread"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=thread_work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(repo.find_by_binding(ALG, "thread")) == 80
    repo.close()


def test_least_privilege_roles_as_documented(
    pg_server: PostgresServer, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/repository.md: the owner creates the tables, signers may only insert, update
    and read, verifiers only read."""
    db = dbname(pg_url)
    signer, verifier = f"{db}_signer", f"{db}_verifier"
    for role in (signer, verifier):
        pg_server.sql(db, f"CREATE ROLE {role} LOGIN PASSWORD '{role}-pw'")
    passfile = tmp_path / "pgpass"
    passfile.write_text(
        pg_server.passfile.read_text()
        + f"*:*:*:{signer}:{signer}-pw\n*:*:*:{verifier}:{verifier}-pw\n"
    )
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    as_signer = pg_url.replace("user=provenance", f"user={signer}")
    as_verifier = pg_url.replace("user=provenance", f"user={verifier}")

    assert open_repository(as_verifier).get(1) is None  # no tables yet, no right to make them
    with pytest.raises(RepositoryError, match="right to create tables"):
        open_repository(as_signer).reserve_id()

    open_repository(pg_url).create_schema()  # the owner, once
    for statement in (
        f"GRANT SELECT ON provenance_schema_version TO {signer}, {verifier}",
        f"GRANT SELECT, INSERT, UPDATE ON provenance_records TO {signer}",
        f"GRANT SELECT ON provenance_records TO {verifier}",
    ):
        pg_server.sql(db, statement)
    repo = open_repository(as_signer)
    record_id = repo.reserve_id()
    repo.put(record(record_id))
    reader = open_repository(as_verifier)
    assert reader.get(record_id) == record(record_id)
    with pytest.raises(RepositoryError, match="permission denied"):
        reader.reserve_id()


# -- connecting: passwords, unreachable servers -------------------------------------------------


def test_a_password_in_the_url_is_refused_before_connecting() -> None:
    for url in (
        "postgresql://signer:s3cret@db.invalid/provenance",
        "postgres:///provenance?host=/nonexistent&password=s3cret",
    ):
        with pytest.raises(UsageError, match=r"PGPASSWORD, ~/\.pgpass") as caught:
            open_repository(url)
        assert "s3cret" not in str(caught.value)


def test_passwords_come_from_pgpassword_or_the_password_file(
    pg_server: PostgresServer, pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PGPASSFILE")
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    open_repository(pg_url).reserve_id()
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(UsageError, match="password authentication failed"):
        check_repository(pg_url)
    monkeypatch.delenv("PGPASSWORD")
    service = tmp_path / "pg_service.conf"
    service.write_text(
        f"[prov]\nhost={pg_server.socket_dir}\nuser=provenance\ndbname={dbname(pg_url)}\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(service))
    monkeypatch.setenv("PGPASSFILE", pg_server.env()["PGPASSFILE"])
    check_repository("postgresql://?service=prov")


def test_unreachable_server_is_a_usage_error_at_start(tmp_path: Path, env_store: object) -> None:
    url = f"postgresql:///provenance?host={tmp_path}/no-server&user=nobody"
    source = tmp_path / "in.jpg"
    source.write_bytes(encode(natural_image(256, 192), "JPEG", quality=90))
    for command in (
        [str(CLI), "verify", str(source), "--repository", url],
        [str(CLI), "sign", str(source), "-o", str(tmp_path / "out.jpg"), "--repository", url],
    ):
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: ") and "cannot connect to the repository" in line
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.jpg").exists()


# -- signing from several processes, recovering from another, the soft-binding API -------------


def strip(data: bytes) -> bytes:
    """A platform's copy: decoded, resized, re-encoded as JPEG, every byte of metadata gone."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    small = image.resize((int(width * 0.75), int(height * 0.75)), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture(scope="module")
def signed_in_postgres(
    pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A key store made by ``provenance keys init``; four ``provenance sign`` processes at
    once into one new database."""
    root = tmp_path_factory.mktemp("pg-sign")
    home = root / "home"
    url = pg_server.create_database()
    env = {
        **os.environ,
        **pg_server.env(),
        "PROVENANCE_HOME": str(home),
        "PROVENANCE_PASSPHRASE": PASSPHRASE,
    }
    for name in ("PGPASSWORD", "PGSERVICE", "PGSERVICEFILE"):
        env.pop(name, None)
    subprocess.run([str(CLI), "keys", "init"], env=env, check=True, capture_output=True)
    inputs = []
    for index in range(4):
        path = root / f"in{index}.jpg"
        path.write_bytes(encode(natural_image(512, 384, seed=index), "JPEG", quality=92))
        inputs.append(path)
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [
                *(str(CLI), "sign", str(path), "-o", str(path.with_name(f"out{i}.jpg"))),
                *("--model", "imagegen-3", "--repository", url),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, path in enumerate(inputs)
    ]
    results = [process.communicate(timeout=300) for process in processes]
    elapsed = time.monotonic() - started
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr
    yield {
        "home": home,
        "url": url,
        "env": env,
        "outputs": [root / f"out{i}.jpg" for i in range(4)],
        "sign_seconds": elapsed,
    }


def test_several_sign_processes_at_once(
    signed_in_postgres: dict[str, Any], pg_server: PostgresServer
) -> None:
    url = signed_in_postgres["url"]
    rows = pg_server.sql(
        dbname(url),
        "SELECT record_id, manifest_label, binding_alg, media_type FROM provenance_records "
        "WHERE manifest IS NOT NULL",
    )
    assert len(rows) == 4 and len({row[0] for row in rows}) == 4
    assert len({row[1] for row in rows}) == 4
    assert {row[3] for row in rows} == {"image/jpeg"}


def test_stripped_copy_is_recovered_by_verify_in_another_process(
    signed_in_postgres: dict[str, Any], tmp_path: Path
) -> None:
    env, url = signed_in_postgres["env"], signed_in_postgres["url"]
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(strip(signed_in_postgres["outputs"][2].read_bytes()))
    assert b"c2pa" not in stripped.read_bytes()
    result = subprocess.run(
        [str(CLI), "verify", "--json", str(stripped), "--repository", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["verdict"] == "recovered", report["summary"]
    assert report["credentials"]["model"] == "imagegen-3"
    # Without the repository the same copy is only watermarked.
    alone = subprocess.run(
        [str(CLI), "verify", "--json", str(stripped)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(alone.stdout)[0]["verdict"] == "watermarked"


def test_soft_binding_api_reads_from_postgres(
    signed_in_postgres: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from provenance.server import ServerSettings, create_app
    from provenance.watermark.image import ALGORITHM

    for name, value in signed_in_postgres["env"].items():
        if name.startswith("PG"):
            monkeypatch.setenv(name, value)
    url = signed_in_postgres["url"]
    signed = signed_in_postgres["outputs"][1].read_bytes()
    record_hex = json.loads(
        subprocess.run(
            [str(CLI), "verify", "--json", str(signed_in_postgres["outputs"][1])],
            env=signed_in_postgres["env"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    )[0]["watermark"]["record"]
    stored = open_repository(url).get(int(record_hex, 16))
    assert stored is not None
    settings = ServerSettings(
        home=signed_in_postgres["home"],
        repository=url,  # type: ignore[arg-type]  # a URL, not a Path (Path("a://b") is "a:/b")
        passphrase=PASSPHRASE,
    )
    with TestClient(create_app(settings)) as client:
        value = base64.b64encode(bytes.fromhex(record_hex)).decode()
        by_binding = client.get("/matches/byBinding", params={"alg": ALGORITHM, "value": value})
        assert by_binding.status_code == 200, by_binding.text
        (match,) = by_binding.json()["matches"]
        assert match["manifestId"] == stored.manifest_label
        by_content = client.post("/matches/byContent", files={"file": ("s.jpg", strip(signed))})
        assert by_content.status_code == 200, by_content.text
        assert by_content.json()["matches"] == [match]
        manifest = client.get(f"/manifests/{match['manifestId']}")
        assert manifest.status_code == 200 and manifest.content == stored.manifest
        verified = client.post("/v1/verify", files={"file": ("s.jpg", strip(signed))})
        assert verified.json()["verdict"] == "recovered"
