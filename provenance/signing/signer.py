"""The manifest signer of a key store identity, time-stamped: the one place it is built.

Only the signing session (``provenance.signing.session.ContentSigner``) builds one for
signing; tests and benchmarks that drive the lower layers (``provenance.signing.sign``)
build theirs here too, so every signature in the toolkit is time-stamped the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance.credentials.sign import ManifestSigner
from provenance.timestamp import ExternalAuthority

if TYPE_CHECKING:
    from provenance.keystore import KeyStore
    from provenance.timestamp import Authority


def manifest_signer(
    store: KeyStore,
    identity: str | None,
    passphrase: str,
    *,
    tsa_url: str | None = None,
    time_stamp: bool = True,
) -> ManifestSigner:
    """A signer for ``identity`` whose every signature is time-stamped.

    The time comes from ``tsa_url`` when given, else the store's configured external
    authority, else the store's own time-stamping authority (offline, unlocked with the
    same passphrase). ``time_stamp=False`` signs without a time-stamp: such content turns
    invalid when the signing certificate expires (docs/design.md, "Time-stamps").
    """
    signer = store.signer(identity, passphrase)
    authority: Authority | None = None
    if time_stamp:
        url = tsa_url or store.tsa.url
        authority = ExternalAuthority(url) if url else store.tsa.local_authority(passphrase)
    return ManifestSigner(signer, time_stamps=authority)
