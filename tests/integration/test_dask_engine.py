"""The Dask engine on a ``distributed.LocalCluster``: the local engine's reports, on workers.

One cluster (two worker processes, one thread each) serves the whole module; it starts in
a few seconds. Helpers that must run inside the workers are pickled by value.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.batch import SignStatus, iter_files, sign_many, verify_many
from provenance.errors import UsageError
from provenance.home import default_repository, verify_config_for_home
from provenance.report import Verdict
from provenance.signing import SignSettings
from provenance.verify.verifier import VerifyConfig

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])

from provenance.batch import dask as dask_engine  # noqa: E402
from provenance.batch.signing import signers_built  # noqa: E402
from provenance.batch.task import verifiers_built  # noqa: E402

EXPECTED = ["trusted", "recovered", "none", "error", "error", "error", "trusted"]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as dask_client:
        yield dask_client


@pytest.fixture
def batch(home: Path, passphrase: str, tmp_path: Path) -> list[Path]:
    """Signed, signed-then-stripped (recovered from the repository), plain, broken,
    missing, a directory without --recursive, and the signed file again."""
    assert run("keys", "init").exit_code == 0
    source = tmp_path / "gen.png"
    source.write_bytes(_photo())
    signed = tmp_path / "signed.png"
    assert run("sign", str(source), "-o", str(signed), "--model", "m").exit_code == 0
    stripped = tmp_path / "stripped.jpg"
    image = Image.open(io.BytesIO(signed.read_bytes())).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)  # metadata gone, the watermark stays
    stripped.write_bytes(out.getvalue())
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    folder = tmp_path / "folder"
    folder.mkdir()
    # the same path twice: pure=False must verify (and report) it twice
    return [signed, stripped, source, broken, tmp_path / "missing.png", folder, signed]


def _photo() -> bytes:
    return encode(natural_image(512, 384, seed=3), "PNG")


def _config(home: Path) -> VerifyConfig:
    config = verify_config_for_home(home, [], None)
    return dataclasses.replace(config, repository=str(default_repository(home)))


def _on_dask(paths: list[Path], config: VerifyConfig, cluster: Any, **options: Any) -> list[Any]:
    reports = verify_many(
        iter_files(paths), config, engine="dask", scheduler=cluster.scheduler_address, **options
    )
    return [report.to_json() for report in reports]


def test_dask_reports_equal_the_local_ones_and_reuse_one_verifier_per_worker(
    batch: list[Path], home: Path, cluster: Any, client: Any
) -> None:
    config = _config(home)
    local = [r.to_json() for r in verify_many(iter_files(batch), config, workers=1)]
    assert [r["verdict"] for r in local] == EXPECTED
    built_before = client.run(verifiers_built)
    assert _on_dask(batch, config, cluster) == local  # in input order, paths as given
    unordered = _on_dask(batch, config, cluster, ordered=False)
    assert sorted(map(json.dumps, unordered)) == sorted(map(json.dumps, local))
    built = {w: n - built_before[w] for w, n in client.run(verifiers_built).items()}
    # 2 runs x 6 files, one Verifier per worker (one thread each) for this configuration
    assert all(n <= 1 for n in built.values()) and sum(built.values()) >= 1, built


def test_cli_on_dask_prints_what_the_local_engine_prints(
    batch: list[Path], home: Path, cluster: Any
) -> None:
    names = [str(path) for path in batch]
    local = run("verify", "--jsonl", *names)
    address = cluster.scheduler_address
    result = run("verify", "--engine", "dask", "--scheduler", address, "--jsonl", *names)
    assert result.exit_code == local.exit_code == 3, result.output
    assert result.stdout == local.stdout
    assert [json.loads(line)["verdict"] for line in result.stdout.splitlines()] == EXPECTED
    assert "7 files: 2 trusted, 1 recovered, 1 none, 3 error" in result.stderr


def _make_verify_slow() -> None:  # runs in each worker process
    from provenance.verify.verifier import Verifier

    def slow(self: Any, path: Path) -> Any:
        end = time.monotonic() + 10
        while time.monotonic() < end:  # Python code: the deadline can interrupt it
            pass
        raise AssertionError("the deadline should have stopped this")

    Verifier._real_verify_path = Verifier.verify_path  # type: ignore[attr-defined]
    Verifier.verify_path = slow  # type: ignore[method-assign]


def _restore_verify() -> None:
    from provenance.verify.verifier import Verifier

    Verifier.verify_path = Verifier._real_verify_path  # type: ignore[attr-defined, method-assign]


def test_timeout_holds_in_dask_worker_threads(
    image_file: Callable[..., Path], cluster: Any, client: Any
) -> None:
    paths = [image_file(f"{i}.png", "PNG", size=(32, 32)) for i in range(3)]
    client.run(_make_verify_slow)
    try:
        start = time.monotonic()
        reports = _on_dask(paths, VerifyConfig(), cluster, file_timeout=0.5)
        elapsed = time.monotonic() - start
    finally:
        client.run(_restore_verify)
    assert elapsed < 5
    assert [r["error"] for r in reports] == [
        "verification took longer than the 0.5-second limit"
    ] * 3
    assert [r["verdict"] for r in _on_dask(paths, VerifyConfig(), cluster)] == ["none"] * 3


def _explode(*args: Any) -> None:
    raise RuntimeError("boom")


def test_a_failing_task_is_an_error_report_for_its_file_only(
    image_file: Callable[..., Path], cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [image_file(f"{i}.png", "PNG", size=(32, 32)) for i in range(3)]
    real = dask_engine.run_file

    def flaky(job: Any, path: Path) -> Any:
        return _explode() if str(path).endswith("1.png") else real(job, path)

    monkeypatch.setattr(dask_engine, "run_file", flaky)
    reports = _on_dask(paths, VerifyConfig(), cluster)
    assert [r["verdict"] for r in reports] == ["none", "error", "none"]
    assert reports[1]["error"] == "verifier failed on this file: RuntimeError"


def test_unreachable_scheduler_is_one_line_and_exit_2(
    home: Path, image_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dask_engine, "DEFAULT_CONNECT_TIMEOUT", 1.0)
    path = str(image_file("a.png", "PNG", size=(32, 32)))
    for address, reason in [
        ("tcp://127.0.0.1:9", "Timed out trying to connect"),
        ("not-an-address", "missing port number"),
    ]:
        start = time.monotonic()
        result = run("verify", "--engine", "dask", "--scheduler", address, "--json", path)
        assert time.monotonic() - start < 5
        assert result.exit_code == 2, result.output
        assert result.stdout == ""  # not even the opening bracket of the JSON list
        assert result.stderr.startswith(f"error: cannot reach the Dask scheduler at {address}: ")
        assert reason in result.stderr and result.stderr.count("\n") == 1


def test_a_scheduler_without_workers_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_engine, "DEFAULT_CONNECT_TIMEOUT", 0.5)
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        address = empty.scheduler_address
        with pytest.raises(UsageError, match=r"has no workers \(waited 0\.5 s\)$"):
            verify_many([], VerifyConfig(), engine="dask", scheduler=address)


def test_workers_without_the_repository_are_refused_before_any_report(
    env_store: object, home: Path, tmp_path: Path, cluster: Any
) -> None:
    config = dataclasses.replace(_config(home), repository=str(tmp_path / "elsewhere.sqlite"))
    with pytest.raises(UsageError, match=r"elsewhere\.sqlite is not on Dask worker tcp://"):
        verify_many([home], config, engine="dask", scheduler=cluster.scheduler_address)
    without = dataclasses.replace(config, check_watermark=False)  # it is never opened
    (report,) = verify_many([home], without, engine="dask", scheduler=cluster.scheduler_address)
    assert report.verdict is Verdict.ERROR  # a directory, checked and reported here


def test_engine_flags_that_do_not_go_together_are_usage_errors(home: Path) -> None:
    for args, message in [
        (["--scheduler", "tcp://h:8786"], "--scheduler goes with --engine dask"),
        (["--engine", "dask"], "--engine dask needs --scheduler ADDRESS"),
        (["--engine", "dask", "--scheduler", "tcp://h:8786", "-w", "2"], "--workers is for"),
        (["--engine", "dask", "--scheduler", "tcp://h:8786", "-"], "standard input"),
    ]:
        result = run("verify", *args, *([] if "-" in args else ["x.png"]))
        assert result.exit_code == 2, result.output
        assert message in result.stderr
    with pytest.raises(ValueError, match="scheduler"):
        verify_many([], VerifyConfig(), engine="dask")
    with pytest.raises(ValueError, match="engine"):
        verify_many([], VerifyConfig(), engine="spark")  # type: ignore[arg-type]


def test_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(UsageError, match=r"pip install 'provenance-toolkit\[dask\]'"):
        verify_many([], VerifyConfig(), engine="dask", scheduler="tcp://127.0.0.1:8786")


def test_reports_pickle() -> None:
    import pickle

    from provenance.report import Report

    report = Report("a.png", Verdict.NONE, "no provenance found", "image/png", watermark={})
    assert pickle.loads(pickle.dumps(report)) == report


# -- signing on the cluster -----------------------------------------------------------------


def _signers_held() -> int:  # runs on each worker
    from provenance.batch import signing

    return len(signing._signers)


@pytest.fixture
def tree(env_store: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A key store in the environment and a small tree of images; cwd is ``tmp_path``."""
    names = ["gen/a.jpg", "gen/b.png", "gen/sub/c.jpg"]
    for index, name in enumerate(names):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = "PNG" if name.endswith(".png") else "JPEG"
        path.write_bytes(encode(natural_image(320, 256, seed=index), fmt))
    monkeypatch.chdir(tmp_path)
    return names


def test_dask_signs_the_tree_as_the_local_engine_does(
    tree: list[str], home: Path, cluster: Any, client: Any
) -> None:
    built_before = client.run(signers_built)
    settings = SignSettings(home=home, model="m")
    outcomes = list(
        sign_many(
            [Path("gen"), Path("missing.jpg")],
            Path("out"),
            settings,
            PASSPHRASE,
            recursive=True,
            engine="dask",
            scheduler=cluster.scheduler_address,
        )
    )
    assert [(o.input, o.output, o.status) for o in outcomes] == [
        *[(name, f"out/{name}", SignStatus.SIGNED) for name in tree],
        ("missing.jpg", "out/missing.jpg", SignStatus.UNREADABLE),
    ]
    assert outcomes[-1].error == "no such file"
    records = [o.record for o in outcomes[:3]]
    assert len(set(records)) == 3
    signed = iter_files([Path("out")], recursive=True)
    reports = [r.to_json() for r in verify_many(signed, _config(home))]
    assert [r["verdict"] for r in reports] == ["trusted"] * 3
    assert sorted(r["watermark"]["record"] for r in reports) == sorted(records)
    built = {w: n - built_before[w] for w, n in client.run(signers_built).items()}
    assert all(n <= 1 for n in built.values()) and sum(built.values()) >= 1, built
    assert set(client.run(_signers_held).values()) == {0}  # no unlocked key left behind
    # The CLI, on the cluster: the existing outputs are refused per file, as locally.
    address = cluster.scheduler_address
    dask = ["--engine", "dask", "--scheduler", address]
    result = run("sign", *dask, "-r", "gen", "--out-dir", "out", "--jsonl")
    assert result.exit_code == 2, result.output
    refused = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["status"] for o in refused] == ["refused"] * 3
    assert refused[0]["error"] == "out/gen/a.jpg: output already exists (use --force to replace it)"
