"""The signing session: every signature of the toolkit goes through ``ContentSigner``.

    from provenance import ContentSigner, SignSettings

    settings = SignSettings(model="my-diffusion", model_version="2.1")
    with ContentSigner(home, passphrase, settings) as signer:
        png = signer.sign_image(image)          # a PIL.Image.Image (or image bytes) -> bytes
        text = signer.sign_text(completion)     # a str -> the signed str
        signer.sign_file("gen.wav", "signed.wav")

It is the only code that opens the key store for signing, takes the watermark secret,
opens the repository, builds the time-stamped manifest signer (``signing.signer``) and
writes the signature's line in the audit log; the CLI (one file and ``--out-dir``), the
HTTP server's ``/v1/sign``, batch signing (each local or Dask worker opens its own
session from the same ``SignSettings``) and a generator's own code all sign through it.
The content is checked by its media kind, watermarked with a record id reserved in the
repository, given the AI manifest, signed and time-stamped with the key store's
identity, and its manifest store is kept in the repository under that id, so
`provenance verify` recovers it once the metadata is stripped. Build one session per
process (unlocking the key costs a passphrase derivation) and reuse it;
docs/pipelines.md shows it in a diffusers loop and after transformers' ``generate()``.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.errors import UnsupportedMedia, UsageError
from provenance.home import default_repository, watermark_secret
from provenance.keystore import KeyStore
from provenance.kinds import load_asset
from provenance.repository import open_repository
from provenance.signing.settings import SignSettings
from provenance.signing.sign import (
    Signed,
    SignResult,
    Watermarking,
    read_asset,
    sign_asset,
    sign_loaded,
)
from provenance.signing.signer import manifest_signer

if TYPE_CHECKING:
    from PIL import Image

    from provenance.credentials.manifest import AIContent, RecoveredStore
    from provenance.kinds import Asset

#: The formats ``sign_image`` encodes a PIL image in (Pillow's names; "JPG" means JPEG).
#: The watermark is written back in each of them.
IMAGE_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF"})
#: The quality JPEG and WebP are encoded at unless ``quality`` is given.
DEFAULT_QUALITY = 90
#: What the audit line names as the output of content signed in memory.
IN_MEMORY = "(in memory)"


class ContentSigner:
    """One key store identity, watermark key, repository and time-stamp authority,
    unlocked once, signing every output; ``close()`` it (or use ``with``).

    ``store`` is a ``KeyStore`` or its home folder (what ``--home`` names). ``settings``
    (``SignSettings``) says how to sign; keyword ``options`` are fields of it, given
    alone or replacing those of ``settings``: ``ContentSigner(home, passphrase,
    model="m")``. The defaults are those of `provenance sign`: the store's default
    identity and watermark key, the repository ``HOME/repository.sqlite``, a time-stamp
    from the store's authority, a watermark on every kind that has one.

    ``passphrase`` is the store's passphrase or a callable that returns it: it is called
    once, after everything else was checked (the key store, the identity, the parent,
    the watermark key, the repository), so a prompt comes only when signing can go on.

    Thread-safe: calls are serialised by a lock (the c2pa signer is not re-entrant). To
    sign on several threads at once, give each thread its own ``ContentSigner``.
    """

    def __init__(
        self,
        store: KeyStore | str | Path,
        passphrase: str | Callable[[], str],
        settings: SignSettings | None = None,
        **options: Any,
    ) -> None:
        if settings is None:
            settings = SignSettings(**options)
        elif options:
            settings = dataclasses.replace(settings, **options)
        self.store = store if isinstance(store, KeyStore) else KeyStore.open(Path(store))
        home = self.store.home
        if settings.home is not None and Path(settings.home).resolve() != home.resolve():
            raise ValueError("settings.home names another key store than the one given")
        self.store.identities.get(settings.identity)  # an unknown one fails before the passphrase
        location = settings.repository or str(default_repository(home))
        #: The settings as this session applies them: ``home`` and ``repository`` filled in.
        self.settings = dataclasses.replace(settings, home=home, repository=location)
        self.content: AIContent = settings.content()
        self._parent = self._load_parent(settings.parent)
        self._parent_recovered = self._recover(self._parent)
        self._lock = threading.Lock()
        self._closed = False
        self._watermarking: Watermarking | None = None
        if settings.watermark:
            secret = watermark_secret(self.store, settings.watermark_key)
            self._watermarking = Watermarking(secret, open_repository(location))
        try:
            self._signer = manifest_signer(
                self.store,
                settings.identity,
                passphrase() if callable(passphrase) else passphrase,
                tsa_url=settings.tsa_url,
                time_stamp=settings.time_stamp,
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
            sidecar=False,  # one result: the manifest goes inside, whatever the settings say
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
            sidecar=False,
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
        sidecar: bool | None = None,
        watermark: bool = True,
        client: str = "",
    ) -> Signed:
        """Sign content of any kind given as bytes; the result carries the signed bytes,
        the manifest store alone and the record id (None without a watermark).

        ``expect`` ("image", "text") refuses content of another kind: text that begins
        like an SVG document is an image to every verifier. ``model`` replaces the
        settings' model for this call (with ``model_version``, or none). ``parent``
        replaces the settings' parent for this call. ``sidecar`` (default: the
        settings'): the manifest store is not embedded (``Signed.data`` is the content
        alone, ``Signed.manifest`` the store to keep beside it as ``NAME.c2pa``); images,
        audio and video. ``watermark=False``: this one without the watermark (nothing
        stored). ``client``: who asked, for the audit line (the HTTP API's token name)."""
        asset = load_asset(data, limits=self.settings.limits)
        original = self._load_parent(parent) if parent is not None else self._parent
        recovered = self._recover(original) if parent is not None else self._parent_recovered
        if expect is not None and asset.kind.name != expect:
            raise UnsupportedMedia(
                f"expected {expect} content, but these bytes are {asset.media_type}"
            )
        content = self._content_for(model, model_version, title, parameters)
        with self._lock:
            self._check_open()
            signed = sign_loaded(
                asset,
                self._signer,
                content,
                self._watermarking if watermark else None,
                original,
                keep_invalid_history=self.settings.keep_invalid_history,
                sidecar=self.settings.sidecar if sidecar is None else sidecar,
                recovered=recovered,
            )
            self._audited(IN_MEMORY, signed.media_type, signed.record_id, client)
        return signed

    def sign_file(
        self,
        source: str | Path | Asset,
        output: str | Path,
        *,
        force: bool | None = None,
        sidecar: bool | None = None,
        client: str = "",
    ) -> SignResult:
        """Sign a file (or an asset read with ``provenance.signing.sign.read_asset``) into
        ``output``, as `provenance sign -o` does: audio and video are signed from a
        stream, never read whole; the output appears whole or not at all, never replacing
        a file without ``force``; ``sidecar`` writes the manifest store beside it (both
        default to the settings')."""
        if isinstance(source, str | Path):
            asset = read_asset(Path(source), limits=self.settings.limits)
        else:
            asset = source
        content = self._content_for(None, None, None, None)
        with self._lock:
            self._check_open()
            result = sign_asset(
                asset,
                Path(output),
                self._signer,
                content,
                watermarking=self._watermarking,
                force=self.settings.force if force is None else force,
                parent=self._parent,
                keep_invalid_history=self.settings.keep_invalid_history,
                sidecar=self.settings.sidecar if sidecar is None else sidecar,
                recovered=self._parent_recovered,
            )
            self._audited(str(result.output), result.media_type, result.record_id, client)
        return result

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("this ContentSigner is closed")

    def _audited(self, output: str, media_type: str, record_id: int | None, client: str) -> None:
        """The signature's line in the key store's audit log (unless ``audit`` is off):
        the one place it is written, in one format for every front end."""
        if self.settings.audit:
            self.store.audit_event(
                "sign",
                identity=self.identity,
                output=output,
                media_type=media_type,
                record=f"{record_id:016x}" if record_id is not None else "",
                time_stamp=self.time_stamp_authority or "",
                client=client,
            )

    def _load_parent(self, parent: str | Path | bytes | None) -> Asset | None:
        if parent is None:
            return None
        if isinstance(parent, bytes | bytearray | memoryview):
            return load_asset(bytes(parent), limits=self.settings.limits)
        return read_asset(Path(parent), limits=self.settings.limits)

    def _recover(self, parent: Asset | None) -> RecoveredStore | None:
        """The credentials a parent without a manifest of its own has through its
        watermark, found as `provenance verify` finds them (this key store's trust,
        watermark keys and the session's repository): the same ``Verifier`` decides
        whether they are ``recovered`` (docs/design.md, "Edits")."""
        if parent is None or parent.kind.mark is None:
            return None
        from provenance.home import verify_config_for_home
        from provenance.verify import Verifier

        config = verify_config_for_home(self.store.home)
        config = dataclasses.replace(config, repository=self.settings.repository)
        return Verifier(config).recover(parent.data)

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
