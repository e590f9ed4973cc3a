"""The manifest definition that states 'this is AI output, made by this model'.

The vocabulary is the one C2PA readers understand (Content Credentials displays, c2patool,
c2pa-js): a ``c2pa.created`` action with an IPTC digital source type and a
``softwareAgent``, and a CAWG training-and-mining preference. Later layers (the watermark)
add their assertions through ``extra_assertions``.

An edit (``parent``: what it was made from, docs/design.md "Edits") opens its parent
instead of creating: ``c2pa.opened`` names the ``parentOf`` ingredient, then
``c2pa.edited`` says how, with ``compositeWithTrainedAlgorithmicMedia`` when an AI model
made the edit (``AIContent.ai_edit``). The parent's bytes travel with the definition
(``PARENT_KEY``) to the signer, which records the parent and its manifest store as the
ingredient; they never reach c2pa-rs's definition JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any

from provenance._version import __version__
from provenance.errors import UsageError

CLAIM_GENERATOR = "provenance-toolkit"
_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
_TRAINING_MINING_USES = (
    "cawg.ai_generative_training",
    "cawg.ai_training",
    "cawg.ai_inference",
    "cawg.data_mining",
)
#: Where a definition carries its ``Parent`` (taken out by the signer before c2pa-rs).
PARENT_KEY = "provenance-toolkit:parent"
#: The ingredient label ``c2pa.opened`` refers to (c2pa-rs's ``ingredientIds``).
PARENT_LABEL = "parent"
PARENT_OF = "parentOf"


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


#: What the AI manifest writes itself: a user's assertion may not take these labels (or
#: their versions, ``c2pa.actions.v2``), so it never changes what the manifest says about
#: how the content was made, what it declares of its watermark or its bindings.
RESERVED_LABELS = (
    "c2pa.actions",
    "c2pa.soft-binding",
    "c2pa.hash.",
    "c2pa.ingredient",
    "c2pa.thumbnail",
    "cawg.training-mining",
)
#: A user's assertions: how many, and how large each may be as JSON.
MAX_USER_ASSERTIONS = 64
MAX_ASSERTION_BYTES = 64 * 1024


def user_assertions(value: object) -> tuple[dict[str, Any], ...]:
    """The user's assertions, checked: a list of ``{"label": str, "data": object}`` (or a
    c2patool manifest definition, ``{"assertions": [...]}``), none with a reserved label
    (``RESERVED_LABELS``), none twice. ``UsageError`` in one line otherwise."""
    if isinstance(value, dict) and set(value) >= {"assertions"}:
        value = value["assertions"]
    if not isinstance(value, list):
        raise UsageError("assertions must be a JSON list of {label, data} objects")
    if len(value) > MAX_USER_ASSERTIONS:
        raise UsageError(f"at most {MAX_USER_ASSERTIONS} assertions, not {len(value)}")
    checked: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        where = f"assertion {index + 1}"
        if not isinstance(item, dict) or set(item) - {"label", "data", "kind"}:
            raise UsageError(f"{where}: must be an object with label and data")
        label, data = item.get("label"), item.get("data")
        if not isinstance(label, str) or not label.strip() or len(label) > 256:
            raise UsageError(f"{where}: label must be a non-empty string (at most 256)")
        if not isinstance(data, dict):
            raise UsageError(f"{where} ({label}): data must be a JSON object")
        if any(label == r.rstrip(".") or label.startswith(r if r.endswith(".") else r + ".")
               for r in RESERVED_LABELS):  # fmt: skip
            raise UsageError(f"{where}: {label} is written by the AI manifest itself")
        if any(label == other["label"] for other in checked):
            raise UsageError(f"{where}: {label} is given twice")
        try:
            size = len(json.dumps(data))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where} ({label}): data is not JSON ({exc})") from None
        if size > MAX_ASSERTION_BYTES:
            raise UsageError(
                f"{where} ({label}): {size:,} bytes of JSON, over {MAX_ASSERTION_BYTES:,}"
            )
        checked.append({"label": label, "data": data})
    return tuple(checked)


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
    # An AI model edited other content into this (``--ai-edit``): the digital source type
    # is compositeWithTrainedAlgorithmicMedia. Without it an edit claims no source type
    # of its own and its AI origin, if any, is its parent's.
    ai_edit: bool = False
    # The user's own assertions ({label, data}), checked by ``user_assertions``: added
    # after the AI ones, which they cannot replace.
    assertions: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.model_version is not None and self.model is None:
            raise ValueError("model_version needs a model name")
        object.__setattr__(self, "assertions", user_assertions(list(self.assertions)))
        if self.created_at is not None and self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    def made_by_ai(self, *, edit: bool) -> bool:
        """Whether the content is an AI edit (compositeWithTrainedAlgorithmicMedia): said
        with ``ai_edit``, or, for an edit of other content (``edit``), by naming a model,
        which says a model made it (docs/design.md, "Edits"). A model named on an edit
        would otherwise be left out of what a reader sees, the output taking its
        parent's origin."""
        return self.ai_edit or (edit and self.model is not None)


@dataclasses.dataclass(frozen=True)
class Parent:
    """The content an edit was made from, as it was read: its bytes (with its manifest
    store, if it carries one), its media type and the title its ingredient gets.

    ``keep_invalid``: record a manifest that fails validation as an invalid ingredient
    instead of refusing to sign (``sign --keep-invalid-history``).
    """

    data: bytes = dataclasses.field(repr=False)
    media_type: str
    title: str
    keep_invalid: bool = False
    # How its manifest store validated when it was read (c2pa-rs's validation results:
    # ``activeManifest``, ``ingredientDeltas``); the in-house text signer records them.
    validation_results: Mapping[str, Any] | None = dataclasses.field(default=None, repr=False)
    # Its manifest store when it was recovered through the parent's watermark rather than
    # read from it (``RecoveredStore``): recorded as the ingredient's, with the results.
    recovered: RecoveredStore | None = dataclasses.field(default=None, repr=False)

    def ingredient(self) -> dict[str, Any]:
        """The ingredient definition c2pa-rs's Builder takes (with the parent's stream)."""
        return {"title": self.title, "relationship": PARENT_OF, "label": PARENT_LABEL}


#: Where a recovered store's binding to the parent's content stands in its recorded
#: validation results: it was not checked (the store was validated without content).
BINDING_NOT_CHECKED = (
    "not checked: the manifest store was recovered through the watermark (record {record}) "
    "and validated without the content it was signed with"
)


@dataclasses.dataclass(frozen=True)
class RecoveredStore:
    """A parent's credentials recovered through its watermark, as verify says
    ``recovered``: the repository record's manifest store, its active manifest's label,
    the record, and the store's validation results as it was validated on its own."""

    store: bytes = dataclasses.field(repr=False)
    label: str
    record: str
    validation_results: Mapping[str, Any] = dataclasses.field(repr=False)

    def ingredient_results(self) -> dict[str, Any]:
        """The validation results the ingredient records: the store's own, with its hard
        binding said to be not checked (informational) rather than failed: it was judged
        without the content, as verify judges a recovered record."""
        results: dict[str, Any] = json.loads(json.dumps(dict(self.validation_results)))
        active = results.setdefault("activeManifest", {})
        failures = active.get("failure") or []
        binding = [f for f in failures if str(f.get("code", "")).endswith("Hash.mismatch")]
        active["failure"] = [f for f in failures if f not in binding]
        note = BINDING_NOT_CHECKED.format(record=self.record)
        active["informational"] = [
            *(active.get("informational") or []),
            *({**f, "explanation": note} for f in binding),
        ]
        return results

    def ingredient(self, title: str, media_type: str) -> dict[str, Any]:
        """The ``parentOf`` ingredient c2pa-rs takes from a definition, its store given
        as the resource ``RECOVERED_RESOURCE``."""
        return {
            "title": title,
            "format": media_type,
            "relationship": PARENT_OF,
            "label": PARENT_LABEL,
            "active_manifest": self.label,
            "manifest_data": {"format": "application/c2pa", "identifier": RECOVERED_RESOURCE},
            "validation_results": self.ingredient_results(),
        }


#: The resource name a recovered parent store is handed to c2pa-rs under.
RECOVERED_RESOURCE = "provenance-toolkit-recovered-parent.c2pa"


def parent_of(definition: Mapping[str, Any]) -> tuple[dict[str, Any], Parent | None]:
    """The definition as c2pa-rs takes it, and the parent it carries (None: not an edit)."""
    plain = {key: value for key, value in definition.items() if key != PARENT_KEY}
    parent = definition.get(PARENT_KEY)
    if parent is not None and not isinstance(parent, Parent):
        raise TypeError(f"definition[{PARENT_KEY!r}] must be a Parent")
    return plain, parent


def manifest_definition(
    content: AIContent,
    media_type: str,
    *,
    extra_assertions: Sequence[Mapping[str, Any]] = (),
    extra_actions: Sequence[Mapping[str, Any]] = (),
    parent: Parent | None = None,
) -> dict[str, Any]:
    """The c2pa-rs manifest definition (JSON-able but for ``PARENT_KEY``) for generated
    content, or for an edit of ``parent``."""
    when = (content.created_at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    ai_edit = content.made_by_ai(edit=parent is not None)
    source = (
        DigitalSourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
        if ai_edit
        else content.digital_source_type
    )
    made: dict[str, Any]
    if parent is None:
        made = {"action": "c2pa.created", "digitalSourceType": str(source), "when": when}
        inception = [made]
    else:
        opened = {"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_LABEL]}}
        made = {"action": "c2pa.edited", "when": when}
        if ai_edit:
            made["digitalSourceType"] = str(source)
        inception = [opened, made]
    if content.model is not None:
        agent = {"name": content.model}
        if content.model_version is not None:
            agent["version"] = content.model_version
        made["softwareAgent"] = agent
    if content.parameters:
        made.setdefault("parameters", {}).update(dict(content.parameters))
    definition: dict[str, Any] = {
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": __version__}],
        "format": media_type,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [*inception, *map(dict, extra_actions)]},
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
            *map(dict, content.assertions),
        ],
    }
    if content.title:
        definition["title"] = content.title
    if parent is not None:
        definition[PARENT_KEY] = parent
    return definition
