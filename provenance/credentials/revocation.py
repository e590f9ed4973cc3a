"""What the verifier knows about revoked signing certificates, and where it learnt it.

Revocations come from this home's key store and from imported CRLs whose issuer is a
trust anchor. Each has a time: content whose trusted time-stamp is before it stays
trusted (docs/design.md, "Revocation and time").
"""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class Revocation:
    """One revoked certificate.

    ``issuer`` is the RFC 4514 name of the certificate's issuer (None: any issuer, as the
    local key store's serial numbers are its own). ``since`` is when the key stopped being
    trustworthy; None: always (every signature is invalid). ``source`` says who said so.
    """

    serial: int
    reason: str
    since: dt.datetime | None
    source: str
    issuer: str | None = None

    def covers(self, stamped_at: dt.datetime | None) -> bool:
        """Whether a signature with trusted time ``stamped_at`` (None: no trusted time)
        falls under this revocation."""
        return self.since is None or stamped_at is None or stamped_at >= self.since


@dataclasses.dataclass(frozen=True)
class Revocations:
    """Every revocation the verifier consults, and a line for each source consulted
    (a stale CRL is named as stale there)."""

    entries: tuple[Revocation, ...] = ()
    sources: tuple[str, ...] = ()

    def lookup(self, serial: int, issuer: str | None) -> Revocation | None:
        """The revocation of certificate ``serial`` from ``issuer``, if any."""
        for entry in self.entries:
            if entry.serial == serial and (entry.issuer is None or entry.issuer == issuer):
                return entry
        return None
