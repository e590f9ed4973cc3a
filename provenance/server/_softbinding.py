"""The C2PA Soft Binding Resolution API (its OpenAPI document 1.0.0) over the manifest
repository.

``manifestId`` is the manifest label (``urn:c2pa:...``); matches are exact (a watermark
payload either decodes or not), so ``similarityScore`` is always 100. A match's
``endpoint`` is the configured public address (``ServerSettings.public_url``), else the
address the request came in on (the listening socket's): never the client's ``Host``
header, which any client sets as it likes.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from provenance.credentials import jumbf
from provenance.credentials.softbinding import SoftBinding
from provenance.errors import JumbfError
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
_MAX_RESULTS = Query(
    alias="maxResults", ge=1, le=100, description="The most manifest identifiers returned."
)
_ALG = "The soft binding algorithm's name, from the C2PA soft binding algorithm list."
_VALUE = "The soft binding's value, base64 as in the manifest's soft-binding assertion."


class BindingQuery(BaseModel):
    """``c2pa.softBindingQuery``: the body of ``POST /matches/byBinding``."""

    alg: str = Field(min_length=1, max_length=200, description=_ALG)
    value: str = Field(min_length=1, max_length=65536, description=_VALUE)


def softbinding_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["soft binding resolution"])
    public_url = services.settings.public_url

    def endpoint(request: Request) -> str | None:
        """Where these manifests are fetched: the configured address, else the one the
        request came in on (None on a socket without one: the same endpoint, per the spec)."""
        if public_url is not None:
            return public_url
        server = request.scope.get("server")
        if not server or server[1] is None:
            return None
        host, port = server
        host = f"[{host}]" if ":" in host else host
        return f"{request.url.scheme}://{host}:{port}"

    def matches(records: list[Record], request: Request, limit: int) -> dict[str, Any]:
        where = endpoint(request)
        found: list[dict[str, Any]] = []
        for record in records:
            if len(found) == limit:
                break
            if any(m["manifestId"] == record.manifest_label for m in found):
                continue
            match = {"manifestId": record.manifest_label, "similarityScore": 100}
            found.append(match if where is None else {**match, "endpoint": where})
        return {"matches": found}

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
        "/matches/byBinding",
        response_model=schemas.Matches,
        responses=schemas.responses(None, 422, 503, 504),
    )
    async def by_large_binding(
        request: Request,
        query: Annotated[BindingQuery, Body()],
        max_results: Annotated[int, _MAX_RESULTS] = 10,
    ) -> dict[str, Any]:
        """``GET /matches/byBinding`` for a value too long for a URL: ``alg`` and
        ``value`` in a JSON body."""
        found = await services.workers.run(lambda: repository_records(query.alg, query.value))
        return matches(found, request, max_results)

    @router.post(
        "/matches/byContent",
        response_model=schemas.Matches,
        openapi_extra=schemas.UPLOAD_BODY,
        responses=schemas.responses(None, 408, 413, 415, 422, 503, 504),
    )
    async def by_content(
        request: Request,
        alg: Annotated[Algorithm | None, Query(description="Only this watermark.")] = None,
        max_results: Annotated[int, _MAX_RESULTS] = 10,
        hint_alg: Annotated[
            str | None,
            Query(alias="hintAlg", min_length=1, max_length=200, description=_ALG),
        ] = None,
        hint_value: Annotated[
            str | None,
            Query(alias="hintValue", min_length=1, max_length=4096, description=_VALUE),
        ] = None,
    ) -> dict[str, Any]:
        """Detect our watermark in the upload and return the manifests it points to;
        ``hintAlg``/``hintValue``, a soft binding the client read itself, add the manifests
        it names (after those the content gave)."""
        if (hint_alg is None) != (hint_value is None):
            raise ApiError(422, "hintAlg and hintValue go together")
        async with upload_of(
            request,
            services.settings.max_upload_bytes,
            services.settings.request_timeout_seconds,
        ) as upload:
            data = upload.read()
        check_media(data)

        def job() -> list[Record]:
            found = detected()
            if hint_alg is not None and hint_value is not None:
                found += repository_records(hint_alg, hint_value)
            return found

        def detected() -> list[Record]:
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
        return_active_manifest: Annotated[
            bool,
            Query(
                alias="returnActiveManifest",
                description="Only the active manifest (a manifest store holding it alone); "
                "by default the whole store.",
            ),
        ] = False,
    ) -> Response:
        """The signed manifest store (JUMBF) by its label, or its active manifest."""

        def job() -> Record | None:
            return services.repository.get_by_label(manifest_id) if services.repository else None

        record = await services.workers.run(job)
        if record is None:
            raise ApiError(404, "no manifest with that id")
        store = record.manifest
        if return_active_manifest:
            store = active_manifest(store, record.manifest_label)
        return Response(store, media_type="application/c2pa")

    @router.get("/services/supportedAlgorithms", response_model=schemas.SupportedAlgorithms)
    def supported() -> dict[str, Any]:
        """The soft-binding algorithms this service resolves."""
        return {"watermarks": [{"alg": alg} for alg in SUPPORTED], "fingerprints": []}

    return router


def active_manifest(store: bytes, label: str) -> bytes:
    """A manifest store holding only the manifest ``label`` of ``store`` (the active one;
    the ingredients' manifests left out), byte for byte as it was signed."""
    try:
        parsed = jumbf.parse_superbox(store)
    except JumbfError:
        raise ApiError(500, "the stored manifest store cannot be read") from None
    kinds = (jumbf.MANIFEST, jumbf.UPDATE_MANIFEST)
    manifests = [box for box in parsed.superboxes() if box.uuid in kinds]
    chosen = next((box for box in manifests if box.label == label), None)
    if chosen is None:
        raise ApiError(500, "the stored manifest store does not hold its active manifest")
    return jumbf.superbox(parsed.uuid, parsed.label, [jumbf.serialise(chosen)])
