from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from provenance.batch import iter_files, verify_many
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
