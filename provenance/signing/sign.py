"""Sign a file: check paths first, then build the AI manifest, sign, write atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from provenance._internal.fs import (
    check_output,
    check_paths,
    open_input,
    output_error,
    read_opened,
    write_output,
    write_output_from,
)
from provenance._internal.text import safe_text
from provenance.credentials.manifest import AIContent, Parent, RecoveredStore, manifest_definition
from provenance.credentials.markkey import KEY_ID_PARAMETER, mark_key_id
from provenance.credentials.read import sidecar_path
from provenance.credentials.sign import ManifestSigner, edit_parent
from provenance.credentials.softbinding import (
    SoftBinding,
    soft_binding_assertion,
    watermarked_action,
)
from provenance.errors import InputError, UsageError
from provenance.kinds import Asset, load_asset, open_content, size_limit, streamed
from provenance.kinds.media import Limits, extension_mismatch
from provenance.repository import Record, Repository
from provenance.watermark import MarkEngine, WatermarkSecret, streaming

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
    """Read and check a file (a regular file, within its kind's limit); errors name it.

    Audio and video are checked on disk and not read (``Asset.on_disk``): they are signed
    from a stream. Other kinds are read whole.
    """
    try:
        return open_asset(source, limits=limits)
    except InputError as exc:
        raise exc.about(source) from exc


def open_asset(source: Path, *, limits: Limits = Limits()) -> Asset:
    """``read_asset`` whose errors do not name the file (a batch outcome names it)."""
    with open_content(source, limits) as (kind, media_type, handle):
        stream_kind = streamed(kind)
        if stream_kind is None:
            data = read_opened(handle, limits.max_file_bytes)
            return load_asset(data, limits=limits, path=source)
        stream_kind.check_stream(handle, media_type, limits)
        return Asset(None, media_type, kind, source, limits)


@dataclasses.dataclass(frozen=True)
class Watermarking:
    """Where a signature's watermark comes from and where its manifest goes."""

    secret: WatermarkSecret
    repository: Repository


@dataclasses.dataclass(frozen=True)
class _Marking:
    """A watermark that will be embedded: the kind's engine and where it comes from."""

    engine: MarkEngine
    watermarking: Watermarking

    def payload(self) -> tuple[int, bytes]:
        """A record id reserved in the repository, and the payload that carries it."""
        record_id = self.watermarking.repository.reserve_id()
        return record_id, record_id.to_bytes(8, "big")


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
    parent: Asset | None = None,
    *,
    keep_invalid_history: bool = False,
    sidecar: bool = False,
    recovered: RecoveredStore | None = None,
) -> Signed:
    """Sign a checked asset, whatever its kind.

    ``sidecar``: the manifest store is not embedded; ``Signed.data`` is the content as it
    is (watermarked when asked) and ``Signed.manifest`` goes beside it as ``NAME.c2pa``.

    With ``watermarking``: reserve a record id, embed it as the watermark payload, then
    sign, so the hard binding covers the marked content; the manifest records the
    watermark (``c2pa.watermarked``, ``c2pa.soft-binding``) and is stored under the id.

    An edit records what it was made from as its ``parentOf`` ingredient: ``parent``, or
    else the asset itself when it already carries credentials (nothing is dropped). A
    parent whose manifest fails validation is refused (``InvalidParent``) unless
    ``keep_invalid_history`` records it as an invalid ingredient. ``recovered``: the
    credentials ``parent`` has through its watermark (``Verifier.recover``), recorded as
    its ingredient's when it carries none.
    """
    kind = asset.kind
    if sidecar and not kind.sidecars:
        raise UsageError(f"{kind.name} content keeps its manifest in itself; it has no sidecar")
    marking = _mark_for(asset, watermarking)
    edit = edit_parent(
        asset, signer, parent, keep_invalid=keep_invalid_history, recovered=recovered
    )

    def embed(data: bytes, definition: dict[str, Any]) -> tuple[bytes, bytes]:
        if sidecar:  # c2pa-rs signs every kind that has sidecars
            return signer.embed_with_manifest(data, asset.media_type, definition, embed=False)
        return kind.embed_credentials(data, asset.media_type, definition, signer)

    if marking is None:
        definition = manifest_definition(content, asset.media_type, parent=edit)
        signed, manifest = embed(asset.data, definition)
        return Signed(signed, asset.media_type, manifest, None)
    engine, secret = marking.engine, marking.watermarking.secret
    # The marker refuses what it cannot mark before a record id is taken.
    mark = engine.marker(asset.data, asset.media_type, secret, asset.limits, _name(asset))
    record_id, payload = marking.payload()
    marked = mark(payload)
    binding = SoftBinding.for_payload(engine.alg, payload)
    definition = _watermarked_definition(
        content, asset.media_type, binding, edit, mark_key_id(secret.key)
    )
    signed, manifest = embed(marked, definition)
    _store(marking.watermarking, record_id, manifest, definition["label"], binding, asset, signer)
    return Signed(signed, asset.media_type, manifest, record_id)


def check_sidecar_output(output: Path, *, force: bool) -> Path:
    """The sidecar ``output`` would get (``sidecar_path``), refused as an output is: it
    exists without ``force``, or it would be ``output`` itself."""
    manifest_file = sidecar_path(output)
    if manifest_file == Path(output):
        raise UsageError(f"{output}: the content cannot be named like its .c2pa sidecar")
    check_output(manifest_file, force=force)
    return manifest_file


def write_signed(output: Path, signed: Signed, *, force: bool, sidecar: bool = False) -> None:
    """Write signed content to ``output`` whole or not at all; with ``sidecar`` its
    manifest store goes beside it first, and is removed again when the content cannot be
    written: never a sidecar without its content."""
    if not sidecar:
        write_output(output, signed.data, force=force)
        return
    manifest_file = sidecar_path(output)
    write_output(manifest_file, signed.manifest, force=force)
    try:
        write_output(output, signed.data, force=force)
    except BaseException:
        manifest_file.unlink(missing_ok=True)
        raise


def _mark_for(
    asset: Asset, watermarking: Watermarking | None, output: Path | None = None
) -> _Marking | None:
    """The kind's engine with ``watermarking``; None when no watermark is asked for, or
    for a kind without a mark engine: what a user asking for the default expects of a
    song or a film is its credentials, and to be told there is no mark (docs/design.md,
    "Media kinds")."""
    if watermarking is None:
        return None
    engine = asset.kind.mark
    if engine is not None:
        return _Marking(engine, watermarking)
    name = safe_text(asset.path or output or "the input", 4096)
    log.warning(
        "%s: %s content has no watermark in this toolkit; signed with C2PA alone",
        name,
        asset.kind.name,
    )
    return None


def _watermarked_definition(
    content: AIContent,
    media_type: str,
    binding: SoftBinding,
    parent: Parent | None = None,
    key_id: str | None = None,
) -> dict[str, Any]:
    """The AI manifest plus the watermark's record, under a label we choose (for storage).
    ``key_id``: which watermark key made the mark (``credentials.markkey``)."""
    action = watermarked_action(binding.alg)
    if key_id is not None:
        action["parameters"][KEY_ID_PARAMETER] = key_id
    definition = manifest_definition(
        content,
        media_type,
        extra_assertions=[soft_binding_assertion(binding)],
        extra_actions=[action],
        parent=parent,
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
    parent: Asset | None = None,
    keep_invalid_history: bool = False,
    sidecar: bool = False,
    recovered: RecoveredStore | None = None,
) -> SignResult:
    """Sign a checked asset into ``output``; the output appears whole or not at all.

    Without ``force`` an existing ``output`` is never replaced, even one that appears while
    signing (``OutputExists``); with it only a regular file is. Output errors are
    ``OutputError`` lines. ``parent`` and ``keep_invalid_history``: see ``sign_loaded``.
    ``sidecar``: the manifest store goes to ``sidecar_path(output)``, the content to
    ``output`` without it; both appear or neither does.
    """
    check_output(output, force=force)
    if sidecar:
        check_sidecar_output(output, force=force)
    if content.title is None:
        content = dataclasses.replace(content, title=output.name)
    marking = _mark_for(asset, watermarking, output)
    if asset.on_disk and parent is None and not sidecar:
        streamed_result = _sign_streamed(asset, output, signer, content, marking, force=force)
        if streamed_result is not None:
            return streamed_result
    signed = sign_loaded(
        asset,
        signer,
        content,
        marking.watermarking if marking is not None else None,
        parent,
        keep_invalid_history=keep_invalid_history,
        sidecar=sidecar,
        recovered=recovered,
    )
    if extension_mismatch(output, asset.media_type):
        log.warning(
            "%s: output name does not match its content type %s",
            safe_text(output, 4096),
            asset.media_type,
        )
    write_signed(output, signed, force=force, sidecar=sidecar)
    return SignResult(
        output, asset.media_type, len(signed.data), signer.signer.identity, signed.record_id
    )


def _sign_streamed(
    asset: Asset,
    output: Path,
    signer: ManifestSigner,
    content: AIContent,
    marking: _Marking | None,
    *,
    force: bool,
) -> SignResult | None:
    """Sign an asset on disk from a stream into ``output``, never reading it whole, marked
    on the way when its engine marks streams. None: ``sign_loaded`` signs it in memory
    instead, within the limits, because it already carries credentials (an edit keeps
    them) or its engine marks only content held in memory."""
    stream_kind = streamed(asset.kind)
    if stream_kind is None or asset.path is None:
        raise TypeError("only an asset of a streamed kind stays on disk")
    engine = streaming(marking.engine) if marking is not None else None
    if marking is not None and engine is None:
        return None
    with open_input(asset.path, size_limit(asset.kind, asset.limits)) as source:
        own = stream_kind.read_stream_credentials(
            source, asset.media_type, signer.reader, asset.limits
        )
        if own is not None:
            return None
        if extension_mismatch(output, asset.media_type):
            log.warning(
                "%s: output name does not match its content type %s",
                safe_text(output, 4096),
                asset.media_type,
            )
        if marking is None or engine is None:
            definition = manifest_definition(content, asset.media_type)

            def write(handle: IO[bytes]) -> int:
                stream_kind.embed_stream_credentials(
                    source, asset.media_type, definition, signer, cast(BinaryIO, handle)
                )
                handle.flush()
                return os.fstat(handle.fileno()).st_size

            size = write_output_from(output, write, force=force)
            return SignResult(output, asset.media_type, size, signer.signer.identity, None)

        secret = marking.watermarking.secret
        # The marker refuses what it cannot mark before a record id is taken.
        mark = engine.stream_marker(source, asset.media_type, secret, asset.limits, _name(asset))
        record_id, payload = marking.payload()
        binding = SoftBinding.for_payload(engine.alg, payload)
        definition = _watermarked_definition(
            content, asset.media_type, binding, key_id=mark_key_id(secret.key)
        )
        # The marked copy waits in an unnamed file beside the output (its file system has
        # room for the output), never in memory; c2pa-rs signs from it.
        with tempfile.TemporaryFile(dir=output.parent) as marked:
            try:
                mark(payload, cast(BinaryIO, marked))
            except OSError as exc:  # that file system is full: the output's one line
                raise output_error(output, exc) from None

            def write_marked(handle: IO[bytes]) -> int:
                marked.seek(0)
                manifest = stream_kind.embed_stream_credentials(
                    cast(BinaryIO, marked),
                    asset.media_type,
                    definition,
                    signer,
                    cast(BinaryIO, handle),
                )
                handle.flush()
                # Stored before the output appears: a file whose mark names no record
                # would lead nowhere.
                _store(
                    marking.watermarking,
                    record_id,
                    manifest,
                    definition["label"],
                    binding,
                    asset,
                    signer,
                )
                return os.fstat(handle.fileno()).st_size

            size = write_output_from(output, write_marked, force=force)
    return SignResult(output, asset.media_type, size, signer.signer.identity, record_id)


def _name(asset: Asset) -> str:
    """How messages name an asset: its path, else "the <kind>"."""
    return str(asset.path) if asset.path is not None else f"the {asset.kind.name}"


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
