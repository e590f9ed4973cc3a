"""The validation vocabulary: c2pa-rs's three states and the failure codes the verdict uses.

Every module compares against these names, never against bare strings
(docs/design.md, "Verdicts").
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "HARD_BINDING_MISMATCHES",
    "MALFORMED",
    "REVOKED",
    "TST_PROBLEMS",
    "TST_TRUSTED",
    "UNTRUSTED",
    "ValidationState",
]


class ValidationState(enum.StrEnum):
    """What c2pa-rs (or the text reader) concluded about a manifest store."""

    TRUSTED = "Trusted"
    VALID = "Valid"
    INVALID = "Invalid"

    @classmethod
    def parse(cls, value: object) -> ValidationState:
        """c2pa-rs's state string; anything unknown is ``INVALID`` (never more trust)."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.INVALID

    @classmethod
    def of_failures(cls, codes: frozenset[str] | set[str]) -> ValidationState:
        """The state a set of failure codes leaves: none, only untrusted, or worse."""
        if not codes:
            return cls.TRUSTED
        return cls.VALID if codes == {UNTRUSTED} else cls.INVALID


# c2pa-rs adds this failure whenever no anchor matches; it is what separates
# "valid" from "trusted", not a defect of the manifest.
UNTRUSTED: Final = "signingCredential.untrusted"
# Added by this toolkit when the signing certificate was revoked in the key store.
REVOKED: Final = "signingCredential.revoked"
MALFORMED: Final = "manifest.malformed"
# The hard binding no longer matches the content: the bytes differ from what was signed.
HARD_BINDING_MISMATCHES: Final = frozenset(
    {
        "assertion.dataHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.collectionHash.mismatch",
    }
)
# c2pa-rs's time-stamp results: trusted (its time counts), or a problem (it does not).
TST_TRUSTED: Final = "timeStamp.trusted"
TST_PROBLEMS: Final = frozenset(
    {
        "timeStamp.untrusted",
        "timeStamp.mismatch",
        "timeStamp.malformed",
        "timeStamp.outsideValidity",
    }
)
