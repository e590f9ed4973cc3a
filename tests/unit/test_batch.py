from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from provenance.batch.many import count_files, iter_files, paths_from_lines, verify_many
from provenance.report import Report, Verdict
from provenance.verify.verifier import VerifyConfig


def test_walk_is_sorted_depth_first_and_survives_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "inner.png").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "c.txt").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "b" / "loop")
    found = list(iter_files([tmp_path], recursive=True))
    names = [p.relative_to(tmp_path).as_posix() for p in found if isinstance(p, Path)]
    assert names == ["a.jpg", "c.txt", "b/inner.png"]


def test_directory_without_recursive_is_an_error_report(tmp_path: Path) -> None:
    (only,) = list(iter_files([tmp_path]))
    assert isinstance(only, Report)
    assert only.verdict is Verdict.ERROR and only.summary == "is a directory"
    assert only.remedy == "recurse"  # the CLI names it: (use --recursive)


def test_parallel_results_keep_input_order(tmp_path: Path, image_file: Callable[..., Path]) -> None:
    paths: list[Path] = []
    for index in range(12):
        if index % 3 == 0:
            path = tmp_path / f"{index:02d}-empty.jpg"
            path.write_bytes(b"")
        else:
            path = image_file(f"{index:02d}.png", "PNG", size=(32, 32))
        paths.append(path)
    serial = [r.to_json() for r in verify_many(paths, VerifyConfig(), workers=1)]
    parallel = [r.to_json() for r in verify_many(paths, VerifyConfig(), workers=2)]
    assert parallel == serial
    assert [r["verdict"] for r in serial[:3]] == ["error", "none", "none"]


def test_unordered_gives_the_same_reports(tmp_path: Path, image_file: Callable[..., Path]) -> None:
    paths = [image_file(f"{i:02d}.png", "PNG", size=(32, 32)) for i in range(10)]
    ordered = [r.to_json() for r in verify_many(paths, VerifyConfig(), workers=2)]
    unordered = [r.to_json() for r in verify_many(paths, VerifyConfig(), workers=2, ordered=False)]
    assert sorted(unordered, key=lambda r: r["path"]) == ordered


def test_slow_file_becomes_an_error_report(
    tmp_path: Path, image_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from provenance.verify.verifier import Verifier

    def slow(self: Verifier, path: Path) -> Report:
        time.sleep(5)
        raise AssertionError("the deadline should have stopped this")

    monkeypatch.setattr(Verifier, "verify_path", slow)
    path = image_file("slow.png", "PNG", size=(32, 32))
    start = time.monotonic()
    (report,) = list(verify_many([path], VerifyConfig(), file_timeout=0.3))
    assert time.monotonic() - start < 3
    assert report.verdict is Verdict.ERROR
    assert report.error == "verification took longer than the 0.3-second limit"
    with pytest.raises(ValueError, match="positive"):
        list(verify_many([path], VerifyConfig(), file_timeout=0))


@pytest.mark.parametrize("ordered", [True, False])
def test_a_file_that_kills_its_worker_costs_only_its_own_report(
    tmp_path: Path,
    image_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    ordered: bool,
) -> None:
    """A crash in native code (simulated: the worker process dies at once) must not break
    the pool for the files in flight beside it, nor the rest of the batch."""
    import signal

    from provenance.verify.verifier import Verifier

    real = Verifier.verify_path

    def crashing(self: Verifier, path: Path) -> Report:
        if path.name.startswith("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, path)

    monkeypatch.setattr(Verifier, "verify_path", crashing)  # forked workers inherit it
    paths = [image_file(f"{i:02d}.png", "PNG", size=(32, 32)) for i in range(30)]
    paths[3] = image_file("crash-a.png", "PNG", size=(32, 32))
    paths[20] = image_file("crash-b.png", "PNG", size=(32, 32))
    reports = {r.path: r for r in verify_many(paths, VerifyConfig(), workers=2, ordered=ordered)}
    assert len(reports) == len(paths)
    for path in paths:
        report = reports[str(path)]
        if path.name.startswith("crash"):
            assert report.verdict is Verdict.ERROR
            assert report.error == "the verifier process crashed on this file"
        else:
            assert report.verdict is Verdict.NONE, report


def test_paths_from_lines_keep_undecodable_names() -> None:
    lines = [b"a.jpg\n", b"\n", b"dir/b c.png\r\n", b"bad-\xff.png"]
    assert [p.as_posix() for p in paths_from_lines(lines)] == [
        "a.jpg",
        "dir/b c.png",
        os.fsdecode(b"bad-\xff.png"),
    ]


def test_count_matches_the_walk_through_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "b" / "c").mkdir(parents=True)
    for name in ("a.jpg", "b/one.png", "b/c/two.png", "b/c/three.png"):
        (tmp_path / name).write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "b" / "c" / "loop")
    os.symlink(tmp_path / "gone", tmp_path / "dangling.jpg")
    single = tmp_path / "a.jpg"
    assert count_files([tmp_path], recursive=True) == 5  # the dangling link is a file
    assert count_files([tmp_path, single], recursive=True) == 6
    assert count_files([tmp_path, single]) == 2  # the directory is one error report
    assert count_files([]) == 0


def test_count_includes_an_unlistable_directory_as_one_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.png").write_bytes(b"x")
    (tmp_path / "seen.png").write_bytes(b"x")
    real_scandir = os.scandir

    def deny_locked(path: str) -> object:  # chmod does not stop root, so refuse here
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("provenance.batch.many.os.scandir", deny_locked)
    walked = list(iter_files([tmp_path], recursive=True))
    assert count_files([tmp_path], recursive=True) == len(walked) == 2
    assert any(isinstance(item, Report) and item.verdict is Verdict.ERROR for item in walked)


def test_count_of_a_listed_file_skips_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.png").write_bytes(b"x")
    (tmp_path / "d" / "y.png").write_bytes(b"x")
    lines = [b"missing.jpg\n", b"\n", str(tmp_path / "d").encode() + b"\n"]
    assert count_files(paths_from_lines(lines), recursive=True) == 3
    assert count_files(paths_from_lines(lines)) == 2
