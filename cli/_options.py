"""Options that several commands share, declared once (pip's ``cmdoptions`` habit).

Each is an ``Annotated`` type a command picks for its parameter, so a flag has one name,
one help text and one meaning wherever it appears (docs/design.md, "CLI contract").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TrustAnchors = Annotated[
    list[Path] | None,
    typer.Option(
        "--trust-anchors", metavar="PEM", help="PEM file of extra trust anchors (repeatable)."
    ),
]
TrustConfig = Annotated[
    Path | None,
    typer.Option(
        "--trust-config", metavar="FILE", help="File of accepted signer EKU OIDs, one a line."
    ),
]
AllowedList = Annotated[
    list[Path] | None,
    typer.Option(
        "--allowed-list",
        metavar="PEM",
        help="PEM file of signing (end-entity) certificates trusted alone (repeatable).",
    ),
]
Repository = Annotated[
    str | None,
    typer.Option(
        "--repository",
        metavar="LOC",
        help="Manifest repository: a SQLite path or a postgresql:// URL (default: "
        "HOME/repository.sqlite).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (a list for several inputs).")]
# The watermark key has one name everywhere (`--key` is its short form in every command).
WatermarkKey = Annotated[
    str | None,
    typer.Option(
        "--watermark-key",
        "--key",
        "-k",
        metavar="NAME",
        help="Watermark key to mark with (default: the store's default key); detection "
        "without it tries every key of the store.",
    ),
]
