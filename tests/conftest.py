"""Shared fixtures: images made on the fly, key stores in temporary homes, the conformance set.

The plain helpers behind them (passphrase, images, key stores) are in fixtures/support.py.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures.support import FAST_CONFIG, PASSPHRASE, REPO, encode, make_key_store, natural_image
from provenance.keystore import KeyStore


def conformance_dir() -> Path | None:
    """The shared C2PA conformance files: $PROVENANCE_CONFORMANCE_DIR or ../shared."""
    configured = os.environ.get("PROVENANCE_CONFORMANCE_DIR")
    candidate = Path(configured) if configured else REPO.parent / "shared" / "conformance" / "c2pa"
    return candidate if (candidate / "expected.json").is_file() else None


@pytest.fixture
def image_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a generated image: ``image_file("photo.jpg", "JPEG")``."""

    def make(
        name: str = "photo.jpg", fmt: str = "JPEG", size: tuple[int, int] = (400, 300)
    ) -> Path:
        path = tmp_path / name
        path.write_bytes(encode(natural_image(*size), fmt))
        return path

    return make


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", PASSPHRASE)
    return PASSPHRASE


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory, also exported as PROVENANCE_HOME."""
    path = tmp_path / "home"
    monkeypatch.setenv("PROVENANCE_HOME", str(path))
    return path


@pytest.fixture
def env_store(home: Path, passphrase: str) -> Iterator[KeyStore]:
    """A key store made for this test in ``home``, default scrypt cost, that the environment
    points at (PROVENANCE_HOME and PROVENANCE_PASSPHRASE exported): what the CLI opens."""
    yield make_key_store(home, passphrase)


@pytest.fixture(scope="session")
def keystore_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised store (default config), made once and copied per test."""
    home = tmp_path_factory.mktemp("template-home")
    make_key_store(home)
    return home


@pytest.fixture
def store_home(keystore_template: Path, tmp_path: Path) -> Path:
    """A copy of the session's template store (not exported as PROVENANCE_HOME)."""
    home = tmp_path / "home"
    shutil.copytree(keystore_template, home)
    return home


@pytest.fixture
def fast_store(store_home: Path) -> KeyStore:
    """The template copy in ``store_home``, opened with FAST_CONFIG: keys it writes use the
    cheap scrypt cost, and nothing is exported to the environment."""
    return KeyStore.open(store_home, config=FAST_CONFIG)


@pytest.fixture(scope="session")
def conformance() -> tuple[Path, dict[str, dict[str, list[str]]]]:
    root = conformance_dir()
    if root is None:
        pytest.skip(
            "C2PA conformance files not found: set PROVENANCE_CONFORMANCE_DIR or "
            "check out ../shared next to this repository"
        )
    expected = json.loads((root / "expected.json").read_text())["files"]
    return root, expected
