"""What the credentials layer needs of content it signs over: its bytes, its media type,
where it came from, and its kind's reading of its credentials.

``provenance.kinds.Asset`` is one; naming the need here, not the kinds' type, keeps this
layer below the kinds (which sign through ``credentials.sign``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from provenance.credentials.read import CredentialReader
    from provenance.credentials.store import ManifestStore
    from provenance.kinds.media import Limits


class CredentialsReading(Protocol):
    """A kind's reading of the credentials content carries."""

    def read_credentials(
        self, data: bytes, media_type: str, reader: CredentialReader, limits: Limits
    ) -> ManifestStore | None: ...


class Content(Protocol):
    """Checked content, read whole when ``data`` is asked for (within ``limits``)."""

    @property
    def data(self) -> bytes: ...

    @property
    def media_type(self) -> str: ...

    @property
    def path(self) -> Path | None: ...

    @property
    def limits(self) -> Limits: ...

    @property
    def kind(self) -> CredentialsReading: ...
