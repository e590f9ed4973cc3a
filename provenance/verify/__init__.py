"""Judging a file: one verdict per input, and the report that says why.

``verifier`` is the I/O shell (reading, sidecars, watermark detection, repository look-up);
``observations``, ``verdict``, ``sentences`` and ``recovery`` are the pure core it asks
(docs/design.md, "Decision table"). May import: credentials, kinds, watermark, repository,
report, errors, _internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

if TYPE_CHECKING:
    from provenance.report import Report, Verdict
    from provenance.verify.verifier import Verifier, VerifyConfig

__all__ = ["Report", "Verdict", "Verifier", "VerifyConfig"]

__getattr__ = lazy_attributes(
    __name__,
    {
        "Report": "provenance.report",
        "Verdict": "provenance.report",
        "Verifier": "provenance.verify.verifier",
        "VerifyConfig": "provenance.verify.verifier",
    },
)
