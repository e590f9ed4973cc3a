"""The manifest definition that states 'this is AI output, made by this model'.

The vocabulary is the one C2PA readers understand (Content Credentials displays, c2patool,
c2pa-js): a ``c2pa.created`` action with an IPTC digital source type and a
``softwareAgent``, and a CAWG training-and-mining preference. Later layers (the watermark)
add their assertions through ``extra_assertions``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from provenance._version import __version__

__all__ = [
    "AIContent",
    "DigitalSourceType",
    "TrainingMining",
    "manifest_definition",
]

CLAIM_GENERATOR = "provenance-toolkit"
_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
_TRAINING_MINING_USES = (
    "cawg.ai_generative_training",
    "cawg.ai_training",
    "cawg.ai_inference",
    "cawg.data_mining",
)


class DigitalSourceType(enum.StrEnum):
    """IPTC digital source types for AI output."""

    TRAINED_ALGORITHMIC_MEDIA = _IPTC + "trainedAlgorithmicMedia"
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = _IPTC + "compositeWithTrainedAlgorithmicMedia"
    ALGORITHMIC_MEDIA = _IPTC + "algorithmicMedia"


class TrainingMining(enum.StrEnum):
    """CAWG training-and-mining preference, applied to every use."""

    ALLOWED = "allowed"
    NOT_ALLOWED = "notAllowed"
    CONSTRAINED = "constrained"


@dataclasses.dataclass(frozen=True)
class AIContent:
    """What the manifest says about a piece of generated content."""

    model: str | None = None
    model_version: str | None = None
    digital_source_type: DigitalSourceType = DigitalSourceType.TRAINED_ALGORITHMIC_MEDIA
    training_mining: TrainingMining = TrainingMining.NOT_ALLOWED
    title: str | None = None
    created_at: dt.datetime | None = None
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model_version is not None and self.model is None:
            raise ValueError("model_version needs a model name")
        if self.created_at is not None and self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")


def manifest_definition(
    content: AIContent,
    media_type: str,
    *,
    extra_assertions: Sequence[Mapping[str, Any]] = (),
    extra_actions: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The c2pa-rs manifest definition (JSON-able) for generated content."""
    when = (content.created_at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    created: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": str(content.digital_source_type),
        "when": when,
    }
    if content.model is not None:
        agent = {"name": content.model}
        if content.model_version is not None:
            agent["version"] = content.model_version
        created["softwareAgent"] = agent
    if content.parameters:
        created["parameters"] = dict(content.parameters)
    definition: dict[str, Any] = {
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": __version__}],
        "format": media_type,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [created, *map(dict, extra_actions)]},
            },
            {
                "label": "cawg.training-mining",
                "data": {
                    "entries": {
                        use: {"use": str(content.training_mining)} for use in _TRAINING_MINING_USES
                    }
                },
            },
            *map(dict, extra_assertions),
        ],
    }
    if content.title:
        definition["title"] = content.title
    return definition
