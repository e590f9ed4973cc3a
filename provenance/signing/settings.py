"""How content is signed: one frozen, validated settings object (python-tuf's
``UpdaterConfig`` shape) that every front end fills and the signing session reads.

The CLI (one file or a folder), the HTTP server, batch signing on local workers or a
Dask cluster, and a generator's own code all describe a signature with ``SignSettings``;
a batch sends it to its workers, each of which opens its own session from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provenance.credentials.manifest import (
    AIContent,
    DigitalSourceType,
    TrainingMining,
    user_assertions,
)
from provenance.errors import UsageError
from provenance.kinds.media import Limits

_FLAGS = ("ai_edit", "watermark", "time_stamp", "force", "keep_invalid_history", "sidecar", "audit")


@dataclasses.dataclass(frozen=True)
class SignSettings:
    """The options of `provenance sign`, for every signature of one session.

    ``home``: the key store's folder (what ``--home`` names); a session handed a
    ``KeyStore`` fills it in, a batch's workers open it. ``identity`` and
    ``watermark_key``: the store's defaults unless named. ``model``, ``model_version``,
    ``training_mining``, ``digital_source_type``, ``ai_edit`` (an AI model made the edit)
    and ``assertions`` (the user's own, ``user_assertions``) go into every manifest.
    ``watermark=False`` signs without a watermark and stores nothing. ``repository``: a
    path or URL (default ``HOME/repository.sqlite``). Every signature is time-stamped by
    the store's authority unless ``tsa_url`` names another or ``time_stamp=False``.
    ``force`` replaces existing outputs (regular files only). ``parent`` (a file, or
    content as bytes): every output is an edit of it; ``keep_invalid_history`` records
    credentials that fail validation as an invalid ingredient instead of refusing them.
    ``sidecar``: the manifest store goes beside the content (``NAME.c2pa``). ``limits``:
    what is read. ``audit``: every signature gets its line in the key store's audit log.

    Checked when made: a contradiction or a bad value is a ``UsageError`` (one line), a
    value of the wrong type a ``TypeError``.
    """

    home: Path | None = None
    identity: str | None = None
    model: str | None = None
    model_version: str | None = None
    training_mining: TrainingMining = TrainingMining.NOT_ALLOWED
    digital_source_type: DigitalSourceType = DigitalSourceType.TRAINED_ALGORITHMIC_MEDIA
    ai_edit: bool = False
    assertions: tuple[Mapping[str, Any], ...] = ()
    watermark: bool = True
    watermark_key: str | None = None
    repository: str | None = None
    tsa_url: str | None = None
    time_stamp: bool = True
    force: bool = False
    parent: Path | bytes | None = None
    keep_invalid_history: bool = False
    sidecar: bool = False
    limits: Limits = dataclasses.field(default_factory=Limits)
    audit: bool = True

    def __post_init__(self) -> None:
        for name in _FLAGS:
            _require(name, getattr(self, name), bool)
        for name in ("identity", "model", "model_version", "watermark_key", "tsa_url"):
            _require(name, getattr(self, name), str, optional=True)
        _require("limits", self.limits, Limits)
        if self.home is not None:
            self._set("home", Path(_path_like("home", self.home)))
        if self.repository is not None:
            self._set("repository", str(_path_like("repository", self.repository)))
        if isinstance(self.parent, bytearray | memoryview):
            self._set("parent", bytes(self.parent))
        elif self.parent is not None and not isinstance(self.parent, bytes):
            self._set("parent", Path(_path_like("parent", self.parent)))
        self._set("training_mining", _member(TrainingMining, self.training_mining))
        self._set("digital_source_type", _member(DigitalSourceType, self.digital_source_type))
        if self.tsa_url is not None and not self.time_stamp:
            raise UsageError("choose one of tsa_url and time_stamp=False")
        if self.model_version is not None and self.model is None:
            raise UsageError("model_version needs model")
        self._set("assertions", user_assertions(list(self.assertions)))

    def content(self) -> AIContent:
        """What every manifest of these settings says about the content."""
        return AIContent(
            model=self.model,
            model_version=self.model_version,
            training_mining=self.training_mining,
            digital_source_type=self.digital_source_type,
            ai_edit=self.ai_edit,
            assertions=self.assertions,
        )

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)


def _require(name: str, value: object, kind: type, *, optional: bool = False) -> None:
    if (value is None and optional) or isinstance(value, kind):
        return
    raise TypeError(f"{name} must be a {kind.__name__}, not {type(value).__name__}")


def _path_like(name: str, value: object) -> str | Path:
    if isinstance(value, str | Path):
        return value
    raise TypeError(f"{name} must be a str or a Path, not {type(value).__name__}")


def _member(enum: Any, value: object) -> Any:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in enum)
        raise UsageError(f"{value!r} is not one of {choices}") from None
