"""Inputs and outputs as every command of the toolkit handles them.

Reading is bounded and only of regular files (``read_input``, ``read_stdin`` for ``-``);
an output appears whole or not at all and is never replaced without ``force``
(``check_output`` before the work, ``write_output`` after it); names and strings from files
are made safe before they reach a terminal (``safe_text``). docs/design.md ("Reading",
"Writing") is the contract.
"""

from __future__ import annotations

from provenance._internal.fs import check_output, read_input, read_stdin, write_output
from provenance._internal.text import safe_text

__all__ = ["check_output", "read_input", "read_stdin", "safe_text", "write_output"]
