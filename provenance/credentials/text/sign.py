"""Sign plain text: NFC text + a C2PA wrapper whose ``c2pa.hash.data`` excludes itself.

The exclusion names the wrapper's UTF-8 length, which depends on the signed manifest
that contains it (a byte below 16 costs 3 UTF-8 bytes as a selector, any other 4). The
circle is broken as C2PA's "Multiple Step Processing" describes: fix a target length,
sign the claim once with it, then grow a zero-filled ``pad`` byte string in the COSE
unprotected header, which the signature does not cover, until the wrapper measures
exactly the target. A target no padding can reach is followed by the next one.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any, Final

from provenance.credentials.manifest import parent_of
from provenance.errors import SigningError
from provenance.keystore.signer import Signer

from .claim import PreparedManifest, data_hash_assertion, new_manifest_label, prepare_manifest
from .cose import SignedClaim, Stamper, sign_claim
from .ingredient import with_parent
from .wrapper import encode_wrapper, find_wrapper, wrapper_utf8_length

log = logging.getLogger(__name__)

#: Room above the unpadded length for the exclusion integer to widen and for the claim's
#: hash and the signature to cost more (their bytes are random: 3 or 4 UTF-8 bytes each).
_SLACK: Final = 24
_TARGETS: Final = 48  # targets tried before giving up (each costs one signature)


def embed_text_manifest(
    text: str, definition: Mapping[str, Any], signer: Signer, stamper: Stamper | None = None
) -> tuple[str, bytes]:
    """The signed text (NFC text + wrapper) and its JUMBF manifest store, the signature
    time-stamped by ``stamper`` when given.

    ``definition`` is what ``manifest_definition(content, "text/plain", ...)`` returns;
    an edit's parent (text) is kept as its ``parentOf`` ingredient, its manifests in the
    new store (``ingredient.py``). Raises ``SigningError`` when the text already carries
    a wrapper (strip it, and make it the parent) or signing fails.
    """
    if not isinstance(text, str):
        raise TypeError("text must be str")
    normalized = unicodedata.normalize("NFC", text)
    if find_wrapper(normalized) is not None:
        raise SigningError("the text already carries a C2PA manifest; strip it before signing")
    content = normalized.encode("utf-8")
    digest = hashlib.sha256(content).digest()
    definition, parent = parent_of(definition)
    prior: tuple[bytes, ...] = ()
    if parent is not None:
        definition, prior = with_parent(definition, parent)
    label = str(definition.get("label") or new_manifest_label())
    instance_id = f"xmp:iid:{uuid.uuid4()}"

    def prepare(target: int) -> PreparedManifest:
        binding = data_hash_assertion(digest, len(content), target)
        return prepare_manifest(
            definition, binding, label=label, instance_id=instance_id, prior=prior
        )

    probe = sign_claim(prepare(0).claim, signer, stamper)
    unpadded = wrapper_utf8_length(prepare(0).store(probe.encode()))
    for target in range(unpadded + _SLACK, unpadded + _SLACK + _TARGETS):
        prepared = prepare(target)
        # Each signature tried gets its own time-stamp: a token covers one signature, and
        # its bytes (3 or 4 UTF-8 bytes each in the wrapper) decide which targets it reaches.
        signed = sign_claim(prepared.claim, signer, stamper)
        store = _padded_store(prepared, signed, target)
        if store is not None:
            wrapper = encode_wrapper(store)
            log.debug("signed %d text bytes: %d-byte store", len(content), len(store))
            return normalized + wrapper, store
    raise SigningError("no padding made the C2PA text wrapper match its declared length")


def _padded_store(prepared: PreparedManifest, signed: SignedClaim, target: int) -> bytes | None:
    """The store whose wrapper is exactly ``target`` UTF-8 bytes, if padding reaches it.

    Each zero byte of ``pad`` adds 3 UTF-8 bytes and its length header a few more as it
    widens, so only about one target in three is reachable from one signature; the
    caller then signs for the next target (one signature costs well under a millisecond
    to a few for RSA, less than the 3-byte-granular bytes a larger fixed slack would add).
    """
    base = wrapper_utf8_length(prepared.store(signed.encode(0)))
    if base > target:
        return None
    estimate = (target - base) // 3
    for pad in range(max(0, estimate - 3), estimate + 2):
        store = prepared.store(signed.encode(pad))
        if wrapper_utf8_length(store) == target:
            return store
    return None
