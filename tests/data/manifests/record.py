"""Record the reader JSON that ``tests/unit/test_facts.py`` maps to facts, without c2pa.

Run from the repository root (it rewrites the ``*.json`` files beside it):

    PYTHONPATH=. python tests/data/manifests/record.py

Each file holds ``source`` (where the store came from), ``trust`` (what the reader
trusted), ``state`` (the validation state the reader gave) and ``store`` (c2pa-rs's
reader JSON, ``Reader.json()``, which carries its ``validation_results``; for text, the
JSON as the text reader left it after checking the binding). The files are:

- ``signed-image.json``, ``signed-text.json``: a JPEG and a text signed by
  ``provenance sign`` (model gen-2, watermarked, time-stamped by the key store's own
  authority) in a fresh key store, read trusting its root;
- ``edited-image.json``: that JPEG signed again (an edit of itself: the first manifest is
  its ``parentOf`` ingredient), read the same way;
- ``conformance-*.json``: files of /work/shared/conformance/c2pa (c2pa-rs's and the
  C2PA public test files; see its README.txt), read with no trust anchors. Only their
  reader JSON is kept, not the images.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import c2pa
from typer.testing import CliRunner

from cli.main import app
from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.credentials.read import CredentialReader, TrustSettings
from provenance.credentials.text import read_text_manifest
from provenance.home import verify_config_for_home

HERE = Path(__file__).resolve().parent
CONFORMANCE = Path("/work/shared/conformance/c2pa")
STORY = " ".join(
    f"The lighthouse keeper counted {n} ships passing the northern cape before dawn."
    for n in range(30)
)


def _cli(home: Path, *args: str) -> None:
    result = CliRunner(env={"PROVENANCE_PASSPHRASE": PASSPHRASE}).invoke(
        app, ["--home", str(home), *args]
    )
    if result.exit_code != 0:
        sys.exit(f"provenance {' '.join(args)}: {result.output}")


def _image(path: Path, trust: TrustSettings) -> tuple[str, dict[str, Any]]:
    context = c2pa.Context.from_dict(trust.context_settings())
    with path.open("rb") as stream:
        reader = c2pa.Reader.try_create("image/jpeg", stream, context=context)
        assert reader is not None, path
        with reader:
            store = json.loads(reader.json())
            assert store.get("validation_results") == reader.get_validation_results()
            return str(reader.get_validation_state()), store


def _write(name: str, source: str, trust: str, state: str, store: dict[str, Any]) -> None:
    record = {"source": source, "trust": trust, "state": state, "store": store}
    (HERE / name).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        home = root / "home"
        _cli(home, "keys", "init", "--org", "Recorder Lab")
        (root / "g.jpg").write_bytes(encode(natural_image(384, 288), "JPEG", quality=92))
        (root / "a.txt").write_text(STORY + "\n", encoding="utf-8")
        _cli(home, "sign", str(root / "g.jpg"), "-o", str(root / "gs.jpg"), "--model", "gen-2")
        _cli(home, "sign", str(root / "a.txt"), "-o", str(root / "as.txt"), "--model", "gen-2")
        _cli(home, "sign", str(root / "gs.jpg"), "-o", str(root / "ge.jpg"), "--model", "gen-2")
        trust = verify_config_for_home(home).trust
        how = "the signing key store's root"
        _write("signed-image.json", "provenance sign g.jpg", how, *_image(root / "gs.jpg", trust))
        _write("edited-image.json", "provenance sign gs.jpg", how, *_image(root / "ge.jpg", trust))
        text = read_text_manifest(
            (root / "as.txt").read_text(encoding="utf-8"), CredentialReader(trust)
        )
        assert text is not None
        _write("signed-text.json", "provenance sign a.txt", how, str(text.state), text.store)
    for name in (
        "c2pa-rs/CA.jpg",
        "c2pa-rs/C_with_CAWG_data.jpg",
        "public-testfiles/adobe-20220124-E-dat-CA.jpg",
    ):
        state, store = _image(CONFORMANCE / name, TrustSettings())
        out = "conformance-" + Path(name).stem + ".json"
        _write(out, f"/work/shared/conformance/c2pa/{name}", "no trust anchors", state, store)


if __name__ == "__main__":
    main()
