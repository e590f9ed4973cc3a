"""Judging a file: one verdict per input, and the report that says why.

The I/O shell: ``verifier`` (reading, sidecars, watermark detection) and ``recovery``
(the repository look-up of a watermark's record). The pure core it asks, python-tuf's
way, with no I/O and no c2pa: ``facts`` (a validated manifest store to the facts),
``observations`` (those facts), ``verdict`` (the decision) and ``sentences`` (its words)
(docs/design.md, "Decision table"). May import: credentials, kinds, watermark,
repository, report, errors, _internal; the core only credentials' pure modules
(``status``, ``store``, ``softbinding``, ``markkey``, ``explain``, ``revocation``), report
and _internal.text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

if TYPE_CHECKING:
    from provenance.credentials.read import TrustSettings
    from provenance.report import Report, Verdict
    from provenance.verify.recovery import check_repository
    from provenance.verify.verdict import Requirement, meets
    from provenance.verify.verifier import Verifier, VerifyConfig

__all__ = [
    "Report",
    "Requirement",
    "TrustSettings",
    "Verdict",
    "Verifier",
    "VerifyConfig",
    "check_repository",
    "meets",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "check_repository": "provenance.verify.recovery",
        "Requirement": "provenance.verify.verdict",
        "meets": "provenance.verify.verdict",
        "TrustSettings": "provenance.credentials.read",
        "Report": "provenance.report",
        "Verdict": "provenance.report",
        "Verifier": "provenance.verify.verifier",
        "VerifyConfig": "provenance.verify.verifier",
    },
)
