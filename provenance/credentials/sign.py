"""Embed a signed C2PA manifest into an asset, signing through the key store's Signer."""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
from collections.abc import Mapping
from typing import Any, BinaryIO

import c2pa

from provenance._internal.text import safe_text
from provenance.credentials.content import Content
from provenance.credentials.explain import explain_code, explain_signing_error
from provenance.credentials.manifest import (
    RECOVERED_RESOURCE,
    Parent,
    RecoveredStore,
    parent_of,
)
from provenance.credentials.read import CredentialReader
from provenance.credentials.status import breaks, failures_of
from provenance.credentials.store import ManifestStore
from provenance.credentials.text.cose import Stamper
from provenance.errors import (
    InvalidParent,
    Remedy,
    RemoteManifest,
    SigningError,
    UnsupportedMedia,
    UsageError,
)
from provenance.keystore.signer import Algorithm, Signer
from provenance.timestamp import Authority, LoopbackResponder, stamp

log = logging.getLogger(__name__)

_C2PA_ALG = {
    Algorithm.ES256: c2pa.C2paSigningAlg.ES256,
    Algorithm.ES384: c2pa.C2paSigningAlg.ES384,
    Algorithm.ES512: c2pa.C2paSigningAlg.ES512,
    Algorithm.PS256: c2pa.C2paSigningAlg.PS256,
    Algorithm.PS384: c2pa.C2paSigningAlg.PS384,
    Algorithm.PS512: c2pa.C2paSigningAlg.PS512,
    Algorithm.ED25519: c2pa.C2paSigningAlg.ED25519,
}


@dataclasses.dataclass(frozen=True)
class SignOptions:
    """c2pa-rs builder settings.

    ``thumbnail`` is off by default: a generated image needs no preview of itself, and
    c2pa-rs's automatic one made signing a 1 MP JPEG ~30x slower and its file ~85 KB
    larger. ``verify_after_sign`` re-reads the output inside c2pa-rs, which about
    doubles a 2 ms signature, and catches a malformed manifest or a signer that signs
    with the wrong key before the file is written. Numbers: bench/c2pa_sign_verify.py.
    """

    thumbnail: bool = False
    verify_after_sign: bool = True
    # Above this size c2pa-rs keeps its working copy of the asset in a temporary file,
    # not in memory: it otherwise holds two copies of a big video (bench/av.py).
    memory_copy_limit_mb: int = 64

    def context_settings(self) -> dict[str, Any]:
        return {
            "builder": {"thumbnail": {"enabled": self.thumbnail}},
            "verify": {"verify_after_sign": self.verify_after_sign},
            "core": {"backing_store_memory_threshold_in_mb": self.memory_copy_limit_mb},
        }


class ManifestSigner:
    """Embeds manifests signed by one ``Signer``; build once and reuse for many assets.

    With ``time_stamps``, every signature carries an RFC 3161 time-stamp from that
    authority: c2pa-rs posts its request to a loopback responder that lives as long as
    this signer (``close()``, or use it as a context manager), and text signatures are
    stamped directly. The c2pa signer and context are created once: rebuilding them per
    asset added about 10% to a 1 MP JPEG signature (bench/c2pa_sign_verify.py).
    """

    def __init__(
        self,
        signer: Signer,
        options: SignOptions = SignOptions(),
        *,
        time_stamps: Authority | None = None,
    ) -> None:
        self.signer = signer
        self.options = options
        self.time_stamps = time_stamps
        self._callback_errors: list[BaseException] = []
        self._responder = LoopbackResponder(time_stamps) if time_stamps is not None else None
        try:
            self._c2pa_signer = c2pa.Signer.from_callback(
                self._sign_callback,
                _C2PA_ALG[signer.algorithm],
                signer.certificate_chain_pem.decode("ascii"),
                self._responder.url if self._responder else None,
            )
            self._context = c2pa.Context.from_dict(options.context_settings())
        except c2pa.C2paError as exc:
            self.close()
            raise SigningError(explain_signing_error(str(exc))) from exc

    @functools.cached_property
    def reader(self) -> CredentialReader:
        """Reads the credentials an input already carries (to keep them as its parent).
        Trust does not matter there: only whether they are intact."""
        return CredentialReader()

    @property
    def stamper(self) -> Stamper | None:
        """Time-stamps a message with this signer's authority (text signatures); None
        when signatures are not time-stamped."""
        authority = self.time_stamps
        if authority is None:
            return None
        return lambda message: stamp(authority, message).token

    def close(self) -> None:
        """Stop the loopback time-stamp responder (signing with this signer then fails)."""
        if self._responder is not None:
            self._responder.close()

    def __enter__(self) -> ManifestSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sign_callback(self, data: bytes) -> bytes:
        # c2pa-rs turns any exception here into "COSE signature invalid"; keep the cause.
        try:
            return self.signer.sign(data)
        except BaseException as exc:
            self._callback_errors.append(exc)
            raise

    def embed(self, asset: bytes, media_type: str, definition: Mapping[str, Any]) -> bytes:
        """Return ``asset`` with a manifest built from ``definition``, signed."""
        return self.embed_with_manifest(asset, media_type, definition)[0]

    def embed_with_manifest(
        self, asset: bytes, media_type: str, definition: Mapping[str, Any], *, embed: bool = True
    ) -> tuple[bytes, bytes]:
        """The signed asset and its manifest store on its own (for a repository).
        ``embed=False``: the asset comes back unchanged and the store is a sidecar."""
        output = io.BytesIO()
        manifest = self.embed_stream(io.BytesIO(asset), media_type, definition, output, embed)
        return output.getvalue(), manifest

    def embed_stream(
        self,
        source: BinaryIO,
        media_type: str,
        definition: Mapping[str, Any],
        output: BinaryIO,
        embed: bool = True,
    ) -> bytes:
        """Sign the seekable ``source`` into ``output`` (read, write and seek: c2pa-rs goes
        back to patch the manifest in); return the manifest store on its own. ``embed=False``
        (a sidecar, ``sign --sidecar``): ``output`` gets the asset unchanged, and the hard
        binding covers all of it."""
        if media_type not in c2pa.Builder.get_supported_mime_types():
            raise UnsupportedMedia(f"{media_type} cannot carry an embedded C2PA manifest")
        self._callback_errors.clear()
        if self._responder is not None:
            self._responder.errors.clear()
        plain, parent = parent_of(definition)
        recovered = parent.recovered if parent is not None else None
        if parent is not None and recovered is not None:
            # c2pa-rs takes no bare store as an ingredient's stream (it expects an
            # ingredient archive): the recovered store goes in as the ingredient's
            # manifest data, with the results it was validated with.
            plain["ingredients"] = [recovered.ingredient(parent.title, parent.media_type)]
            parent = None
        if parent is not None and parent.media_type not in c2pa.Reader.get_supported_mime_types():
            raise UnsupportedMedia(
                f"{parent.media_type} cannot be the parent of {media_type} content: "
                "c2pa-rs cannot read its credentials"
            )
        try:
            with c2pa.Builder(plain, self._context) as builder:
                if not embed:
                    builder.set_no_embed()
                if recovered is not None:
                    builder.add_resource(RECOVERED_RESOURCE, io.BytesIO(recovered.store))
                if parent is not None:
                    # c2pa-rs reads the parent's manifest store from the parent itself and
                    # records it, with its validation results, as the parentOf ingredient.
                    builder.add_ingredient(
                        parent.ingredient(), parent.media_type, io.BytesIO(parent.data)
                    )
                manifest = builder.sign(self._c2pa_signer, media_type, source, output)
        except c2pa.C2paError as exc:
            if self._responder is not None and self._responder.errors:
                raise self._responder.errors[0] from exc
            if self._callback_errors:
                cause = self._callback_errors[0]
                raise SigningError(
                    f"the signer {self.signer.identity!r} failed: {cause}"
                ) from cause
            raise SigningError(explain_signing_error(str(exc))) from exc
        log.debug("signed %s as %s", media_type, self.signer.identity)
        return bytes(manifest)


def edit_parent(
    asset: Content,
    signer: ManifestSigner,
    parent: Content | None,
    *,
    keep_invalid: bool = False,
    recovered: RecoveredStore | None = None,
) -> Parent | None:
    """The parent an edit of ``asset`` records (docs/design.md, "Edits"): ``parent``, or
    else ``asset`` itself when it already carries a manifest; None: not an edit.
    ``recovered``: the credentials ``parent`` has through its watermark (verify's
    ``recovered``), recorded as its ingredient's when it carries none of its own.

    A parent whose manifest fails validation is refused with the reason (``InvalidParent``)
    unless ``keep_invalid``: signing over it would otherwise launder a failed history into
    a valid one. An input with credentials of its own other than the named parent's is
    refused: one of the two histories would be dropped.
    """
    own = _credentials(asset, signer)
    source, store = asset, own
    if parent is not None:
        source = parent
        store = _credentials(parent, signer)
        if own is not None and (store is None or _active_label(own) != _active_label(store)):
            raise UsageError(
                f"{_name(asset)} carries credentials of its own, not those of its parent "
                f"{_name(parent)}: recording that parent would drop them (signed without "
                "a parent, they are kept as its parent)"
            )
    elif own is None:
        return None
    broken = parent_failures(store) if store is not None else None
    if broken is not None and not keep_invalid:
        raise InvalidParent(
            f"{_name(source)}: its credentials fail validation ({', '.join(broken)}); "
            "refusing to sign over them",
            remedy=Remedy.KEEP_INVALID_HISTORY,
        )
    results = store.store.get("validation_results") if store is not None else None
    return Parent(
        source.data,
        source.media_type,
        _title(source, store),
        keep_invalid,
        results if isinstance(results, dict) else None,
        recovered if parent is not None and store is None else None,
    )


def parent_failures(store: ManifestStore) -> tuple[str, ...] | None:
    """Why a parent's credentials fail validation, in verify's words, or None when they
    hold. The rule is verify's own (``status.failures_of``, which ``verify.verdict.assess``
    asks too): a code that breaks them, or the validator's ``Invalid`` without one (a
    failed ingredient: then what failed in it, as verify's summary says). Judged without
    trust anchors: an untrusted signer or time-stamp is no defect here."""
    ingredient_codes = [status.code for status in store.ingredient_failures]
    failed = failures_of(store.failure_codes, store.state, ingredient_codes)
    if not failed:
        return None
    words = {status.code: status.meaning for status in store.failures}
    reasons = [words.get(code) or explain_code(code) for code in failed]
    reasons += [f"ingredient: {s.meaning}" for s in store.ingredient_failures if breaks(s.code)]
    return tuple(dict.fromkeys(reasons))


def _credentials(asset: Content, signer: ManifestSigner) -> ManifestStore | None:
    """The manifest store ``asset`` carries; one that cannot be read (a remote manifest,
    with fetching off) is refused: signing over it would drop it unseen."""
    try:
        return asset.kind.read_credentials(
            asset.data, asset.media_type, signer.reader, asset.limits
        )
    except RemoteManifest as exc:
        raise RemoteManifest(f"{_name(asset)}: {exc}; its history cannot be kept") from exc


def _active_label(store: ManifestStore) -> object:
    return store.store.get("active_manifest")


def _name(asset: Content) -> str:
    return safe_text(asset.path, 4096) if asset.path is not None else "the input"


def _title(asset: Content, store: ManifestStore | None) -> str:
    """The ingredient's title: the parent's file name, else the title its manifest gives."""
    if asset.path is not None:
        return safe_text(asset.path.name, 256)
    title = store.active.get("title") if store is not None else None
    return safe_text(title, 256) if isinstance(title, str) and title else "original"
