"""What a manifest repository stores and the interface every backend implements."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import ClassVar, Protocol

#: The repository file under ``--home`` when no location is given.
DEFAULT_FILENAME = "repository.sqlite"


@dataclasses.dataclass(frozen=True)
class Record:
    """One signed manifest store and the soft binding that finds it again.

    ``record_id`` is the 64-bit number the watermark carries; ``binding_value`` is the
    soft-binding value exactly as written in the manifest's ``c2pa.soft-binding``
    assertion, so the C2PA Soft Binding Resolution API can look it up verbatim.
    """

    record_id: int
    manifest: bytes
    manifest_label: str
    binding_alg: str
    binding_value: str
    media_type: str
    signer: str
    created_at: dt.datetime

    def __post_init__(self) -> None:
        if not 0 <= self.record_id < 2**64:
            raise ValueError("record_id must fit in 64 bits")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    @property
    def record_hex(self) -> str:
        return f"{self.record_id:016x}"


class Repository(Protocol):
    """Storage for signed manifests; safe for several processes at once."""

    def reserve_id(self) -> int:
        """A new, unused 64-bit record id, reserved so no other signer can take it."""
        ...

    def put(self, record: Record) -> None:
        """Store the manifest for a reserved id (once; a second put is an error)."""
        ...

    def get(self, record_id: int) -> Record | None:
        """The record for ``record_id``, or None (also for ids reserved but never filled)."""
        ...

    def find_by_binding(self, alg: str, value: str) -> list[Record]:
        """Records whose soft binding matches (Soft Binding Resolution API)."""
        ...

    def get_by_label(self, manifest_label: str) -> Record | None:
        """The record of a manifest by its label (``urn:c2pa:...``)."""
        ...

    def close(self) -> None: ...


def to_sql(record_id: int) -> int:
    """A 64-bit unsigned record id as the signed 64-bit integer SQL databases store
    (two's complement, so the order of ids is kept within each half)."""
    return record_id - 2**64 if record_id >= 2**63 else record_id


def from_sql(value: int) -> int:
    """The record id back from its stored signed integer."""
    return value + 2**64 if value < 0 else value


class SQLLookups:
    """The look-ups every SQL repository answers alike: a subclass gives ``_query`` (rows
    matching a WHERE clause) and ``_MARK``, its driver's parameter placeholder."""

    _MARK: ClassVar[str]

    def _query(self, where: str, args: tuple[object, ...]) -> list[Record]:
        raise NotImplementedError

    def get(self, record_id: int) -> Record | None:
        rows = self._query(f"record_id = {self._MARK}", (to_sql(record_id),))
        return rows[0] if rows else None

    def find_by_binding(self, alg: str, value: str) -> list[Record]:
        where = f"binding_alg = {self._MARK} AND binding_value = {self._MARK}"
        return self._query(where, (alg, value))

    def get_by_label(self, manifest_label: str) -> Record | None:
        rows = self._query(f"manifest_label = {self._MARK}", (manifest_label,))
        return rows[0] if rows else None
