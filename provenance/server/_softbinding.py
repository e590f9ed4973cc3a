"""The C2PA Soft Binding Resolution API over the manifest repository.

``manifestId`` is the manifest label (``urn:c2pa:...``); matches are exact (a watermark
payload either decodes or not), so ``similarityScore`` is always 100.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from provenance.credentials.softbinding import SoftBinding
from provenance.kinds import mark_algorithms
from provenance.repository import Record
from provenance.server import _schemas as schemas
from provenance.server._services import Services, check_media
from provenance.server._uploads import upload_of
from provenance.server.errors import ApiError

SUPPORTED = tuple(mark_algorithms())
# The algorithms byContent detects, as an enum so the OpenAPI document lists them.
Algorithm = enum.StrEnum(  # type: ignore[misc]  # members come from the kinds registry
    "Algorithm", {f"ALG{i}": alg for i, alg in enumerate(SUPPORTED)}
)
_MAX_RESULTS = Query(alias="maxResults", ge=1, le=100)


def softbinding_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["soft binding resolution"])

    def matches(records: list[Record], request: Request, limit: int) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "matches": [
                {"manifestId": r.manifest_label, "endpoint": base, "similarityScore": 100}
                for r in records[:limit]
            ]
        }

    def repository_records(alg: str, value: str) -> list[Record]:
        if services.repository is None:
            return []
        return services.repository.find_by_binding(alg, value)

    @router.get(
        "/matches/byBinding",
        response_model=schemas.Matches,
        responses=schemas.responses(None, 422, 503, 504),
    )
    async def by_binding(
        request: Request,
        alg: Annotated[str, Query(min_length=1, max_length=200)],
        value: Annotated[str, Query(min_length=1, max_length=4096)],
        max_results: Annotated[int, _MAX_RESULTS] = 10,
    ) -> dict[str, Any]:
        """Manifests whose soft binding is exactly ``alg`` / ``value``."""
        found = await services.workers.run(lambda: repository_records(alg, value))
        return matches(found, request, max_results)

    @router.post(
        "/matches/byContent",
        response_model=schemas.Matches,
        openapi_extra=schemas.UPLOAD_BODY,
        responses=schemas.responses(None, 408, 413, 415, 422, 503, 504),
    )
    async def by_content(
        request: Request,
        alg: Annotated[Algorithm | None, Query()] = None,
        max_results: Annotated[int, _MAX_RESULTS] = 10,
    ) -> dict[str, Any]:
        """Detect our watermark in the upload and return the manifests it points to."""
        async with upload_of(
            request,
            services.settings.max_upload_bytes,
            services.settings.request_timeout_seconds,
        ) as upload:
            data = upload.read()
        check_media(data)

        def job() -> list[Record]:
            finding = services.verifier.find_mark(data)
            if not finding.found or finding.payload is None or finding.alg is None:
                return []
            if alg is not None and finding.alg != alg:
                return []
            binding = SoftBinding.for_payload(finding.alg, bytes.fromhex(finding.payload))
            return repository_records(binding.alg, binding.value)

        return matches(await services.workers.run(job), request, max_results)

    @router.get(
        "/manifests/{manifestId}",
        response_class=Response,
        responses={
            200: {"description": "The manifest store", "content": {"application/c2pa": {}}},
            **schemas.responses(None, 404, 422, 503, 504),
        },
    )
    async def manifest(
        manifest_id: Annotated[str, Path(alias="manifestId", min_length=1, max_length=512)],
    ) -> Response:
        """The signed manifest store (JUMBF) by its label."""

        def job() -> Record | None:
            return services.repository.get_by_label(manifest_id) if services.repository else None

        record = await services.workers.run(job)
        if record is None:
            raise ApiError(404, "no manifest with that id")
        return Response(record.manifest, media_type="application/c2pa")

    @router.get("/services/supportedAlgorithms", response_model=schemas.SupportedAlgorithms)
    def supported() -> dict[str, Any]:
        """The soft-binding algorithms this service resolves."""
        return {"watermarks": [{"alg": alg} for alg in SUPPORTED], "fingerprints": []}

    return router
