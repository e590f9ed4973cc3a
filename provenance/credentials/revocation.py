"""What the verifier knows about revoked signing certificates, and where it learnt it.

Revocations come from this home's key store and from imported CRLs whose issuer is a
trust anchor. Each has a time: content whose trusted time-stamp is before it stays
trusted (docs/design.md, "Revocation and time"). Each is also a CA's word about its own
certificates only: an entry revokes a certificate that CA issued (RFC 5280 path
validation: the issuer's name and key identifier, and its signature on the certificate),
never one that merely shares its serial number with another CA's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import TYPE_CHECKING

# cryptography loads where a certificate is compared: the CLI imports this module cheaply.
if TYPE_CHECKING:
    from cryptography import x509

#: The CRL reasons (RFC 5280, as a CRL names them) that say a key was taken: the signing
#: key's, or its CA's.
COMPROMISES = frozenset({"keyCompromise", "cACompromise"})


@dataclasses.dataclass(frozen=True)
class Revocation:
    """One revoked certificate.

    ``reason`` is a CRL reason's name (``keyCompromise``) when it is one, else free text.
    ``issuer`` is the DER certificate of the CA whose revocation this is (the CRL's issuer,
    or the CA that issued the key store's certificate); None: matched by serial alone.
    ``since`` is when the key stopped being trustworthy; None: always (every signature is
    invalid). ``source`` says who said so.
    """

    serial: int
    reason: str
    since: dt.datetime | None
    source: str
    issuer: bytes | None = None
    # The CA that certifies the revoker's own time-stamping authority, when it is not
    # ``issuer`` (a key store's root, for an identity it imported from another CA).
    stamp_ca: bytes | None = None

    @property
    def compromised(self) -> bool:
        """Whether the key (or its CA's) was taken: ``keyCompromise``, ``cACompromise``."""
        return self.reason in COMPROMISES

    def covers(self, stamped_at: dt.datetime | None, *, own_stamp: bool = False) -> bool:
        """Whether a signature with trusted time ``stamped_at`` (None: no trusted time)
        falls under this revocation.

        ``own_stamp``: the time-stamp's authority was certified by this revocation's own
        CA, i.e. it is the key store's own authority, whose key sits beside the signing
        key under the same passphrase. Whoever took a key with ``keyCompromise`` could
        stamp with it too, so its time does not put the signature before the theft.
        """
        if self.since is None or stamped_at is None:
            return True
        if own_stamp and self.compromised:
            return True
        return stamped_at >= self.since

    def revokes(self, certificate: x509.Certificate | None) -> bool:
        """Whether this entry is about ``certificate`` (None: the signing certificate could
        not be read, and a serial match is taken as a match: a revocation is never lost
        for want of a chain)."""
        if certificate is None:
            return True
        if certificate.serial_number != self.serial:
            return False
        return self.issuer is None or issued_by(certificate, self.issuer)

    def certified(self, certificate: x509.Certificate | None) -> bool:
        """Whether ``certificate`` (a time-stamping authority's) was issued by this
        revocation's CA, or by ``stamp_ca`` (False when either is unknown)."""
        if certificate is None:
            return False
        return any(issued_by(certificate, ca) for ca in (self.issuer, self.stamp_ca) if ca)


@functools.lru_cache(maxsize=64)
def _issuer(der: bytes) -> x509.Certificate:
    from cryptography import x509

    return x509.load_der_x509_certificate(der)


def _key_identifier(certificate: x509.Certificate) -> bytes:
    from cryptography import x509

    try:
        found = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return found.value.digest
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest


def issued_by(certificate: x509.Certificate, issuer_der: bytes) -> bool:
    """Whether the CA certificate ``issuer_der`` issued ``certificate``: its name is the
    certificate's issuer, its key identifier the certificate's authority key identifier
    (when it has one), and its key verifies the certificate's signature. The signature
    is what decides: two CAs may share a name and even a key identifier, not a key."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    issuer = _issuer(issuer_der)
    if certificate.issuer != issuer.subject:
        return False
    try:
        aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        aki = None
    if aki is not None and aki.value.key_identifier not in (None, _key_identifier(issuer)):
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Revocations:
    """Every revocation the verifier consults, and a line for each source consulted
    (a stale CRL is named as stale there)."""

    entries: tuple[Revocation, ...] = ()
    sources: tuple[str, ...] = ()

    def listed(self, serial: int) -> bool:
        """Whether any entry names ``serial`` (cheap: no certificate is read)."""
        return any(entry.serial == serial for entry in self.entries)

    def lookup(self, serial: int, certificate: x509.Certificate | None) -> Revocation | None:
        """The revocation of the signing certificate ``certificate`` (serial ``serial``;
        None: it could not be read), if any."""
        for entry in self.entries:
            if entry.serial == serial and entry.revokes(certificate):
                return entry
        return None
