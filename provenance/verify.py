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
from provenance.errors import InputError, UnsupportedMedia
from provenance.media import IMAGE_TYPES, Limits, extension_mismatch, sniff

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

    def verify_bytes(self, data: bytes, name: str = "-") -> Report:
        """Verify in-memory content; ``name`` is only used in the report."""
        media_type = sniff(data[:_SNIFF_BYTES])
        try:
            if media_type not in IMAGE_TYPES:
                raise UnsupportedMedia(
                    "not a supported image type" if data else "empty file (0 bytes)"
                )
            store = self._reader.read(data, media_type)
        except InputError as exc:
            message = exc.diagnostics()
            return Report(name, Verdict.ERROR, message, media_type=media_type, error=message)
        if store is None:
            return Report(name, Verdict.NONE, "no provenance found", media_type=media_type)
        return self._judge(name, media_type, store)

    def _read(self, path: Path) -> bytes:
        limit = self.config.limits.max_file_bytes
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise InputError("no such file") from None
        except IsADirectoryError:
            raise InputError("is a directory (use --recursive)") from None
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
