"""One verdict per file from its credentials (and, in later layers, its watermark)."""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provenance._internal.text import safe_text
from provenance.credentials.explain import explain_code
from provenance.credentials.read import UNTRUSTED, CredentialReader, ManifestStore, TrustSettings
from provenance.credentials.softbinding import soft_bindings
from provenance.credentials.text import read_text_manifest, strip_text_manifest
from provenance.errors import InputError, UnsupportedMedia
from provenance.media import (
    IMAGE_TYPES,
    TEXT_TYPES,
    Limits,
    check_image_header,
    decode_text,
    extension_mismatch,
    sniff,
)
from provenance.recovery import (
    HARD_BINDING_MISMATCHES,
    Recovered,
    Recoverer,
    WatermarkFinding,
    effective_state,
)
from provenance.watermark.image import ALGORITHM, WatermarkSecret
from provenance.watermark.text import ALGORITHM as TEXT_ALGORITHM

__all__ = [
    "AI_SOURCE_TYPES",
    "Credentials",
    "Report",
    "Verdict",
    "Verifier",
    "VerifyConfig",
]

log = logging.getLogger(__name__)

_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AI_SOURCE_TYPES = frozenset(
    _IPTC + name
    for name in (
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicMedia",
    )
)
REVOKED = "signingCredential.revoked"
_SNIFF_BYTES = 512


class Verdict(enum.StrEnum):
    """The verdict vocabulary of DESIGN.md, exactly these words."""

    TRUSTED = "trusted"
    VALID = "valid"
    INVALID = "invalid"
    RECOVERED = "recovered"
    WATERMARKED = "watermarked"
    NONE = "none"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class VerifyConfig:
    """Everything a verifier needs; plain data so worker processes can receive it."""

    trust: TrustSettings = dataclasses.field(default_factory=TrustSettings)
    limits: Limits = dataclasses.field(default_factory=Limits)
    # Serial numbers of certificates revoked in the local key store, with the reason.
    revoked_serials: Mapping[int, str] = dataclasses.field(default_factory=dict)
    # Watermark secrets to detect with, and the repository that recovers manifests.
    watermark_secrets: tuple[WatermarkSecret, ...] = ()
    repository: str | None = None
    # Look for the watermark at all (it costs a decode and a detection per file).
    check_watermark: bool = True


@dataclasses.dataclass(frozen=True)
class Credentials:
    """The report's view of a manifest: who, what, when, and what failed."""

    state: str
    signer: str | None
    issuer: str | None
    signed_at: str | None
    created_at: str | None
    generator: str | None
    model: str | None
    digital_source_type: str | None
    failures: tuple[str, ...]
    ingredient_failures: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "signer": self.signer,
            "issuer": self.issuer,
            "signed_at": self.signed_at,
            "created_at": self.created_at,
            "generator": self.generator,
            "model": self.model,
            "digital_source_type": self.digital_source_type,
            "failures": list(self.failures),
            "ingredient_failures": list(self.ingredient_failures),
        }


@dataclasses.dataclass(frozen=True)
class Report:
    """The result for one input: the JSON report of DESIGN.md."""

    path: str
    verdict: Verdict
    summary: str
    media_type: str | None = None
    ai_generated: bool | None = None
    credentials: Credentials | None = None
    watermark: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "media_type": self.media_type,
            "verdict": str(self.verdict),
            "ai_generated": self.ai_generated,
            "summary": self.summary,
            "credentials": self.credentials.to_json() if self.credentials else None,
            "watermark": self.watermark,
            "error": self.error,
        }


class Verifier:
    """Verifies files under one configuration; build once, call for many files."""

    def __init__(self, config: VerifyConfig = VerifyConfig()) -> None:
        self.config = config
        self._reader = CredentialReader(config.trust)
        secrets = config.watermark_secrets if config.check_watermark else ()
        self._recoverer = Recoverer(secrets, config.repository, self._reader, config.limits)

    def verify_path(self, path: Path) -> Report:
        """Verify one file; never raises for bad input, reports ``error`` instead."""
        display = safe_text(path, limit=4096)
        try:
            data = self._read(path)
        except InputError as exc:
            return Report(display, Verdict.ERROR, exc.diagnostics(), error=exc.diagnostics())
        report = self.verify_bytes(data, display)
        if report.media_type and extension_mismatch(path, report.media_type):
            note = f"file name suggests another type; content is {report.media_type}"
            report = dataclasses.replace(report, summary=f"{report.summary} ({note})")
        return report

    def manifest_store(self, path: Path) -> ManifestStore | None:
        """The validated manifest store of an image or text file (None: it has none).

        Raises ``InputError`` when the file cannot be read or is not a supported type.
        """
        data = self._read(path)
        media_type = sniff(data[:_SNIFF_BYTES]) if data else None
        if media_type in TEXT_TYPES:
            return read_text_manifest(decode_text(data, self.config.limits), self._reader)
        if media_type is None or media_type not in IMAGE_TYPES:
            raise UnsupportedMedia("not a supported image or text type")
        return self._reader.read(data, media_type)

    def verify_bytes(self, data: bytes, name: str = "-") -> Report:
        """Verify in-memory content; ``name`` is only used in the report."""
        media_type = sniff(data[:_SNIFF_BYTES]) if data else None
        try:
            if media_type in TEXT_TYPES:
                return self._verify_text(name, data)
            if media_type is None or media_type not in IMAGE_TYPES:
                raise UnsupportedMedia(
                    "not a supported image or text type" if data else "empty file (0 bytes)"
                )
            store = self._reader.read(data, media_type)
            if store is None:
                return self._without_manifest(name, media_type, data)
            return self._with_manifest(name, media_type, data, store)
        except InputError as exc:
            message = exc.diagnostics()
            return Report(name, Verdict.ERROR, message, media_type=media_type, error=message)

    def _verify_text(self, name: str, data: bytes) -> Report:
        """Text: the C2PA wrapper decides; the invisible payload recovers a stripped one.

        Unlike an image, text with a manifest whose binding fails stays ``invalid`` even
        when its payload agrees: one edited word must show, and a payload survives edits.
        """
        media_type = "text/plain"
        text = decode_text(data, self.config.limits)
        store = read_text_manifest(text, self._reader)
        if store is None:
            return self._from_watermark(name, media_type, self._recoverer.detect_text(text))
        report = self._judge(name, media_type, store)
        declared = {b.payload for b in soft_bindings(store) if b.alg == TEXT_ALGORITHM}
        if report.verdict in (Verdict.TRUSTED, Verdict.VALID) and declared:
            finding = self._recoverer.detect_text(strip_text_manifest(text))
            if finding is not None:
                return self._with_agreement(report, finding, declared)
        return report

    def _without_manifest(self, name: str, media_type: str, data: bytes) -> Report:
        # Without a manifest the pixels are all there is: a bomb or a broken file is an
        # error, never "none" (which would claim it was checked and found clean).
        check_image_header(data, media_type, self.config.limits)
        finding = self._recoverer.detect(data, media_type, strict=True)
        return self._from_watermark(name, media_type, finding)

    def _from_watermark(
        self, name: str, media_type: str, finding: WatermarkFinding | None
    ) -> Report:
        if finding is None or not finding.detected:
            watermark = finding.to_json() if finding else None
            return Report(
                name, Verdict.NONE, "no provenance found", media_type, watermark=watermark
            )
        recovered = self._recoverer.recover(finding)
        if recovered is None:
            summary = (
                f"invisible watermark found (key {finding.key}, record {finding.payload_hex}); "
                "no manifest for it in the repository"
            )
            return Report(
                name,
                Verdict.WATERMARKED,
                summary,
                media_type,
                None,
                None,
                finding.to_json(record=finding.payload_hex, agrees=None),
            )
        return self._recovered(name, media_type, finding, recovered, "manifest stripped")

    def _with_manifest(
        self, name: str, media_type: str, data: bytes, store: ManifestStore
    ) -> Report:
        report = self._judge(name, media_type, store)
        declared = {b.payload for b in soft_bindings(store) if b.alg == ALGORITHM}
        if report.verdict in (Verdict.TRUSTED, Verdict.VALID):
            if not declared:
                return report
            finding = self._recoverer.detect(data, media_type)
            if finding is None:
                return report
            return self._with_agreement(report, finding, declared)
        only_binding_broken = all(
            code in HARD_BINDING_MISMATCHES or code == UNTRUSTED for code in store.failure_codes
        )
        if report.verdict is not Verdict.INVALID or not only_binding_broken:
            return report
        finding = self._recoverer.detect(data, media_type)
        if finding is None or not finding.detected:
            return report
        if finding.payload not in declared:
            # A manifest transplanted from another image: the pixels carry someone
            # else's record. Never rescue it; say what the watermark points to.
            summary = (
                f"{report.summary}; the watermark points to another record "
                f"({finding.payload_hex}): this manifest was not made for these pixels"
            )
            return dataclasses.replace(
                report, summary=summary, watermark=finding.to_json(agrees=False)
            )
        recovered = self._recoverer.recover(finding)
        if recovered is None:  # no repository here: the embedded manifest is the record
            recovered = Recovered(None, store, effective_state(store))
        return self._recovered(name, media_type, finding, recovered, "re-encoded after signing")

    @staticmethod
    def _with_agreement(
        report: Report, finding: WatermarkFinding, declared: set[bytes | None]
    ) -> Report:
        agrees = finding.detected and finding.payload in declared
        note = "watermark agrees" if agrees else "watermark not found or does not agree"
        return dataclasses.replace(
            report, summary=f"{report.summary}; {note}", watermark=finding.to_json(agrees=agrees)
        )

    def _recovered(
        self,
        name: str,
        media_type: str,
        finding: WatermarkFinding,
        recovered: Recovered,
        what_happened: str,
    ) -> Report:
        credentials = dataclasses.replace(self._credentials(recovered.store), state=recovered.state)
        if REVOKED in credentials.failures:
            credentials = dataclasses.replace(credentials, state="Invalid")
        watermark = finding.to_json(record=finding.payload_hex, agrees=True)
        source = credentials.digital_source_type
        ai_generated = source in AI_SOURCE_TYPES if source else False
        if credentials.state == "Invalid":
            summary = "recovered manifest failed validation: " + _summary(
                Verdict.INVALID, _without_binding_failures(credentials), ai_generated
            )
            return Report(
                name, Verdict.INVALID, summary, media_type, ai_generated, credentials, watermark
            )
        claims = _summary(Verdict.TRUSTED, credentials, ai_generated)
        trust = "" if credentials.state == "Trusted" else f"; {explain_code(UNTRUSTED)}"
        summary = (
            f"credentials recovered through the watermark (record {finding.payload_hex}, "
            f"{what_happened}): {claims}{trust}"
        )
        return Report(
            name, Verdict.RECOVERED, summary, media_type, ai_generated, credentials, watermark
        )

    def _read(self, path: Path) -> bytes:
        limit = self.config.limits.max_file_bytes
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise InputError("no such file") from None
        except IsADirectoryError:
            raise InputError("is a directory") from None
        except PermissionError:
            raise InputError("permission denied") from None
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}") from None
        if len(data) > limit:
            raise InputError(f"larger than the {limit:,}-byte limit")
        return data

    def _judge(self, name: str, media_type: str, store: ManifestStore) -> Report:
        credentials = self._credentials(store)
        if credentials.state == "Invalid" or REVOKED in credentials.failures:
            verdict = Verdict.INVALID
        elif credentials.state == "Trusted":
            verdict = Verdict.TRUSTED
        else:
            verdict = Verdict.VALID
        source = credentials.digital_source_type
        ai_generated = source in AI_SOURCE_TYPES if source else False
        return Report(
            path=name,
            verdict=verdict,
            summary=_summary(verdict, credentials, ai_generated),
            media_type=media_type,
            ai_generated=ai_generated,
            credentials=credentials,
        )

    def _credentials(self, store: ManifestStore) -> Credentials:
        active = store.active
        info = active.get("signature_info") or {}
        failures = list(store.failure_codes)
        serial = info.get("cert_serial_number")
        if isinstance(serial, str) and serial.isdigit():
            reason = self.config.revoked_serials.get(int(serial))
            if reason is not None:
                failures.append(REVOKED)
        created = _created_action(store)
        agent = created.get("softwareAgent") if created else None
        return Credentials(
            state="Invalid" if REVOKED in failures else store.state,
            signer=_field(info.get("common_name")),
            issuer=_field(info.get("issuer")),
            signed_at=_field(info.get("time")),
            created_at=_field(created.get("when")) if created else None,
            generator=_generator(active),
            model=_agent(agent),
            digital_source_type=_field(created.get("digitalSourceType")) if created else None,
            failures=tuple(failures),
            ingredient_failures=tuple(status.code for status in store.ingredient_failures),
        )


def _without_binding_failures(credentials: Credentials) -> Credentials:
    codes = tuple(c for c in credentials.failures if c not in HARD_BINDING_MISMATCHES)
    return dataclasses.replace(credentials, failures=codes)


def _field(value: object) -> str | None:
    return safe_text(value) if value not in (None, "") else None


def _created_action(store: ManifestStore) -> dict[str, Any] | None:
    actions = (store.assertion("c2pa.actions") or {}).get("actions") or ()
    for action in actions:
        if isinstance(action, dict) and action.get("action") in ("c2pa.created", "c2pa.opened"):
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


def _summary(verdict: Verdict, credentials: Credentials, ai_generated: bool) -> str:
    """One line: why the verdict (for invalid/valid), what it claims, who signed it."""
    parts: list[str] = []
    if verdict in (Verdict.INVALID, Verdict.VALID):
        codes = list(credentials.failures)
        if verdict is Verdict.INVALID:  # untrusted is beside the point once it is invalid
            codes = [code for code in codes if code != UNTRUSTED] or codes
        reasons = [explain_code(code) for code in codes]
        reasons += [
            f"ingredient: {explain_code(code)}"
            for code in credentials.ingredient_failures
            if code != UNTRUSTED
        ]
        parts.append("; ".join(dict.fromkeys(reasons)) or "validation failed")
    if ai_generated:
        model = f" by {credentials.model}" if credentials.model else ""
        parts.append(f"{'claims ' if verdict is Verdict.INVALID else ''}AI-generated{model}")
    elif credentials.digital_source_type is None and credentials.state != "Invalid":
        parts.append("does not say how it was made")
    if credentials.signer or credentials.issuer:
        issuer = f" ({credentials.issuer})" if credentials.issuer else ""
        parts.append(f"signed by {credentials.signer or 'an unnamed signer'}{issuer}")
    return "; ".join(parts)
