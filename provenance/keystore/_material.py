"""Private keys and certificate chains: loading, matching and checking imports."""

from __future__ import annotations

import itertools
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from provenance.errors import CertificateProfileError

from ..errors import (
    InputError,
    KeyStoreCorrupt,
    KeyStoreError,
    PassphraseRequired,
    WeakPassphrase,
    WrongPassphrase,
)
from ._files import Layout, StoreFiles, read_input, sha256_hex
from .ca import SigningKey, algorithm_of
from .config import MIN_PASSPHRASE_LENGTH
from .profile import check_signing_certificate
from .signer import Algorithm
from .trust import parse_certificates


def require_passphrase(passphrase: str | None, purpose: str) -> bytes:
    if not passphrase:
        raise PassphraseRequired(f"a passphrase is needed to {purpose}")
    return passphrase.encode()


def require_new_passphrase(passphrase: str | None, purpose: str) -> bytes:
    """``require_passphrase`` for new key material: also at least MIN_PASSPHRASE_LENGTH."""
    secret = require_passphrase(passphrase, purpose)
    assert passphrase is not None
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise WeakPassphrase(
            f"a passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters (this one has "
            f"{len(passphrase)}) to {purpose}"
        )
    return secret


def public_key_matches(key: PrivateKeyTypes, cert: x509.Certificate) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)


def as_signing_key(key: PrivateKeyTypes) -> SigningKey | None:
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    return None


def load_store_key(
    layout: Layout, relpath: str, expected_sha256: str | None, passphrase: bytes, owner: str
) -> SigningKey:
    """Decrypt a key the store wrote. ``owner`` names it in messages ("identity X").

    The index records each key file's SHA-256, so a damaged or swapped file is
    reported as corruption instead of as a wrong passphrase: with that check done, a
    decryption failure can only mean the passphrase is wrong.
    """
    path = layout.root / relpath
    data = layout.read(path)
    if expected_sha256 is not None and sha256_hex(data) != expected_sha256:
        raise KeyStoreCorrupt(
            f"{path}: the key file differs from what the store wrote (SHA-256 mismatch); "
            "restore it from a backup"
        )
    try:
        key = serialization.load_pem_private_key(data, passphrase)
    except TypeError:
        raise KeyStoreCorrupt(f"{path}: the private key is not encrypted") from None
    except ValueError:
        raise WrongPassphrase(f"the passphrase does not decrypt the key for {owner}") from None
    signing_key = as_signing_key(key)
    if signing_key is None:
        raise KeyStoreCorrupt(f"{path}: holds an unsupported key type")
    return signing_key


def load_root_key(files: StoreFiles, secret: bytes) -> ec.EllipticCurvePrivateKey:
    """The local root CA's key, decrypted: only the store's owner may issue or revoke."""
    root = files.index().root
    key = load_store_key(
        files.layout, root.key_file, root.key_sha256, secret, "the key store's root CA"
    )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyStoreError(f"{files.layout.root / root.key_file}: not an EC root key")
    return key


class ImportedMaterial:
    """A key and chain that passed every check and may enter the store."""

    def __init__(self, key: SigningKey, chain: list[x509.Certificate], algorithm: Algorithm):
        self.key = key
        self.chain = chain
        self.algorithm = algorithm

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)


def prepare_import(
    name: str, key_source: Path | bytes, chain_source: Path | bytes, passphrase: bytes
) -> ImportedMaterial:
    """Check an external key and chain; refuse in plain words what c2pa-rs would reject."""
    key_data, key_name = read_input(key_source, "private key")
    chain_data, chain_name = read_input(chain_source, "certificate chain")
    chain = parse_certificates(chain_data, chain_name)
    try:
        key = serialization.load_pem_private_key(key_data, None)
    except TypeError:  # encrypted: the store's passphrase is the only one we know
        try:
            key = serialization.load_pem_private_key(key_data, passphrase)
        except ValueError:
            raise WrongPassphrase(
                f"{key_name} is encrypted with a passphrase other than the key store's: "
                "decrypt it first (openssl pkey -in KEY.pem -out KEY-plain.pem)"
            ) from None
    except ValueError as exc:
        raise InputError(f"{key_name}: not a PEM private key ({exc})") from None
    signing_key = as_signing_key(key)
    leaf = chain[0]
    if signing_key is None:
        raise KeyStoreError(
            f"{key_name}: {type(key).__name__} keys cannot sign C2PA manifests here; use EC "
            "P-256/P-384/P-521, RSA (2048 bits or more) or Ed25519"
        )
    if not public_key_matches(signing_key, leaf):
        raise KeyStoreError(
            f"{key_name} does not belong to the first certificate in {chain_name} "
            f"({leaf.subject.rfc4514_string()}); c2pa-rs would report 'the signature does "
            "not match': put the signer's certificate first in the chain"
        )
    _check_chain_order(chain, chain_name)
    problems = check_signing_certificate(leaf)
    if problems:
        raise CertificateProfileError(name, [str(p) for p in problems])
    algorithm = algorithm_of(leaf.public_key())
    if algorithm is None:  # excluded by the profile check; kept for the type checker
        raise KeyStoreError(f"{chain_name}: unsupported key type")
    return ImportedMaterial(signing_key, chain, algorithm)


def _check_chain_order(chain: list[x509.Certificate], source: str) -> None:
    for position, (child, parent) in enumerate(itertools.pairwise(chain), start=1):
        try:
            child.verify_directly_issued_by(parent)
        except (InvalidSignature, ValueError, TypeError):
            raise KeyStoreError(
                f"{source}: certificate {position + 1} ({parent.subject.rfc4514_string()}) "
                f"did not issue certificate {position} ({child.subject.rfc4514_string()}); "
                "list the chain leaf first, then each issuer in turn"
            ) from None
