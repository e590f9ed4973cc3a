"""The HTTP API and the moderator page: ``create_app(settings)``.

Endpoints: ``POST /v1/verify`` (the JSON report of docs/design.md), ``POST /v1/sign`` (bearer
token), the C2PA Soft Binding Resolution API over the repository (``/matches/...``,
``/manifests/{id}``, ``/services/supportedAlgorithms``), ``GET /healthz`` and the page
at ``/``. Every error is ``{"error": "..."}``. With ``settings.access_log``, every request
is one line on the ``ACCESS_LOGGER`` logger (docs/server.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provenance._internal.text import safe_text
from provenance._version import __version__
from provenance.server import _schemas as schemas
from provenance.server._services import Services, check_media, check_media_file
from provenance.server._softbinding import softbinding_router
from provenance.server._uploads import upload_of
from provenance.server.errors import ApiError
from provenance.server.settings import ServerSettings
from provenance.signing.sign import Signed

log = logging.getLogger(__name__)
#: The logger of the access log: one INFO line per request.
ACCESS_LOGGER = "provenance.server.access"
_access = logging.getLogger(ACCESS_LOGGER)

_STATIC = files("provenance.server") / "static"
# Defence in depth for the page: only our own scripts and styles, no inline code, no framing;
# audio and video previews play the moderator's own file through a blob: URL.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
_bearer = HTTPBearer(auto_error=False, description="A token made with `create_token`.")


def create_app(settings: ServerSettings) -> FastAPI:
    """The ASGI app; the verifier, signer and repository are built here, once."""
    services = Services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.workers.shutdown()
        if services.signer is not None:
            services.signer.close()

    app = FastAPI(
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN; the document itself stays
        # at /openapi.json and the server makes no outside requests.
        docs_url=None,
        redoc_url=None,
        title="provenance-toolkit",
        version=__version__,
        description="Verify and sign AI-generated images and text (C2PA Content "
        "Credentials, invisible watermarks); C2PA Soft Binding Resolution API.",
    )
    app.state.services = services
    if settings.access_log:
        app.add_middleware(AccessLog)
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(_STATIC)), name="static")
    app.include_router(softbinding_router(services))

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(
            (_STATIC / "index.html").read_text(encoding="utf-8"), headers=_PAGE_HEADERS
        )

    @app.get("/healthz", response_model=schemas.Health, tags=["service"])
    def healthz() -> dict[str, Any]:
        """Liveness, and whether this server signs."""
        return {"status": "ok", "version": __version__, "signing": services.signer is not None}

    @app.post(
        "/v1/verify",
        tags=["verify"],
        openapi_extra=schemas.UPLOAD_BODY,
        responses=schemas.responses(schemas.Report, 408, 413, 415, 422, 503, 504),
    )
    async def verify(
        request: Request,
        include_manifest: Annotated[
            bool, Query(description="Also return the full manifest store as `manifest`.")
        ] = False,
    ) -> JSONResponse:
        """One verdict for the uploaded file (multipart field `file`, or the raw body)."""
        async with upload_of(
            request, settings.max_upload_bytes, settings.request_timeout_seconds
        ) as upload:
            check_media_file(upload.path)
            name = upload.filename[:1024] or "-"

            def job() -> dict[str, Any]:
                # From the upload's file, as `provenance verify` reads a file: audio and
                # video are streamed to c2pa-rs, never read whole.
                # A name without an extension (or none: the raw body) suggests no type.
                report = services.verifier.verify_path(upload.path, named=bool(upload.path.suffix))
                body = dataclasses.replace(report, path=name, path_bytes=None).to_json()
                if include_manifest:
                    body["manifest"] = services.manifest_json(upload.path)
                return body

            return JSONResponse(await services.workers.run(job))

    @app.post(
        "/v1/sign",
        tags=["sign"],
        openapi_extra=schemas.UPLOAD_BODY,
        responses={
            200: {
                "description": "The signed file, in the upload's format",
                "content": {"application/octet-stream": {}},
            },
            **schemas.responses(None, 401, 403, 408, 413, 415, 422, 503, 504),
        },
    )
    async def sign(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        model: Annotated[str | None, Query(max_length=200)] = None,
        model_version: Annotated[str | None, Query(max_length=100)] = None,
        watermark: Annotated[bool, Query()] = True,
    ) -> Response:
        """Watermark and sign the upload as AI-generated with the server's identity;
        ``watermark=false`` signs with C2PA alone (no record id, nothing stored)."""
        if credentials is None:
            raise ApiError(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        client = settings.token_name(credentials.credentials)
        if client is None:
            raise ApiError(403, "the token is not valid here")
        if services.signer is None:
            raise ApiError(503, services.sign_unavailable)
        if model_version and not model:
            raise ApiError(422, "model_version needs model")
        async with upload_of(
            request, settings.max_upload_bytes, settings.request_timeout_seconds
        ) as upload:
            data = upload.read()  # signed in memory, within the upload limit
        kind, _ = check_media(data)
        signer = services.signer

        def job() -> Signed:
            return signer.sign(
                data, model=model, model_version=model_version, watermark=watermark, client=client
            )

        signed = await services.workers.run(job)
        record = f"{signed.record_id:016x}" if signed.record_id is not None else ""
        return Response(
            signed.data,
            media_type=kind.content_type(signed.media_type),
            headers={"X-Provenance-Record": record},
        )

    return app


class AccessLog:
    """One line per HTTP request: ``METHOD PATH STATUS BYTES bytes MS ms``.

    Only these: the path without its query (a query may carry a model name), the response
    body's size, the time to the last byte. Never the upload, a header or a token. A
    request whose handler raised is logged as 500 (the error page is sent further out).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        size = 0

        async def counting(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            _access.info(
                "%s %s %d %d bytes %.1f ms",
                safe_text(scope.get("method", "-"), 32),
                safe_text(scope.get("path", "") or "/", 1024),
                status,
                size,
                (time.perf_counter() - started) * 1000,
            )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, exc.status, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors()
        ]
        return JSONResponse({"error": "; ".join(problems) or "invalid request"}, 422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal error"}, 500)
