"""Ingredients: the edit's manifest definition, reading ingredients and their states, the
AI decision across a chain, and the report's ``credentials.ingredients``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.support import conformance_trust, encode, natural_image
from provenance.credentials.manifest import (
    PARENT_KEY,
    AIContent,
    DigitalSourceType,
    Parent,
    manifest_definition,
    parent_of,
)
from provenance.credentials.read import CredentialReader, TrustSettings
from provenance.credentials.status import UNTRUSTED, ValidationState, breaks
from provenance.keystore import KeyStore
from provenance.report import Ingredient, to_json
from provenance.signing.session import ContentSigner
from provenance.verify.observations import Claims, IngredientFacts, origin
from provenance.verify.verifier import Verifier, VerifyConfig

AI = str(DigitalSourceType.TRAINED_ALGORITHMIC_MEDIA)
COMPOSITE = str(DigitalSourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA)


def _actions(definition: dict[str, Any]) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = definition["assertions"][0]["data"]["actions"]
    return actions


def test_an_edit_opens_its_parent_then_edits() -> None:
    parent = Parent(b"...", "image/jpeg", "original.jpg")
    definition = manifest_definition(AIContent(), "image/jpeg", parent=parent)
    opened, edited = _actions(definition)
    assert opened == {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}
    # A person's edit (no model named) declares no source type: its parent's holds.
    assert edited["action"] == "c2pa.edited" and "digitalSourceType" not in edited
    # Naming the model says a model made the edit (issue 23, item 3): an AI edit.
    modelled = manifest_definition(AIContent(model="m"), "image/jpeg", parent=parent)
    _, edited = _actions(modelled)
    assert edited["digitalSourceType"] == COMPOSITE
    assert edited["softwareAgent"] == {"name": "m"}
    plain, found = parent_of(definition)
    assert found is parent and PARENT_KEY not in plain
    assert parent.ingredient() == {
        "title": "original.jpg",
        "relationship": "parentOf",
        "label": "parent",
    }


def test_ai_edit_declares_composite_with_or_without_a_parent() -> None:
    parent = Parent(b"...", "image/png", "photo.png")
    content = AIContent(model="inpaint", ai_edit=True)
    _, edited = _actions(manifest_definition(content, "image/png", parent=parent))
    assert edited["digitalSourceType"] == COMPOSITE
    (created,) = _actions(manifest_definition(content, "image/png"))
    assert created["action"] == "c2pa.created" and created["digitalSourceType"] == COMPOSITE
    (plain,) = _actions(manifest_definition(AIContent(), "image/png"))
    assert plain["digitalSourceType"] == AI and PARENT_KEY not in manifest_definition(
        AIContent(), "image/png"
    )


def test_a_definition_carries_only_a_parent() -> None:
    with pytest.raises(TypeError, match="must be a Parent"):
        parent_of({PARENT_KEY: b"bytes"})


def test_trust_codes_do_not_break_credentials() -> None:
    assert not breaks(UNTRUSTED)
    assert not breaks("timeStamp.untrusted")
    assert not breaks("cawg.x509.credential.untrusted")
    assert breaks("assertion.dataHash.mismatch")
    assert breaks("claimSignature.mismatch")


def _ingredient(
    state: ValidationState | None, claims: Claims, *parents: IngredientFacts
) -> IngredientFacts:
    return IngredientFacts("x", "parentOf", state, claims, (), parents)


def test_the_ai_origin_is_followed_through_intact_parents_only() -> None:
    ai = Claims(model="gen", digital_source_type=AI)
    silent = Claims()
    grandparent = _ingredient(ValidationState.TRUSTED, ai)
    parent = _ingredient(ValidationState.VALID, silent, grandparent)
    assert parent.ai_generated is True
    assert origin(silent, parent) == ai
    broken = _ingredient(ValidationState.INVALID, silent, grandparent)
    assert broken.ai_generated is None and origin(silent, broken) is None
    bare = _ingredient(None, silent)
    assert bare.ai_generated is None and origin(silent, bare) is None
    # What the edit says of itself wins over its parent.
    capture = Claims(digital_source_type="http://cv.iptc.org/newscodes/digitalsourcetype/x")
    assert origin(capture, parent) == capture
    # A component is not what the content was edited from.
    component = IngredientFacts("c", "componentOf", ValidationState.TRUSTED, ai)
    composed = IngredientFacts("e", "parentOf", ValidationState.TRUSTED, silent, (), (component,))
    assert composed.ai_generated is None


def test_the_report_lists_ingredients() -> None:
    inner = Ingredient("b.jpg", "componentOf", None, None)
    found = Ingredient("a.jpg", "parentOf", ValidationState.INVALID, None, ("x.y",), (inner,))
    assert to_json(found) == {
        "title": "a.jpg",
        "relationship": "parentOf",
        "state": "Invalid",
        "ai_generated": None,
        "failures": ["x.y"],
        "ingredients": [
            {
                "title": "b.jpg",
                "relationship": "componentOf",
                "state": None,
                "ai_generated": None,
                "failures": [],
                "ingredients": [],
            }
        ],
    }


def test_ingredients_of_c2pa_rs_files_and_their_states(
    conformance: tuple[Path, dict[str, Any]],
) -> None:
    root, _ = conformance
    reader = CredentialReader(conformance_trust(root))
    ca = reader.read((root / "c2pa-rs" / "CA.jpg").read_bytes(), "image/jpeg")
    assert ca is not None
    (a,) = ca.ingredients
    assert (a.title, a.relationship, a.state) == ("A.jpg", "parentOf", None)
    assert ca.parent is a
    # CACAE-uri-CA: its component CAE-uri-CA.jpg holds; that one's component was tampered.
    cacae = reader.read((root / "c2pa-rs" / "CACAE-uri-CA.jpg").read_bytes(), "image/jpeg")
    assert cacae is not None and cacae.parent is None
    (component,) = cacae.ingredients
    assert (component.title, component.relationship) == ("CAE-uri-CA.jpg", "componentOf")
    assert component.state is ValidationState.TRUSTED
    (inner,) = component.ingredients
    assert inner.title == "E-uri-CA.jpg" and inner.state is ValidationState.INVALID
    assert [s.code for s in inner.failures] == ["assertion.hashedURI.mismatch"]
    # CIE-sig-CA: the component's signature does not match.
    cie = reader.read((root / "c2pa-rs" / "CIE-sig-CA.jpg").read_bytes(), "image/jpeg")
    assert cie is not None
    (signed_wrong,) = cie.ingredients
    assert signed_wrong.state is ValidationState.INVALID
    assert "claimSignature.mismatch" in [s.code for s in signed_wrong.failures]


def test_conformance_reports_name_their_ingredients(
    conformance: tuple[Path, dict[str, Any]],
) -> None:
    root, _ = conformance
    verifier = Verifier(VerifyConfig(trust=conformance_trust(root)))
    report = verifier.verify_path(root / "c2pa-rs" / "CIE-sig-CA.jpg")
    assert report.verdict == "trusted"  # its own manifest holds (expected.json)
    assert report.credentials is not None
    (ingredient,) = report.credentials.ingredients
    assert (ingredient.title, ingredient.relationship) == ("E-sig-CA.jpg", "componentOf")
    assert ingredient.state is ValidationState.INVALID and ingredient.ai_generated is None
    assert "claimSignature.mismatch" in report.credentials.explanations


def test_a_pipeline_signs_edits_of_a_parent(fast_store: KeyStore, passphrase: str) -> None:
    original_png = encode(natural_image(160, 120), "PNG")
    with ContentSigner(fast_store, passphrase, model="gen", watermark=False) as signer:
        original = signer.sign(original_png).data
    with ContentSigner(
        fast_store, passphrase, model="retoucher", watermark=False, ai_edit=True,
        parent=original,
    ) as editor:  # fmt: skip
        edit = editor.sign(encode(natural_image(160, 120, seed=4), "PNG")).data
        other = editor.sign(
            encode(natural_image(160, 120, seed=5), "PNG"), parent=original_png
        ).data
    verifier = Verifier(VerifyConfig(trust=TrustSettings(fast_store.trust.pem())))
    report = verifier.verify_bytes(edit)
    assert report.verdict == "trusted" and report.ai_generated is True
    assert report.summary.startswith(
        "AI-edited by retoucher; edited from an AI-generated original by gen"
    )
    assert report.credentials is not None
    assert [i.state for i in report.credentials.ingredients] == [ValidationState.TRUSTED]
    bare = verifier.verify_bytes(other)
    assert bare.credentials is not None
    assert [i.state for i in bare.credentials.ingredients] == [None]
