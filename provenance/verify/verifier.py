"""One verdict per file: read, validate, detect, look up, then let ``verdict.decide`` judge.

The ``Verifier`` does the I/O and the wiring only; which verdict a set of observations
gets is decided in ``provenance.verify.verdict`` (docs/design.md, "Decision table"), and what
differs between images and text lives in the media-kind registry (``provenance.kinds``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from provenance._internal.fs import read_input, read_opened
from provenance._internal.text import safe_text
from provenance.credentials.explain import explain_code
from provenance.credentials.inspected import Inspected
from provenance.credentials.read import (
    MAX_SIDECAR_BYTES,
    CredentialReader,
    Ingredient,
    ManifestStore,
    TrustSettings,
    manifest_assertion,
    sidecar_path,
)
from provenance.credentials.revocation import Revocation, Revocations
from provenance.credentials.softbinding import soft_bindings
from provenance.credentials.status import REVOKED, ValidationState
from provenance.errors import InputError, UsageError
from provenance.kinds import (
    MediaKind,
    StreamedKind,
    identify,
    open_content,
    streamed,
)
from provenance.kinds.media import Limits, extension_mismatch
from provenance.report import Credentials, LLMWatermark, Report, Verdict, Watermark, path_fields
from provenance.report import Ingredient as ReportedIngredient
from provenance.verify.observations import (
    AI_SOURCE_TYPES,
    Claims,
    IngredientFacts,
    ManifestFacts,
    Observations,
    RecordFacts,
)
from provenance.verify.recovery import RecordLookup
from provenance.verify.verdict import Decision, assess, decide, needs_mark
from provenance.watermark.image import WatermarkSecret

if TYPE_CHECKING:
    from provenance.keystore.records import WatermarkKey
    from provenance.watermark.llm.detector import Encoder

__all__ = [
    "AI_SOURCE_TYPES",
    "Credentials",
    "Inspected",
    "Report",
    "Verdict",
    "Verifier",
    "VerifyConfig",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class VerifyConfig:
    """Everything a verifier needs; plain data so worker processes can receive it."""

    trust: TrustSettings = dataclasses.field(default_factory=TrustSettings)
    limits: Limits = dataclasses.field(default_factory=Limits)
    # Revoked signing certificates: the key store's own and imported CRLs'.
    revocations: Revocations = dataclasses.field(default_factory=Revocations)
    # Watermark secrets to detect with, and the repository that recovers manifests.
    watermark_secrets: tuple[WatermarkSecret, ...] = ()
    repository: str | None = None
    # Look for the watermark at all (it costs a decode and a detection per file).
    check_watermark: bool = True
    # Test text for the LLM watermark of these keys (each in the mode it records) with
    # this tokenizer (a path or known name, ``load_tokenizer``); off without one.
    llm_keys: tuple[WatermarkKey, ...] = ()
    llm_tokenizer: str | None = None


class Verifier:
    """Verifies files under one configuration; build once, call for many files."""

    def __init__(self, config: VerifyConfig = VerifyConfig()) -> None:
        self.config = config
        self._reader = CredentialReader(config.trust)
        self._records = RecordLookup(config.repository, self._reader)
        self._tokenizer: Encoder | None = None

    def verify_path(
        self, path: Path, *, manifest: Path | None = None, named: bool = True
    ) -> Report:
        """Verify one file; never raises for bad input, reports ``error`` instead.

        Audio and video are read as streams (never whole, up to their own size limit);
        the other kinds are read whole (docs/design.md, "Reading"). ``manifest``: a
        manifest store file (``.c2pa``) to validate the file against instead of its own
        or its sidecar (docs/design.md, "Sidecars"); ``UsageError`` for a kind that keeps
        its manifest in itself. ``named=False``: the path's name is not one anybody gave
        the content (an upload without a name), so it suggests no type.
        """
        media_type: str | None = None
        try:
            with open_content(path, self.config.limits) as (kind, media_type, handle):
                source = self._source(Path(path), kind, manifest)
                stream_kind = streamed(kind)
                if stream_kind is None:
                    data = read_opened(handle, self.config.limits.max_file_bytes)
                    report = self._verify(kind, media_type, data, path, source)
                else:
                    report = self._verify(stream_kind, media_type, handle, path, source)
        except InputError as exc:
            return Report.failed(path, exc.diagnostics(), media_type)
        if named and report.media_type and extension_mismatch(Path(path), report.media_type):
            note = f"file name suggests another type; content is {report.media_type}"
            report = dataclasses.replace(report, summary=f"{report.summary} ({note})")
        return report

    def verify_bytes(self, data: bytes, name: str | Path = "-") -> Report:
        """Verify in-memory content; ``name`` is only used in the report."""
        media_type: str | None = None
        try:
            kind, media_type = identify(data)
            return self._verify(kind, media_type, data, name)
        except InputError as exc:
            return Report.failed(name, exc.diagnostics(), media_type)

    def manifest_store(self, path: Path, *, manifest: Path | None = None) -> ManifestStore | None:
        """The validated manifest store of a file (None: it has none): its own, else its
        sidecar's, or ``manifest``'s (a ``.c2pa`` file) when given, as ``verify_path``.

        Raises ``InputError`` when the file (or ``manifest``) cannot be read or is not a
        supported type, ``UsageError`` for ``manifest`` with a kind that takes none.
        """
        return self._opened_store(path, manifest, self._reader)[0]

    def inspect_store(self, path: Path, *, manifest: Path | None = None) -> Inspected | None:
        """``manifest_store`` with where the store came from, c2pa-rs's detailed report
        and the store's bytes (``provenance inspect``)."""
        # A reader that keeps each store's bytes and detailed report (one inspect: the
        # cost of building it is nothing beside a person reading the output).
        keeping = CredentialReader(self.config.trust, keep_store=True)
        store, note = self._opened_store(path, manifest, keeping)
        return Inspected(store, note.strip(" ()")) if store is not None else None

    def find_mark(self, data: bytes) -> Watermark:
        """The watermark in ``data`` under the configured keys (the soft-binding API's
        byContent); ``InputError`` for content no kind reads."""
        kind, media_type = identify(data)
        return self._detect(kind, media_type, data, strict=False, localise=False)

    # --- the wiring ------------------------------------------------------------------

    def _opened_store(
        self, path: Path, manifest: Path | None, reader: CredentialReader
    ) -> tuple[ManifestStore | None, str]:
        """The store of the file at ``path`` as ``_store_for`` finds it, read by ``reader``."""
        with open_content(path, self.config.limits) as (kind, media_type, handle):
            source = self._source(Path(path), kind, manifest)
            stream_kind = streamed(kind)
            if stream_kind is not None:
                return self._store_for(stream_kind, media_type, handle, source, reader)
            data = read_opened(handle, self.config.limits.max_file_bytes)
            return self._store_for(kind, media_type, data, source, reader)

    def _read(
        self,
        kind: MediaKind,
        media_type: str,
        content: bytes | BinaryIO,
        reader: CredentialReader | None = None,
    ) -> ManifestStore | None:
        reader = reader or self._reader
        if isinstance(content, bytes):
            return kind.read_credentials(content, media_type, reader, self.config.limits)
        return _as_streamed(kind).read_stream_credentials(
            content, media_type, reader, self.config.limits
        )

    def _check(self, kind: MediaKind, media_type: str, content: bytes | BinaryIO) -> None:
        if isinstance(content, bytes):
            kind.check(content, media_type, self.config.limits)
        else:
            _as_streamed(kind).check_stream(content, media_type, self.config.limits)

    def _verify(
        self,
        kind: MediaKind,
        media_type: str,
        data: bytes | BinaryIO,
        name: str | Path,
        source: _Source | None = None,
    ) -> Report:
        store, note = self._store_for(kind, media_type, data, source)
        if store is None:
            # Without a manifest the content is all there is: a bomb or a broken file is
            # an error, never "none" (which would claim it was checked and found clean).
            self._check(kind, media_type, data)
        facts = self._facts(store, kind) if store is not None else None
        # A kind without a watermark says so in every report, manifest or not.
        looked = needs_mark(facts) or not kind.mark_algs
        if looked:
            # Where the content was edited is worth working out only when it may have been:
            # an intact hard binding says it was not.
            edited = facts is None or not assess(facts).intact
            mark = self._detect(kind, media_type, data, strict=store is None, localise=edited)
        else:
            mark = Watermark.not_checked("not needed for this verdict")
        recovered = None
        if store is None and mark.found and mark.payload and mark.alg:
            found = self._records.find(mark.alg, bytes.fromhex(mark.payload))
            record = RecordFacts(mark.payload, None)
            if found is not None:
                recovered = found.store
                record = RecordFacts(
                    mark.payload, self._facts(found.store, kind), found.declares_mark
                )
        else:
            record = None
        llm = self._llm(kind, media_type, data)
        decision = decide(Observations(facts, mark, record, self._records.available, llm))
        credentials = self._credentials_for(decision, store, recovered)
        path, raw = path_fields(name)
        summary = decision.summary_line + note
        return Report(
            path=path,
            verdict=decision.verdict,
            summary=summary,
            media_type=media_type,
            ai_generated=decision.ai_generated,
            credentials=credentials,
            watermark=_reported_mark(mark, decision, looked),
            path_bytes=raw,
            llm_watermark=llm,
        )

    def _source(self, path: Path, kind: MediaKind, manifest: Path | None) -> _Source | None:
        """Where a store other than the file's own may come from: ``manifest`` (read
        and checked now), else the sidecar beside ``path``."""
        if manifest is None:
            sidecar = _sidecar_of(path, kind)
            return _Source(sidecar, None) if sidecar is not None else None
        if not kind.sidecars:
            raise UsageError(
                f"{kind.name} content keeps its manifest in itself; it is not validated "
                "against a manifest store apart"
            )
        from provenance.credentials.certs import check_manifest_store  # JUMBF, CBOR: here only

        name = safe_text(manifest.name, 4096)
        try:
            data = read_input(manifest, MAX_SIDECAR_BYTES)
            check_manifest_store(data)
        except InputError as exc:
            raise InputError(f"the manifest store {name}: {exc.diagnostics()}") from None
        return _Source(manifest, data)

    def _store_for(
        self,
        kind: MediaKind,
        media_type: str,
        data: bytes | BinaryIO,
        source: _Source | None,
        reader: CredentialReader | None = None,
    ) -> tuple[ManifestStore | None, str]:
        """The store to judge ``data`` by and the summary's note on where it came from.

        A given store replaces the embedded one: c2pa-rs validates only the store it is
        handed (its hard binding against all of the file, embedded store included), so
        the note says the embedded one was set aside. A sidecar is read only when the
        file embeds none."""
        reader = reader or self._reader
        embedded = self._read(kind, media_type, data, reader)
        if source is None or (source.data is None and embedded is not None):
            return embedded, ""
        name = safe_text(source.path.name, 4096)
        if source.data is None:
            note = f" (manifest from the sidecar {name})"
            given = read_input(source.path, MAX_SIDECAR_BYTES)
        else:
            aside = "; the manifest embedded in the file was not used" if embedded else ""
            note = f" (manifest from {name}{aside})"
            given = source.data
        if not isinstance(data, bytes):
            data.seek(0)
        store = reader.read(data, media_type, given)
        if not isinstance(data, bytes):
            data.seek(0)
        return store, note

    def _llm(self, kind: MediaKind, media_type: str, data: bytes | BinaryIO) -> LLMWatermark | None:
        """The LLM watermark test, when configured and the kind has one."""
        config = self.config
        if not (config.check_watermark and config.llm_keys and config.llm_tokenizer):
            return None
        if not isinstance(data, bytes):  # streamed kinds (audio, video) have none
            return None
        if self._tokenizer is None:
            from provenance.watermark.llm import load_tokenizer

            self._tokenizer = load_tokenizer(config.llm_tokenizer)
        return kind.detect_llm(data, media_type, config.llm_keys, self._tokenizer)

    def _detect(
        self,
        kind: MediaKind,
        media_type: str,
        data: bytes | BinaryIO,
        *,
        strict: bool,
        localise: bool,
    ) -> Watermark:
        if not kind.mark_algs:
            return Watermark.not_checked(f"no watermark check for {kind.name} content")
        if not isinstance(data, bytes):  # a StreamedKind has no watermark
            raise TypeError(f"{kind.name} content with a watermark must be read whole")
        if not self.config.check_watermark:
            return Watermark.not_checked("watermark detection is off")
        secrets = self.config.watermark_secrets
        if not secrets:
            return Watermark.not_checked("no watermark key here", kind.mark_alg)
        return kind.detect_mark(
            data, media_type, secrets, self.config.limits, strict=strict, localise=localise
        )

    def _facts(self, store: ManifestStore, kind: MediaKind) -> ManifestFacts:
        declared = frozenset(
            binding.payload.hex()
            for binding in soft_bindings(store)
            if binding.alg in kind.mark_algs and binding.payload
        )
        return ManifestFacts(
            state=store.state,
            failures=frozenset(store.failure_codes),
            revocation=self._revocation(store),
            stamped_at=store.stamped_at,
            stamped_by=store.stamped_by,
            declared=declared,
            claims=_claims(store),
            ingredient_failures=tuple(status.code for status in store.ingredient_failures),
            ingredients=tuple(map(_ingredient_facts, store.ingredients)),
        )

    def _revocation(self, store: ManifestStore) -> Revocation | None:
        info = store.active.get("signature_info") or {}
        serial, issuer = info.get("cert_serial_number"), info.get("issuer")
        if isinstance(serial, str) and serial.isdigit():
            return self.config.revocations.lookup(int(serial), str(issuer) if issuer else None)
        return None

    def _credentials_for(
        self, decision: Decision, store: ManifestStore | None, recovered: ManifestStore | None
    ) -> Credentials | None:
        source = {"embedded": store, "record": recovered}.get(decision.credentials or "")
        if source is None:
            return None
        failures = list(source.failure_codes)
        if decision.revoked:
            failures.append(REVOKED)
        explanations = {status.code: explain_code(status.code) for status in source.failures}
        explanations.update(
            {s.code: explain_code(s.code, s.explanation) for s in source.ingredient_failures}
        )
        explanations.update(
            {
                s.code: explain_code(s.code, s.explanation)
                for ingredient in _all(source.ingredients)
                for s in ingredient.failures
            }
        )
        if REVOKED in failures:
            explanations[REVOKED] = explain_code(REVOKED)
        created = _created_action(source)
        claims = _claims(source)
        return Credentials(
            state=decision.state or ValidationState.INVALID,
            signer=claims.signer,
            issuer=claims.issuer,
            signed_at=source.stamped_at.isoformat() if source.stamped_at else None,
            created_at=_field(created.get("when")) if created else None,
            generator=_generator(source.active),
            model=claims.model,
            digital_source_type=claims.digital_source_type,
            failures=tuple(failures),
            ingredient_failures=tuple(status.code for status in source.ingredient_failures),
            explanations=explanations,
            revocation_sources=self.config.revocations.sources,
            ingredients=tuple(
                _reported(_ingredient_facts(ingredient)) for ingredient in source.ingredients
            ),
        )


@dataclasses.dataclass(frozen=True)
class _Source:
    """A store from outside the file: a sidecar found beside it (``data`` None, read
    when the file embeds none) or a store file the caller named (read and checked)."""

    path: Path
    data: bytes | None


def _as_streamed(kind: MediaKind) -> StreamedKind:
    found = streamed(kind)
    if found is None:
        raise TypeError(f"{kind.name} content is read whole, not as a stream")
    return found


def _sidecar_of(path: Path, kind: MediaKind) -> Path | None:
    """The ``.c2pa`` sidecar beside ``path``, when its kind can have one and it is there."""
    if not kind.sidecars:
        return None
    found = sidecar_path(path)
    return found if found != path and found.is_file() else None


def _reported_mark(mark: Watermark, decision: Decision, looked: bool) -> Watermark | None:
    """The report's watermark part: the finding with its record and agreement."""
    if not looked and not mark.found:
        return None  # nothing was looked for, and the verdict did not need it
    record = mark.payload if mark.found else None
    return dataclasses.replace(mark, record=record, agrees=decision.agrees)


def _claims(store: ManifestStore) -> Claims:
    return _claims_of(store.active)


def _claims_of(manifest: dict[str, Any]) -> Claims:
    """What a manifest says: the digital source type of its inception action, else of
    an edit that declares one (``--ai-edit``); the model of that action."""
    info = manifest.get("signature_info") or {}
    actions = [a for a in _actions(manifest) if isinstance(a, dict)]
    made = next((a for a in actions if a.get("action") in _INCEPTION), None)
    if made is None or not made.get("digitalSourceType"):
        edit = next(
            (
                a
                for a in actions
                if str(a.get("action", "")).startswith("c2pa.edited") and a.get("digitalSourceType")
            ),
            None,
        )
        made = edit or made
    return Claims(
        model=_agent(made.get("softwareAgent")) if made else None,
        signer=_field(info.get("common_name")),
        issuer=_field(info.get("issuer")),
        digital_source_type=_field(made.get("digitalSourceType")) if made else None,
    )


def _all(ingredients: tuple[Ingredient, ...]) -> Iterator[Ingredient]:
    """Every ingredient of the chain, nested ones included."""
    for ingredient in ingredients:
        yield ingredient
        yield from _all(ingredient.ingredients)


def _reported(facts: IngredientFacts) -> ReportedIngredient:
    return ReportedIngredient(
        title=facts.title,
        relationship=facts.relationship,
        state=facts.state,
        ai_generated=facts.ai_generated,
        failures=facts.failures,
        ingredients=tuple(map(_reported, facts.ingredients)),
    )


def _ingredient_facts(ingredient: Ingredient) -> IngredientFacts:
    return IngredientFacts(
        title=_field(ingredient.title),
        relationship=_field(ingredient.relationship),
        state=ingredient.state,
        claims=_claims_of(ingredient.manifest) if ingredient.manifest else Claims(),
        failures=tuple(status.code for status in ingredient.failures),
        ingredients=tuple(map(_ingredient_facts, ingredient.ingredients)),
    )


def _field(value: object) -> str | None:
    return safe_text(value) if value not in (None, "") else None


_INCEPTION = ("c2pa.created", "c2pa.opened")


def _actions(manifest: dict[str, Any]) -> list[Any]:
    actions = (manifest_assertion(manifest, "c2pa.actions") or {}).get("actions")
    return actions if isinstance(actions, list) else []


def _created_action(store: ManifestStore) -> dict[str, Any] | None:
    """The action that says when the content was made: ``c2pa.created``, or for an edit
    the ``c2pa.edited`` after its ``c2pa.opened`` (which carries no time)."""
    actions = [a for a in _actions(store.active) if isinstance(a, dict)]
    for action in actions:
        if action.get("action") == "c2pa.opened" and not action.get("when"):
            edited = next((a for a in actions if a.get("action") == "c2pa.edited"), None)
            return edited or action
        if action.get("action") in _INCEPTION:
            return action
    return None


def _agent(agent: object) -> str | None:
    if isinstance(agent, dict):
        name, version = agent.get("name"), agent.get("version")
        return _field(f"{name} {version}" if version else name) if name else None
    return _field(agent)


def _generator(active: dict[str, Any]) -> str | None:
    infos = active.get("claim_generator_info")
    if isinstance(infos, list) and infos and isinstance(infos[0], dict):
        name, version = infos[0].get("name"), infos[0].get("version")
        return _field(f"{name} {version}" if version else name)
    return _field(active.get("claim_generator"))
