"""One root error for everything the library refuses or cannot do.

Every error carries the exit code the CLI uses for it, so the CLI catches
``ProvenanceError`` once and never needs to know the subclasses:

* ``UsageError`` (exit 2): the caller asked for something impossible
  (output exists without ``force``, no key store at ``--home``, unknown identity).
* ``InputError`` (exit 3): an input could not be read (unreadable, unsupported, too large).
* ``OutputError`` (exit 1): the output could not be written (disk full, I/O error); its
  subclass ``OutputRefused`` (exit 2) is an output path that cannot be written as given
  (no such folder, read-only, not a regular file, name too long, /proc or /sys).
* everything else (exit 1): the operation was refused on its merits
  (wrong passphrase, revoked identity, corrupt store, signing failed).

Messages state facts. What the caller could change to get past a refusal is its
``remedy``, which each front end names in its own terms: the CLI as a flag ("use --force
to replace it"), the HTTP API as a request field.
"""

from __future__ import annotations

import enum
from typing import Self, cast


class Remedy(enum.StrEnum):
    """What the caller can change so that a refused request goes through."""

    REPLACE = "replace"  # replace what exists (an output, a key store, a repository)
    MARK_ANYWAY = "mark-anyway"  # watermark content although its manifest is lost
    RECURSE = "recurse"  # descend into a directory
    NO_WATERMARK = "no-watermark"  # sign (or verify) without the watermark
    NO_REPOSITORY = "no-repository"  # back up without the repository
    OTHER_HOME = "other-home"  # name another key store location
    KEEP_INVALID_HISTORY = "keep-invalid-history"  # record failing credentials as such
    MANIFEST_ALONE = "manifest-alone"  # a manifest store given where content was expected
    CREATE_STORE = "create-store"  # create the key store that is missing (or name another)
    CREATE_TSA = "create-tsa"  # make the time-stamping authority an older store lacks
    ROTATE = "rotate"  # rotate the identity: a new key and certificate under its name
    ROTATE_TSA = "rotate-tsa"  # rotate the time-stamping authority
    ALLOW_CERTIFICATE = "allow-certificate"  # trust a signing certificate alone, not as a CA
    ADD_ANCHOR = "add-anchor"  # trust a CA certificate as a trust anchor
    ADD_ROOT = "add-root"  # trust the root CA of a chain (exported on the signer's side)
    KNOWN_TRUST_ID = "known-trust-id"  # name an id the trust list shows


class ProvenanceError(Exception):
    """Root of every error raised by the library on bad data or environment."""

    exit_code: int = 1

    def __init__(self, *args: object, remedy: Remedy | None = None) -> None:
        super().__init__(*args)
        self.remedy = remedy

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (batch workers): keep the remedy.
        return (_rebuild, (type(self), self.args, self.remedy))

    def diagnostics(self) -> str:
        """One line a person can act on."""
        return str(self)

    def about(self, name: object) -> Self:
        """The same error naming what it is about (``NAME: message``); its remedy and
        other attributes are kept."""
        named = _rebuild(type(self), (f"{name}: {self}",), self.remedy)
        named.__dict__.update(self.__dict__)
        return cast(Self, named)


class UsageError(ProvenanceError):
    """The request cannot be carried out as asked (a usage problem, exit 2)."""

    exit_code = 2


class OutputError(ProvenanceError):
    """The output could not be written (disk full, I/O error); nothing was written."""


class OutputRefused(OutputError, UsageError):
    """The output path cannot be written as given: the caller's to fix (exit 2)."""

    exit_code = 2


class OutputExists(OutputRefused):
    """The output path exists and overwriting was not requested."""

    def __init__(self, *args: object, remedy: Remedy | None = Remedy.REPLACE) -> None:
        super().__init__(*args, remedy=remedy)


class InputError(ProvenanceError):
    """An input could not be read: missing, unreadable, truncated, too large (exit 3)."""

    exit_code = 3


class UnsupportedMedia(InputError):
    """The input's bytes are not a media type this operation supports."""


class KeyStoreError(ProvenanceError):
    """A key store operation failed."""


class KeyStoreMissing(KeyStoreError, UsageError):
    """No key store exists at the given home directory."""

    exit_code = 2


class KeyStoreExists(KeyStoreError, UsageError):
    """A key store already exists where a new one was to be created."""

    exit_code = 2


class TimeStampAuthorityMissing(KeyStoreError, UsageError):
    """The key store predates its time-stamping authority and none was made yet."""

    exit_code = 2


class KeyStoreCorrupt(KeyStoreError):
    """A key store file is unreadable, foreign or damaged; it is never overwritten."""


class PassphraseRequired(KeyStoreError):
    """A passphrase is needed and none was given."""


class WrongPassphrase(KeyStoreError):
    """The passphrase does not decrypt the key."""


class WeakPassphrase(KeyStoreError, UsageError):
    """A passphrase for new key material is shorter than the minimum (exit 2)."""

    exit_code = 2


class IdentityNotFound(KeyStoreError, UsageError):
    """No signing identity (or watermark key) of that name."""

    exit_code = 2


class IdentityUnusable(KeyStoreError):
    """The identity exists but may not sign (revoked, retired or expired)."""


class SigningError(ProvenanceError):
    """Building or signing a manifest failed."""


class TimeStampError(SigningError):
    """A time-stamp could not be had: the authority failed, timed out or answered wrongly."""


class RepositoryError(ProvenanceError):
    """The repository could not be read or written."""


class RepositoryUnreachable(RepositoryError, UsageError):
    """The repository's server could not be reached when it was opened: a usage error
    before any work (exit 2). Once a batch is under way, a file that meets it is that
    file's ``RepositoryError`` (exit 1) instead."""

    exit_code = 2


class CredentialsError(ProvenanceError):
    """Reading a manifest store failed for a reason other than the file itself."""


class TextWrapperError(InputError):
    """The text carries a C2PA wrapper that cannot be used; ``code`` is the C2PA status."""

    code = "manifest.text.corruptedWrapper"


class CorruptedWrapper(TextWrapperError):
    """A wrapper's magic matched but its version, length or contents are broken."""


class MultipleWrappers(TextWrapperError):
    """More than one intact wrapper: which one applies would be the attacker's choice."""

    code = "manifest.text.multipleWrappers"


class JumbfError(InputError):
    """The bytes are not a well-formed JUMBF tree."""


class PayloadNotEmbeddable(InputError):
    """The text has no character either carrier may attach to."""


class LLMExtraMissing(ProvenanceError):
    """An optional package of the ``llm`` extra (transformers, torch, tokenizers) is missing."""

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package {package!r}, which is not installed: "
            "run pip install 'provenance-toolkit[llm]'"
        )
        self.package = package


class TokenizerNotFound(UsageError):
    """No tokenizer of that name or at that path (exit 2)."""


class TokenizerUnreadable(InputError):
    """Tokenizer files exist but could not be loaded (exit 3)."""


class RemoteManifest(InputError):
    """The manifest lives at a URL and remote fetching is off."""


class InvalidParent(SigningError):
    """What an edit would record as its parent carries a manifest that fails validation."""


class CertificateProfileError(KeyStoreError):
    """An imported certificate breaks the c2pa-rs certificate profile."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"the certificate for {name!r} cannot sign C2PA manifests: " + "; ".join(problems)
        )


def _rebuild(
    cls: type[ProvenanceError], args: tuple[object, ...], remedy: Remedy | None
) -> ProvenanceError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.remedy = remedy
    return error
