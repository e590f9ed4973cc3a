from __future__ import annotations

import datetime as dt

import pytest

from provenance._version import __version__
from provenance.credentials.manifest import (
    AIContent,
    DigitalSourceType,
    TrainingMining,
    manifest_definition,
)


def test_definition_states_ai_output_and_model() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    content = AIContent(model="imagen", model_version="3", created_at=when, title="cat.png")
    definition = manifest_definition(content, "image/png")
    assert definition["claim_generator_info"] == [
        {"name": "provenance-toolkit", "version": __version__}
    ]
    actions = definition["assertions"][0]
    assert actions["label"] == "c2pa.actions.v2"
    created = actions["data"]["actions"][0]
    assert created == {
        "action": "c2pa.created",
        "digitalSourceType": str(DigitalSourceType.TRAINED_ALGORITHMIC_MEDIA),
        "when": "2026-01-02T03:04:05+00:00",
        "softwareAgent": {"name": "imagen", "version": "3"},
    }
    training = definition["assertions"][1]
    assert training["label"] == "cawg.training-mining"
    assert {v["use"] for v in training["data"]["entries"].values()} == {"notAllowed"}
    assert definition["title"] == "cat.png"


def test_training_preference_and_extra_assertions() -> None:
    content = AIContent(training_mining=TrainingMining.ALLOWED)
    extra = {"label": "c2pa.soft-binding", "data": {"alg": "x", "blocks": []}}
    definition = manifest_definition(content, "image/jpeg", extra_assertions=[extra])
    assert definition["assertions"][-1] == extra
    created = definition["assertions"][0]["data"]["actions"][0]
    assert "softwareAgent" not in created
    entries = definition["assertions"][1]["data"]["entries"]
    assert entries["cawg.ai_generative_training"] == {"use": "allowed"}


def test_invalid_content_is_rejected() -> None:
    with pytest.raises(ValueError, match="model_version needs a model"):
        AIContent(model_version="1")
    with pytest.raises(ValueError, match="timezone"):
        AIContent(created_at=dt.datetime(2026, 1, 1))
