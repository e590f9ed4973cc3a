from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from provenance.batch import iter_files, paths_from_lines, verify_many
from provenance.verify import Report, Verdict, VerifyConfig


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
    assert only.verdict is Verdict.ERROR and "--recursive" in only.summary


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

    from provenance.verify import Verifier

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


def test_paths_from_lines_keep_undecodable_names() -> None:
    lines = [b"a.jpg\n", b"\n", b"dir/b c.png\r\n", b"bad-\xff.png"]
    assert [p.as_posix() for p in paths_from_lines(lines)] == [
        "a.jpg",
        "dir/b c.png",
        os.fsdecode(b"bad-\xff.png"),
    ]
