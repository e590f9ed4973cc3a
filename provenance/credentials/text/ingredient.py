"""The parent of a text edit as a C2PA ingredient: its manifests kept, its history linked.

Signing text that already carries credentials (or naming a parent text) must not drop
them: the new manifest store keeps every manifest of the parent's store before the new
one, and the new manifest gets a ``c2pa.ingredient.v3`` assertion (relationship
``parentOf``) whose ``activeManifest`` and ``claimSignature`` hashed URIs point at the
parent's active manifest, with the validation results the parent had when it was read.
Its ``c2pa.opened`` action names that assertion by hashed URI, as c2pa-rs writes it for
images.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from typing import Any, Final

from provenance.credentials import jumbf
from provenance.credentials.manifest import Parent
from provenance.errors import SigningError, TextWrapperError, UnsupportedMedia
from provenance.kinds.media import TEXT_TYPES

from .claim import ASSERTIONS_LABEL, SIGNATURE_LABEL, STORE_LABEL, assertion_box
from .wrapper import find_wrapper

INGREDIENT_LABEL: Final = "c2pa.ingredient.v3"
_STATUS_KINDS: Final = ("success", "informational", "failure")


def with_parent(
    definition: Mapping[str, Any], parent: Parent
) -> tuple[dict[str, Any], tuple[bytes, ...]]:
    """``definition`` with the parent's ingredient assertion (and ``c2pa.opened`` naming
    it), and the parent's manifests to keep in the new store."""
    if parent.media_type not in TEXT_TYPES:
        raise UnsupportedMedia(
            f"{parent.media_type} cannot be the parent of text here: only text carries its "
            "credentials in a C2PA text wrapper"
        )
    try:
        wrapper = find_wrapper(parent.data.decode("utf-8"))
    except (UnicodeDecodeError, TextWrapperError) as exc:
        raise SigningError(f"the parent's C2PA text wrapper cannot be read: {exc}") from exc
    data: dict[str, Any] = {
        "relationship": "parentOf",
        "dc:title": parent.title,
        "dc:format": parent.media_type,
    }
    prior: tuple[bytes, ...] = ()
    if wrapper is not None:
        store = jumbf.parse_superbox(wrapper.manifest)
        manifests = [box for box in store.superboxes() if box.uuid == jumbf.MANIFEST]
        if not manifests:
            raise SigningError("the parent's C2PA text wrapper holds no manifest")
        active = manifests[-1]
        data["activeManifest"] = _hashed(f"self#jumbf=/{STORE_LABEL}/{active.label}", active)
        signature = active.child(jumbf.SIGNATURE)
        if signature is not None:
            url = f"self#jumbf=/{STORE_LABEL}/{active.label}/{SIGNATURE_LABEL}"
            data["claimSignature"] = _hashed(url, signature)
        data["validationResults"] = _results(parent.validation_results)
        prior = tuple(jumbf.serialise(box) for box in manifests)
    box = assertion_box(INGREDIENT_LABEL, data)
    reference = {
        "url": f"self#jumbf={ASSERTIONS_LABEL}/{INGREDIENT_LABEL}",
        "hash": hashlib.sha256(jumbf.hashed_body(box)).digest(),
    }
    edited = copy.deepcopy(dict(definition))
    assertions = list(edited.get("assertions") or ())
    for assertion in assertions:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions") or ():
                if action.get("action") == "c2pa.opened":
                    parameters = action.setdefault("parameters", {})
                    parameters.pop("ingredientIds", None)  # c2pa-rs Builder vocabulary
                    parameters["ingredients"] = [reference]
    assertions.append({"label": INGREDIENT_LABEL, "data": data})
    edited["assertions"] = assertions
    return edited, prior


def _hashed(url: str, box: jumbf.Superbox) -> dict[str, Any]:
    """A hashed URI to a superbox: SHA-256 over its body, as c2pa-rs hashes manifests."""
    return {"url": url, "hash": hashlib.sha256(box.body).digest(), "alg": "sha256"}


def _results(results: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parent's validation results as C2PA's validation-results map."""
    active = (results or {}).get("activeManifest") or {}
    found: dict[str, Any] = {
        "activeManifest": {
            kind: [_entry(entry) for entry in active.get(kind) or () if isinstance(entry, dict)]
            for kind in _STATUS_KINDS
        }
    }
    deltas = (results or {}).get("ingredientDeltas")
    if isinstance(deltas, list) and deltas:
        found["ingredientDeltas"] = copy.deepcopy(deltas)
    return found


def _entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    kept = {"code": str(entry.get("code", ""))}
    for key in ("url", "explanation"):
        if isinstance(entry.get(key), str):
            kept[key] = entry[key]
    return kept
