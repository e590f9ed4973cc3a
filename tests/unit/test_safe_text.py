from __future__ import annotations

from provenance._internal.text import safe_text


def test_escape_sequences_and_controls_are_removed() -> None:
    hostile = "\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x00\r\n\u202eevil"
    cleaned = safe_text(hostile)
    assert "\x1b" not in cleaned and "\x00" not in cleaned and "\n" not in cleaned
    assert "\u202e" not in cleaned
    assert cleaned.startswith("red ok")


def test_markup_is_kept_literally_and_long_text_is_cut() -> None:
    assert safe_text("[bold]<script>x</script>") == "[bold]<script>x</script>"
    cut = safe_text("a" * 10_000, limit=100)
    assert len(cut) == 100 and cut.endswith("\u2026")


def test_undecodable_file_name_bytes_become_replacement_characters() -> None:
    name = b"bad-\xff\xfe.png".decode("utf-8", "surrogateescape")
    cleaned = safe_text(name)
    assert cleaned == "bad-\ufffd\ufffd.png"
    cleaned.encode("utf-8")  # a lone surrogate would raise here, in any printer
