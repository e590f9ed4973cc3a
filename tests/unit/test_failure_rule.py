"""One rule for what failure codes do to credentials (issue 22, docs/design.md "Verdicts").

The same code sets go through every place that judges them: the text reader (which
checks the binding itself and sets the state), the image reader's ingredient state, the
check of an edit's parent, and ``verdict.assess`` on what the image reader reports (the
state c2pa-rs gives for the codes, modelled below from the conformance measurements).
All must agree; changing any one of them alone fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from provenance.credentials import store as stores
from provenance.credentials.sign import parent_failures
from provenance.credentials.status import (
    TST_PROBLEMS,
    UNTRUSTED,
    ValidationState,
    breaks,
    state_of,
)
from provenance.credentials.store import ManifestStore, Status
from provenance.credentials.text import verify as text_verify
from provenance.verify.observations import ManifestFacts
from provenance.verify.verdict import assess

TRUSTED, VALID, INVALID = ValidationState.TRUSTED, ValidationState.VALID, ValidationState.INVALID
CAWG = "cawg.x509.credential.untrusted"

# Code sets and the state the rule gives them.
CASES: dict[tuple[str, ...], ValidationState] = {
    (): TRUSTED,
    (UNTRUSTED,): VALID,
    ("timeStamp.untrusted",): TRUSTED,  # issue 22: org B trusts org A's signer alone
    ("timeStamp.outsideValidity",): TRUSTED,
    ("timeStamp.mismatch", "timeStamp.malformed"): TRUSTED,
    (UNTRUSTED, "timeStamp.untrusted"): VALID,
    (CAWG,): VALID,
    (UNTRUSTED, CAWG): VALID,
    ("claimSignature.mismatch",): INVALID,
    ("claimSignature.mismatch", UNTRUSTED): INVALID,
    ("signingCredential.expired", "timeStamp.untrusted"): INVALID,
    ("assertion.hashedURI.mismatch",): INVALID,
    ("manifest.malformed",): INVALID,
    ("signingCredential.revoked",): INVALID,
}


def _c2pa_state(codes: tuple[str, ...]) -> ValidationState:
    """The state c2pa-rs 0.91.3 reports (measured on the conformance files,
    /work/shared/conformance/c2pa/README.txt): time-stamp problems are informational
    (the reader adds them to the failures), an untrusted signer or CAWG identity alone
    is ``Valid``, any other failure ``Invalid``."""
    failed = [code for code in codes if code not in TST_PROBLEMS]
    if not failed:
        return TRUSTED
    return VALID if all(code.endswith(".untrusted") for code in failed) else INVALID


def _store(state: ValidationState, codes: tuple[str, ...]) -> ManifestStore:
    failures = tuple(Status(code, None, "") for code in codes)
    return ManifestStore(state=state, failures=failures, ingredient_failures=(), store={})


def _text_state(codes: tuple[str, ...]) -> ValidationState:
    """The text reader: c2pa-rs read the bare store (Invalid: it had no content to check
    the binding against); the binding matched here."""
    asset_less = (*codes, text_verify.DATA_HASH_MISMATCH)
    return text_verify._with_binding(_store(INVALID, asset_less), None).state


def _ingredient_state(codes: tuple[str, ...]) -> ValidationState | None:
    """The image reader's state of an ingredient whose recorded results carry ``codes``."""
    entry: dict[str, Any] = {
        "title": "original.jpg",
        "relationship": "parentOf",
        "active_manifest": "urn:parent",
        "validation_results": {"activeManifest": {"failure": [{"code": c} for c in codes]}},
    }
    deltas = stores._Deltas({}, set())
    found = stores._ingredient(entry, {"urn:parent": {}}, [], None, 0, [64], deltas)
    return found.state


def _parent_refused(store: ManifestStore) -> bool:
    return parent_failures(store) is not None


@pytest.mark.parametrize("codes", CASES, ids=lambda codes: "+".join(codes) or "none")
def test_every_reader_gives_the_same_state_for_the_same_codes(codes: tuple[str, ...]) -> None:
    expected = CASES[codes]
    assert state_of(codes) is expected
    text = _text_state(codes)
    image = assess(ManifestFacts(state=_c2pa_state(codes), failures=frozenset(codes))).state
    judged_text = assess(ManifestFacts(state=text, failures=frozenset(codes))).state
    ingredient = _ingredient_state(codes)
    assert (text, image, judged_text, ingredient) == (expected,) * 4
    # The parent check judges the codes, not the reader's state alone (a reader that
    # said Trusted beside a breaking code is still refused), and a validator's Invalid
    # stands whatever the codes.
    for state in (_c2pa_state(codes), text, TRUSTED):
        assert _parent_refused(_store(state, codes)) is (expected is INVALID), state
    assert _parent_refused(_store(INVALID, codes))


def test_what_breaks_and_what_only_says_who_is_trusted() -> None:
    for code in (UNTRUSTED, CAWG, *TST_PROBLEMS):
        assert not breaks(code), code
    for code in ("assertion.dataHash.mismatch", "claimSignature.mismatch", "manifest.malformed"):
        assert breaks(code), code


def test_the_validator_can_lower_the_state_but_never_raise_it() -> None:
    # c2pa-rs failed it without a code that breaks it (an ingredient that fails now, as
    # public-testfiles/adobe-20220124-E-uri-CIE-sig-CA.jpg): still invalid.
    assert state_of((), INVALID) is INVALID
    assert state_of((UNTRUSTED,), INVALID) is INVALID
    no_reason = ("validation failed without a reason given",)  # verify's words
    assert parent_failures(_store(INVALID, (UNTRUSTED,))) == no_reason
    failed_ingredient = ManifestFacts(
        state=INVALID,
        failures=frozenset({UNTRUSTED}),
        ingredient_failures=("assertion.hashedURI.mismatch",),
    )
    assert assess(failed_ingredient).problems == ("ingredient.failed",)
    assert state_of((), VALID) is VALID
    assert state_of(("timeStamp.untrusted",), VALID) is VALID
    assert state_of(("claimSignature.mismatch",), TRUSTED) is INVALID


def test_an_ingredients_failure_listed_under_the_active_manifest_is_the_ingredients() -> None:
    """Issue 23, item 6: c2pa-rs lists the parent's untrusted CAWG identity among the active
    manifest's failures and calls the store Valid; it is the parent's."""
    url = "self#jumbf=/c2pa/urn:parent/c2pa.assertions/cawg.identity"
    reader_json = {
        "active_manifest": "urn:edit",
        "manifests": {
            "urn:edit": {
                "ingredients": [
                    {
                        "title": "CAMERA.jpg",
                        "relationship": "parentOf",
                        "active_manifest": "urn:parent",
                    }
                ]
            },
            "urn:parent": {},
        },
    }
    results = {
        "activeManifest": {
            "success": [{"code": "signingCredential.trusted"}],
            "failure": [{"code": CAWG, "url": url}],
        }
    }
    judged = stores.judge_store(reader_json, VALID, results)
    assert judged.state is TRUSTED and judged.failure_codes == ()
    assert [s.code for s in judged.ingredient_failures] == [CAWG]
    (parent,) = judged.ingredients
    assert [s.code for s in parent.failures] == [CAWG] and parent.state is VALID
    # The active manifest's own failure stays its own, and so does c2pa-rs's Valid.
    own = {
        **results["activeManifest"],
        "failure": [
            {"code": CAWG, "url": "self#jumbf=/c2pa/urn:edit/c2pa.assertions/cawg.identity"}
        ],
    }
    judged = stores.judge_store(reader_json, VALID, {"activeManifest": own})
    assert judged.state is VALID and judged.failure_codes == (CAWG,)
