"""What every media kind provides, and the plain data that flows between kind and caller.

A kind is a container (this protocol: check, read and embed credentials, content type,
sidecars, streams) plus an optional mark engine (``MediaKind.mark``, a
``provenance.watermark.engine.MarkEngine``, None for a kind without one).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from provenance.kinds.media import Limits

if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader
    from provenance.credentials.sign import ManifestSigner
    from provenance.credentials.store import ManifestStore
    from provenance.keystore.records import WatermarkKey
    from provenance.report import LLMWatermark
    from provenance.watermark.engine import MarkEngine
    from provenance.watermark.llm.detector import Encoder


class LLMTest(Protocol):
    """The statistical watermark a language model writes into text (not a soft binding:
    it carries no payload and leads to no record)."""

    def detect(
        self, data: bytes, keys: Sequence[WatermarkKey], tokenizer: Encoder
    ) -> LLMWatermark | None:
        """Every key's test, in the mode it records (``tokenizer``: the model's); None
        without keys."""


class MediaKind(Protocol):
    """One kind of content: its container (how its credentials are read and written) and
    its mark engine, if it has one.

    The registry in ``provenance.kinds`` holds one of these per kind; sign, verify,
    inspect, the server and the soft-binding API reach content only through it.
    """

    name: str  # "image", "text"
    # Whether its manifest store can live beside it in a ``.c2pa`` sidecar (c2pa-rs binds
    # the whole asset); text keeps its manifest in itself (the C2PA text wrapper).
    sidecars: bool
    media_types: frozenset[str]
    # Its keyed mark (the algorithms it reads and writes, detection, marking); None: this
    # kind has none, and reports say "no watermark check for <name> content".
    mark: MarkEngine | None
    # The LLM watermark test of text a language model wrote; None for the other kinds.
    llm: LLMTest | None

    def check(self, data: bytes, media_type: str, limits: Limits) -> None:
        """Refuse, cheaply and without decoding, content that cannot be judged (damaged
        header, decompression bomb, not UTF-8): ``InputError``."""

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        """The embedded manifest store, validated; None when the content carries none."""

    def embed_credentials(
        self, data: bytes, media_type: str, definition: Mapping[str, Any], signer: ManifestSigner
    ) -> tuple[bytes, bytes]:
        """The signed content and its manifest store on its own (for the repository).
        Refuses content that already carries a manifest it would drop."""

    def content_type(self, media_type: str) -> str:
        """The HTTP Content-Type for signed content of ``media_type``."""


@runtime_checkable
class StreamedKind(MediaKind, Protocol):
    """A kind whose files can be far larger than memory (audio, video): besides the bytes
    methods of every kind, it reads and signs seekable binary streams, never whole
    (docs/design.md, "Reading"). Its bytes methods are these on an in-memory stream: one
    code path. Its mark engine, when it has one, is marked and detected on the stream
    when the engine ``streams``, else on the content read whole within the limits.
    """

    streamed: bool  # True: files of this kind are opened as streams, not read whole

    def check_stream(self, stream: BinaryIO, media_type: str, limits: Limits) -> None:
        """``check`` on a stream (its position is left at the start)."""

    def read_stream_credentials(
        self, stream: BinaryIO, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        """``read_credentials`` on a stream."""

    def embed_stream_credentials(
        self,
        source: BinaryIO,
        media_type: str,
        definition: Mapping[str, Any],
        signer: ManifestSigner,
        output: BinaryIO,
    ) -> bytes:
        """Write the signed content to ``output`` (readable, writable and seekable: c2pa-rs
        goes back to patch the manifest in); return the manifest store on its own."""


@dataclasses.dataclass(frozen=True)
class Asset:
    """An input that was checked (under ``limits``): its content, media type and kind.

    ``content`` is None for a file of a ``StreamedKind`` that was checked on disk and not
    read (audio, video: ``provenance.signing.sign.read_asset``); it is signed from a stream of
    ``path``, and ``data`` reads it whole only when asked (within ``max_file_bytes``).
    """

    content: bytes | None
    media_type: str
    kind: MediaKind
    path: Path | None = None
    limits: Limits = dataclasses.field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.content is None and self.path is None:
            raise ValueError("an asset that was not read needs its path")

    @property
    def on_disk(self) -> bool:
        """True: the content was not read into memory (it streams from ``path``)."""
        return self.content is None

    @functools.cached_property
    def data(self) -> bytes:
        """The content's bytes (read from ``path`` the first time for an asset on disk)."""
        if self.content is not None:
            return self.content
        from provenance._internal.fs import read_input
        from provenance.errors import InputError

        assert self.path is not None  # __post_init__
        try:
            return read_input(self.path, self.limits.max_file_bytes)
        except InputError as exc:  # read late (an edit, a parent): say which file it was
            raise exc.about(self.path) from None
