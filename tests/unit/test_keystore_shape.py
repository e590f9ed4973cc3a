"""The key store's public shape: a small lifecycle class, its concerns as objects, no
import cycle inside the package, and library messages that state facts, not CLI flags."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import provenance.keystore
from provenance.keystore import KeyStore

PACKAGE = Path(provenance.keystore.__file__).parent
MAX_PUBLIC = 15
CONCERNS = {
    "identities": {"list", "get", "create", "import_key", "rotate", "revoke", "chain_pem"},
    "trust": {"list", "pem", "add", "remove", "chain_is_anchored"},
    "allowed": {"list", "pem", "add", "remove"},
    "crls": {"issue", "current_pem", "add", "list", "remove", "problem"},
    "tsa": {"info", "url", "set_url", "create", "rotate", "chain_pem", "local_authority"},
    "watermark_keys": {"list", "get", "create"},
}


def public_members(cls: type) -> list[str]:
    return [
        name
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    ]


def test_the_key_store_keeps_its_lifecycle_and_few_methods() -> None:
    members = public_members(KeyStore)
    assert len(members) <= MAX_PUBLIC, members
    assert {"exists", "create", "open", "restore", "backup", "signer"} <= set(members)


def test_each_concern_is_an_object_of_the_store(fast_store: KeyStore) -> None:
    for attribute, methods in CONCERNS.items():
        concern = getattr(fast_store, attribute)
        assert methods <= set(public_members(type(concern))), attribute
    assert fast_store.identities.get().name == "default"
    assert fast_store.trust.list()[0].is_local_root


def _imports(path: Path) -> set[str]:
    """The keystore modules ``path`` imports, deferred and type-only imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            prefix = "provenance.keystore."
            if node.module.startswith(prefix):
                found.add(node.module.removeprefix(prefix).split(".")[0])
    return found


def test_no_import_cycle_inside_the_package() -> None:
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {name: _imports(path) & modules.keys() for name, path in modules.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for step in graph[start]:
            if step == goal or (step not in seen and reaches(step, goal, seen | {step})):
                return True
        return False

    cyclic = sorted(name for name in graph if reaches(name, name, {name}))
    assert cyclic == []


CLI_WORDS = re.compile(r"`provenance |--[a-z]|\btrust (add|allow)\b|\bkeys (init|rotate|tsa)\b")


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_library_messages_name_no_cli_flag(path: Path) -> None:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    words = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]
    assert [w for w in words if CLI_WORDS.search(w)] == []
