"""The API's one error shape: ``{"error": "..."}`` with an HTTP status."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """A request refused with ``status``; ``message`` is safe to show to the client."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
