"""The decision table of docs/design.md, row for row, against ``verdict.decide``.

The table is read from the document itself: a row added there without a case here (or
the other way round), or a verdict that differs, fails. Every row runs for images and for
text, with each kind's own watermark algorithm: one policy for every kind.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from provenance.credentials.revocation import Revocation
from provenance.credentials.status import UNTRUSTED, ValidationState
from provenance.report import LLMWatermark, MarkStatus, Verdict, Watermark
from provenance.verify.observations import (
    Claims,
    IngredientFacts,
    ManifestFacts,
    Observations,
    RecordFacts,
)
from provenance.verify.verdict import (
    KEY_NOT_HELD,
    Requirement,
    assess,
    decide,
    key_not_held,
    meets,
    needs_mark,
)
from provenance.watermark.image import ALGORITHM as IMAGE_ALGORITHM
from provenance.watermark.text import ALGORITHM as TEXT_ALGORITHM

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"

R, OTHER, K, M, S = "0123456789abcdef", "fedcba9876543210", "default", "gen-2", "Ann"
KID, OTHER_KID = "c8004215b84948d0", "5d1e0a97f3b2c4e6"  # watermark key identifiers
REASON = "no watermark key here"
T = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
D_AFTER, D_BEFORE = T + dt.timedelta(days=30), T - dt.timedelta(days=1)
A = "Test Org Time-Stamping Authority"
AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
CLAIMS = Claims(model=M, signer=S, digital_source_type=AI)
BINDING = "assertion.dataHash.mismatch"
CAWG_UNTRUSTED = "cawg.x509.credential.untrusted"
TRUSTED, VALID = ValidationState.TRUSTED, ValidationState.VALID


def _parent(
    state: ValidationState | None,
    claims: Claims = Claims(),
    failures: tuple[str, ...] = (),
    *parents: IngredientFacts,
) -> IngredientFacts:
    return IngredientFacts("original.jpg", "parentOf", state, claims, failures, parents)


def _edit(parent: IngredientFacts, claims: Claims = Claims(signer=S)) -> ManifestFacts:
    return ManifestFacts(state=TRUSTED, claims=claims, ingredients=(parent,))


def _table(heading: str) -> list[list[str]]:
    """The rows of the first table under ``## heading`` in docs/design.md."""
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _mark(status: MarkStatus, alg: str, payload: str | None = None) -> Watermark:
    if status is MarkStatus.FOUND:
        return Watermark(status, detected=True, alg=alg, payload=payload, key=K, p_value=1e-12)
    if status is MarkStatus.NOT_CHECKED:
        return Watermark.not_checked(REASON, alg)
    return Watermark(status, alg=alg, p_value=0.5)


def _manifest(
    state: ValidationState = ValidationState.TRUSTED,
    failures: frozenset[str] = frozenset(),
    *,
    declared: bool = True,
    revoked: bool = False,
    claims: Claims = CLAIMS,
    mark_keys: frozenset[str] = frozenset({KID}),
) -> ManifestFacts:
    return ManifestFacts(
        state=state,
        failures=failures,
        revocation=Revocation(1, "lost", None, "this key store") if revoked else None,
        declared=frozenset({R}) if declared else frozenset(),
        claims=claims,
        mark_keys=mark_keys if declared else frozenset(),
    )


def _stamped(
    state: ValidationState = ValidationState.TRUSTED,
    failures: frozenset[str] = frozenset(),
    *,
    revoked_since: dt.datetime | None = None,
    stamped: bool = True,
    reason: str = "lost",
    own_stamp: bool = False,
) -> ManifestFacts:
    revocation = Revocation(1, reason, revoked_since, "this key store") if revoked_since else None
    return ManifestFacts(
        state=state,
        failures=failures,
        revocation=revocation,
        own_stamp=own_stamp,
        claims=CLAIMS,
        stamped_at=T if stamped else None,
        stamped_by=A if stamped else None,
    )


def _changed(*extra: str) -> ManifestFacts:
    return _manifest(ValidationState.INVALID, frozenset({BINDING, *extra}))


def _cases(alg: str) -> dict[str, Observations]:
    found, other = _mark(MarkStatus.FOUND, alg, R), _mark(MarkStatus.FOUND, alg, OTHER)
    not_found, unchecked = _mark(MarkStatus.NOT_FOUND, alg), _mark(MarkStatus.NOT_CHECKED, alg)
    unneeded = Watermark.not_checked("not needed for this verdict")
    not_held = Watermark.not_checked(KEY_NOT_HELD, alg)
    record_ok = _manifest(ValidationState.INVALID, frozenset({BINDING}))
    record_valid = _manifest(ValidationState.INVALID, frozenset({BINDING, UNTRUSTED}))
    invalid = ValidationState.INVALID
    return {
        "bare-unchecked": Observations(None, unchecked),
        "bare-not-found": Observations(None, not_found),
        "llm-found": Observations(
            None, not_found, llm=LLMWatermark(K, "distortion-free", 1e-12, 200, "watermarked", 2)
        ),
        "llm-not-found": Observations(
            None, not_found, llm=LLMWatermark(K, "green-list", 0.5, 200, "not watermarked", 2)
        ),
        "mark-no-repository": Observations(None, found, RecordFacts(R, None), False),
        "mark-no-record": Observations(None, found, RecordFacts(R, None), True),
        "mark-recovered-trusted": Observations(None, found, RecordFacts(R, record_ok), True),
        "mark-recovered-untrusted": Observations(None, found, RecordFacts(R, record_valid), True),
        "mark-record-revoked": Observations(
            None,
            found,
            RecordFacts(R, _manifest(invalid, frozenset({BINDING}), revoked=True)),
            True,
        ),
        "mark-record-undeclared": Observations(
            None, found, RecordFacts(R, record_ok, declares_mark=False), True
        ),
        "trusted-agrees": Observations(_manifest(), found),
        "trusted-other-mark": Observations(_manifest(), other),
        "trusted-mark-not-found": Observations(_manifest(), not_found),
        "trusted-no-key": Observations(_manifest(), unchecked),
        "trusted-key-not-held": Observations(
            _manifest(), not_held, held_keys=frozenset({OTHER_KID})
        ),
        "trusted-mark-not-found-unnamed-key": Observations(
            _manifest(mark_keys=frozenset()), not_found, held_keys=frozenset({OTHER_KID})
        ),
        "changed-key-not-held": Observations(
            _changed(), not_held, held_keys=frozenset({OTHER_KID})
        ),
        "trusted-no-mark-declared": Observations(_manifest(declared=False), unneeded),
        "trusted-silent": Observations(
            _manifest(declared=False, claims=Claims(signer=S)), unneeded
        ),
        "trusted-not-ai": Observations(
            _manifest(
                declared=False,
                claims=Claims(signer=S, digital_source_type=CAPTURE),
            ),
            unneeded,
        ),
        "valid-untrusted": Observations(
            _manifest(ValidationState.VALID, frozenset({UNTRUSTED})), found
        ),
        "valid-with-notes": Observations(
            _manifest(
                ValidationState.VALID,
                frozenset({UNTRUSTED, "cawg.x509.credential.untrusted"}),
                declared=False,
            ),
            unneeded,
        ),
        "changed-mark-agrees": Observations(_changed(), found),
        "changed-mark-other": Observations(_changed(), other),
        "changed-mark-not-found": Observations(_changed(), not_found),
        "changed-not-checked": Observations(_changed(), unchecked),
        "changed-no-mark-declared": Observations(
            _manifest(invalid, frozenset({BINDING}), declared=False), unneeded
        ),
        "bad-signature": Observations(
            _manifest(invalid, frozenset({"claimSignature.mismatch"})), unneeded
        ),
        "malformed": Observations(
            _manifest(invalid, frozenset({"manifest.malformed"}), claims=Claims()), unneeded
        ),
        "revoked": Observations(_manifest(revoked=True), unneeded),
        "expired": Observations(
            _manifest(invalid, frozenset({"signingCredential.expired"}), claims=Claims()),
            unneeded,
        ),
        "untrusted-and-changed": Observations(_changed(UNTRUSTED), found),
        "time-stamped": Observations(_stamped(), unneeded),
        "time-stamp-untrusted": Observations(
            _stamped(failures=frozenset({"timeStamp.untrusted"}), stamped=False), unneeded
        ),
        "revoked-after-stamp": Observations(_stamped(revoked_since=D_AFTER), unneeded),
        "revoked-before-stamp": Observations(_stamped(revoked_since=D_BEFORE), unneeded),
        "revoked-compromised-own-stamp": Observations(
            _stamped(revoked_since=D_AFTER, reason="keyCompromise", own_stamp=True), unneeded
        ),
        "revoked-unstamped": Observations(_stamped(revoked_since=D_AFTER, stamped=False), unneeded),
        "edit-of-ai": Observations(_edit(_parent(TRUSTED, CLAIMS)), unneeded),
        "edit-of-edit-of-ai": Observations(
            _edit(_parent(VALID, Claims(signer=S), (UNTRUSTED,), _parent(TRUSTED, CLAIMS))),
            unneeded,
        ),
        "ai-edit-of-capture": Observations(
            _edit(
                _parent(TRUSTED, Claims(signer=S, digital_source_type=CAPTURE)),
                Claims(model=M, signer=S, digital_source_type=COMPOSITE),
            ),
            unneeded,
        ),
        "ai-edit-of-bare": Observations(
            _edit(_parent(None), Claims(model=M, signer=S, digital_source_type=COMPOSITE)),
            unneeded,
        ),
        "edit-of-bare": Observations(_edit(_parent(None)), unneeded),
        "edit-of-invalid": Observations(
            _edit(_parent(invalid, CLAIMS, (BINDING, UNTRUSTED))), unneeded
        ),
        "edit-of-silent": Observations(_edit(_parent(TRUSTED, Claims(signer=S))), unneeded),
        # Issue 23, item 6: the parent's CAWG note is the parent's, said as such.
        "trusted-ingredient-note": Observations(
            _edit(
                _parent(
                    VALID,
                    Claims(signer="C2PA Signer", digital_source_type=CAPTURE),
                    (UNTRUSTED, CAWG_UNTRUSTED),
                )
            ),
            unneeded,
        ),
        # Issue 23, item 9: a failed component reaches the summary, not the verdict.
        "component-failed": Observations(
            ManifestFacts(
                state=TRUSTED,
                claims=CLAIMS,
                ingredients=(
                    IngredientFacts(
                        "original.jpg",
                        "componentOf",
                        invalid,
                        Claims(),
                        ("claimSignature.mismatch",),
                    ),
                ),
            ),
            unneeded,
        ),
        # Issue 23, item 4: what sign refuses as verify does.
        "ingredient-fails-now": Observations(
            ManifestFacts(
                state=invalid,
                claims=CLAIMS,
                ingredient_failures=("assertion.hashedURI.mismatch",),
            ),
            unneeded,
        ),
        # Issue 23, item 2: a sidecar made for other content is set aside.
        "sidecar-other-type": Observations(
            None, not_found, other_sidecar=("x.c2pa", "image/png content (x.png)")
        ),
    }


def _expected_summary(template: str, row: str) -> str:
    revoked = D_BEFORE if row == "revoked-before-stamp" else D_AFTER
    words = {
        "R": R,
        "O": OTHER,
        "K": K,
        "M": M,
        "S": S,
        "A": A,
        "T": T.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "D": revoked.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "REASON": REASON,
    }
    return re.sub(r"\b(R|O|K|M|S|A|T|D|REASON)\b", lambda m: words[m.group(1)], template)


ROWS = _table("Decision table")
KINDS = {"image": IMAGE_ALGORITHM, "text": TEXT_ALGORITHM}


def test_every_row_of_the_table_has_a_case_and_every_case_a_row() -> None:
    documented = [row[0].strip("`") for row in ROWS]
    assert len(documented) == len(set(documented)), "duplicate row names in docs/design.md"
    assert sorted(documented) == sorted(_cases(IMAGE_ALGORITHM))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("row", ROWS, ids=[row[0].strip("`") for row in ROWS])
def test_decision_table_row(row: list[str], kind: str) -> None:
    name, verdict, ai_generated, summary = row[0].strip("`"), row[4], row[5], row[6]
    decision = decide(_cases(KINDS[kind])[name])
    assert decision.verdict is Verdict(verdict)
    assert decision.ai_generated is {"true": True, "false": False, "null": None}[ai_generated]
    expected = _expected_summary(summary, name)
    assert decision.summary_line.startswith(expected), decision.summary_line


@pytest.mark.parametrize("kind", KINDS)
def test_the_watermark_is_looked_for_exactly_when_the_verdict_can_use_it(kind: str) -> None:
    cases = _cases(KINDS[kind])
    for name, seen in cases.items():
        wanted = seen.mark.note != "not needed for this verdict"
        assert needs_mark(seen.manifest) is wanted, name


def test_altered_content_is_never_better_than_invalid_whatever_the_mark() -> None:
    for mark in (
        _mark(MarkStatus.FOUND, IMAGE_ALGORITHM, R),
        _mark(MarkStatus.FOUND, IMAGE_ALGORITHM, OTHER),
        _mark(MarkStatus.NOT_FOUND, IMAGE_ALGORITHM),
        _mark(MarkStatus.NOT_CHECKED, IMAGE_ALGORITHM),
    ):
        record = RecordFacts(R, _manifest(ValidationState.INVALID, frozenset({BINDING})))
        for facts in (_changed(), _changed(UNTRUSTED), _changed("claimSignature.mismatch")):
            assert decide(Observations(facts, mark, record, True)).verdict is Verdict.INVALID


def test_revocation_is_applied_once_in_assess() -> None:
    assert assess(_manifest(revoked=True)).state is ValidationState.INVALID
    # c2pa-rs never says "revoked" for a local revocation; the flag alone decides.
    assert assess(_manifest()).state is ValidationState.TRUSTED
    judged = assess(_manifest(ValidationState.INVALID, frozenset({BINDING}), revoked=True))
    assert not judged.only_binding_broken
    assert judged.problems == ("signingCredential.revoked",)


def test_only_a_compromised_key_loses_its_own_authoritys_stamp() -> None:
    """A key taken with its store: the store's own time-stamp proves nothing (the thief
    holds that authority's key); an external authority's still does, and so does the own
    authority's for a revocation that does not say the key was taken."""
    for reason, own, verdict in [
        ("keyCompromise", True, Verdict.INVALID),
        ("keyCompromise", False, Verdict.TRUSTED),
        ("superseded", True, Verdict.TRUSTED),
    ]:
        facts = _stamped(revoked_since=D_AFTER, reason=reason, own_stamp=own)
        assert decide(Observations(facts, _mark(MarkStatus.NOT_FOUND, "a"))).verdict is verdict


def test_a_revoked_intact_file_names_no_binding_failure() -> None:
    decision = decide(Observations(_manifest(revoked=True), _mark(MarkStatus.FOUND, "a", R)))
    assert decision.verdict is Verdict.INVALID
    assert "content changed" not in decision.summary_line
    assert "recovered" not in decision.summary_line


def test_not_found_and_does_not_agree_are_different_sentences() -> None:
    found_other = decide(Observations(_manifest(), _mark(MarkStatus.FOUND, "a", OTHER)))
    not_found = decide(Observations(_manifest(), _mark(MarkStatus.NOT_FOUND, "a")))
    no_key = decide(Observations(_manifest(), _mark(MarkStatus.NOT_CHECKED, "a")))
    lines = {found_other.summary_line, not_found.summary_line, no_key.summary_line}
    assert len(lines) == 3
    assert "no watermark key here" in no_key.summary_line
    assert found_other.agrees is False and not_found.agrees is None and no_key.agrees is None


REQUIREMENTS = _table("Requirements")


@pytest.mark.parametrize("row", REQUIREMENTS, ids=[row[0].strip("`") for row in REQUIREMENTS])
def test_requirement_admits_exactly_what_the_table_says(row: list[str]) -> None:
    requirement = Requirement(row[0].strip("`"))
    admitted = {Verdict(word.strip()) for word in row[1].split(",")}
    for verdict in Verdict:
        assert meets(verdict, requirement) is (verdict in admitted), (requirement, verdict)


def test_every_requirement_is_documented() -> None:
    assert {row[0].strip("`") for row in REQUIREMENTS} == {str(r) for r in Requirement}


def test_a_mark_made_with_a_key_not_held_here_is_never_said_to_be_missing() -> None:
    made_here = _manifest()
    assert key_not_held(made_here, frozenset({OTHER_KID}))
    assert not key_not_held(made_here, frozenset({KID, OTHER_KID}))
    assert not key_not_held(made_here, None)  # no detection keys: the finding says why
    assert not key_not_held(_manifest(mark_keys=frozenset()), frozenset({OTHER_KID}))
    for facts in (made_here, _changed()):
        for mark in (_mark(MarkStatus.NOT_FOUND, "a"), Watermark.not_checked(KEY_NOT_HELD, "a")):
            line = decide(Observations(facts, mark, held_keys=frozenset({OTHER_KID}))).summary_line
            assert "could not be checked here" in line and "not found" not in line
    # With the key the manifest names, a missing mark is missing.
    held = decide(
        Observations(made_here, _mark(MarkStatus.NOT_FOUND, "a"), held_keys=frozenset({KID}))
    )
    assert "the watermark it declares was not found" in held.summary_line
