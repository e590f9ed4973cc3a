"""Reading an upload (multipart ``file`` field or the raw body) within a size limit.

The body is read in memory up to the limit; a multipart file part larger than 1 MiB is
spooled by Starlette to a temporary file that is closed (and so removed) before the
request returns, whatever happens.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from provenance.server.errors import ApiError

# Multipart framing (boundaries, part headers) on top of the file itself.
_FRAMING_ALLOWANCE = 16 * 1024


@dataclasses.dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


async def read_upload(request: Request, limit: int, timeout: float) -> Upload:
    """The uploaded bytes; 413 over ``limit``, 422 when empty or malformed, 408 when the
    client takes longer than ``timeout`` seconds to send them."""
    try:
        async with asyncio.timeout(timeout):
            return await _read(request, limit)
    except TimeoutError:
        raise ApiError(408, f"upload not received within {timeout:g} s") from None


async def _read(request: Request, limit: int) -> Upload:
    ceiling = limit + _FRAMING_ALLOWANCE
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ceiling:
        raise ApiError(413, f"upload larger than the {limit:,}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > ceiling:
            raise ApiError(413, f"upload larger than the {limit:,}-byte limit")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        data, filename = await _file_part(request, bytes(body), limit)
    else:
        data, filename = bytes(body), "-"
    if len(data) > limit:
        raise ApiError(413, f"upload larger than the {limit:,}-byte limit")
    if not data:
        raise ApiError(422, "empty upload (0 bytes)")
    return Upload(data, filename)


async def _file_part(request: Request, body: bytes, limit: int) -> tuple[bytes, str]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        request.headers, stream(), max_files=1, max_fields=8, max_part_size=limit + 1
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(422, f"malformed multipart upload: {exc.message}") from None
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise ApiError(422, "a multipart upload needs its content in a field named 'file'")
        data = await part.read(limit + 1)
        return data, part.filename or "-"
    finally:
        await form.close()
