"""Invisible watermarks: keyed marks that identify AI-generated media without metadata.

``provenance.watermark.image`` marks and detects images; see its docstring for the design.
"""

from __future__ import annotations

__all__: list[str] = []
