"""Certificate revocation lists (X.509 CRLs) as the verifier reads them.

A CRL counts only when its signature verifies with the public key of a trust anchor
whose subject is the CRL's issuer (and which may sign CRLs); any other is ignored, and
said so. A CRL past its next update is still applied (a stale list of revocations is
safer than none) and reported as stale. Every CRL consulted gets one line in
``Revocations.sources``, which the report carries (docs/design.md, "Revocation and time").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from provenance.credentials.revocation import Revocation
from provenance.errors import InputError

CRL_PEM_MARKER = b"-----BEGIN X509 CRL-----"
_CRL_BLOCK = re.compile(rb"-----BEGIN X509 CRL-----\r?\n.*?-----END X509 CRL-----", re.S)


def holds_crl(data: bytes) -> bool:
    """Whether ``data`` has a PEM CRL block (a file may hold certificates as well)."""
    return CRL_PEM_MARKER in data


def load_crls(data: bytes, source: str) -> list[x509.CertificateRevocationList]:
    """Every CRL in ``data``: PEM blocks, or one DER CRL; InputError naming ``source``."""
    if not holds_crl(data):
        try:
            return [x509.load_der_x509_crl(data)]
        except ValueError:
            raise InputError(
                f"{source}: holds no CRL (expected -----BEGIN X509 CRL----- blocks)"
            ) from None
    crls = []
    for block in _CRL_BLOCK.findall(data):
        try:
            crls.append(x509.load_pem_x509_crl(block))
        except ValueError:
            raise InputError(f"{source}: a CRL in it is damaged and cannot be read") from None
    if not crls:
        raise InputError(f"{source}: its CRL block is not complete")
    return crls


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = [a.value for a in name.get_attributes_for_oid(oid)]
    last = values[-1] if values else None
    return last if isinstance(last, str) else None


def issuer_name(crl: x509.CertificateRevocationList) -> str:
    """The issuer's common name (else its whole name) for messages."""
    return _attribute(crl.issuer, NameOID.COMMON_NAME) or crl.issuer.rfc4514_string()


def _moment(value: dt.datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def anchor_problem(
    crl: x509.CertificateRevocationList, anchors: list[x509.Certificate]
) -> str | None:
    """None when an anchor vouches for ``crl``; otherwise why it is ignored."""
    found = crl_anchor(crl, anchors)
    return found if isinstance(found, str) else None


def crl_anchor(
    crl: x509.CertificateRevocationList, anchors: list[x509.Certificate]
) -> x509.Certificate | str:
    """The trust anchor that signed ``crl`` (its subject the CRL's issuer, allowed to sign
    CRLs, its key verifying the CRL's signature), else why none did."""
    candidates = [a for a in anchors if a.subject == crl.issuer]
    if not candidates:
        return "its issuer is not a trust anchor here"
    for anchor in candidates:
        try:
            usage = anchor.extensions.get_extension_for_class(x509.KeyUsage).value
            if not usage.crl_sign:
                continue
        except x509.ExtensionNotFound:
            pass  # an old root without KeyUsage may sign anything
        try:
            if crl.is_signature_valid(anchor.public_key()):  # type: ignore[arg-type]
                return anchor
        except (TypeError, ValueError):
            continue
    return "its signature does not verify with the trust anchor of that name"


def _entry(revoked: x509.RevokedCertificate, source: str, issuer: bytes) -> Revocation:
    reason = "unspecified"
    since = revoked.revocation_date_utc
    for extension in revoked.extensions:
        value = extension.value
        if isinstance(value, x509.CRLReason):
            reason = value.reason.value
        elif isinstance(value, x509.InvalidityDate):
            since = value.invalidity_date_utc
    return Revocation(revoked.serial_number, reason, since, source, issuer)


def revocations_from_crls(
    crls: Iterable[x509.CertificateRevocationList],
    anchors: Iterable[x509.Certificate],
    now: dt.datetime | None = None,
) -> tuple[tuple[Revocation, ...], tuple[str, ...]]:
    """The revocations of every CRL a trust anchor signed, and a line per CRL consulted.

    Each entry's ``since`` is its invalidity date (else its revocation date); its
    ``issuer`` is the anchor that signed the CRL, so that it revokes only certificates
    that anchor issued (``Revocation.revokes``), whatever another CA's names.
    """
    now = now or dt.datetime.now(dt.UTC)
    anchor_list = list(anchors)
    entries: list[Revocation] = []
    sources: list[str] = []
    seen: set[bytes] = set()
    for crl in crls:
        digest = hashlib.sha256(crl.public_bytes(serialization.Encoding.DER)).digest()
        if digest in seen:
            continue
        seen.add(digest)
        source = f"CRL of {issuer_name(crl)}, issued {_moment(crl.last_update_utc)}"
        anchor = crl_anchor(crl, anchor_list)
        if isinstance(anchor, str):
            sources.append(f"{source}: ignored, {anchor}")
            continue
        issuer = anchor.public_bytes(serialization.Encoding.DER)
        entries.extend(_entry(revoked, source, issuer) for revoked in crl)
        line = f"{source} ({len(crl)} revoked)"
        next_update = crl.next_update_utc
        if next_update is not None and now > next_update:
            line += f", stale: its next update was due {_moment(next_update)} (applied anyway)"
        sources.append(line)
    return tuple(entries), tuple(sources)
