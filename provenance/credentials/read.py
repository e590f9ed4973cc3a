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
from pathlib import Path
from typing import Any, BinaryIO

import c2pa

from provenance.credentials.explain import explain_code, explain_parse_error
from provenance.credentials.status import (
    HARD_BINDING_MISMATCHES,
    MALFORMED,
    TST_PROBLEMS,
    TST_TRUSTED,
    UNTRUSTED,
    ValidationState,
)
from provenance.errors import InputError

__all__ = [
    "MAX_SIDECAR_BYTES",
    "CredentialReader",
    "Ingredient",
    "ManifestStore",
    "RemoteManifest",
    "Seen",
    "Status",
    "TrustSettings",
    "breaks",
    "sidecar_path",
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
class Ingredient:
    """An ingredient of a manifest: what it says it is and how its credentials validated.

    ``manifest`` is the reader JSON of the ingredient's own active manifest (empty: the
    ingredient carries no credentials, and ``state`` is None). ``failures`` are what
    c2pa-rs recorded when the ingredient was added (its hard binding was checked then,
    against the ingredient's own content), what it finds wrong now (its deltas), and the
    ingredient's signature and chain judged again under this reader's trust settings.
    ``ingredients`` are the ingredient's own, from its manifest (as they were recorded).
    """

    title: str | None
    relationship: str | None
    state: ValidationState | None
    failures: tuple[Status, ...] = ()
    manifest: dict[str, Any] = dataclasses.field(default_factory=dict)
    ingredients: tuple[Ingredient, ...] = ()


@dataclasses.dataclass(frozen=True)
class Seen:
    """What c2pa-rs was given and said in one read (``CredentialReader(keep_store=True)``):
    the store's bytes (None: they could not be had, ``problem`` says why) and its
    detailed report (``Reader.detailed_json``)."""

    store_bytes: bytes | None
    detailed: dict[str, Any]
    problem: str | None = None


@dataclasses.dataclass(frozen=True)
class ManifestStore:
    """What a manifest store says and how it validated."""

    state: ValidationState
    failures: tuple[Status, ...]
    ingredient_failures: tuple[Status, ...]
    store: dict[str, Any]  # the full store as c2pa-rs reports it (reader JSON)
    ingredients: tuple[Ingredient, ...] = ()  # of the active manifest, in its order
    # Its bytes and c2pa-rs's detailed report, read with ``keep_store`` (else None).
    seen: Seen | None = None

    @property
    def active(self) -> dict[str, Any]:
        label = self.store.get("active_manifest")
        manifests = self.store.get("manifests") or {}
        found = manifests.get(label) if isinstance(label, str) else None
        return found if isinstance(found, dict) else {}

    @property
    def parent(self) -> Ingredient | None:
        """The ``parentOf`` ingredient: what this content was edited from (None: none)."""
        return next((i for i in self.ingredients if i.relationship == "parentOf"), None)

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
        return manifest_assertion(self.active, label)


def manifest_assertion(manifest: dict[str, Any], label: str) -> dict[str, Any] | None:
    """The data of ``manifest``'s first assertion with ``label`` (version-agnostic)."""
    for assertion in manifest.get("assertions") or ():
        name = assertion.get("label", "") if isinstance(assertion, dict) else ""
        if name == label or name.startswith(label + ".v"):
            data = assertion.get("data")
            return data if isinstance(data, dict) else None
    return None


def sidecar_path(content: Path) -> Path:
    """Where the sidecar manifest store of ``content`` is: beside it, ``NAME.c2pa`` (the
    content's name without its extension, as c2patool writes it)."""
    return Path(content).with_suffix(".c2pa")


#: The largest sidecar read (a manifest store with thumbnails and ingredients).
MAX_SIDECAR_BYTES = 64 * 1024 * 1024


class CredentialReader:
    """Validates manifest stores under one set of trust settings."""

    def __init__(self, trust: TrustSettings = TrustSettings(), *, keep_store: bool = False) -> None:
        """``keep_store``: every store read keeps its bytes and c2pa-rs's detailed report
        (``ManifestStore.seen``: what ``inspect --detailed`` and ``--certs`` show); off,
        a read costs nothing more."""
        self.trust = trust
        self.keep_store = keep_store
        self._context = c2pa.Context.from_dict(trust.context_settings())

    def read(
        self, asset: bytes | BinaryIO, media_type: str, sidecar: bytes | None = None
    ) -> ManifestStore | None:
        """The validated manifest store of ``asset`` (bytes, or a seekable stream, which
        c2pa-rs reads without loading it whole), or None when it carries none.
        ``sidecar``: the store from a ``.c2pa`` file beside the asset, validated against it.

        Raises ``RemoteManifest`` for a manifest that must be fetched, ``InputError`` when
        the asset itself cannot be parsed. A manifest that is present but malformed is
        reported as an ``Invalid`` store with code ``manifest.malformed``.
        """
        try:
            stream = io.BytesIO(asset) if isinstance(asset, bytes) else asset
            if sidecar is not None:
                reader = c2pa.Reader(
                    media_type, stream, manifest_data=sidecar, context=self._context
                )
            else:
                reader = c2pa.Reader.try_create(media_type, stream, context=self._context)
        except c2pa.C2paError as exc:
            return _classify_read_error(exc)
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
            results = reader.get_validation_results() or {}
            state = ValidationState.parse(reader.get_validation_state())
            ingredients = self._ingredients(reader, store, results)
            seen = None
            if self.keep_store:
                given = asset if media_type == "application/c2pa" else sidecar
                seen = _seen(reader, store, given if isinstance(given, bytes) else None)
        active = results.get("activeManifest") or {}
        deltas = [
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
            ingredient_failures=tuple(_status(entry) for entry in deltas),
            store=store,
            ingredients=ingredients,
            seen=seen,
        )

    def _ingredients(
        self, reader: c2pa.Reader, store: dict[str, Any], results: dict[str, Any]
    ) -> tuple[Ingredient, ...]:
        """The active manifest's ingredients, each judged: what was recorded when it was
        added, c2pa-rs's deltas now, and its signature and chain under this trust."""
        label = store.get("active_manifest")
        manifests = store.get("manifests") or {}
        active = manifests.get(label) if isinstance(label, str) else None
        if not isinstance(active, dict):
            return ()
        # c2pa-rs's deltas, by the ingredient assertion they are about (nested manifests'
        # ingredient assertions have deltas of their own, under their manifest's label).
        deltas: dict[str, list[dict[str, Any]]] = {}
        judged: set[str] = set()
        for delta in results.get("ingredientDeltas") or ():
            uri = str(delta.get("ingredientAssertionURI") or "")
            found_now = delta.get("validationDeltas") or {}
            deltas.setdefault(uri, []).extend(found_now.get("failure") or [])
            codes = {
                str(e.get("code", ""))
                for kind in ("success", "failure")
                for e in found_now.get(kind) or ()
                if isinstance(e, dict)
            }
            if codes & _TRUST_VERDICTS:  # c2pa-rs judged its signer under this trust
                judged.add(uri)
        found: list[Ingredient] = []
        budget = [_MAX_INGREDIENTS]
        judged_now = _Deltas(deltas, judged)
        for entry in active.get("ingredients") or ():
            if not isinstance(entry, dict) or budget[0] <= 0:
                continue
            budget[0] -= 1
            uri = f"self#jumbf=/c2pa/{label}/c2pa.assertions/{entry.get('label') or ''}"
            again: list[dict[str, Any]] | None = None
            if uri in judged:
                again = []  # its deltas say who is trusted; nothing to read again
            elif len(found) < _MAX_RECHECKS:
                again = self._recheck(reader, entry)
            found.append(
                _ingredient(entry, manifests, deltas.get(uri, []), again, 0, budget, judged_now)
            )
        return tuple(found)

    def _recheck(self, reader: c2pa.Reader, entry: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The failures of the ingredient's manifest store read again under this reader's
        trust (its own content is not here: its binding was checked when it was added);
        None when it cannot be read again."""
        resource = entry.get("manifest_data")
        identifier = resource.get("identifier") if isinstance(resource, dict) else None
        if not isinstance(identifier, str):
            return None
        try:
            data = io.BytesIO()
            reader.resource_to_stream(identifier, data)
            again = c2pa.Reader.try_create(
                "application/c2pa", io.BytesIO(data.getvalue()), context=self._context
            )
            if again is None:
                return None
            with again:
                active = (again.get_validation_results() or {}).get("activeManifest") or {}
        except c2pa.C2paError as exc:
            log.debug("ingredient %r not read again: %s", identifier, exc)
            return None
        return [
            entry
            for entry in active.get("failure") or ()
            if str(entry.get("code", "")) not in HARD_BINDING_MISMATCHES
        ]


# Failures that say who is trusted, not that the credentials are broken.
_TRUST_ONLY = frozenset({UNTRUSTED, *TST_PROBLEMS})
# A hostile store can nest ingredients deeply or list the same manifest many times over.
_MAX_INGREDIENT_DEPTH = 8
_MAX_INGREDIENTS = 64
_TRUST_VERDICTS = frozenset({UNTRUSTED, "signingCredential.trusted"})
_MAX_RECHECKS = 8  # direct ingredients whose stores are read again (one c2pa read each)
# Success codes that c2pa 1.x readers listed in an ingredient's validationStatus.
_SUCCESS_SUFFIXES = (".match", ".validated", ".trusted", ".insideValidity")


def breaks(code: str) -> bool:
    """Whether a failure code says the credentials are broken, rather than who trusts
    them (an untrusted signer, CAWG identity or time-stamping authority)."""
    return code not in _TRUST_ONLY and not code.endswith(".untrusted")


@dataclasses.dataclass(frozen=True)
class _Deltas:
    """c2pa-rs's ingredient deltas of this read, by ingredient assertion URI: their
    failures, and the URIs whose signer c2pa-rs judged under this reader's trust."""

    failures: dict[str, list[dict[str, Any]]]
    judged: set[str]


def _ingredient(
    entry: dict[str, Any],
    manifests: dict[str, Any],
    now: list[dict[str, Any]],
    again: list[dict[str, Any]] | None,
    depth: int,
    budget: list[int],
    deltas: _Deltas,
) -> Ingredient:
    """One ingredient of the reader JSON, judged (``now``: c2pa-rs's deltas for it;
    ``again``: its store's failures read again here, None when it was not). A nested
    ingredient whose signer c2pa-rs judged in this read takes that judgement, like a
    direct one, instead of what was recorded when it was added."""
    title, relationship = entry.get("title"), entry.get("relationship")
    label = entry.get("active_manifest")
    manifest = manifests.get(label) if isinstance(label, str) else None
    if not isinstance(manifest, dict):
        return Ingredient(
            title if isinstance(title, str) else None,
            relationship if isinstance(relationship, str) else None,
            None,
        )
    recorded: list[dict[str, Any]] = []
    results = entry.get("validation_results")
    if isinstance(results, dict):  # ingredient v3: what c2pa-rs found when it was added
        recorded += (results.get("activeManifest") or {}).get("failure") or []
    for status in entry.get("validation_status") or ():  # v1/v2
        if isinstance(status, dict) and not str(status.get("code", "")).endswith(_SUCCESS_SUFFIXES):
            recorded.append(status)
    if again is not None:  # trust is this reader's to decide, not the signer's
        recorded = [s for s in recorded if s.get("code") != UNTRUSTED] + again
    failures = tuple(dict.fromkeys(_status(s) for s in [*recorded, *now] if isinstance(s, dict)))
    codes = {status.code for status in failures}
    if any(map(breaks, codes)):
        state = ValidationState.INVALID
    else:
        state = ValidationState.VALID if UNTRUSTED in codes else ValidationState.TRUSTED
    nested: list[Ingredient] = []
    for inner in manifest.get("ingredients") or () if depth < _MAX_INGREDIENT_DEPTH else ():
        if isinstance(inner, dict) and budget[0] > 0:
            budget[0] -= 1
            uri = f"self#jumbf=/c2pa/{label}/c2pa.assertions/{inner.get('label') or ''}"
            recheck: list[dict[str, Any]] | None = [] if uri in deltas.judged else None
            inner_now = deltas.failures.get(uri, [])
            nested.append(
                _ingredient(inner, manifests, inner_now, recheck, depth + 1, budget, deltas)
            )
    return Ingredient(
        title if isinstance(title, str) else None,
        relationship if isinstance(relationship, str) else None,
        state,
        failures,
        manifest,
        tuple(nested),
    )


def _seen(reader: c2pa.Reader, store: dict[str, Any], given: bytes | None) -> Seen:
    """The detailed report and the bytes of the store ``reader`` read: those it was given
    (a sidecar, a bare store), else what c2pa-rs hands out for the active manifest's
    signature URI, which c2pa-python 0.38.1 answers with the whole store (measured on
    JPEG, PNG, MP4, WAV and the conformance files); ``certs`` checks they parse."""
    active = store.get("active_manifest")
    try:
        detailed = json.loads(reader.detailed_json())
    except (c2pa.C2paError, ValueError) as exc:
        detailed = {"error": f"c2pa-rs gave no detailed report: {exc}"}
    if given is not None:
        return Seen(given, detailed)
    if not isinstance(active, str):
        return Seen(None, detailed, "the store names no active manifest")
    out = io.BytesIO()
    try:
        reader.resource_to_stream(f"self#jumbf=/c2pa/{active}/c2pa.signature", out)
    except c2pa.C2paError as exc:
        return Seen(None, detailed, f"c2pa-rs did not hand out the store's bytes: {exc}")
    return Seen(out.getvalue(), detailed)


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
        raise InputError(explain_parse_error(message)) from exc
    log.debug("malformed manifest: %s", message)
    malformed = Status(MALFORMED, None, message)
    return ManifestStore(
        state=ValidationState.INVALID, failures=(malformed,), ingredient_failures=(), store={}
    )
