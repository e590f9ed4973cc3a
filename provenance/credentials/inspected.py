"""What ``provenance inspect`` shows of a validated store besides its reader JSON:
c2pa-rs's detailed report and the signing certificate chain (c2patool's ``--detailed``
and ``--certs``), both from the read that validated it (``ManifestStore.seen``, kept by a
``CredentialReader(keep_store=True)``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from provenance._internal.text import safe_text
from provenance.credentials.store import ManifestStore, Seen
from provenance.errors import InputError

if TYPE_CHECKING:
    from cryptography import x509


@dataclasses.dataclass(frozen=True)
class Inspected:
    """A file's validated store as ``provenance inspect`` shows it: ``source`` says
    where it came from ("" embedded); ``seen`` is c2pa-rs's detailed report and the
    store's bytes from the same read (None: c2pa-rs could not read the store)."""

    store: ManifestStore
    source: str

    @property
    def seen(self) -> Seen | None:
        return self.store.seen

    def detailed(self) -> dict[str, Any]:
        """c2pa-rs's detailed report, with the validation this toolkit concluded (for
        text, c2pa-rs cannot check the hard binding; ``credentials.text.verify`` does)."""
        if self.seen is None:
            raise InputError(f"c2pa-rs could not read the manifest store: {self._why()}")
        report = dict(self.seen.detailed)
        for key in ("validation_state", "validation_results", "validation_status"):
            if key in report and key in self.store.store:
                report[key] = self.store.store[key]
        return report

    def signing_chain(self) -> list[x509.Certificate]:
        """The active manifest's signing certificates, leaf first (``credentials.certs``)."""
        if self.seen is None or self.seen.store_bytes is None:
            why = self.seen.problem if self.seen else f"c2pa-rs could not read it: {self._why()}"
            raise InputError(f"the manifest store's bytes are not at hand: {why}")
        from provenance.credentials.certs import signing_chain  # JUMBF, CBOR: here only

        label = self.store.store.get("active_manifest")
        return signing_chain(self.seen.store_bytes, label if isinstance(label, str) else None)

    def _why(self) -> str:
        """What c2pa-rs said about a store it could not read (``manifest.malformed``)."""
        said = "; ".join(f"{s.code}: {s.explanation}" for s in self.store.failures)
        return safe_text(said or "no reason given", 300)
