"""Trust anchors: CA certificates whose signers verification treats as trusted.

Each anchor is one PEM file in ``trust/`` named by its id (the first 16 hex digits of
its SHA-256 fingerprint), so adding and removing an anchor are single atomic file
operations and no separate index can disagree with the folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

from ..errors import InputError, KeyStoreCorrupt, KeyStoreError, UsageError
from ._files import PUBLIC_MODE, Layout
from .records import TrustAnchor

__all__ = [
    "add_anchors",
    "anchor_id",
    "is_ca_or_root",
    "is_self_signed",
    "list_anchors",
    "parse_certificates",
    "remove_anchor",
    "select_anchors",
]

_ID_LENGTH = 16
_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def anchor_id(cert: x509.Certificate) -> str:
    return fingerprint(cert)[:_ID_LENGTH]


def parse_certificates(data: bytes, source: str) -> list[x509.Certificate]:
    """Every PEM certificate in ``data``; InputError naming ``source`` if there are none."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise InputError(
            f"{source}: holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)"
        )
    return certs


def is_self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself: its subject is its issuer and its own key verifies it."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def is_ca_or_root(cert: x509.Certificate) -> bool:
    """A CA certificate, or a self-signed root (old v1 roots have no BasicConstraints)."""
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return True
    except x509.ExtensionNotFound:
        pass
    return is_self_signed(cert)


def select_anchors(
    certs: list[x509.Certificate], source: str
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """What `trust add` takes from a file: (the anchors, the certificates left out).

    A file of CA certificates only (a bundle of roots) gives every one of them. A file
    with a signing certificate in it is a chain (`provenance keys export NAME`): its
    self-signed roots are the anchors, the signing certificate and any intermediates are
    left out. A file with no root besides signing certificates is refused, with what to
    do instead. ``source`` is the file as the user named it (for the advice).
    """
    end_entities = [cert for cert in certs if not is_ca_or_root(cert)]
    if not end_entities:
        return certs, []
    roots = [cert for cert in certs if is_self_signed(cert) and is_ca_or_root(cert)]
    if roots:
        return roots, [cert for cert in certs if cert not in roots]
    leaf = end_entities[0].subject.rfc4514_string()
    if len(end_entities) == len(certs):
        raise KeyStoreError(
            f"{leaf} is an end-entity (signing) certificate, not a CA; export the signer's "
            "root with `provenance keys export --root` and add that, or allow this "
            f"certificate alone with `provenance trust allow {source}`"
        )
    top = certs[-1]
    raise KeyStoreError(
        f"{source} is a certificate chain for {leaf} without its root (it ends at "
        f"{top.subject.rfc4514_string()}, issued by {top.issuer.rfc4514_string()}); add the "
        "root CA itself: `provenance keys export --root` on the signer's side writes it"
    )


def _anchor(cert: x509.Certificate, local_root_fingerprint: str) -> TrustAnchor:
    digest = fingerprint(cert)
    return TrustAnchor(
        id=digest[:_ID_LENGTH],
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint_sha256=digest,
        is_local_root=digest == local_root_fingerprint,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


def list_anchors(layout: Layout, local_root_fingerprint: str) -> list[TrustAnchor]:
    """The anchors in ``trust/``, by subject; a damaged anchor file is named, not skipped."""
    anchors = []
    for path in sorted(layout.trust.glob("*.pem")):
        anchors.append(_anchor(read_certificate_file(layout, path), local_root_fingerprint))
    return sorted(anchors, key=lambda a: (not a.is_local_root, a.subject, a.id))


def read_certificate_file(layout: Layout, path: Path) -> x509.Certificate:
    """A stored certificate file, named by its fingerprint; damage is named, never fixed."""
    try:
        cert = x509.load_pem_x509_certificate(layout.read(path))
    except ValueError:
        raise KeyStoreCorrupt(f"{path}: not a PEM certificate; it was left untouched") from None
    if anchor_id(cert) != path.stem:
        raise KeyStoreCorrupt(
            f"{path}: its fingerprint does not match its name; it was left untouched"
        )
    return cert


def add_anchors(
    layout: Layout, certs: list[x509.Certificate], local_root_fingerprint: str
) -> list[tuple[TrustAnchor, bool]]:
    """Add every certificate; each comes back with True if it was new.

    All certificates are checked before any is written, so a file with one leaf among
    its CAs adds nothing. The caller holds the lock.
    """
    for cert in certs:
        if not is_ca_or_root(cert):
            raise KeyStoreError(
                f"{cert.subject.rfc4514_string()} is not a CA certificate: a trust anchor "
                "must be a root or intermediate CA (BasicConstraints CA:true); allow a "
                "signer's own certificate with `provenance trust allow FILE`"
            )
    added = []
    for cert in certs:
        path = layout.trust / f"{anchor_id(cert)}.pem"
        is_new = not path.exists()
        if is_new:
            layout.write(path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE)
        added.append((_anchor(cert, local_root_fingerprint), is_new))
    return added


def remove_anchor(layout: Layout, identifier: str, local_root_fingerprint: str) -> TrustAnchor:
    """Remove the anchor with this id (or full fingerprint). The caller holds the lock."""
    wanted = identifier.strip().lower().replace(":", "")[:_ID_LENGTH]
    if not _ID_PATTERN.match(wanted):
        raise UsageError(
            f"{identifier!r} is not a trust anchor id: use the 16 hex digits "
            "`provenance trust list` shows"
        )
    path = layout.trust / f"{wanted}.pem"
    if not path.exists():
        raise UsageError(f"no trust anchor with id {wanted}: see `provenance trust list`")
    anchor = _anchor(read_certificate_file(layout, path), local_root_fingerprint)
    try:
        path.unlink()
    except OSError as exc:
        raise KeyStoreError(f"could not remove {path}: {exc.strerror}") from exc
    return anchor
