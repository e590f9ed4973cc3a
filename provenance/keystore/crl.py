"""Certificate revocation lists: the ones the local root CA issues, and imported ones.

The root signs a CRL of every certificate it issued that the store revoked: each entry's
revocation date and InvalidityDate are the revocation's ``since``, its CRLReason the
reason when the free text names one (``keyCompromise``, ``superseded`` ...; the text
itself stays in the index: a CRL has no room for it). The newest one is kept as
``certs/root-ca.crl.N.pem`` (N its CRL number), so ``keys export --crl`` can print it
without the passphrase.

Imported CRLs (``trust add``) live in ``crls/``, one PEM per issuer named by the first
16 hex digits of the SHA-256 of the issuer's name and key identifier (two CAs of the same
name do not collide): a newer CRL of an issuer replaces the older one, and no index can
disagree with the folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..credentials.crl import anchor_problem, issuer_name, load_crls
from ..credentials.revocation import COMPROMISES
from ..errors import KeyStoreCorrupt, KeyStoreError, UsageError
from ._files import PUBLIC_DIR_MODE, PUBLIC_MODE, Layout, StoreFiles, now_utc, read_input
from ._index import CrlRecord, Index
from ._material import load_root_key, require_passphrase
from .records import DEFAULT_CRL_DAYS, CrlInfo
from .trust import TrustAnchors

CRL_DIR = "crls"
MAX_CRL_DAYS = 366
_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")

#: CRLReason codes a free-text reason may name (case, spaces, '-' and '_' ignored).
#: certificateHold is left out: the store has no way to lift a hold.
_REASONS = {
    flag.value.lower(): flag
    for flag in (
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.ca_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.privilege_withdrawn,
        x509.ReasonFlags.aa_compromise,
    )
}


def reason_flag(reason: str) -> x509.ReasonFlags | None:
    """The CRLReason ``reason`` names, or None (unspecified: no reasonCode in the CRL)."""
    return _REASONS.get(re.sub(r"[\s_-]+", "", reason).lower())


def compromised(reason: str) -> bool:
    """Whether ``reason`` says a key was taken (``keyCompromise``, ``cACompromise``): then
    the store's own time-stamps no longer date that key's signatures."""
    flag = reason_flag(reason)
    return flag is not None and flag.value in COMPROMISES


def authority_key_id(crl: x509.CertificateRevocationList) -> bytes | None:
    try:
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    return aki.key_identifier


def crl_id(crl: x509.CertificateRevocationList) -> str:
    """The id of ``crl``'s issuer: its name and, when the CRL names it, its key."""
    digest = hashlib.sha256(crl.issuer.public_bytes())
    digest.update(authority_key_id(crl) or b"")
    return digest.hexdigest()[:16]


def same_issuer(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> bool:
    """Whether ``cert`` is the CA ``crl`` names: same subject, and the same key
    identifier when both carry one."""
    if cert.subject != crl.issuer:
        return False
    key_id = authority_key_id(crl)
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return True
    return key_id is None or key_id == ski


def build_crl(
    *,
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    revoked: Iterable[tuple[int, dt.datetime, str]],
    number: int,
    now: dt.datetime,
    days: int,
) -> x509.CertificateRevocationList:
    """A CRL signed by the root: (serial, since, reason) for each revoked certificate."""
    if not 1 <= days <= MAX_CRL_DAYS:
        raise UsageError(f"a CRL is current for 1 to {MAX_CRL_DAYS} days, not {days}")
    ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    for serial, since, reason in sorted(revoked):
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(since)
            .add_extension(
                x509.InvalidityDate(since.astimezone(dt.UTC).replace(tzinfo=None)),
                critical=False,
            )
        )
        flag = reason_flag(reason)
        if flag is not None:
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    digest = hashes.SHA384() if root_key.curve.key_size >= 384 else hashes.SHA256()
    return builder.sign(root_key, digest)


def _number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None


def crl_info(crl: x509.CertificateRevocationList, now: dt.datetime) -> CrlInfo:
    next_update = crl.next_update_utc
    return CrlInfo(
        id=crl_id(crl),
        issuer=crl.issuer.rfc4514_string(),
        number=_number(crl),
        last_update=crl.last_update_utc,
        next_update=next_update,
        entries=len(crl),
        stale=next_update is not None and now > next_update,
        pem=crl.public_bytes(serialization.Encoding.PEM).decode(),
    )


def _read(layout: Layout, name: str) -> x509.CertificateRevocationList:
    path = layout.root / CRL_DIR / name
    try:
        crl = x509.load_pem_x509_crl(layout.read(path))
    except ValueError:
        raise KeyStoreCorrupt(f"{path}: not a PEM CRL; it was left untouched") from None
    if crl_id(crl) != path.stem:
        raise KeyStoreCorrupt(f"{path}: its issuer does not match its name; it was left untouched")
    return crl


def list_imported(layout: Layout) -> list[x509.CertificateRevocationList]:
    """The imported CRLs, by issuer; a damaged file is named, not skipped."""
    folder = layout.root / CRL_DIR
    if not folder.is_dir():
        return []
    crls = [_read(layout, path.name) for path in sorted(folder.glob("*.pem"))]
    return sorted(crls, key=lambda c: c.issuer.rfc4514_string())


def _newer(new: x509.CertificateRevocationList, old: x509.CertificateRevocationList) -> bool:
    new_number, old_number = _number(new), _number(old)
    if new_number is not None and old_number is not None and new_number != old_number:
        return new_number > old_number
    return new.last_update_utc > old.last_update_utc


def add_imported(layout: Layout, crl: x509.CertificateRevocationList) -> str:
    """Keep ``crl`` unless a newer one of its issuer is stored; the caller holds the lock.

    Returns what happened: "added", "updated", "unchanged" or "older" (kept the stored).
    """
    folder = layout.root / CRL_DIR
    if not folder.is_dir():
        try:
            folder.mkdir(exist_ok=True)
            os.chmod(folder, PUBLIC_DIR_MODE)
        except OSError as exc:
            raise KeyStoreError(f"could not create {folder}: {exc.strerror}") from exc
    name = f"{crl_id(crl)}.pem"
    status = "added"
    if (folder / name).exists():
        stored = _read(layout, name)
        if stored.public_bytes(serialization.Encoding.DER) == crl.public_bytes(
            serialization.Encoding.DER
        ):
            return "unchanged"
        if not _newer(crl, stored):
            return "older"
        status = "updated"
    layout.write(folder / name, crl.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE)
    return status


def remove_imported(layout: Layout, identifier: str) -> x509.CertificateRevocationList | None:
    """Remove the imported CRL with this id; None when there is none. Caller holds the lock."""
    wanted = identifier.strip().lower()
    if not _ID_PATTERN.match(wanted):
        return None
    path = layout.root / CRL_DIR / f"{wanted}.pem"
    if not path.exists():
        return None
    crl = _read(layout, path.name)
    try:
        path.unlink()
    except OSError as exc:
        raise KeyStoreError(f"could not remove {path}: {exc.strerror}") from exc
    return crl


def describe(crl: x509.CertificateRevocationList) -> str:
    """``issuer (number N)`` for messages."""
    number = _number(crl)
    return issuer_name(crl) + (f" (CRL number {number})" if number is not None else "")


def stage_root_crl(
    files: StoreFiles,
    index: Index,
    root_key: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
    days: int,
) -> tuple[x509.CertificateRevocationList, list[str]]:
    """Write the root's next CRL and point ``index`` at it (the caller holds the lock,
    writes the index, then removes the files returned, which it no longer names)."""
    root_cert = files.root_certificate(index)
    root_subject = root_cert.subject.rfc4514_string()
    revoked = [
        (
            int(v.serial, 16),
            dt.datetime.fromisoformat(v.revoked_since or v.revoked_at),
            v.revocation_reason or "unspecified",
        )
        for record in index.identities.values()
        for v in record.versions
        if v.revoked_at is not None and v.issuer == root_subject
    ]
    number = 1 if index.crl is None else index.crl.number + 1
    crl = build_crl(
        root_key=root_key,
        root_cert=root_cert,
        revoked=revoked,
        number=number,
        now=now,
        days=days,
    )
    relpath = f"certs/root-ca.crl.{number}.pem"
    files.layout.write(
        files.layout.root / relpath, crl.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE
    )
    replaced = [] if index.crl is None or index.crl.file == relpath else [index.crl.file]
    next_update = crl.next_update_utc
    assert next_update is not None
    index.crl = CrlRecord(number, relpath, crl.last_update_utc.isoformat(), next_update.isoformat())
    return crl, replaced


def audit_issued(files: StoreFiles, crl: x509.CertificateRevocationList) -> None:
    """The audit line of a CRL the root issued; the caller holds the lock."""
    info = crl_info(crl, now_utc())
    files.audit("crl-issue", None, {"number": str(info.number), "entries": str(info.entries)})


class Crls:
    """Revocation lists: the one the local root issues and imported ones (``store.crls``)."""

    def __init__(self, files: StoreFiles, trust: TrustAnchors) -> None:
        self._files = files
        self._trust = trust

    def current_pem(self) -> bytes | None:
        """The newest CRL the root issued (PEM; it may be stale); None: none yet."""
        record = self._files.index().crl
        return None if record is None else self._files.read(record.file)

    def current(self) -> CrlInfo | None:
        """What ``current_pem`` holds."""
        pem = self.current_pem()
        if pem is None:
            return None
        return crl_info(x509.load_pem_x509_crl(pem), now_utc())

    def issue(
        self,
        passphrase: str | None,
        *,
        days: int = DEFAULT_CRL_DAYS,
        now: dt.datetime | None = None,
    ) -> bytes:
        """A new CRL signed by the root (PEM): every certificate it issued that was
        revoked here, next update in ``days``. It becomes the one ``current_pem`` returns."""
        secret = require_passphrase(passphrase, "sign a CRL with the key store's root CA")
        root_key = load_root_key(self._files, secret)
        with self._files.locked():
            index = self._files.index()
            crl, replaced = stage_root_crl(self._files, index, root_key, now or now_utc(), days)
            self._files.write_index(index)
            for relpath in replaced:
                self._files.layout.remove(self._files.layout.root / relpath)
            audit_issued(self._files, crl)
        return crl.public_bytes(serialization.Encoding.PEM)

    def pem_list(self) -> list[bytes]:
        """The imported CRLs as PEM, for the verifier (docs/design.md, "Revocation")."""
        return [info.pem.encode() for info in self.list()]

    def problem(self, info: CrlInfo) -> str | None:
        """Why verification here would ignore this CRL (None: a trust anchor signed it)."""
        crl = x509.load_pem_x509_crl(info.pem.encode())
        return anchor_problem(crl, self._trust.certificates())

    def add(self, source: Path | bytes) -> list[tuple[CrlInfo, str]]:
        """Import every CRL in ``source``, keeping the newest per issuer.

        Each comes back with what happened: "added", "updated", "unchanged" or "older"
        (a newer one of that issuer is kept). A CRL whose issuer is a trust anchor here
        must verify with the anchor's key; one from any other issuer is kept, and
        verification ignores it until its issuer is trusted.
        """
        data, name = read_input(source, "CRL file")
        crls = load_crls(data, name)
        anchors = self._trust.certificates()
        for crl in crls:
            issuers = [a for a in anchors if same_issuer(crl, a)]
            if issuers and anchor_problem(crl, issuers):
                raise KeyStoreError(
                    f"{name}: the CRL of {describe(crl)} does not verify with the "
                    "trust anchor of its issuer (forged or damaged); nothing was imported"
                )
        now = now_utc()
        results = []
        with self._files.locked():
            for crl in crls:
                status = add_imported(self._files.layout, crl)
                info = crl_info(crl, now)
                if status in ("added", "updated"):
                    self._files.audit(
                        "crl-import",
                        None,
                        {"crl": info.id, "issuer": info.issuer, "number": str(info.number)},
                    )
                results.append((info, status))
        return results

    def remove(self, crl_id: str) -> CrlInfo | None:
        """Remove the imported CRL with this id; None when there is none."""
        with self._files.locked():
            removed = remove_imported(self._files.layout, crl_id)
            if removed is None:
                return None
            info = crl_info(removed, now_utc())
            self._files.audit("crl-remove", None, {"crl": info.id, "issuer": info.issuer})
        return info

    # Last: below this method, ``list`` in an annotation would name it.
    def list(self) -> list[CrlInfo]:
        """The imported CRLs, one per issuer."""
        now = now_utc()
        return [crl_info(crl, now) for crl in list_imported(self._files.layout)]
