"""The pure core on recorded reader JSON: c2pa-rs's JSON -> ``ManifestStore`` -> facts.

The JSON files under ``tests/data/manifests`` were made by the checked-in
``tests/data/manifests/record.py`` (files signed by ``provenance sign``, and files of the
C2PA conformance set; its docstring says where each came from). No c2pa read runs here:
``credentials.store.judge_store`` and ``verify.facts`` map what c2pa-rs said.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.credentials.status import ValidationState
from provenance.credentials.store import ManifestStore, judge_store
from provenance.report import Watermark
from provenance.verify.facts import manifest_facts, reported_credentials, signing_certificate
from provenance.verify.observations import IPTC, ManifestFacts, Observations
from provenance.verify.verdict import assess, decide
from provenance.watermark.image import ALGORITHM as IMAGE_ALGORITHM
from provenance.watermark.text import ALGORITHM as TEXT_ALGORITHM

DATA = Path(__file__).resolve().parents[1] / "data" / "manifests"
AI = IPTC + "trainedAlgorithmicMedia"
UNNEEDED = Watermark.not_checked("not needed for this verdict")


def _store(name: str) -> ManifestStore:
    record = json.loads((DATA / name).read_text(encoding="utf-8"))
    store = record["store"]
    state = ValidationState.parse(record["state"])
    return judge_store(store, state, store.get("validation_results") or {})


def _facts(name: str, alg: str = IMAGE_ALGORITHM) -> ManifestFacts:
    return manifest_facts(_store(name), frozenset({alg}))


@pytest.mark.parametrize(
    ("name", "alg"),
    [("signed-image.json", IMAGE_ALGORITHM), ("signed-text.json", TEXT_ALGORITHM)],
)
def test_what_provenance_sign_writes_is_read_back_as_facts(name: str, alg: str) -> None:
    facts = _facts(name, alg)
    assert facts.state is ValidationState.TRUSTED and facts.failures == frozenset()
    assert facts.claims.model == "gen-2" and facts.claims.digital_source_type == AI
    assert (facts.claims.signer, facts.claims.issuer) == ("default", "Recorder Lab")
    assert facts.ai_generated is True
    assert facts.stamped_by == "Recorder Lab Time-Stamping Authority"
    assert facts.stamped_at is not None
    # One declared soft binding of the kind's algorithm (8-byte record id), and the key
    # that made the mark, named by its 16-hex-digit identifier.
    [payload] = facts.declared
    assert len(bytes.fromhex(payload)) == 8
    [key_id] = facts.mark_keys
    assert len(key_id) == 16 and int(key_id, 16) >= 0
    # Another kind's algorithm declares nothing.
    other = TEXT_ALGORITHM if alg == IMAGE_ALGORITHM else IMAGE_ALGORITHM
    assert _facts(name, other).declared == frozenset() == _facts(name, other).mark_keys
    credentials = reported_credentials(
        _store(name), ValidationState.TRUSTED, revoked=False, revocation_sources=()
    )
    assert credentials.generator is not None and credentials.generator.startswith(
        "provenance-toolkit "
    )
    assert credentials.created_at is not None and credentials.signed_at is not None
    serial = signing_certificate(_store(name))
    assert serial is not None and serial[1] == "Recorder Lab"


def test_an_edit_takes_its_origin_from_its_trusted_parent() -> None:
    facts = _facts("edited-image.json")
    assert facts.claims.digital_source_type is None  # the edit declares none of its own
    [parent] = facts.ingredients
    assert (parent.title, parent.relationship) == ("gs.jpg", "parentOf")
    assert parent.state is ValidationState.TRUSTED
    assert parent.claims.model == "gen-2" and parent.claims.digital_source_type == AI
    assert facts.ai_generated is True
    decision = decide(Observations(facts, UNNEEDED))
    assert decision.summary_line.startswith("edited from an AI-generated original by gen-2")
    reported = reported_credentials(
        _store("edited-image.json"), decision.state, revoked=False, revocation_sources=()
    )
    assert [(i.title, i.state, i.ai_generated) for i in reported.ingredients] == [
        ("gs.jpg", ValidationState.TRUSTED, True)
    ]


def test_a_conformance_file_with_a_parent_without_credentials() -> None:
    facts = _facts("conformance-CA.json")
    assert facts.state is ValidationState.VALID
    assert facts.failures == {"signingCredential.untrusted"}
    assert facts.claims.signer == "C2PA Signer" and facts.claims.ai_generated is None
    # c2pa-rs trusted its time-stamp (timeStamp.trusted) even with no anchors set here.
    assert facts.stamped_by == "DigiCert Timestamp 2023"
    assert facts.stamped_at == dt.datetime(2024, 8, 6, 21, 53, 37, tzinfo=dt.UTC)
    [parent] = facts.ingredients
    assert (parent.title, parent.relationship, parent.state) == ("A.jpg", "parentOf", None)
    assert assess(facts).state is ValidationState.VALID


def test_a_cawg_identity_and_a_time_stamp_that_say_who_is_trusted_are_notes() -> None:
    facts = _facts("conformance-C_with_CAWG_data.json")
    assert facts.failures == {
        "cawg.x509.credential.untrusted",
        "signingCredential.untrusted",
        "timeStamp.untrusted",  # informational in c2pa-rs; the reader names it
    }
    judged = assess(facts)
    assert judged.intact and judged.state is ValidationState.VALID
    assert judged.notes == ("cawg.x509.credential.untrusted", "timeStamp.untrusted")
    assert facts.claims.ai_generated is False  # digitalCapture


def test_content_changed_after_signing_is_only_its_binding() -> None:
    facts = _facts("conformance-adobe-20220124-E-dat-CA.json")
    assert facts.state is ValidationState.INVALID
    assert facts.failures == {"assertion.dataHash.mismatch", "signingCredential.untrusted"}
    judged = assess(facts)
    assert judged.only_binding_broken and not judged.trusted
    assert decide(Observations(facts, UNNEEDED)).summary_line.startswith(
        "content changed after signing"
    )


def test_the_pure_core_imports_no_c2pa() -> None:
    modules = ", ".join(
        f"provenance.verify.{name}" for name in ("facts", "observations", "verdict", "sentences")
    )
    code = f"import sys, {modules}, provenance.credentials.store; print('c2pa' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
