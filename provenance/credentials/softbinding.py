"""The manifest's record of an invisible watermark: a ``c2pa.soft-binding`` assertion
naming the algorithm and the payload, and a ``c2pa.watermarked`` action.

The value is the payload in base64, as the C2PA soft-binding algorithm list does for
TrustMark; a verifier compares it with what the watermark detector found.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from provenance._version import __version__
from provenance.credentials.store import ManifestStore

LABEL = "c2pa.soft-binding"


@dataclasses.dataclass(frozen=True)
class SoftBinding:
    """One soft-binding block: algorithm and value (the value as the manifest wrote it)."""

    alg: str
    value: str

    @property
    def payload(self) -> bytes | None:
        """The value decoded from base64, or None when it is not base64."""
        try:
            return base64.b64decode(self.value, validate=True)
        except (binascii.Error, ValueError):
            return None

    @classmethod
    def for_payload(cls, alg: str, payload: bytes) -> SoftBinding:
        return cls(alg, base64.b64encode(payload).decode("ascii"))


def soft_binding_assertion(binding: SoftBinding) -> dict[str, Any]:
    """The assertion for the manifest definition (whole-asset scope)."""
    return {
        "label": LABEL,
        "data": {
            "alg": binding.alg,
            "blocks": [{"scope": {}, "value": binding.value}],
            "pad": [],
        },
    }


def watermarked_action(alg: str) -> dict[str, Any]:
    """The ``c2pa.watermarked`` action: an invisible watermark was added to the pixels."""
    return {
        "action": "c2pa.watermarked",
        "softwareAgent": {"name": "provenance-toolkit", "version": __version__},
        "parameters": {"alg": alg},
    }


def soft_bindings(store: ManifestStore) -> list[SoftBinding]:
    """Every soft binding the active manifest declares."""
    found: list[SoftBinding] = []
    for assertion in store.active.get("assertions") or ():
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith(LABEL):
            continue
        data = assertion.get("data")
        if not isinstance(data, dict):
            continue
        alg = data.get("alg")
        for block in data.get("blocks") or ():
            value = block.get("value") if isinstance(block, dict) else None
            if isinstance(alg, str) and isinstance(value, str):
                found.append(SoftBinding(alg, value))
    return found
