"""Embed a signed C2PA manifest into an asset, signing through the key store's Signer."""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Mapping
from typing import Any

import c2pa

from provenance.credentials.explain import explain_signing_error
from provenance.credentials.text.cose import Stamper
from provenance.errors import SigningError, UnsupportedMedia
from provenance.keystore.signer import Algorithm, Signer
from provenance.timestamp import Authority, LoopbackResponder, stamp

__all__ = ["ManifestSigner", "SignOptions"]

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

    def context_settings(self) -> dict[str, Any]:
        return {
            "builder": {"thumbnail": {"enabled": self.thumbnail}},
            "verify": {"verify_after_sign": self.verify_after_sign},
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
        self, asset: bytes, media_type: str, definition: Mapping[str, Any]
    ) -> tuple[bytes, bytes]:
        """The signed asset and its manifest store on its own (for a repository)."""
        if media_type not in c2pa.Builder.get_supported_mime_types():
            raise UnsupportedMedia(f"{media_type} cannot carry an embedded C2PA manifest")
        self._callback_errors.clear()
        if self._responder is not None:
            self._responder.errors.clear()
        output = io.BytesIO()
        try:
            with c2pa.Builder(dict(definition), self._context) as builder:
                manifest = builder.sign(self._c2pa_signer, media_type, io.BytesIO(asset), output)
        except c2pa.C2paError as exc:
            if self._responder is not None and self._responder.errors:
                raise self._responder.errors[0] from exc
            if self._callback_errors:
                cause = self._callback_errors[0]
                raise SigningError(
                    f"the signer {self.signer.identity!r} failed: {cause}"
                ) from cause
            raise SigningError(explain_signing_error(str(exc))) from exc
        log.debug("signed %d bytes of %s as %s", len(asset), media_type, self.signer.identity)
        return output.getvalue(), bytes(manifest)
