"""`provenance watermark embed|detect` through typer's CliRunner: exit code AND message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import FAST_CONFIG, PASSPHRASE, photo_like
from provenance.keystore import KeyStore
from provenance.watermark.image import ALGORITHM

APP = app  # the real command tree, as users run it


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("wm-cli") / "home"
    store = KeyStore.create(home, PASSPHRASE, org="WM Org", config=FAST_CONFIG)
    store.watermark_keys.create("second")
    return home


@pytest.fixture
def home(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(template, target)
    return target


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    photo_like(420, 320, seed=4).save(path, "JPEG", quality=92)
    return path


# The keys of the report's `watermark` object; the image engine's geometry sits beside
# the others, as it always has.
REPORTED = {
    *("status", "detected", "alg", "payload", "key", "p_value", "record", "agrees", "note"),
    *("scale", "angle", "offset", "altered_regions"),
}


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(APP, ["--home", str(home), "watermark", *args])


def test_embed_then_detect_json(home: Path, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "marked.jpg"
    result = run(home, "embed", str(photo), "-o", str(out), "--payload", "0011223344556677")
    assert result.exit_code == 0, result.output
    assert "payload=0011223344556677" in result.stdout and "key=default" in result.stdout
    result = run(home, "detect", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["detected"] is True
    assert report["payload"] == "0011223344556677" and report["key"] == "default"
    assert 0 < report["p_value"] <= 1e-8 * 2  # two keys in the store were tried
    assert report["status"] == "found" and report["alg"] == ALGORITHM
    assert set(report) == REPORTED  # the report's shape (docs/design.md, "The JSON report")
    assert report["scale"] is not None and report["offset"] is not None  # the image engine's


def test_named_key_and_plain_output(home: Path, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "marked.jpg"
    assert run(home, "embed", str(photo), "-o", str(out), "--key", "second").exit_code == 0
    result = run(home, "detect", str(out))
    assert result.exit_code == 0 and result.stdout.startswith("found payload=")
    assert "key=second" in result.stdout
    result = run(home, "detect", str(out), "--key", "default")
    assert result.exit_code == 0 and result.stdout.startswith("not found (1 key(s) tried)")


def test_unmarked_image_is_not_found(home: Path, photo: Path) -> None:
    result = run(home, "detect", str(photo), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "status": "not_found",
        "detected": False,
        "alg": ALGORITHM,
        "payload": None,
        "key": None,
        "p_value": 1.0,
        "record": None,
        "agrees": None,
        "note": None,
        "scale": None,
        "angle": None,
        "offset": None,
        "altered_regions": [],
    }


def test_usage_errors_exit_2(home: Path, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "exists.jpg"
    out.write_bytes(b"keep")
    result = run(home, "embed", str(photo), "-o", str(out))
    assert result.exit_code == 2 and "--force" in result.stderr
    assert out.read_bytes() == b"keep"
    assert run(home, "embed", str(photo), "-o", str(out), "--force").exit_code == 0
    result = run(home, "embed", str(photo), "-o", str(tmp_path / "x.jpg"), "--payload", "abc")
    assert result.exit_code == 2 and "hex" in result.output
    result = run(home, "detect", str(photo), "--key", "nope")
    assert result.exit_code == 2 and "nope" in result.stderr
    result = run(tmp_path / "nowhere", "detect", str(photo))
    assert result.exit_code == 2 and "keys init" in result.stderr


def test_unreadable_input_exit_3(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    result = run(home, "detect", str(bad))
    assert result.exit_code == 3 and "error:" in result.stderr
    result = run(home, "embed", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 3 and "missing.png: no such file" in result.stderr


def test_help_documents_exit_status(home: Path) -> None:
    result = run(home, "detect", "--help")
    assert result.exit_code == 0
    assert "Exit status" in result.stdout and "whether or not a mark was found" in result.stdout


def test_detect_names_the_altered_cells(home: Path, tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    from fixtures.support import natural_image

    source, marked = tmp_path / "in.png", tmp_path / "marked.png"
    natural_image(640, 480, seed=2).save(source)
    assert run(home, "embed", str(source), "-o", str(marked)).exit_code == 0
    painted = Image.open(marked).convert("RGB")
    ImageDraw.Draw(painted).rectangle((80, 60, 240, 180), fill=(40, 140, 60))
    painted.save(marked)
    result = run(home, "detect", str(marked))
    assert result.exit_code == 0 and result.stdout.startswith("found payload=")
    altered = [line for line in result.stdout.splitlines() if line.startswith("  altered: ")]
    assert altered, result.stdout
    report = json.loads(run(home, "detect", str(marked), "--json").stdout)
    cells = [r for r in report["altered_regions"] if r["state"] == "altered"]
    assert len(cells) == len(altered)
    assert all(r["x"] < 240 and r["y"] < 180 for r in cells)  # where the paint is
