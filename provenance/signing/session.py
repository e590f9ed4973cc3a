"""Sign generated content in memory, inside a generation pipeline: images and text.

    from provenance import ContentSigner

    with ContentSigner(home, passphrase, model="my-diffusion", model_version="2.1") as signer:
        png = signer.sign_image(image)          # a PIL.Image.Image (or image bytes) -> bytes
        text = signer.sign_text(completion)     # a str -> the signed str

This is the path `provenance sign` takes, without files: the content is checked by its
media kind, watermarked with a record id reserved in the repository, given the AI
manifest, signed and time-stamped with the key store's identity, and its manifest store is
kept in the repository under that id, so `provenance verify` recovers it once the
metadata is stripped. Nothing touches the disk but the repository and the key store's
audit log. Build one signer per process (unlocking the key costs a passphrase derivation)
and reuse it; docs/pipelines.md shows it in a diffusers loop and after transformers'
``generate()``.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.credentials.manifest import AIContent, DigitalSourceType, TrainingMining
from provenance.errors import UnsupportedMedia, UsageError
from provenance.home import default_repository, manifest_signer, watermark_secret
from provenance.keystore import KeyStore
from provenance.kinds import load_asset
from provenance.kinds.media import Limits
from provenance.repository import open_repository
from provenance.signing.sign import (
    Signed,
    SignResult,
    Watermarking,
    read_asset,
    sign_asset,
    sign_loaded,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from PIL import Image

    from provenance.kinds import Asset

__all__ = ["IMAGE_FORMATS", "ContentSigner", "encode_image"]

#: The formats ``sign_image`` encodes a PIL image in (Pillow's names; "JPG" means JPEG).
#: The watermark is written back in each of them.
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF"})
#: The quality JPEG and WebP are encoded at unless ``quality`` is given.
DEFAULT_QUALITY = 90


class ContentSigner:
    """Signs images and text in memory with one key store identity, watermark key and
    repository; build once, call for every output, then ``close()`` (or use ``with``).

    ``store`` is a ``KeyStore`` or its home folder (what ``--home`` names). The defaults
    are those of `provenance sign`: the store's default identity and watermark key, the
    repository ``HOME/repository.sqlite`` (or ``repository``: a path or URL), a
    time-stamp from the store's authority (``tsa_url``: an external one;
    ``time_stamp=False``: none). ``watermark=False`` signs without a watermark and stores
    nothing. ``model``, ``model_version``, ``training_mining`` and
    ``digital_source_type`` go into every manifest; each call may name another model.
    ``audit``: record every signature in the key store's audit log, as the CLI does.
    ``parent`` (a file, or content as bytes): every output is an edit of it, recorded as
    the ``parentOf`` ingredient (each call may name its own); ``ai_edit``: an AI model
    made the edit; ``keep_invalid_history``: see ``provenance.signing.sign.sign_loaded``.
    ``assertions``: the user's own, added to every manifest (``user_assertions``).

    Thread-safe: calls are serialised by a lock (the c2pa signer is not re-entrant). To
    sign on several threads at once, give each thread its own ``ContentSigner``.
    """

    def __init__(
        self,
        store: KeyStore | str | Path,
        passphrase: str,
        *,
        identity: str | None = None,
        model: str | None = None,
        model_version: str | None = None,
        training_mining: TrainingMining = TrainingMining.NOT_ALLOWED,
        digital_source_type: DigitalSourceType = DigitalSourceType.TRAINED_ALGORITHMIC_MEDIA,
        watermark: bool = True,
        watermark_key: str | None = None,
        repository: str | Path | None = None,
        tsa_url: str | None = None,
        time_stamp: bool = True,
        limits: Limits = Limits(),
        audit: bool = True,
        parent: str | Path | bytes | None = None,
        ai_edit: bool = False,
        keep_invalid_history: bool = False,
        assertions: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        if tsa_url and not time_stamp:
            raise UsageError("choose one of tsa_url and time_stamp=False")
        self.store = store if isinstance(store, KeyStore) else KeyStore.open(Path(store))
        self.content = AIContent(
            model=model,
            model_version=model_version,
            training_mining=training_mining,
            digital_source_type=digital_source_type,
            ai_edit=ai_edit,
            assertions=tuple(assertions),
        )
        self.limits = limits
        self.keep_invalid_history = keep_invalid_history
        self._parent = self._load_parent(parent)
        self._audit = audit
        self._lock = threading.Lock()
        self._closed = False
        self._watermarking: Watermarking | None = None
        if watermark:  # like the CLI: a missing key or repository fails before the unlock
            secret = watermark_secret(self.store, watermark_key)
            location = repository or default_repository(self.store.home)
            self._watermarking = Watermarking(secret, open_repository(location))
        try:
            self._signer = manifest_signer(
                self.store, identity, passphrase, tsa_url=tsa_url, time_stamp=time_stamp
            )
        except BaseException:
            if self._watermarking is not None:
                self._watermarking.repository.close()
            raise

    @property
    def identity(self) -> str:
        """The signing identity every manifest names."""
        return self._signer.signer.identity

    @property
    def time_stamp_authority(self) -> str | None:
        """The name of the authority that time-stamps every signature (None: none)."""
        authority = self._signer.time_stamps
        return authority.name if authority is not None else None

    # -- signing ----------------------------------------------------------------------

    def sign_image(
        self,
        image: Image.Image | bytes,
        *,
        format: str = "PNG",
        quality: int | None = None,
        model: str | None = None,
        model_version: str | None = None,
        title: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> bytes:
        """The signed (and watermarked) image, encoded.

        A ``PIL.Image.Image`` is first encoded in memory as ``format`` (PNG, lossless, by
        default; JPEG and WebP at ``quality``, 90 unless given; TIFF); encoded image bytes
        are signed in their own format and ``format`` is ignored. The watermark decodes
        and re-encodes the pixels as `provenance sign` does (a JPEG with its own
        quantisation tables, a WebP at quality 90), so a lossy format is compressed
        twice: PNG avoids that.
        """
        if isinstance(image, bytes | bytearray | memoryview):
            data = bytes(image)
        else:  # marked, the pixels are decoded and written again: no need to pack them twice
            data = encode_image(image, format, quality, fast=self._watermarking is not None)
        return self.sign(
            data,
            expect="image",
            model=model,
            model_version=model_version,
            title=title,
            parameters=parameters,
        ).data

    def sign_text(
        self,
        text: str,
        *,
        model: str | None = None,
        model_version: str | None = None,
        title: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> str:
        """The signed text: the invisible watermark payload and the C2PA text wrapper
        added to ``text``, which is otherwise unchanged (a UTF-8 ``str`` in, one out)."""
        if not isinstance(text, str):
            raise TypeError(f"sign_text takes a str, not {type(text).__name__}")
        signed = self.sign(
            text.encode("utf-8"),
            expect="text",
            model=model,
            model_version=model_version,
            title=title,
            parameters=parameters,
        )
        return signed.data.decode("utf-8")

    def sign(
        self,
        data: bytes,
        *,
        expect: str | None = None,
        model: str | None = None,
        model_version: str | None = None,
        title: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        parent: str | Path | bytes | None = None,
        sidecar: bool = False,
    ) -> Signed:
        """Sign content of any kind given as bytes; the result carries the signed bytes,
        the manifest store alone and the record id (None without a watermark).

        ``expect`` ("image", "text") refuses content of another kind: text that begins
        like an SVG document is an image to every verifier. ``model`` replaces the
        signer's model for this call (with ``model_version``, or none). ``parent``
        replaces the signer's parent for this call. ``sidecar``: the manifest store is
        not embedded (``Signed.data`` is the content alone, ``Signed.manifest`` the store
        to keep beside it as ``NAME.c2pa``); images, audio and video."""
        asset = load_asset(data, limits=self.limits)
        original = self._load_parent(parent) if parent is not None else self._parent
        if expect is not None and asset.kind.name != expect:
            raise UnsupportedMedia(
                f"expected {expect} content, but these bytes are {asset.media_type}"
            )
        content = self._content_for(model, model_version, title, parameters)
        with self._lock:
            if self._closed:
                raise UsageError("this ContentSigner is closed")
            signed = sign_loaded(
                asset,
                self._signer,
                content,
                self._watermarking,
                original,
                keep_invalid_history=self.keep_invalid_history,
                sidecar=sidecar,
            )
            self._audited("(in memory)", signed.media_type, signed.record_id)
        return signed

    def sign_file(
        self,
        source: str | Path | Asset,
        output: str | Path,
        *,
        force: bool = False,
        sidecar: bool = False,
    ) -> SignResult:
        """Sign a file (or an asset read with ``provenance.signing.sign.read_asset``) into
        ``output``, as `provenance sign -o` does: audio and video are signed from a
        stream, never read whole; the output appears whole or not at all, never replacing
        a file without ``force``; ``sidecar`` writes the manifest store beside it."""
        if isinstance(source, str | Path):
            asset = read_asset(Path(source), limits=self.limits)
        else:
            asset = source
        content = self._content_for(None, None, None, None)
        with self._lock:
            if self._closed:
                raise UsageError("this ContentSigner is closed")
            result = sign_asset(
                asset,
                Path(output),
                self._signer,
                content,
                watermarking=self._watermarking,
                force=force,
                parent=self._parent,
                keep_invalid_history=self.keep_invalid_history,
                sidecar=sidecar,
            )
            self._audited(str(result.output), result.media_type, result.record_id)
        return result

    def _audited(self, output: str, media_type: str, record_id: int | None) -> None:
        """The signature's line in the key store's audit log, when ``audit`` is on."""
        if self._audit:
            self.store.audit_event(
                "sign",
                identity=self.identity,
                output=output,
                media_type=media_type,
                record=f"{record_id:016x}" if record_id is not None else "",
                time_stamp=self.time_stamp_authority or "",
            )

    def _load_parent(self, parent: str | Path | bytes | None) -> Asset | None:
        if parent is None:
            return None
        if isinstance(parent, bytes | bytearray | memoryview):
            return load_asset(bytes(parent), limits=self.limits)
        return read_asset(Path(parent), limits=self.limits)

    def _content_for(
        self,
        model: str | None,
        model_version: str | None,
        title: str | None,
        parameters: Mapping[str, Any] | None,
    ) -> AIContent:
        content = self.content
        if model is not None:
            content = dataclasses.replace(content, model=model, model_version=model_version)
        elif model_version is not None:
            raise UsageError("model_version needs model")
        return dataclasses.replace(content, title=title, parameters=dict(parameters or {}))

    # -- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Stop the time-stamp responder and close the repository (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._signer.close()
            if self._watermarking is not None:
                self._watermarking.repository.close()

    def __enter__(self) -> ContentSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode_image(
    image: Image.Image, format: str = "PNG", quality: int | None = None, *, fast: bool = False
) -> bytes:
    """``image`` encoded in memory as ``format`` (one of ``IMAGE_FORMATS``).

    ``fast``: a PNG with zlib's fastest level (the same pixels, larger), for bytes that
    are decoded again at once."""
    from PIL import Image  # here: importing this module needs no Pillow

    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL.Image.Image or bytes, not {type(image).__name__}")
    name = "JPEG" if format.upper() == "JPG" else format.upper()
    if name not in IMAGE_FORMATS:
        raise UsageError(f"cannot sign images as {format!r}: use one of PNG, JPEG, WEBP, TIFF")
    options: dict[str, Any] = {}
    if name in ("JPEG", "WEBP"):
        options["quality"] = DEFAULT_QUALITY if quality is None else quality
        if not 1 <= options["quality"] <= 100:
            raise UsageError("quality must be in 1..100")
    elif quality is not None:
        raise UsageError(f"quality is for JPEG and WEBP, not {name}")
    if fast and name == "PNG":
        options["compress_level"] = 1
    buffer = io.BytesIO()
    try:
        image.save(buffer, name, **options)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot encode a {image.mode} image as {name}: {exc}") from None
    return buffer.getvalue()
