"""Sign a file: check paths first, then build the AI manifest, sign, write atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any

from provenance._internal.fs import atomic_write_bytes, check_paths
from provenance.credentials.manifest import AIContent, manifest_definition
from provenance.credentials.sign import ManifestSigner
from provenance.credentials.softbinding import (
    SoftBinding,
    soft_binding_assertion,
    watermarked_action,
)
from provenance.credentials.text import embed_text_manifest, find_wrapper
from provenance.errors import InputError, OutputExists, UnsupportedMedia, UsageError
from provenance.imaging import WRITABLE_FORMATS, decode_image, encode_like
from provenance.media import (
    IMAGE_TYPES,
    TEXT_TYPES,
    Limits,
    check_image_header,
    decode_text,
    extension_mismatch,
    sniff,
)
from provenance.repository import Record, Repository
from provenance.watermark.image import ALGORITHM as IMAGE_ALGORITHM
from provenance.watermark.image import WatermarkSecret, embed
from provenance.watermark.text import ALGORITHM as TEXT_ALGORITHM
from provenance.watermark.text import embed_payload

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


@dataclasses.dataclass(frozen=True)
class Asset:
    """An input that was read and checked: its bytes and sniffed media type."""

    data: bytes
    media_type: str
    path: Path | None = None

    @property
    def is_text(self) -> bool:
        return self.media_type in TEXT_TYPES


def load_asset(data: bytes, *, limits: Limits = Limits(), path: Path | None = None) -> Asset:
    """Check that ``data`` is an image or UTF-8 text we can sign, within the limits."""
    if not data:
        raise UnsupportedMedia("empty file")
    if len(data) > limits.max_file_bytes:
        raise InputError(f"larger than the {limits.max_file_bytes:,}-byte limit")
    media_type = sniff(data[:512])
    if media_type in TEXT_TYPES:
        decode_text(data, limits)
    elif media_type in IMAGE_TYPES:
        check_image_header(data, media_type, limits)
    else:
        raise UnsupportedMedia("not a supported image or text type")
    return Asset(data, media_type, path)


def read_asset(source: Path, *, limits: Limits = Limits()) -> Asset:
    """Read and check a file; errors name the file."""
    try:
        if source.stat().st_size > limits.max_file_bytes:
            raise InputError(f"{source}: larger than the {limits.max_file_bytes:,}-byte limit")
        data = source.read_bytes()
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
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
    """Sign a checked asset.

    With ``watermarking``: reserve a record id, embed it as the watermark payload, then
    sign, so the hard binding covers the watermarked pixels; the manifest records the
    watermark (``c2pa.watermarked``, ``c2pa.soft-binding``) and is stored under the id.
    """
    if asset.is_text:
        return _sign_text(asset, signer, content, watermarking)
    if watermarking is None:
        definition = manifest_definition(content, asset.media_type)
        signed, manifest = signer.embed_with_manifest(asset.data, asset.media_type, definition)
        return Signed(signed, asset.media_type, manifest, None)
    source = decode_image(asset.data, str(asset.path or "input"))
    if source.format not in WRITABLE_FORMATS:
        raise UnsupportedMedia(
            f"cannot watermark {asset.media_type} images and write them back in kind; "
            "sign without a watermark (--no-watermark) or convert to PNG, JPEG, WebP or TIFF"
        )
    record_id = watermarking.repository.reserve_id()
    payload = record_id.to_bytes(8, "big")
    marked = encode_like(embed(source.image, payload, watermarking.secret), source)
    binding = SoftBinding.for_payload(IMAGE_ALGORITHM, payload)
    definition = _watermarked_definition(content, asset.media_type, binding)
    signed, manifest = signer.embed_with_manifest(marked, asset.media_type, definition)
    _store(watermarking, record_id, manifest, definition["label"], binding, asset, signer)
    return Signed(signed, asset.media_type, manifest, record_id)


def _sign_text(
    asset: Asset, signer: ManifestSigner, content: AIContent, watermarking: Watermarking | None
) -> Signed:
    """Text: invisible payload first (when asked), then the C2PA text wrapper over it."""
    text = decode_text(asset.data)
    if find_wrapper(text) is not None:
        raise UsageError("the text already carries a C2PA manifest; sign the original text")
    if watermarking is None:
        definition = manifest_definition(content, asset.media_type)
        signed, manifest = embed_text_manifest(text, definition, signer.signer)
        return Signed(signed.encode("utf-8"), asset.media_type, manifest, None)
    record_id = watermarking.repository.reserve_id()
    payload = record_id.to_bytes(8, "big")
    marked = embed_payload(text, payload, watermarking.secret)
    binding = SoftBinding.for_payload(TEXT_ALGORITHM, payload)
    definition = _watermarked_definition(content, asset.media_type, binding)
    signed, manifest = embed_text_manifest(marked, definition, signer.signer)
    _store(watermarking, record_id, manifest, definition["label"], binding, asset, signer)
    return Signed(signed.encode("utf-8"), asset.media_type, manifest, record_id)


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
    """Sign a checked asset into ``output``; the output appears whole or not at all."""
    if output.exists() and not force:
        raise OutputExists(f"{output}: output already exists (use --force to replace it)")
    if content.title is None:
        content = dataclasses.replace(content, title=output.name)
    signed = sign_loaded(asset, signer, content, watermarking)
    if extension_mismatch(output, asset.media_type):
        log.warning("%s: output name does not match its content type %s", output, asset.media_type)
    atomic_write_bytes(output, signed.data)
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
