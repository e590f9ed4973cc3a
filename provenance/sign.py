"""Sign a file: check paths first, then build the AI manifest, sign, write atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any

from provenance._internal.fs import check_output, check_paths, read_input, write_output
from provenance._internal.text import safe_text
from provenance.credentials.manifest import AIContent, manifest_definition
from provenance.credentials.sign import ManifestSigner
from provenance.credentials.softbinding import (
    SoftBinding,
    soft_binding_assertion,
    watermarked_action,
)
from provenance.errors import InputError, UnsupportedMedia
from provenance.kinds import Asset, load_asset
from provenance.media import Limits, extension_mismatch
from provenance.repository import Record, Repository
from provenance.watermark.image import WatermarkSecret

__all__ = [
    "Asset",
    "SignResult",
    "Signed",
    "Watermarking",
    "check_paths",
    "load_asset",
    "read_asset",
    "sign_asset",
    "sign_bytes",
    "sign_file",
    "sign_loaded",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SignResult:
    """What was written."""

    output: Path
    media_type: str
    size: int
    signer: str
    record_id: int | None = None  # the watermark payload, when watermarked


def read_asset(source: Path, *, limits: Limits = Limits()) -> Asset:
    """Read and check a file (a regular file, within the limits); errors name the file."""
    try:
        data = read_input(source, limits.max_file_bytes)
        return load_asset(data, limits=limits, path=source)
    except InputError as exc:
        raise type(exc)(f"{source}: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class Watermarking:
    """Where a signature's watermark comes from and where its manifest goes."""

    secret: WatermarkSecret
    repository: Repository


@dataclasses.dataclass(frozen=True)
class Signed:
    """A signed asset, its manifest store alone, and the record it was stored under."""

    data: bytes
    media_type: str
    manifest: bytes
    record_id: int | None


def sign_bytes(
    data: bytes,
    signer: ManifestSigner,
    content: AIContent,
    *,
    watermarking: Watermarking | None = None,
    limits: Limits = Limits(),
) -> Signed:
    """A signed copy of an image in its own format (watermarked first when asked)."""
    return sign_loaded(load_asset(data, limits=limits), signer, content, watermarking)


def sign_loaded(
    asset: Asset,
    signer: ManifestSigner,
    content: AIContent,
    watermarking: Watermarking | None = None,
) -> Signed:
    """Sign a checked asset, whatever its kind.

    With ``watermarking``: reserve a record id, embed it as the watermark payload, then
    sign, so the hard binding covers the marked content; the manifest records the
    watermark (``c2pa.watermarked``, ``c2pa.soft-binding``) and is stored under the id.
    """
    kind = asset.kind
    if watermarking is None:
        definition = manifest_definition(content, asset.media_type)
        signed, manifest = kind.embed_credentials(asset.data, asset.media_type, definition, signer)
        return Signed(signed, asset.media_type, manifest, None)
    alg = kind.mark_alg
    if alg is None:
        raise UnsupportedMedia(f"{asset.media_type} content has no watermark in this toolkit")
    mark = kind.marker(asset, watermarking.secret)  # refuses before a record id is taken
    record_id = watermarking.repository.reserve_id()
    payload = record_id.to_bytes(8, "big")
    marked = mark(payload)
    binding = SoftBinding.for_payload(alg, payload)
    definition = _watermarked_definition(content, asset.media_type, binding)
    signed, manifest = kind.embed_credentials(marked, asset.media_type, definition, signer)
    _store(watermarking, record_id, manifest, definition["label"], binding, asset, signer)
    return Signed(signed, asset.media_type, manifest, record_id)


def _watermarked_definition(
    content: AIContent, media_type: str, binding: SoftBinding
) -> dict[str, Any]:
    """The AI manifest plus the watermark's record, under a label we choose (for storage)."""
    definition = manifest_definition(
        content,
        media_type,
        extra_assertions=[soft_binding_assertion(binding)],
        extra_actions=[watermarked_action(binding.alg)],
    )
    definition["label"] = f"urn:c2pa:{uuid.uuid4()}"
    return definition


def _store(
    watermarking: Watermarking,
    record_id: int,
    manifest: bytes,
    label: str,
    binding: SoftBinding,
    asset: Asset,
    signer: ManifestSigner,
) -> None:
    watermarking.repository.put(
        Record(
            record_id=record_id,
            manifest=manifest,
            manifest_label=label,
            binding_alg=binding.alg,
            binding_value=binding.value,
            media_type=asset.media_type,
            signer=signer.signer.identity,
            created_at=dt.datetime.now(dt.UTC),
        )
    )


def sign_asset(
    asset: Asset,
    output: Path,
    signer: ManifestSigner,
    content: AIContent,
    *,
    watermarking: Watermarking | None = None,
    force: bool = False,
) -> SignResult:
    """Sign a checked asset into ``output``; the output appears whole or not at all.

    Without ``force`` an existing ``output`` is never replaced, even one that appears while
    signing (``OutputExists``); with it only a regular file is. Output errors are
    ``OutputError`` lines.
    """
    check_output(output, force=force)
    if content.title is None:
        content = dataclasses.replace(content, title=output.name)
    signed = sign_loaded(asset, signer, content, watermarking)
    if extension_mismatch(output, asset.media_type):
        log.warning(
            "%s: output name does not match its content type %s",
            safe_text(output, 4096),
            asset.media_type,
        )
    write_output(output, signed.data, force=force)
    return SignResult(
        output, asset.media_type, len(signed.data), signer.signer.identity, signed.record_id
    )


def sign_file(
    source: Path,
    output: Path,
    signer: ManifestSigner,
    content: AIContent,
    *,
    watermarking: Watermarking | None = None,
    force: bool = False,
    limits: Limits = Limits(),
) -> SignResult:
    """Sign ``source`` into ``output`` (never in place)."""
    check_paths(source, output, force=force)
    asset = read_asset(source, limits=limits)
    return sign_asset(asset, output, signer, content, watermarking=watermarking, force=force)
