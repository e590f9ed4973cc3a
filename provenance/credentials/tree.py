"""The ingredient tree of a manifest store: what the content was made from, and so on.

``manifest_tree(store)`` reads c2pa-rs's reader JSON (``ManifestStore.store``): the active
manifest, its ingredients, and for each ingredient that carries credentials the manifest it
points to (``active_manifest``), in turn. A manifest met again on the way is shown once and
not followed (a store may be crafted to loop), and the depth is bounded. ``render`` draws it
as ``inspect --tree`` prints it, in the style of c2patool's tree view.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from provenance._internal.text import safe_text
from provenance.credentials.explain import explain_code
from provenance.credentials.status import ValidationState, breaks, failures_of, state_of
from provenance.credentials.store import Ingredient, ManifestStore

#: Ingredient levels followed; deeper ones are cut with a note.
MAX_DEPTH = 16


@dataclasses.dataclass(frozen=True)
class TreeNode:
    """One asset: its title, the relationship to its parent node, the manifest label it
    carries (None: no credentials), and its own ingredients."""

    title: str
    relationship: str | None
    label: str | None
    children: tuple[TreeNode, ...] = ()
    note: str | None = None  # "shown above" for a manifest met again, "cut" past MAX_DEPTH
    # How its credentials validated, as verify judges them (None: not judged), and why
    # they failed.
    state: ValidationState | None = None
    reasons: tuple[str, ...] = ()


def manifest_tree(store: dict[str, Any] | ManifestStore) -> TreeNode | None:
    """The tree from the active manifest down; None when the store has no active one.
    A judged ``ManifestStore`` gives each node its state, by the rule every reader
    uses (``status.state_of``): the active manifest's and each ingredient's as verify
    lists them in ``credentials.ingredients``."""
    judged = store if isinstance(store, ManifestStore) else None
    raw = store.store if isinstance(store, ManifestStore) else store
    manifests = raw.get("manifests")
    label = raw.get("active_manifest")
    if not isinstance(manifests, dict) or not isinstance(label, str) or label not in manifests:
        return None
    manifest = manifests[label]
    title = _text(manifest.get("title") if isinstance(manifest, dict) else None)
    root = _node(manifests, title, None, label, set(), 0)
    if judged is None:
        return root
    codes = judged.failure_codes
    state = state_of(codes, judged.state)
    ingredient_codes = [status.code for status in judged.ingredient_failures]
    failed = failures_of(codes, judged.state, ingredient_codes)
    reasons = tuple(dict.fromkeys(map(explain_code, failed)))
    return dataclasses.replace(
        root, state=state, reasons=reasons, children=_judged(root.children, judged.ingredients)
    )


def _judged(nodes: tuple[TreeNode, ...], judged: tuple[Ingredient, ...]) -> tuple[TreeNode, ...]:
    """``nodes`` with the states of the judged ingredients they are (same order, same
    title and relationship; a node with no judged counterpart keeps none)."""
    found = []
    for index, node in enumerate(nodes):
        match = judged[index] if index < len(judged) else None
        if match is None or _text(match.title) != node.title:
            found.append(node)
            continue
        codes = tuple(status.code for status in match.failures)
        found.append(
            dataclasses.replace(
                node,
                state=match.state,
                reasons=_reasons(codes) if match.state is ValidationState.INVALID else (),
                children=_judged(node.children, match.ingredients),
            )
        )
    return tuple(found)


def _reasons(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(explain_code(code) for code in codes if breaks(code)))


def _node(
    manifests: dict[str, Any],
    title: str,
    relationship: str | None,
    label: str | None,
    seen: set[str],
    depth: int,
) -> TreeNode:
    if label is None or label not in manifests:
        return TreeNode(title, relationship, label)
    if label in seen:
        return TreeNode(title, relationship, label, note="shown above")
    if depth >= MAX_DEPTH:
        return TreeNode(title, relationship, label, note=f"cut: deeper than {MAX_DEPTH}")
    manifest = manifests[label]
    ingredients = manifest.get("ingredients") if isinstance(manifest, dict) else None
    children = []
    for ingredient in ingredients if isinstance(ingredients, list) else ():
        if not isinstance(ingredient, dict):
            continue
        found = ingredient.get("active_manifest")
        children.append(
            _node(
                manifests,
                _text(ingredient.get("title")),
                _text(ingredient.get("relationship")) if ingredient.get("relationship") else None,
                found if isinstance(found, str) else None,
                seen | {label},
                depth + 1,
            )
        )
    return TreeNode(title, relationship, label, tuple(children))


def _text(value: object) -> str:
    return safe_text(value, 256) if value not in (None, "") else "(untitled)"


def render(node: TreeNode) -> list[str]:
    """Lines: ``Asset:TITLE, Manifest:LABEL`` at the root, each ingredient below with its
    relationship and, when judged, its state (``Invalid: why``), drawn with box-drawing
    characters."""
    lines = [_line(node)]
    lines += _below(node.children, "")
    return lines


def _line(node: TreeNode) -> str:
    parts = [f"Asset:{node.title}"]
    parts.append(f"Manifest:{safe_text(node.label, 256)}" if node.label else "no credentials")
    text = ", ".join(parts)
    if node.relationship:
        text = f"{text} ({node.relationship})"
    if node.state is not None:
        why = f": {'; '.join(node.reasons)}" if node.reasons else ""
        text = f"{text} {node.state}{why}"
    return f"{text} [{node.note}]" if node.note else text


def _below(children: tuple[TreeNode, ...], prefix: str) -> list[str]:
    lines = []
    for index, child in enumerate(children):
        last = index == len(children) - 1
        lines.append(f"{prefix}{'└── ' if last else '├── '}{_line(child)}")
        lines += _below(child.children, prefix + ("    " if last else "│   "))
    return lines
