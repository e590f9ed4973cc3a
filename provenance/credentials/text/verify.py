"""Validate a text's C2PA wrapper: c2pa-rs for the store, this module for the binding.

c2pa-rs reads the bare JUMBF store (``application/c2pa``) and checks the claim signature,
the certificate chain against the trust anchors and every assertion's hashed URI. Having
no asset, it reports the ``c2pa.hash.data`` binding as a mismatch; that one check is
done here, over the text as C2PA specifies it for unstructured text (15.12.1.3.1): remove
the excluded UTF-8 byte ranges, normalise the rest to NFC, hash, compare. The signer
(``sign.py``) signs NFC text and measures the exclusion there; a copy rewritten in another
normal form (NFD) has the same characters at other byte offsets, so when the text as read
does not match and is not NFC, its NFC form is judged the same way.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
import unicodedata
from typing import Any, Final

import cbor2

from provenance.credentials import jumbf
from provenance.credentials.read import CredentialReader
from provenance.credentials.status import MALFORMED, ValidationState, state_of
from provenance.credentials.store import ManifestStore, Status
from provenance.errors import InputError, TextWrapperError

from .claim import DATA_HASH_LABEL
from .wrapper import Wrapper, find_wrapper

log = logging.getLogger(__name__)

DATA_HASH_MISMATCH: Final = "assertion.dataHash.mismatch"
DATA_HASH_MATCH: Final = "assertion.dataHash.match"
_HASHES: Final = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def strip_text_manifest(text: str) -> str:
    """``text`` without its C2PA wrapper; unchanged when it has none.

    Raises ``TextWrapperError`` for a corrupted or doubled wrapper: removing a wrapper
    whose extent is unknown would be a guess.
    """
    wrapper = find_wrapper(text)
    return text if wrapper is None else text[: wrapper.start] + text[wrapper.stop :]


def read_text_manifest(text: str, reader: CredentialReader) -> ManifestStore | None:
    """The validated manifest store of ``text``; None when it carries no wrapper."""
    try:
        wrapper = find_wrapper(text)
    except TextWrapperError as exc:
        return _unusable(exc.code, str(exc))
    if wrapper is None:
        return None
    try:
        store = reader.read(wrapper.manifest, "application/c2pa")
    except InputError as exc:
        return _unusable(TextWrapperError.code, f"the wrapper's manifest store: {exc}")
    if store is None or (not store.store and MALFORMED in store.failure_codes):
        # C2PA: a wrapper whose contents are not a manifest store is a corrupted wrapper.
        detail = "; ".join(s.explanation for s in store.failures) if store else "no store"
        return _unusable(TextWrapperError.code, f"the wrapper carries no manifest: {detail}")
    problem = check_text_binding(text, wrapper)
    return _with_binding(store, problem)


def check_text_binding(text: str, wrapper: Wrapper) -> str | None:
    """None when the active manifest's ``c2pa.hash.data`` matches ``text``, else why not."""
    try:
        data = _data_hash(wrapper.manifest)
    except (InputError, ValueError, cbor2.CBORDecodeError) as exc:
        return f"the hard binding cannot be read: {exc}"
    if isinstance(data, str):
        return data
    algorithm = data.get("alg", "sha256")
    if algorithm not in _HASHES:
        return f"unsupported hash algorithm {algorithm!r}"
    problem = _binding_problem(text, data, algorithm)
    if problem is None:
        return None
    # The signer measured the exclusion in the NFC text it signed; a copy rewritten in
    # another normal form (NFD: macOS file systems, some editors) moved the wrapper's
    # bytes, not its characters. In the signed form the rest is the same text.
    normalized = unicodedata.normalize("NFC", text)
    if normalized != text and _binding_problem(normalized, data, algorithm) is None:
        return None
    return problem


def _binding_problem(text: str, data: dict[str, Any], algorithm: str) -> str | None:
    """C2PA's rule: remove the excluded UTF-8 ranges (exactly the wrapper), normalise the
    rest to NFC, hash, compare."""
    remaining = _without_exclusions(text.encode("utf-8"), data.get("exclusions"))
    if remaining is None:
        return "the exclusions are malformed or overlap"
    try:
        hashed = remaining.decode("utf-8")
    except UnicodeDecodeError:
        return "the exclusions split a character"
    try:
        left_over = find_wrapper(hashed)
    except TextWrapperError:
        return "the exclusions do not cover the wrapper"
    if left_over is not None:
        return "the exclusions do not cover the wrapper"
    digest = _HASHES[algorithm](unicodedata.normalize("NFC", hashed).encode("utf-8")).digest()
    expected = data.get("hash")
    if not isinstance(expected, bytes) or not hmac.compare_digest(digest, expected):
        return "the text differs from the text that was signed"
    return None


def _data_hash(manifest_store: bytes) -> dict[str, Any] | str:
    store = jumbf.parse_superbox(manifest_store)
    manifests = [box for box in store.superboxes() if box.uuid == jumbf.MANIFEST]
    if not manifests:
        return "the store holds no manifest"
    assertions = manifests[-1].child(jumbf.ASSERTION_STORE)  # the last one is active
    if assertions is None:
        return "the active manifest has no assertion store"
    found = [
        box
        for box in assertions.superboxes()
        if box.label == DATA_HASH_LABEL or box.label.startswith(DATA_HASH_LABEL + "__")
    ]
    if len(found) != 1:
        return f"the active manifest has {len(found)} c2pa.hash.data assertions, not one"
    content = found[0].content()
    data = cbor2.loads(content) if content is not None else None
    return data if isinstance(data, dict) else "the c2pa.hash.data assertion is not a map"


def _without_exclusions(data: bytes, exclusions: Any) -> bytes | None:
    ranges: list[tuple[int, int]] = []
    for exclusion in exclusions or ():
        if not isinstance(exclusion, dict):
            return None
        start, length = exclusion.get("start"), exclusion.get("length")
        if not isinstance(start, int) or not isinstance(length, int) or start < 0 or length < 0:
            return None
        ranges.append((start, start + length))
    ranges.sort()
    kept: list[bytes] = []
    cursor = 0
    for start, end in ranges:
        if start < cursor or end > len(data):
            return None
        kept.append(data[cursor:start])
        cursor = end
    kept.append(data[cursor:])
    return b"".join(kept)


def _with_binding(store: ManifestStore, problem: str | None) -> ManifestStore:
    """``store`` with c2pa-rs's asset-less data-hash verdict replaced by ours."""
    others = tuple(status for status in store.failures if status.code != DATA_HASH_MISMATCH)
    url = next((s.url for s in store.failures if s.code == DATA_HASH_MISMATCH), None)
    if problem is None:
        failures = others
        # c2pa-rs's own state for the bare store counts the asset-less binding it could
        # not check; with that set aside, the codes decide as for every other reader.
        state = state_of(status.code for status in others)
    else:
        log.debug("text binding fails: %s", problem)
        failures = (*others, Status(DATA_HASH_MISMATCH, url, f"text hash mismatch: {problem}"))
        state = ValidationState.INVALID
    return ManifestStore(
        state=state,
        failures=failures,
        ingredient_failures=store.ingredient_failures,
        store=_patched_json(store.store, state, url, problem),
        ingredients=store.ingredients,
        seen=store.seen,
    )


def _patched_json(
    store: dict[str, Any], state: ValidationState, url: str | None, problem: str | None
) -> dict[str, Any]:
    """The reader JSON with the data-hash entry and the state set to what was checked."""
    patched = copy.deepcopy(store)
    patched["validation_state"] = str(state)
    results = patched.get("validation_results")
    active = results.get("activeManifest") if isinstance(results, dict) else None
    if isinstance(active, dict):
        failure = [e for e in active.get("failure") or () if e.get("code") != DATA_HASH_MISMATCH]
        if problem is None:
            entry = {"code": DATA_HASH_MATCH, "url": url, "explanation": "text hash matches"}
            active["success"] = [*(active.get("success") or ()), entry]
        else:
            failure.append({"code": DATA_HASH_MISMATCH, "url": url, "explanation": problem})
        active["failure"] = failure
    statuses = patched.get("validation_status")
    if isinstance(statuses, list):
        kept = [s for s in statuses if s.get("code") != DATA_HASH_MISMATCH]
        if problem is not None:
            kept.append({"code": DATA_HASH_MISMATCH, "url": url, "explanation": problem})
        patched["validation_status"] = kept
    return patched


def _unusable(code: str, explanation: str) -> ManifestStore:
    log.debug("unusable text wrapper (%s): %s", code, explanation)
    return ManifestStore(
        state=ValidationState.INVALID,
        failures=(Status(code, None, explanation),),
        ingredient_failures=(),
        store={},
    )
