"""The README's library example runs as written (paths and passphrase swapped in)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from fixtures.support import REPO, encode, natural_image


def test_readme_library_example_runs(
    home: Path, passphrase: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_store: object
) -> None:
    readme = (REPO / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", readme, flags=re.S)[0]  # the library example
    code = code.replace('Path("~/provenance-home").expanduser()', f"Path({str(home)!r})")
    code = code.replace('passphrase="..."', f"passphrase={passphrase!r}")
    # 256 px or more on a side: the default path watermarks
    (tmp_path / "gen.png").write_bytes(encode(natural_image(320, 256), "PNG"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    report = namespace["report"]
    assert str(report.verdict) == "trusted"  # type: ignore[attr-defined]
    assert report.credentials.signed_at  # type: ignore[attr-defined]  # time-stamped
    assert os.path.exists(tmp_path / "gen-signed.png")
