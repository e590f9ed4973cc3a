"""Which watermark key a mark was made with, said without revealing the key.

The signer records a key identifier in the ``c2pa.watermarked`` action's parameters: a
keyed fingerprint of the secret (HMAC-SHA256 over a fixed label, cut to 8 bytes), which
names the key to whoever holds it and tells nothing about it to anyone else. A verifier
that holds no key with that identifier knows its detector could not have found the mark
(docs/design.md, "Decision table", ``trusted-key-not-held``). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

#: The ``c2pa.watermarked`` action parameter that names the key.
KEY_ID_PARAMETER: Final = "org.provenance-toolkit.key_id"
_LABEL: Final = b"provenance key id"


def mark_key_id(secret: bytes) -> str:
    """The identifier of the watermark key ``secret`` (16 hex digits)."""
    return hmac.new(secret, _LABEL, hashlib.sha256).hexdigest()[:16]


def declared_key_ids(manifest: dict[str, Any]) -> frozenset[str]:
    """The key identifiers a manifest (reader JSON) records for its watermarks; empty
    for manifests made before they were recorded."""
    found: set[str] = set()
    for assertion in manifest.get("assertions") or ():
        label = assertion.get("label", "") if isinstance(assertion, dict) else ""
        if not (label == "c2pa.actions" or label.startswith("c2pa.actions.v")):
            continue
        data = assertion.get("data")
        for action in (data.get("actions") if isinstance(data, dict) else None) or ():
            if not isinstance(action, dict) or action.get("action") != "c2pa.watermarked":
                continue
            parameters = action.get("parameters")
            key_id = parameters.get(KEY_ID_PARAMETER) if isinstance(parameters, dict) else None
            if isinstance(key_id, str) and len(key_id) <= 64:
                found.add(key_id)
    return frozenset(found)
