"""What batch signing gives back: where each input's signed copy goes under the output
folder (``mirrored``) and what became of it (``SignOutcome``, ``SignStatus``).

Both the walk (``many``) and the per-file job (``signing``) use these; neither imports
the other for them.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from pathlib import Path
from typing import Any

from provenance.errors import OutputRefused
from provenance.report import path_fields


def mirrored(path: Path) -> Path:
    """Where the signed copy of ``path`` goes under the output folder: the path as given,
    made relative (the root and leading ``..`` dropped, as tar does)."""
    normal = Path(os.path.normpath(path))
    parts = normal.parts[1:] if normal.anchor else normal.parts
    while parts and parts[0] == os.pardir:
        parts = parts[1:]
    if not parts:
        raise OutputRefused(f"{path}: names no file to write under the output folder")
    return Path(*parts)


class SignStatus(enum.StrEnum):
    """What became of one input of ``sign_many``, in the order tallies list them."""

    SIGNED = "signed"  # exit 0
    SKIPPED = "skipped"  # exit 0: its output exists, and the batch skips existing outputs
    FAILED = "failed"  # exit 1: refused on its merits, the output could not be written, or
    # the repository could not store its record
    REFUSED = "refused"  # exit 2: the output path cannot be written as given (it exists, ...)
    UNREADABLE = "unreadable"  # exit 3: the input could not be read, or is not supported

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]

    @classmethod
    def for_exit_code(cls, code: int) -> SignStatus:
        """The status of a file whose error carries exit ``code`` (``ProvenanceError``)."""
        found = [status for status, exit_code in _EXIT_CODES.items() if exit_code == code]
        return found[0] if code and found else cls.FAILED


_EXIT_CODES = {
    SignStatus.SIGNED: 0,
    SignStatus.SKIPPED: 0,
    SignStatus.FAILED: 1,
    SignStatus.REFUSED: 2,
    SignStatus.UNREADABLE: 3,
}


def _omitted() -> Any:
    return dataclasses.field(default=None, metadata={"omit_if_none": True})


@dataclasses.dataclass(frozen=True)
class SignOutcome:
    """One input of ``sign_many``: where its signed copy went, or why there is none.

    ``input`` is the name as given; ``output`` where the signed copy is (or would have
    been) written; ``media_type`` what the input is, whenever it could be identified
    (a refused or skipped file included); ``manifest`` where its sidecar manifest store
    is (signed with ``SignSettings.sidecar`` only); ``record`` the watermark's repository record id
    (16 hex digits; None without a watermark); ``error`` one line, None once signed, and
    ``remedy`` what the caller could change to get past it. Names that are not UTF-8
    also come as base64 bytes (``input_bytes``, ``output_bytes``), as in reports.
    """

    input: str
    status: SignStatus
    output: str | None = None
    media_type: str | None = None
    record: str | None = None
    signer: str | None = None
    time_stamp: str | None = None
    size: int | None = None
    error: str | None = None
    # What would get past the error (``provenance.errors.Remedy``), when something would.
    remedy: str | None = _omitted()
    manifest: str | None = _omitted()
    input_bytes: str | None = _omitted()
    output_bytes: str | None = _omitted()

    @classmethod
    def make(cls, given: str | Path, output: str | Path | None, **fields: Any) -> SignOutcome:
        """An outcome naming ``given`` and ``output`` exactly (bytes kept when not UTF-8)."""
        name, raw = path_fields(given)
        out, out_raw = path_fields(output) if output is not None else (None, None)
        return cls(name, output=out, input_bytes=raw, output_bytes=out_raw, **fields)

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.metadata.get("omit_if_none"):
                continue
            found[field.name] = value.value if isinstance(value, enum.Enum) else value
        return found
