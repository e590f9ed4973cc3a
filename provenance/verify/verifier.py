"""One verdict per file: read, validate, detect, look up, then let ``verdict.decide`` judge.

The ``Verifier`` does the I/O and the wiring only; which verdict a set of observations
gets is decided in ``provenance.verify.verdict`` (docs/design.md, "Decision table"), and what
differs between images and text lives in the media-kind registry (``provenance.kinds``).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from provenance._internal.fs import read_input, read_opened
from provenance._internal.text import safe_text
from provenance.credentials.inspected import Inspected
from provenance.credentials.manifest import RecoveredStore
from provenance.credentials.markkey import mark_key_id
from provenance.credentials.read import (
    MAX_SIDECAR_BYTES,
    CredentialReader,
    TrustSettings,
    sidecar_path,
)
from provenance.credentials.revocation import Revocation, Revocations
from provenance.credentials.store import ManifestStore, made_for_other_content
from provenance.errors import InputError, RepositoryError, UsageError
from provenance.kinds import (
    MediaKind,
    StreamedKind,
    identify,
    open_content,
    streamed,
)
from provenance.kinds.media import Limits, extension_mismatch
from provenance.report import (
    Credentials,
    LLMWatermark,
    Report,
    Verdict,
    Watermark,
    path_fields,
)
from provenance.verify.facts import manifest_facts, reported_credentials, signing_certificate
from provenance.verify.observations import (
    ManifestFacts,
    Observations,
    RecordFacts,
)
from provenance.verify.recovery import RecordLookup, Recovered
from provenance.verify.verdict import (
    KEY_NOT_HELD,
    Decision,
    assess,
    decide,
    key_not_held,
    needs_mark,
)
from provenance.watermark import WatermarkSecret, detect_in

if TYPE_CHECKING:
    from cryptography import x509

    from provenance.keystore.records import WatermarkKey
    from provenance.watermark.llm.detector import Encoder

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
        # A listed serial asks who issued the signer's certificate: keep the store's bytes.
        self._reader = CredentialReader(config.trust, keep_bytes=bool(config.revocations.entries))
        self._records = RecordLookup(config.repository, self._reader)
        self._tokenizer: Encoder | None = None
        self._held = self._held_keys()

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
        except (InputError, RepositoryError) as exc:  # a repository lost mid-batch: this file
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
        except (InputError, RepositoryError) as exc:
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
        store, note, _ = self._opened_store(path, manifest, keeping)
        return Inspected(store, note.strip(" ()")) if store is not None else None

    def recover(self, data: bytes) -> RecoveredStore | None:
        """The credentials content without a manifest of its own has through its
        watermark, when verify would say ``recovered`` for it (the record's store judged
        by this verifier's own decision), else None: what signing an edit of it records
        as its parent's (docs/design.md, "Edits"). ``InputError`` for content no kind
        reads."""
        kind, media_type = identify(data)
        _, decision, found = self._observe(kind, media_type, data)
        if decision.verdict is not Verdict.RECOVERED or found is None:
            return None
        label = found.store.store.get("active_manifest")
        results = found.store.store.get("validation_results")
        if not isinstance(label, str):
            return None
        return RecoveredStore(
            found.record.manifest,
            label,
            found.record.record_hex,
            results if isinstance(results, dict) else {},
        )

    def find_mark(self, data: bytes) -> Watermark:
        """The watermark in ``data`` under the configured keys (the soft-binding API's
        byContent); ``InputError`` for content no kind reads."""
        kind, media_type = identify(data)
        return self._detect(kind, media_type, data, strict=False, localise=False)

    # --- the wiring ------------------------------------------------------------------

    def _opened_store(
        self, path: Path, manifest: Path | None, reader: CredentialReader
    ) -> tuple[ManifestStore | None, str, tuple[str, str] | None]:
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
        seen, decision, found = self._observe(kind, media_type, data, source)
        path, raw = path_fields(name)
        return Report(
            path=path,
            verdict=decision.verdict,
            summary=decision.summary_line + seen.note,
            media_type=media_type,
            ai_generated=decision.ai_generated,
            credentials=self._credentials_for(
                decision, seen.store, found.store if found is not None else None
            ),
            watermark=_reported_mark(seen.observations.mark, decision, seen.looked),
            path_bytes=raw,
            llm_watermark=seen.observations.llm,
        )

    def _observe(
        self,
        kind: MediaKind,
        media_type: str,
        data: bytes | BinaryIO,
        source: _Source | None = None,
    ) -> tuple[_Seen, Decision, Recovered | None]:
        """Read, detect and look up, then decide: what the verdict was decided from, the
        decision, and the record recovered through the watermark (None: none)."""
        store, note, other = self._store_for(kind, media_type, data, source)
        if store is None:
            # Without a manifest the content is all there is: a bomb or a broken file is
            # an error, never "none" (which would claim it was checked and found clean).
            self._check(kind, media_type, data)
        facts = self._facts(store, kind) if store is not None else None
        # A kind without a watermark says so in every report, manifest or not.
        looked = needs_mark(facts) or kind.mark is None
        held = self._held
        if looked and key_not_held(facts, held):
            mark = Watermark.not_checked(KEY_NOT_HELD, kind.mark.alg if kind.mark else None)
        elif looked:
            # Where the content was edited is worth working out only when it may have been:
            # an intact hard binding says it was not.
            edited = facts is None or not assess(facts).intact
            mark = self._detect(kind, media_type, data, strict=store is None, localise=edited)
        else:
            mark = Watermark.not_checked("not needed for this verdict")
        found = None
        if store is None and mark.found and mark.payload and mark.alg:
            found = self._records.find(mark.alg, bytes.fromhex(mark.payload))
            record = RecordFacts(mark.payload, None)
            if found is not None:
                record = RecordFacts(
                    mark.payload, self._facts(found.store, kind), found.declares_mark
                )
        else:
            record = None
        llm = self._llm(kind, media_type, data)
        seen = Observations(facts, mark, record, self._records.available, llm, held, other)
        return _Seen(seen, store, note, looked), decide(seen), found

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
    ) -> tuple[ManifestStore | None, str, tuple[str, str] | None]:
        """The store to judge ``data`` by, the summary's note on where it came from, and
        a sidecar set aside (its name and what its manifest was made for).

        A given store replaces the embedded one: c2pa-rs validates only the store it is
        handed (its hard binding against all of the file, embedded store included), so
        the note says the embedded one was set aside. A sidecar is read only when the
        file embeds none, and applied only when its manifest may be this content's
        (``made_for_other_content``): a sidecar is found by name alone, and every file of
        the same stem shares it."""
        reader = reader or self._reader
        embedded = self._read(kind, media_type, data, reader)
        if source is None or (source.data is None and embedded is not None):
            return embedded, "", None
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
        if source.data is None and store is not None:
            other = made_for_other_content(store, media_type)
            if other is not None:
                return None, "", (name, other)
        return store, note, None

    def _llm(self, kind: MediaKind, media_type: str, data: bytes | BinaryIO) -> LLMWatermark | None:
        """The LLM watermark test, when configured and the kind has one."""
        config = self.config
        if not (config.check_watermark and config.llm_keys and config.llm_tokenizer):
            return None
        if kind.llm is None or not isinstance(data, bytes):  # text only, read whole
            return None
        if self._tokenizer is None:
            from provenance.watermark.llm import load_tokenizer

            self._tokenizer = load_tokenizer(config.llm_tokenizer)
        return kind.llm.detect(data, config.llm_keys, self._tokenizer)

    def _detect(
        self,
        kind: MediaKind,
        media_type: str,
        data: bytes | BinaryIO,
        *,
        strict: bool,
        localise: bool,
    ) -> Watermark:
        engine = kind.mark
        if engine is None:
            return Watermark.not_checked(f"no watermark check for {kind.name} content")
        if not self.config.check_watermark:
            return Watermark.not_checked("watermark detection is off")
        secrets = self.config.watermark_secrets
        if not secrets:
            return Watermark.not_checked("no watermark key here", engine.alg)
        # A streamed kind's content is its open stream: the engine reads it there.
        return detect_in(
            engine, data, media_type, secrets, self.config.limits, strict=strict, localise=localise
        )

    def _held_keys(self) -> frozenset[str] | None:
        """The identifiers of the watermark keys detection runs with (None: it runs with
        none, and the finding says why)."""
        config = self.config
        if not (config.check_watermark and config.watermark_secrets):
            return None
        return frozenset(mark_key_id(secret.key) for secret in config.watermark_secrets)

    def _facts(self, store: ManifestStore, kind: MediaKind) -> ManifestFacts:
        algs = kind.mark.algs if kind.mark is not None else frozenset()
        revocation, own_stamp = self._revocation(store)
        return manifest_facts(store, algs, revocation, own_stamp=own_stamp)

    def _revocation(self, store: ManifestStore) -> tuple[Revocation | None, bool]:
        """The revocation of the store's signing certificate, if any, and whether its
        time-stamp's authority was certified by that revocation's CA."""
        found = signing_certificate(store)
        revocations = self.config.revocations
        if found is None or not revocations.listed(found[0]):
            return None, False
        signer, authority = _signer_of(store)
        revocation = revocations.lookup(found[0], signer)
        return revocation, revocation is not None and revocation.certified(authority)

    def _credentials_for(
        self, decision: Decision, store: ManifestStore | None, recovered: ManifestStore | None
    ) -> Credentials | None:
        source = {"embedded": store, "record": recovered}.get(decision.credentials or "")
        if source is None:
            return None
        return reported_credentials(
            source,
            decision.state,
            revoked=decision.revoked,
            revocation_sources=self.config.revocations.sources,
        )


@dataclasses.dataclass(frozen=True)
class _Seen:
    """What one file's verdict was decided from: the observations, the store read (its
    own, a sidecar's or a named one), the note on where it came from, and whether the
    watermark was looked for."""

    observations: Observations
    store: ManifestStore | None
    note: str
    looked: bool


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


def _signer_of(store: ManifestStore) -> tuple[x509.Certificate | None, x509.Certificate | None]:
    """The signing certificate and the time-stamp's authority's, from the store's bytes
    (None, None: they were not kept or do not parse)."""
    data = store.seen.store_bytes if store.seen is not None else None
    label = store.store.get("active_manifest")
    if data is None:
        return None, None
    # JUMBF and CBOR load only for a serial that some revocation lists (start-up).
    from provenance.credentials.certs import signer_certificates

    try:
        return signer_certificates(data, label if isinstance(label, str) else None)
    except InputError:
        return None, None


def _reported_mark(mark: Watermark, decision: Decision, looked: bool) -> Watermark | None:
    """The report's watermark part: the finding with its record and agreement."""
    if not looked and not mark.found:
        return None  # nothing was looked for, and the verdict did not need it
    record = mark.payload if mark.found else None
    return dataclasses.replace(mark, record=record, agrees=decision.agrees)
