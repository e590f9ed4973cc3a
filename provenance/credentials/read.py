"""Read and validate an embedded C2PA manifest store with c2pa-rs.

The I/O half: c2pa-rs reads and validates; what it said is judged in
``credentials.store`` (pure), whose names are re-exported here.

One ``CredentialReader`` holds a c2pa Context with the trust settings; build it once per
process (or worker) and reuse it for every file: the Context is safe to share between
threads and costs far more to build than a read.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from pathlib import Path
from typing import Any, BinaryIO

import c2pa

from provenance.credentials.explain import explain_parse_error
from provenance.credentials.status import HARD_BINDING_MISMATCHES, MALFORMED, ValidationState
from provenance.credentials.store import (
    ManifestStore,
    Seen,
    Status,
    judge_store,
)
from provenance.errors import InputError, RemoteManifest

log = logging.getLogger(__name__)


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


def sidecar_path(content: Path) -> Path:
    """Where the sidecar manifest store of ``content`` is: beside it, ``NAME.c2pa`` (the
    content's name without its extension, as c2patool writes it)."""
    return Path(content).with_suffix(".c2pa")


#: The largest sidecar read (a manifest store with thumbnails and ingredients).
MAX_SIDECAR_BYTES = 64 * 1024 * 1024


class CredentialReader:
    """Validates manifest stores under one set of trust settings."""

    def __init__(
        self,
        trust: TrustSettings = TrustSettings(),
        *,
        keep_store: bool = False,
        keep_bytes: bool = False,
    ) -> None:
        """``keep_store``: every store read keeps its bytes and c2pa-rs's detailed report
        (``ManifestStore.seen``: what ``inspect --detailed`` and ``--certs`` show);
        ``keep_bytes``: its bytes alone (a revocation asks who issued the signer's
        certificate); off, a read costs nothing more."""
        self.trust = trust
        self.keep_store = keep_store
        self.keep_bytes = keep_bytes
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
            seen = None
            if self.keep_store or self.keep_bytes:
                given = asset if media_type == "application/c2pa" else sidecar
                given = given if isinstance(given, bytes) else None
                seen = _seen(reader, store, given, detailed=self.keep_store)
            return judge_store(
                store, state, results, recheck=lambda e: self._recheck(reader, e), seen=seen
            )

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


def _seen(
    reader: c2pa.Reader, store: dict[str, Any], given: bytes | None, *, detailed: bool = True
) -> Seen:
    """The detailed report (when ``detailed``) and the bytes of the store ``reader`` read:
    those it was given (a sidecar, a bare store), else what c2pa-rs hands out for the
    active manifest's signature URI, which c2pa-python 0.38.1 answers with the whole store
    (measured on JPEG, PNG, MP4, WAV and the conformance files); ``certs`` checks they
    parse."""
    active = store.get("active_manifest")
    report: dict[str, Any] = {}
    try:
        if detailed:
            report = json.loads(reader.detailed_json())
    except (c2pa.C2paError, ValueError) as exc:
        report = {"error": f"c2pa-rs gave no detailed report: {exc}"}
    if given is not None:
        return Seen(given, report)
    if not isinstance(active, str):
        return Seen(None, report, "the store names no active manifest")
    out = io.BytesIO()
    try:
        reader.resource_to_stream(f"self#jumbf=/c2pa/{active}/c2pa.signature", out)
    except c2pa.C2paError as exc:
        return Seen(None, report, f"c2pa-rs did not hand out the store's bytes: {exc}")
    return Seen(out.getvalue(), report)


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
