"""Trust anchors: CA certificates whose signers verification treats as trusted.

Each anchor is one PEM file in ``trust/`` named by its id (the first 16 hex digits of
its SHA-256 fingerprint), so adding and removing an anchor are single atomic file
operations and no separate index can disagree with the folder.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ..errors import InputError, KeyStoreCorrupt, KeyStoreError, Remedy, UsageError
from ._files import PUBLIC_MODE, Layout, StoreFiles, read_input
from .records import Added, TrustAnchor

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
            f"{leaf} is an end-entity (signing) certificate, not a CA: a trust anchor is the "
            "signer's root CA, and a signing certificate is trusted alone as an allowed one",
            remedy=Remedy.ALLOW_CERTIFICATE,
        )
    top = certs[-1]
    raise KeyStoreError(
        f"{source} is a certificate chain for {leaf} without its root (it ends at "
        f"{top.subject.rfc4514_string()}, issued by {top.issuer.rfc4514_string()}); the "
        "trust anchor is the root CA itself",
        remedy=Remedy.ADD_ROOT,
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
                "must be a root or intermediate CA (BasicConstraints CA:true); a signer's own "
                "certificate is trusted alone as an allowed one",
                remedy=Remedy.ALLOW_CERTIFICATE,
            )
    added = []
    for cert in certs:
        path = layout.trust / f"{anchor_id(cert)}.pem"
        is_new = not path.exists()
        if is_new:
            layout.write(path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE)
        added.append((_anchor(cert, local_root_fingerprint), is_new))
    return added


def namesakes(anchor: TrustAnchor, anchors: list[TrustAnchor]) -> list[TrustAnchor]:
    """The other anchors with ``anchor``'s subject or organisation (O): their signers
    read alike, and only keys tell their certificates, CRLs and time-stamps apart."""

    def names(held: TrustAnchor) -> tuple[x509.Name, set[str]]:
        subject = x509.load_pem_x509_certificate(held.pem.encode()).subject
        found = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return subject, {str(a.value) for a in found}

    subject, organisations = names(anchor)
    alike = []
    for other in anchors:
        if other.fingerprint_sha256 == anchor.fingerprint_sha256:
            continue
        other_subject, other_organisations = names(other)
        if other_subject == subject or organisations & other_organisations:
            alike.append(other)
    return alike


def remove_anchor(layout: Layout, identifier: str, local_root_fingerprint: str) -> TrustAnchor:
    """Remove the anchor with this id (or full fingerprint). The caller holds the lock."""
    wanted = identifier.strip().lower().replace(":", "")[:_ID_LENGTH]
    if not _ID_PATTERN.match(wanted):
        raise UsageError(
            f"{identifier!r} is not a trust anchor id (the first 16 hex digits of its "
            "SHA-256 fingerprint)",
            remedy=Remedy.KNOWN_TRUST_ID,
        )
    path = layout.trust / f"{wanted}.pem"
    if not path.exists():
        raise UsageError(f"no trust anchor with id {wanted}", remedy=Remedy.KNOWN_TRUST_ID)
    anchor = _anchor(read_certificate_file(layout, path), local_root_fingerprint)
    try:
        path.unlink()
    except OSError as exc:
        raise KeyStoreError(f"could not remove {path}: {exc.strerror}") from exc
    return anchor


class TrustAnchors:
    """The CA certificates whose signers verify as trusted here: ``store.trust``."""

    def __init__(self, files: StoreFiles) -> None:
        self._files = files

    def _root_fingerprint(self) -> str:
        return self._files.index().root.fingerprint_sha256

    def pem(self) -> str:
        """Every anchor, PEM, concatenated (what the verifier's trust settings take)."""
        return "".join(anchor.pem for anchor in self.list())

    def certificates(self) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(anchor.pem.encode()) for anchor in self.list()]

    def add(self, source: Path | bytes) -> Added[TrustAnchor]:
        """Trust the CA certificates in ``source``; True marks the ones that were new.

        A bundle of CA certificates is taken whole; an exported chain gives its root
        (``select_anchors``); a signing certificate alone is refused.
        """
        data, name = read_input(source, "trust anchor file")
        certs = parse_certificates(data, name)
        shown = shlex.quote(name) if isinstance(source, Path) else "FILE"
        chosen, skipped = select_anchors(certs, shown)
        with self._files.locked():
            added = add_anchors(self._files.layout, chosen, self._root_fingerprint())
            for anchor, is_new in added:
                if is_new:
                    self._files.audit(
                        "trust-add", None, {"anchor": anchor.id, "subject": anchor.subject}
                    )
            held = self.list()
        fresh = [anchor for anchor, is_new in added if is_new]
        return Added(
            added,
            [cert.subject.rfc4514_string() for cert in skipped],
            [(anchor, other) for anchor in fresh for other in namesakes(anchor, held)],
        )

    def remove(self, anchor_id: str) -> TrustAnchor:
        """Stop trusting the anchor with this id (or full fingerprint)."""
        with self._files.locked():
            anchor = remove_anchor(self._files.layout, anchor_id, self._root_fingerprint())
            self._files.audit(
                "trust-remove", None, {"anchor": anchor.id, "subject": anchor.subject}
            )
        return anchor

    def chain_is_anchored(self, chain: bytes) -> bool:
        """Whether the top of ``chain`` (PEM, leaf first) is, or was issued by, an anchor."""
        top = parse_certificates(chain, "the chain")[-1]
        for cert in self.certificates():
            if cert == top:
                return True
            try:
                top.verify_directly_issued_by(cert)
                return True
            except Exception:
                continue
        return False

    # Last: below this method, ``list`` in an annotation would name it.
    def list(self) -> list[TrustAnchor]:
        """The anchors, the local root first, then by subject."""
        return list_anchors(self._files.layout, self._root_fingerprint())
