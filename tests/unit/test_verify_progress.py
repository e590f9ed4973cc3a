"""The progress line of ``provenance verify`` (and ``sign --out-dir``) on a terminal: a pure
function of the tallies."""

from __future__ import annotations

import collections

import pytest

from cli._batch import progress_line
from provenance.report import Verdict


def tally(**counts: int) -> collections.Counter[Verdict]:
    return collections.Counter({Verdict(name): n for name, n in counts.items()})


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "counting", "expected"),
    [
        (1234, 10_000, 4.936, False, "1,234/10,000 files, 250 files/s, ETA 0:35"),
        (1234, None, 4.936, True, "1,234 files (counting...), 250 files/s"),
        (1234, None, 4.936, False, "1,234 files, 250 files/s"),  # a list on stdin: no ETA
        (0, 10, 0.0, False, "0/10 files, 0 files/s, ETA --:--"),
        (10, 7, 2.0, False, "10/10 files, 5 files/s, ETA 0:00"),  # files added after the count
        (100, 1_000_000, 1.0, False, "100/1,000,000 files, 100 files/s, ETA 2:46:39"),
    ],
)
def test_head_of_the_line(
    done: int, total: int | None, elapsed: float, counting: bool, expected: str
) -> None:
    line = progress_line(done, total, elapsed, tally(), counting=counting)
    assert line == expected


def test_verdict_counts_follow_in_verdict_order() -> None:
    counts = tally(error=30, trusted=1200, none=4)
    line = progress_line(1234, 10_000, 4.936, counts)
    assert line == "1,234/10,000 files, 250 files/s, ETA 0:35 — 1,200 trusted, 4 none, 30 error"
