"""Library errors state facts; what gets past them is a remedy the CLI names as a flag."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from cli._common import HINTS, with_hint
from provenance._internal.fs import write_output
from provenance.errors import OutputExists, Remedy, UnsupportedMedia


def test_an_existing_output_is_a_fact_with_a_remedy(tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(b"old")
    with pytest.raises(OutputExists) as caught:
        write_output(target, b"new", force=False)
    assert str(caught.value) == f"{target}: output already exists"
    assert "--" not in caught.value.diagnostics()
    assert caught.value.remedy is Remedy.REPLACE
    assert with_hint(str(caught.value), caught.value.remedy).endswith(
        "output already exists (use --force to replace it)"
    )
    assert target.read_bytes() == b"old"


def test_the_remedy_survives_a_process_boundary() -> None:
    error = UnsupportedMedia("cannot watermark x", remedy=Remedy.NO_WATERMARK)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is UnsupportedMedia and str(copy) == "cannot watermark x"
    assert copy.remedy is Remedy.NO_WATERMARK and copy.exit_code == 3


def test_every_remedy_has_a_flag_and_none_adds_nothing() -> None:
    assert set(HINTS) == set(Remedy)
    assert with_hint("plain fact", None) == "plain fact"
    assert with_hint("x", "no-watermark") == "x (or use --no-watermark)"


def test_an_error_about_a_file_keeps_its_type_and_remedy() -> None:
    from provenance.errors import UnsupportedMedia

    error = UnsupportedMedia("a store on its own", remedy=Remedy.MANIFEST_ALONE)
    named = error.about("side.c2pa")
    assert type(named) is UnsupportedMedia and named.remedy is Remedy.MANIFEST_ALONE
    assert str(named) == "side.c2pa: a store on its own" and named.exit_code == error.exit_code
