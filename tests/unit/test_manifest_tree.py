"""`inspect --tree`: the ingredient tree of a manifest store, loops and depth bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from provenance.credentials.tree import MAX_DEPTH, manifest_tree, render


def _manifest(title: str, *ingredients: tuple[str, str, str | None]) -> dict[str, object]:
    return {
        "title": title,
        "ingredients": [
            {"title": t, "relationship": r, **({"active_manifest": m} if m else {})}
            for t, r, m in ingredients
        ],
    }


def test_the_chain_is_drawn_from_the_active_manifest_down() -> None:
    store = {
        "active_manifest": "urn:c",
        "manifests": {
            "urn:c": _manifest(
                "c.jpg", ("b.jpg", "parentOf", "urn:b"), ("logo.png", "componentOf", None)
            ),
            "urn:b": _manifest("b.jpg", ("a.jpg", "parentOf", None)),
        },
    }
    root = manifest_tree(store)
    assert root is not None and [c.title for c in root.children] == ["b.jpg", "logo.png"]
    assert render(root) == [
        "Asset:c.jpg, Manifest:urn:c",
        "├── Asset:b.jpg, Manifest:urn:b (parentOf)",
        "│   └── Asset:a.jpg, no credentials (parentOf)",
        "└── Asset:logo.png, no credentials (componentOf)",
    ]


def test_a_crafted_loop_is_shown_once_and_depth_is_bounded() -> None:
    loop = {
        "active_manifest": "urn:a",
        "manifests": {
            "urn:a": _manifest("a", ("b", "parentOf", "urn:b")),
            "urn:b": _manifest("b", ("a again", "parentOf", "urn:a")),
        },
    }
    root = manifest_tree(loop)
    assert root is not None and root.children[0].children[0].note == "shown above"
    deep = {"active_manifest": "urn:0", "manifests": {}}
    for level in range(MAX_DEPTH + 5):
        deep["manifests"][f"urn:{level}"] = _manifest(  # type: ignore[index]
            str(level), (str(level + 1), "parentOf", f"urn:{level + 1}")
        )
    lines = render(manifest_tree(deep))  # type: ignore[arg-type]
    assert len(lines) == MAX_DEPTH + 1 and lines[-1].endswith(f"[cut: deeper than {MAX_DEPTH}]")
    assert manifest_tree({"manifests": {}}) is None
    hostile = {"active_manifest": "urn:x", "manifests": {"urn:x": _manifest("\x1b[2Jx")}}
    assert "\x1b" not in render(manifest_tree(hostile))[0]  # type: ignore[arg-type]


def test_inspect_tree_on_a_conformance_chain(conformance: tuple[Path, object]) -> None:
    root = conformance[0]
    source = root / "c2pa-rs" / "CACAE-uri-CA.jpg"
    if not source.is_file():
        pytest.skip(f"{source} is not in the conformance set")
    result = CliRunner().invoke(app, ["inspect", "--tree", str(source)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Asset:CACAE-uri-CA.jpg, Manifest:")
    assert lines[1].startswith("└── Asset:CAE-uri-CA.jpg") and "(componentOf)" in lines[1]
    assert lines[-1].endswith("Asset:A.jpg, no credentials (parentOf)")
