"""The validation vocabulary: c2pa-rs's three states, the failure codes the verdict uses,
and the one rule for what failure codes do to credentials (``breaks``, ``state_of``).

Every module compares against these names, never against bare strings, and every reader
(image, audio and video through c2pa-rs, text, ingredients, an edit's parent) and the
verdict judge codes through ``state_of`` (docs/design.md, "Verdicts").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final


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


# c2pa-rs adds this failure whenever no anchor matches; it is what separates
# "valid" from "trusted", not a defect of the manifest.
UNTRUSTED: Final = "signingCredential.untrusted"
# Added by this toolkit when the signing certificate was revoked in the key store.
REVOKED: Final = "signingCredential.revoked"
MALFORMED: Final = "manifest.malformed"
# What the toolkit says when the validator failed a store without a code that breaks it.
INGREDIENT_FAILED: Final = "ingredient.failed"
VALIDATION_FAILED: Final = "validation.failed"
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
# Failures that say who is trusted here, not that the credentials are broken: the
# signer's certificate, and a time-stamp that does not count as a time (c2pa-rs logs
# those as informational and judges the certificate now). Any ``*.untrusted`` code
# (a CAWG identity's signer, for one) is of the same sort.
TRUST_ONLY: Final = frozenset({UNTRUSTED, *TST_PROBLEMS})


def breaks(code: str) -> bool:
    """Whether a failure code says the credentials are broken, rather than who trusts
    them (an untrusted signer, CAWG identity or time-stamping authority)."""
    return code not in TRUST_ONLY and not code.endswith(".untrusted")


def signer_trusted(codes: Iterable[str], reported: ValidationState | None = None) -> bool:
    """Whether whoever vouches for the manifest is trusted here: no code says a signer
    is not (``signingCredential.untrusted``, a CAWG identity's ``*.untrusted``; a
    time-stamp's authority only decides whether its time counts), and the validator did
    not call the store ``Valid``."""
    return reported is not ValidationState.VALID and not any(map(_distrusts, codes))


def _distrusts(code: str) -> bool:
    return not breaks(code) and code not in TST_PROBLEMS


def state_of(codes: Iterable[str], reported: ValidationState | None = None) -> ValidationState:
    """The state failure codes leave, for every reader and the verdict alike.

    ``Invalid`` when a code breaks the credentials; else ``Valid`` when a signer is not
    trusted here (``signer_trusted``); else ``Trusted``: c2pa-rs's own reading of its
    codes (a time-stamp problem is informational there), applied where c2pa-rs does not
    give the state (text, whose binding is checked here; ingredients; the verdict).
    ``reported``: the validator's own state for the same store, when it judged it (None:
    the codes alone decide). It can only lower the state: a store it called ``Invalid``
    stays ``Invalid`` (c2pa-rs does so for an ingredient that fails now, with nothing
    but ``signingCredential.untrusted`` among the active manifest's codes), one it
    called ``Valid`` is never ``Trusted``.
    """
    found = set(codes)
    if reported is ValidationState.INVALID or any(map(breaks, found)):
        return ValidationState.INVALID
    return ValidationState.TRUSTED if signer_trusted(found, reported) else ValidationState.VALID


def failures_of(
    codes: Iterable[str],
    reported: ValidationState | None = None,
    ingredient_codes: Iterable[str] = (),
) -> tuple[str, ...]:
    """Why credentials fail, by the rule of ``state_of``: the codes that break them (a
    binding mismatch included), in order; when the validator called them ``Invalid``
    without such a code, ``ingredient.failed`` (an ingredient fails now: c2pa-rs's
    deltas, ``ingredient_codes``) or ``validation.failed``. Empty: they hold. The verdict
    (``verify.verdict.assess``) and the check of an edit's parent both ask this."""
    found = tuple(dict.fromkeys(code for code in codes if breaks(code)))
    if found or reported is not ValidationState.INVALID:
        return found
    return (INGREDIENT_FAILED if any(True for _ in ingredient_codes) else VALIDATION_FAILED,)
