"""Response models and request-body descriptions for the OpenAPI document."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel

from provenance import report

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file: a multipart field named `file`, or the raw body.",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
                }
            },
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary", "minLength": 1}
            },
        },
    }
}

_WHY = {
    401: "No bearer token",
    403: "The token is not valid here",
    404: "Not found",
    408: "Upload not received in time",
    413: "Upload over the size limit",
    415: "Not a supported image, text, audio or video type",
    422: "Bad input",
    503: "Busy, or signing not configured",
    504: "Processing took too long",
}


class Error(BaseModel):
    error: str


class Health(BaseModel):
    status: str
    version: str
    signing: bool


@dataclasses.dataclass(frozen=True)
class VerifyResponse(report.Report):
    """The report of ``provenance.report`` (the one definition), plus the manifest store
    when ``include_manifest`` asks for it."""

    manifest: dict[str, Any] | None = None


# The OpenAPI schema of the report comes from the library's dataclasses themselves.
Report = VerifyResponse


class Match(BaseModel):
    manifestId: str  # the C2PA API spells it so
    endpoint: str | None = None
    similarityScore: int | None = None


class Matches(BaseModel):
    matches: list[Match]


class Algorithm(BaseModel):
    alg: str


class SupportedAlgorithms(BaseModel):
    watermarks: list[Algorithm]
    fingerprints: list[Algorithm]


def responses(ok: type[Any] | None, *errors: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route: its 200 model and its error statuses."""
    found: dict[int | str, dict[str, Any]] = {}
    if ok is not None:
        found[200] = {"model": ok}
    for status in errors:
        found[status] = {"model": Error, "description": _WHY[status]}
    return found
