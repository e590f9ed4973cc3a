"""A C2PA manifest as bytes: assertions, a claim v2 linking them by hashed URI, the store.

The manifest definition is the same JSON-able mapping c2pa-rs's Builder takes for images
(``credentials/manifest.py``): ``claim_generator_info``, ``assertions`` (label + data),
optional ``title`` and ``label``. Each assertion becomes a CBOR superbox; the claim lists
them with the SHA-256 of each superbox's body, names the signature box and the
generator; the COSE signature (``cose.py``) covers the claim's CBOR.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import cbor2

from provenance.credentials import jumbf

CLAIM_LABEL: Final = "c2pa.claim.v2"
SIGNATURE_LABEL: Final = "c2pa.signature"
ASSERTIONS_LABEL: Final = "c2pa.assertions"
DATA_HASH_LABEL: Final = "c2pa.hash.data"
STORE_LABEL: Final = "c2pa"
HASH_ALG: Final = "sha256"


@dataclasses.dataclass(frozen=True)
class PreparedManifest:
    """Everything of one manifest but its signature."""

    label: str
    assertion_store: bytes  # the serialised c2as superbox
    claim: bytes  # the claim's CBOR: what the signature covers
    # The manifests (serialised c2ma superboxes) of the parent's store, kept before this
    # one so that its ingredient assertion's hashed URIs resolve: the last is active.
    prior: tuple[bytes, ...] = ()

    def store(self, signature: bytes) -> bytes:
        """The manifest store (JUMBF) holding this manifest with ``signature``."""
        claim_box = jumbf.superbox(jumbf.CLAIM, CLAIM_LABEL, [jumbf.content_box(self.claim)])
        signature_box = jumbf.superbox(
            jumbf.SIGNATURE, SIGNATURE_LABEL, [jumbf.content_box(signature)]
        )
        manifest = jumbf.superbox(
            jumbf.MANIFEST, self.label, [self.assertion_store, claim_box, signature_box]
        )
        return jumbf.superbox(jumbf.MANIFEST_STORE, STORE_LABEL, [*self.prior, manifest])


def assertion_box(label: str, data: Any) -> bytes:
    """One assertion as a CBOR content superbox."""
    return jumbf.superbox(jumbf.CBOR, label, [jumbf.content_box(cbor2.dumps(data))])


def data_hash_assertion(digest: bytes, exclusion_start: int, exclusion_length: int) -> bytes:
    """``c2pa.hash.data`` over the text with the wrapper's UTF-8 bytes excluded."""
    data = {
        "exclusions": [{"start": exclusion_start, "length": exclusion_length}],
        "name": "jumbf manifest",
        "alg": HASH_ALG,
        "hash": digest,
        "pad": b"",
    }
    return assertion_box(DATA_HASH_LABEL, data)


def new_manifest_label() -> str:
    return f"urn:c2pa:{uuid.uuid4()}"


def prepare_manifest(
    definition: Mapping[str, Any],
    hard_binding: bytes,
    *,
    label: str,
    instance_id: str,
    prior: tuple[bytes, ...] = (),
) -> PreparedManifest:
    """The assertion store and claim for ``definition`` plus the ``hard_binding`` box
    (``prior``: the manifests the store keeps before it, see ``PreparedManifest``)."""
    boxes: list[tuple[str, bytes]] = []
    seen: dict[str, int] = {}
    for assertion in _assertions(definition):
        name = str(assertion["label"])
        count = seen.get(name, 0)
        seen[name] = count + 1
        unique = name if count == 0 else f"{name}__{count}"
        boxes.append((unique, assertion_box(unique, assertion.get("data", {}))))
    # The hard binding follows the actions: readers look for the inception action first.
    boxes.insert(min(1, len(boxes)), (DATA_HASH_LABEL, hard_binding))
    store = jumbf.superbox(jumbf.ASSERTION_STORE, ASSERTIONS_LABEL, [box for _, box in boxes])
    prefix = f"self#jumbf=/{STORE_LABEL}/{label}"
    created = [
        {
            "url": f"{prefix}/{ASSERTIONS_LABEL}/{name}",
            "hash": hashlib.sha256(jumbf.hashed_body(box)).digest(),
        }
        for name, box in boxes
    ]
    claim: dict[str, Any] = {
        "instanceID": instance_id,
        "claim_generator_info": _generator(definition),
        "signature": f"{prefix}/{SIGNATURE_LABEL}",
        "created_assertions": created,
        "alg": HASH_ALG,
    }
    title = definition.get("title")
    if isinstance(title, str) and title:
        claim["dc:title"] = title
    return PreparedManifest(label, store, cbor2.dumps(claim), prior)


def _assertions(definition: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    assertions = definition.get("assertions") or ()
    if not isinstance(assertions, Sequence) or isinstance(assertions, str | bytes):
        raise TypeError("definition['assertions'] must be a list of {label, data}")
    for assertion in assertions:
        if not isinstance(assertion, Mapping) or not isinstance(assertion.get("label"), str):
            raise TypeError("each assertion needs a string 'label'")
        if assertion["label"].startswith(DATA_HASH_LABEL):
            raise ValueError("the text hard binding is added by the signer, not the definition")
    return assertions


def _generator(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Claim v2 holds one generator-info map; the definition holds a list of them."""
    info = definition.get("claim_generator_info")
    first = info[0] if isinstance(info, Sequence) and info and not isinstance(info, str) else info
    if not isinstance(first, Mapping) or not isinstance(first.get("name"), str):
        raise TypeError("definition['claim_generator_info'] needs a generator with a 'name'")
    return dict(first)
