"""Sign a file: check paths first, then build the AI manifest, sign, write atomically."""

from __future__ import annotations

import dataclasses
import io
import logging
import warnings
from pathlib import Path

from PIL import Image

from provenance._internal.fs import atomic_write_bytes
from provenance.credentials.manifest import AIContent, manifest_definition
from provenance.credentials.sign import ManifestSigner
from provenance.errors import InputError, OutputExists, UnsupportedMedia, UsageError
from provenance.media import IMAGE_TYPES, Limits, extension_mismatch, sniff

__all__ = [
    "Asset",
    "SignResult",
    "check_paths",
    "load_asset",
    "read_asset",
    "sign_asset",
    "sign_bytes",
    "sign_file",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SignResult:
    """What was written."""

    output: Path
    media_type: str
    size: int
    signer: str


def check_paths(source: Path, output: Path, *, force: bool = False) -> None:
    """Refuse a bad input or output before any expensive work (or passphrase prompt)."""
    if not source.exists():
        raise InputError(f"{source}: no such file")
    if not source.is_file():
        raise InputError(f"{source}: not a regular file")
    if output.exists():
        if output.resolve() == source.resolve():
            raise UsageError(f"{output}: output is the input; the input is never modified")
        if not force:
            raise OutputExists(f"{output}: output already exists (use --force to replace it)")
        if output.is_dir():
            raise UsageError(f"{output}: output is a directory")
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: output directory does not exist")


@dataclasses.dataclass(frozen=True)
class Asset:
    """An input that was read and checked: its bytes and sniffed media type."""

    data: bytes
    media_type: str
    path: Path | None = None


def load_asset(data: bytes, *, limits: Limits = Limits(), path: Path | None = None) -> Asset:
    """Check that ``data`` is an image we can sign, within the limits."""
    if len(data) > limits.max_file_bytes:
        raise InputError(f"larger than the {limits.max_file_bytes:,}-byte limit")
    media_type = sniff(data[:512])
    if media_type not in IMAGE_TYPES:
        raise UnsupportedMedia("not a supported image type" if data else "empty file")
    _check_pixels(data, media_type, limits)
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


def sign_bytes(
    data: bytes,
    signer: ManifestSigner,
    content: AIContent,
    *,
    limits: Limits = Limits(),
) -> tuple[bytes, str]:
    """Signed copy of an image in the same format, and its media type."""
    asset = load_asset(data, limits=limits)
    definition = manifest_definition(content, asset.media_type)
    return signer.embed(asset.data, asset.media_type, definition), asset.media_type


def sign_asset(
    asset: Asset,
    output: Path,
    signer: ManifestSigner,
    content: AIContent,
    *,
    force: bool = False,
) -> SignResult:
    """Sign a checked asset into ``output``; the output appears whole or not at all."""
    if output.exists() and not force:
        raise OutputExists(f"{output}: output already exists (use --force to replace it)")
    if content.title is None:
        content = dataclasses.replace(content, title=output.name)
    definition = manifest_definition(content, asset.media_type)
    signed = signer.embed(asset.data, asset.media_type, definition)
    if extension_mismatch(output, asset.media_type):
        log.warning("%s: output name does not match its content type %s", output, asset.media_type)
    atomic_write_bytes(output, signed)
    return SignResult(output, asset.media_type, len(signed), signer.signer.identity)


def sign_file(
    source: Path,
    output: Path,
    signer: ManifestSigner,
    content: AIContent,
    *,
    force: bool = False,
    limits: Limits = Limits(),
) -> SignResult:
    """Sign ``source`` into ``output`` (never in place)."""
    check_paths(source, output, force=force)
    return sign_asset(read_asset(source, limits=limits), output, signer, content, force=force)


def _check_pixels(data: bytes, media_type: str, limits: Limits) -> None:
    """Refuse decompression bombs and undecodable headers before c2pa parses the file."""
    if media_type in ("image/svg+xml", "image/jxl", "image/heic", "image/heif"):
        return  # Pillow has no decoder for these here; c2pa-rs parses their structure.
    try:
        with warnings.catch_warnings():
            # Our own limit decides below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise InputError("image dimensions exceed the decoder's safety limit") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"not a readable {media_type} image ({exc})") from None
    if width * height > limits.max_pixels:
        raise InputError(f"{width}x{height} pixels exceeds the {limits.max_pixels:,}-pixel limit")
