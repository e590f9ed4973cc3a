"""The shape of the package (docs/design.md, "Layout"), checked from the source alone.

Each check reads the modules with ``ast``: nothing is imported, so a cycle that only shows
at run time in some order (a deferred or type-only import) is caught all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "provenance"
CLI = ROOT / "cli"

# What may stand at the top of provenance/ besides packages.
TOP_LEVEL_MODULES = {"__init__", "errors", "report", "home", "_version"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(top: Path) -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(top.rglob("*.py"))}


MODULES = _modules(PACKAGE) | _modules(CLI)
PACKAGES = {name for name, path in MODULES.items() if path.name == "__init__.py"}


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"))


def _absolute(name: str, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if name in PACKAGES else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(name: str, tree: ast.Module | None = None) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every import of ``name``, at any depth:
    module level, inside functions and under ``TYPE_CHECKING`` alike."""
    for node in ast.walk(tree or _tree(name)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(name, node)
            for alias in node.names:
                yield module, alias.name, node.lineno


def _edges(name: str) -> set[str]:
    """The project modules ``name`` depends on. ``from package import submodule`` is an
    edge to the submodule; ``from package import attribute`` one to the package."""
    found: set[str] = set()
    for module, attribute, _ in _imports(name):
        if attribute is not None and f"{module}.{attribute}" in MODULES:
            found.add(f"{module}.{attribute}")
        elif module in MODULES:
            found.add(module)
    found.discard(name)
    return found


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {name: _edges(name) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return components


def _declared_all(name: str) -> list[str] | None:
    for node in _tree(name).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = node.value
            assert value is not None
            return [ast.literal_eval(element) for element in value.elts]  # type: ignore[attr-defined]
    return None


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_walk_sees_deferred_and_type_only_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from provenance.report import Report\n"
        "def f():\n    import provenance.errors\n    from .sign import x\n"
    )
    found = {(m, a) for m, a, _ in _imports("provenance.signing.session", ast.parse(source))}
    assert ("provenance.report", "Report") in found
    assert ("provenance.errors", None) in found
    assert ("provenance.signing.sign", "x") in found


def test_top_level_holds_only_the_front_modules() -> None:
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert top <= TOP_LEVEL_MODULES, sorted(top - TOP_LEVEL_MODULES)


def test_every_package_has_a_front_door() -> None:
    for directory in [PACKAGE, *sorted(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        if directory.name == "__pycache__" or not any(directory.glob("*.py")):
            continue
        front = directory / "__init__.py"
        assert front.exists(), f"{directory.relative_to(ROOT)} has no __init__.py"
        name = _module_name(front)
        assert ast.get_docstring(_tree(name)), f"{name} has no docstring"
        assert _declared_all(name) is not None, f"{name} declares no __all__"


def test_only_front_doors_declare_all() -> None:
    declaring = [
        name
        for name, path in MODULES.items()
        if name.startswith("provenance") and path.name != "__init__.py" and _declared_all(name)
    ]
    assert declaring == []


def test_internal_holds_leaves_only() -> None:
    """``provenance._internal`` imports nothing of the project but errors and itself."""
    for name in MODULES:
        if not name.startswith("provenance._internal"):
            continue
        for target in _edges(name):
            assert target.startswith(("provenance._internal", "provenance.errors")), (name, target)


def _public(package: str) -> set[str]:
    return set(_declared_all(package) or ())


# The public modules at the top: every name without a leading underscore is theirs to give.
PUBLIC_MODULES = {"provenance.errors", "provenance.report", "provenance.home"}


def _surface_problem(module: str, attribute: str | None) -> str | None:
    """Why importing ``attribute`` from ``module`` goes behind the public surface."""
    if module in PUBLIC_MODULES:
        return None if attribute and not attribute.startswith("_") else "a private name"
    if module not in PACKAGES:
        return f"{module} is not a package's front door"
    if attribute not in _public(module):
        return f"{attribute} is not in {module}.__all__"
    return None


def test_the_surface_rule_refuses_what_is_behind_a_front_door() -> None:
    assert _surface_problem("provenance.verify", "Verifier") is None
    assert _surface_problem("provenance.errors", "UsageError") is None
    assert _surface_problem("provenance.verify.verifier", "Verifier") is not None
    assert _surface_problem("provenance.verify", "assess") is not None
    assert _surface_problem("provenance._internal.fs", "read_input") is not None


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("cli")))
def test_the_cli_uses_the_public_surface(name: str) -> None:
    """The CLI imports a package's front door (its ``__all__``) or a public top-level
    module, never a module behind a front door; it shares its flags through
    ``cli._options``."""
    for module, attribute, line in _imports(name):
        if module.startswith("provenance"):
            problem = _surface_problem(module, attribute)
            assert problem is None, f"{MODULES[name].relative_to(ROOT)}:{line}: {problem}"
