"""Allowed certificates: end-entity (signing) certificates trusted one by one.

C2PA calls this the private credential store (spec §14.4.3): an "address book" of
signers trusted from an out-of-band relationship; an entry vouches for itself only,
never for a certificate it might issue. c2pa-rs reads it as the ``allowed_list`` of a
trust list (see ``TrustSettings.context_settings``). Each entry is one PEM file in
``allowed/`` named by its id (as trust anchors are in ``trust/``); the folder is made
when the first certificate is allowed, so stores written before it need no migration.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..errors import KeyStoreError, Remedy
from ._files import PUBLIC_DIR_MODE, PUBLIC_MODE, Layout, StoreFiles, read_input
from .records import Added, AllowedCertificate
from .trust import (
    anchor_id,
    fingerprint,
    is_ca_or_root,
    parse_certificates,
    read_certificate_file,
)

_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")


def _record(cert: x509.Certificate) -> AllowedCertificate:
    digest = fingerprint(cert)
    return AllowedCertificate(
        id=anchor_id(cert),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=digest,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


def select_allowed(
    certs: list[x509.Certificate],
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """The end-entity certificates of a file, and the CA certificates left out.

    An exported chain (leaf, intermediates, root) gives its leaf; a file of CA
    certificates only is refused: a CA belongs among the trust anchors.
    """
    leaves = [cert for cert in certs if not is_ca_or_root(cert)]
    if not leaves:
        raise KeyStoreError(
            f"{certs[0].subject.rfc4514_string()} is a CA certificate: the allowed list "
            "holds signing (end-entity) certificates, each trusted alone; a CA is trusted "
            "as a trust anchor",
            remedy=Remedy.ADD_ANCHOR,
        )
    return leaves, [cert for cert in certs if cert not in leaves]


def list_allowed(layout: Layout) -> list[AllowedCertificate]:
    """The allowed certificates, by subject; a damaged file is named, not skipped."""
    records = [
        _record(read_certificate_file(layout, path))
        for path in sorted(layout.allowed.glob("*.pem"))
    ]
    return sorted(records, key=lambda record: (record.subject, record.id))


def add_allowed(
    layout: Layout, certs: list[x509.Certificate]
) -> list[tuple[AllowedCertificate, bool]]:
    """Allow every certificate (all end-entity); True marks the new ones. Caller locks."""
    for cert in certs:
        if is_ca_or_root(cert):  # select_allowed left CAs out; kept as the invariant
            raise KeyStoreError(f"{cert.subject.rfc4514_string()} is a CA certificate")
    try:
        layout.allowed.mkdir(exist_ok=True)
        os.chmod(layout.allowed, PUBLIC_DIR_MODE)
    except OSError as exc:
        raise KeyStoreError(f"could not create {layout.allowed}: {exc.strerror}") from exc
    added = []
    for cert in certs:
        path = layout.allowed / f"{anchor_id(cert)}.pem"
        is_new = not path.exists()
        if is_new:
            layout.write(path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE)
        added.append((_record(cert), is_new))
    return added


def remove_allowed(layout: Layout, identifier: str) -> AllowedCertificate | None:
    """Remove the allowed certificate with this id; None if there is none. Caller locks."""
    wanted = identifier.strip().lower().replace(":", "")[:16]
    if not _ID_PATTERN.match(wanted):
        return None
    path = layout.allowed / f"{wanted}.pem"
    if not path.exists():
        return None
    record = _record(read_certificate_file(layout, path))
    try:
        path.unlink()
    except OSError as exc:
        raise KeyStoreError(f"could not remove {path}: {exc.strerror}") from exc
    return record


class AllowedCertificates:
    """Signing certificates trusted one by one (c2pa-rs ``allowed_list``): ``store.allowed``."""

    def __init__(self, files: StoreFiles) -> None:
        self._files = files

    def pem(self) -> str:
        """Every allowed certificate, PEM, concatenated."""
        return "".join(entry.pem for entry in self.list())

    def add(self, source: Path | bytes) -> Added[AllowedCertificate]:
        """Trust the signing certificates in ``source`` alone; True marks the new ones.

        An exported chain gives its leaf (``skipped`` names the CAs left out); a file of
        CA certificates only is refused: those are trust anchors.
        """
        data, name = read_input(source, "certificate file")
        certs = parse_certificates(data, name)
        chosen, skipped = select_allowed(certs)
        with self._files.locked():
            added = add_allowed(self._files.layout, chosen)
            for entry, is_new in added:
                if is_new:
                    self._files.audit(
                        "trust-allow", None, {"certificate": entry.id, "subject": entry.subject}
                    )
        return Added(added, [cert.subject.rfc4514_string() for cert in skipped])

    def remove(self, certificate_id: str) -> AllowedCertificate | None:
        """Stop trusting the allowed certificate with this id; None if there is none."""
        with self._files.locked():
            removed = remove_allowed(self._files.layout, certificate_id)
            if removed is not None:
                self._files.audit(
                    "trust-disallow", None, {"certificate": removed.id, "subject": removed.subject}
                )
        return removed

    # Last: below this method, ``list`` in an annotation would name it.
    def list(self) -> list[AllowedCertificate]:
        """The allowed certificates, by subject."""
        return list_allowed(self._files.layout)
