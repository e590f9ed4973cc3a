"""Audio and video: C2PA through c2pa-rs on streams, and no watermark (yet).

MP4, MOV and M4A carry their manifest store in a ``uuid`` box bound by a BMFF hash; WAV
and AVI in a ``C2PA`` RIFF chunk, MP3 in an ID3 frame and FLAC in a metadata block, each
bound by a data hash. c2pa-rs reads and writes all of them from seekable streams, so a
file is never read whole here (docs/design.md, "Reading"); the bytes methods every kind
has are the stream ones on an in-memory stream.

There is no watermark for these kinds yet: ``mark`` is None, so a report says "no
watermark check for audio content" instead of implying one was made, and signing with a
watermark asked for signs with C2PA alone and says so (``signing.sign``). A mark engine
for one of them is one attribute here (docs/design.md, "Media kinds").
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from provenance.kinds.media import AUDIO_TYPES, VIDEO_TYPES, Limits

from .containers import check_container, check_embedded_store

if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader
    from provenance.credentials.sign import ManifestSigner
    from provenance.credentials.store import ManifestStore
    from provenance.kinds.base import LLMTest
    from provenance.watermark.engine import MarkEngine


class _TimedMedia:
    """What audio and video share: one container format family each, read by c2pa-rs."""

    name: str
    media_types: frozenset[str]
    sidecars = True
    streamed = True
    mark: MarkEngine | None = None
    llm: LLMTest | None = None

    def check(self, data: bytes, media_type: str, limits: Limits) -> None:
        self.check_stream(io.BytesIO(data), media_type, limits)

    def check_stream(self, stream: BinaryIO, media_type: str, limits: Limits) -> None:
        check_container(stream, media_type, limits)

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        return self.read_stream_credentials(io.BytesIO(data), media_type, reader, limits)

    def read_stream_credentials(
        self, stream: BinaryIO, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None:
        check_embedded_store(stream, media_type, limits)
        try:
            return reader.read(stream, media_type)
        finally:
            stream.seek(0)

    def embed_credentials(
        self, data: bytes, media_type: str, definition: Mapping[str, Any], signer: ManifestSigner
    ) -> tuple[bytes, bytes]:
        return signer.embed_with_manifest(data, media_type, definition)

    def embed_stream_credentials(
        self,
        source: BinaryIO,
        media_type: str,
        definition: Mapping[str, Any],
        signer: ManifestSigner,
        output: BinaryIO,
    ) -> bytes:
        source.seek(0)
        return signer.embed_stream(source, media_type, definition, output)

    def content_type(self, media_type: str) -> str:
        return media_type


class AudioKind(_TimedMedia):
    name = "audio"
    media_types = AUDIO_TYPES


class VideoKind(_TimedMedia):
    name = "video"
    media_types = VIDEO_TYPES
