"""``paths_from_lines`` (``verify --from-file``): blank lines skipped, names kept verbatim."""

from __future__ import annotations

import os

from provenance.batch.many import paths_from_lines


def names(lines: list[bytes]) -> list[str]:
    return [str(path) for path in paths_from_lines(lines)]


def test_blank_lines_are_skipped() -> None:
    lines = [b"\n", b"a.jpg\n", b"\r\n", b"\n", b"b.png\r\n", b"\n", b""]
    assert names(lines) == ["a.jpg", "b.png"]
    assert names([b"\n", b"\r\n"]) == []


def test_only_the_line_ending_is_removed() -> None:
    lines = [b" lead.jpg\n", b"trail.jpg \n", b"\ttab.png\r\n", b"  \n", b"last.webp"]
    assert names(lines) == [" lead.jpg", "trail.jpg ", "\ttab.png", "  ", "last.webp"]
    assert names([b"cr\r\r\n"]) == ["cr\r"]  # one CRLF ending; the name's own CR stays
    assert names([b"bad-\xff.png\n"]) == [os.fsdecode(b"bad-\xff.png")]
