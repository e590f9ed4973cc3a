"""What every media kind provides, and the plain data that flows between kind and caller."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from provenance.media import Limits

if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader, ManifestStore
    from provenance.credentials.sign import ManifestSigner
    from provenance.report import Watermark
    from provenance.watermark.image import WatermarkSecret

__all__ = ["Asset", "Marker", "MediaKind"]

# Embeds a payload (the record id) into the content and returns the marked bytes, in kind.
Marker = Callable[[bytes], bytes]


class MediaKind(Protocol):
    """One kind of content: how its credentials and its watermark are read and written.

    The registry in ``provenance.kinds`` holds one of these per kind; sign, verify,
    inspect, the server and the soft-binding API reach content only through it.
    """

    name: str  # "image", "text"
    media_types: frozenset[str]
    # The soft-binding algorithms of this kind's watermark that are read (old formats
    # included); empty: it has none. New marks are written in ``mark_alg``.
    mark_algs: frozenset[str]

    @property
    def mark_alg(self) -> str | None:
        """The format new marks are written in; None: this kind has no watermark."""

    def check(self, data: bytes, media_type: str, limits: Limits) -> None:
        """Refuse, cheaply and without decoding, content that cannot be judged (damaged
        header, decompression bomb, not UTF-8): ``InputError``."""

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        """The embedded manifest store, validated; None when the content carries none."""

    def detect_mark(
        self,
        data: bytes,
        media_type: str,
        secrets: Sequence[WatermarkSecret],
        limits: Limits,
        *,
        strict: bool = False,
        localise: bool = True,
    ) -> Watermark:
        """Look for the watermark with ``secrets`` (at least one: the caller says when there
        is no key). ``strict``: content that cannot be decoded for the
        detector raises ``InputError`` (without a manifest it is all there is to judge);
        otherwise such content reads ``not_checked`` with the reason. ``localise``: when
        the mark is found, also say where it no longer is (``altered_regions``; the kinds
        that can), worth its cost only when the content may have been edited."""

    def marker(self, asset: Asset, secret: WatermarkSecret) -> Marker:
        """A function that marks ``asset``; raises ``UnsupportedMedia`` first when this
        content cannot be marked and written back in kind."""

    def embed_credentials(
        self, data: bytes, media_type: str, definition: Mapping[str, Any], signer: ManifestSigner
    ) -> tuple[bytes, bytes]:
        """The signed content and its manifest store on its own (for the repository).
        Refuses content that already carries a manifest it would drop."""

    def content_type(self, media_type: str) -> str:
        """The HTTP Content-Type for signed content of ``media_type``."""


@dataclasses.dataclass(frozen=True)
class Asset:
    """An input that was read and checked (under ``limits``): its bytes, media type, kind."""

    data: bytes
    media_type: str
    kind: MediaKind
    path: Path | None = None
    limits: Limits = dataclasses.field(default_factory=Limits)
