"""Reading an upload (multipart ``file`` field or the raw body) within a size limit.

The upload is streamed to a temporary file of its own (mode 0600, in the system's
temporary folder), never held whole in memory: audio and video are then verified from
that file as `provenance verify` does. A multipart file part goes through Starlette's
parser, which spools a part over 1 MiB to a temporary file of its own, closed (and so
removed) before the upload is returned. The caller removes the upload's file
(``Upload.discard``) whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import IO

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from provenance.server.errors import ApiError

# Multipart framing (boundaries, part headers) on top of the file itself.
_FRAMING_ALLOWANCE = 16 * 1024
_COPY_CHUNK = 1024 * 1024
# The file name's extension the temporary file keeps, so that verify notes a name that
# suggests another type as it does for a file on disk.
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,12}")


@dataclasses.dataclass(frozen=True)
class Upload:
    """The uploaded content in its temporary file, and the name the client gave it."""

    path: Path
    filename: str
    size: int

    def read(self) -> bytes:
        """The content, whole (within the limit it was read under)."""
        return self.path.read_bytes()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


@contextlib.asynccontextmanager
async def upload_of(request: Request, limit: int, timeout: float) -> AsyncIterator[Upload]:
    """The upload, its file removed when the block ends; 413 over ``limit``, 422 when
    empty or malformed, 408 when the client takes longer than ``timeout`` seconds."""
    upload = await read_upload(request, limit, timeout)
    try:
        yield upload
    finally:
        upload.discard()


async def read_upload(request: Request, limit: int, timeout: float) -> Upload:
    """The upload in a temporary file (the caller discards it); errors as ``upload_of``."""
    try:
        async with asyncio.timeout(timeout):
            return await _read(request, limit)
    except TimeoutError:
        raise ApiError(408, f"upload not received within {timeout:g} s") from None


async def _read(request: Request, limit: int) -> Upload:
    ceiling = limit + _FRAMING_ALLOWANCE
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ceiling:
        raise _too_large(limit)
    body = _bounded(request.stream(), ceiling, limit)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _file_part(request, body, limit)
    handle, path = _temporary("")
    try:
        with handle:
            async for chunk in body:
                handle.write(chunk)
        return _checked(path, "-", limit)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


async def _bounded(
    chunks: AsyncIterator[bytes], ceiling: int, limit: int
) -> AsyncGenerator[bytes, None]:
    """The request body, refused (413) once it passes ``ceiling``."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > ceiling:
            raise _too_large(limit)
        yield chunk


async def _file_part(request: Request, body: AsyncGenerator[bytes, None], limit: int) -> Upload:
    parser = MultiPartParser(
        request.headers, body, max_files=1, max_fields=8, max_part_size=limit + 1
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(422, f"malformed multipart upload: {exc.message}") from None
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise ApiError(422, "a multipart upload needs its content in a field named 'file'")
        filename = part.filename or "-"
        found = _SUFFIX.fullmatch(Path(filename).suffix)
        handle, path = _temporary(found.group(0) if found else "")
        try:
            with handle:
                while chunk := await part.read(_COPY_CHUNK):
                    handle.write(chunk)
            return _checked(path, filename, limit)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    finally:
        await form.close()


def _temporary(suffix: str) -> tuple[IO[bytes], Path]:
    fd, name = tempfile.mkstemp(prefix="provenance-upload-", suffix=suffix)
    return os.fdopen(fd, "wb"), Path(name)


def _checked(path: Path, filename: str, limit: int) -> Upload:
    size = path.stat().st_size
    if size > limit:
        raise _too_large(limit)
    if not size:
        raise ApiError(422, "empty upload (0 bytes)")
    return Upload(path, filename, size)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"upload larger than the {limit:,}-byte limit")
