"""Read and validate an embedded C2PA manifest store with c2pa-rs.

One ``CredentialReader`` holds a c2pa Context with the trust settings; build it once per
process (or worker) and reuse it for every file: the Context is safe to share between
threads and costs far more to build than a read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
from typing import Any

import c2pa

from provenance.credentials.explain import explain_code
from provenance.credentials.status import MALFORMED, TST_PROBLEMS, TST_TRUSTED, ValidationState
from provenance.errors import InputError

__all__ = [
    "CredentialReader",
    "ManifestStore",
    "RemoteManifest",
    "Status",
    "TrustSettings",
]

log = logging.getLogger(__name__)


class RemoteManifest(InputError):
    """The manifest lives at a URL and remote fetching is off."""


@dataclasses.dataclass(frozen=True)
class TrustSettings:
    """Trust anchors (PEM), the EKU list c2pa-rs accepts for signing certificates, and
    ``allowed_list``: end-entity certificates (PEM) trusted alone, whoever issued them."""

    anchors_pem: str = ""
    trust_config: str | None = None
    fetch_remote_manifests: bool = False
    allowed_list: str = ""

    def context_settings(self) -> dict[str, Any]:
        trust: dict[str, Any] = {}
        if self.anchors_pem.strip():
            trust["user_anchors"] = self.anchors_pem
        if self.trust_config:
            trust["trust_config"] = self.trust_config
        if self.allowed_list.strip():
            # Measured with c2pa-python 0.38.1 (c2pa-rs 0.91.3): a top-level
            # ``trust.allowed_list`` is silently ignored (the file stays Valid with
            # signingCredential.untrusted); the allowed list of an entry of
            # ``trust.anchors`` makes exactly the listed signers read Trusted.
            trust.setdefault("anchors", []).append(
                {
                    "trust_anchors": "",
                    "trust_kind": "manifest",
                    "trust_uri": "provenance-toolkit:allowed-list",
                    "allowed_list": self.allowed_list,
                }
            )
        settings: dict[str, Any] = {
            "verify": {"remote_manifest_fetch": self.fetch_remote_manifests},
        }
        if trust:
            settings["trust"] = trust
        return settings


@dataclasses.dataclass(frozen=True)
class Status:
    """One validation status entry: a code, where it applies, and what it means."""

    code: str
    url: str | None
    explanation: str

    @property
    def meaning(self) -> str:
        return explain_code(self.code, self.explanation)


@dataclasses.dataclass(frozen=True)
class ManifestStore:
    """What a manifest store says and how it validated."""

    state: ValidationState
    failures: tuple[Status, ...]
    ingredient_failures: tuple[Status, ...]
    store: dict[str, Any]  # the full store as c2pa-rs reports it (reader JSON)

    @property
    def active(self) -> dict[str, Any]:
        label = self.store.get("active_manifest")
        manifests = self.store.get("manifests") or {}
        found = manifests.get(label) if isinstance(label, str) else None
        return found if isinstance(found, dict) else {}

    @property
    def failure_codes(self) -> tuple[str, ...]:
        return tuple(status.code for status in self.failures)

    @property
    def time_stamp(self) -> tuple[dt.datetime, str] | None:
        """The trusted time of the claim signature and the authority that vouches for it.

        Only a time-stamp c2pa-rs validated AND whose authority it trusts counts
        (``timeStamp.trusted``); any other is no time at all.
        """
        results = self.store.get("validation_results") or {}
        active = results.get("activeManifest") if isinstance(results, dict) else None
        successes = (active or {}).get("success") or ()
        trusted = [e for e in successes if isinstance(e, dict) and e.get("code") == TST_TRUSTED]
        when = (self.active.get("signature_info") or {}).get("time")
        if not trusted or not isinstance(when, str):
            return None
        try:
            moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        explanation = str(trusted[0].get("explanation") or "")
        # c2pa-rs says "timestamp cert trusted: NAME, trust list: user_anchors".
        name = explanation.partition(":")[2].split(", trust list")[0].strip()
        return moment, name or "a trusted time-stamping authority"

    @property
    def stamped_at(self) -> dt.datetime | None:
        found = self.time_stamp
        return found[0] if found else None

    @property
    def stamped_by(self) -> str | None:
        found = self.time_stamp
        return found[1] if found else None

    def assertion(self, label: str) -> dict[str, Any] | None:
        """The data of the active manifest's first assertion with ``label`` (version-agnostic)."""
        for assertion in self.active.get("assertions") or ():
            name = assertion.get("label", "") if isinstance(assertion, dict) else ""
            if name == label or name.startswith(label + ".v"):
                data = assertion.get("data")
                return data if isinstance(data, dict) else None
        return None


class CredentialReader:
    """Validates manifest stores under one set of trust settings."""

    def __init__(self, trust: TrustSettings = TrustSettings()) -> None:
        self.trust = trust
        self._context = c2pa.Context.from_dict(trust.context_settings())

    def read(self, asset: bytes, media_type: str) -> ManifestStore | None:
        """The validated manifest store of ``asset``, or None when it carries none.

        Raises ``RemoteManifest`` for a manifest that must be fetched, ``InputError`` when
        the asset itself cannot be parsed. A manifest that is present but malformed is
        reported as an ``Invalid`` store with code ``manifest.malformed``.
        """
        try:
            reader = c2pa.Reader.try_create(media_type, io.BytesIO(asset), context=self._context)
        except c2pa.C2paError as exc:
            return _classify_read_error(exc)
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
            results = reader.get_validation_results() or {}
            state = ValidationState.parse(reader.get_validation_state())
        active = results.get("activeManifest") or {}
        ingredients = [
            status
            for delta in results.get("ingredientDeltas") or ()
            for status in (delta.get("validationDeltas") or {}).get("failure") or ()
        ]
        # c2pa-rs logs a time-stamp it could not use as "informational" and then judges
        # the certificate at the current time; the report names it as a failure.
        stamp_problems = [
            entry
            for entry in active.get("informational") or ()
            if str(entry.get("code", "")) in TST_PROBLEMS
        ]
        return ManifestStore(
            state=state,
            failures=tuple(
                _status(entry) for entry in [*(active.get("failure") or ()), *stamp_problems]
            ),
            ingredient_failures=tuple(_status(entry) for entry in ingredients),
            store=store,
        )


def _status(entry: dict[str, Any]) -> Status:
    return Status(
        code=str(entry.get("code", "")),
        url=entry.get("url"),
        explanation=str(entry.get("explanation") or ""),
    )


def _classify_read_error(exc: Exception) -> ManifestStore | None:
    message = str(exc).strip()
    lowered = message.lower()
    if type(exc).__name__ == "_C2paManifestNotFound":
        return None
    if lowered.startswith("remote"):
        url = message.split("url", 1)[-1].strip() if "url" in message else "a remote address"
        raise RemoteManifest(
            f"the manifest is stored remotely ({url}) and remote fetching is off"
        ) from exc
    if "asset could not be parsed" in lowered or lowered.startswith(("notsupported", "io")):
        raise InputError(f"the file could not be parsed [c2pa: {message}]") from exc
    log.debug("malformed manifest: %s", message)
    malformed = Status(MALFORMED, None, message)
    return ManifestStore(
        state=ValidationState.INVALID, failures=(malformed,), ingredient_failures=(), store={}
    )
