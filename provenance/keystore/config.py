"""Tunables of the key store in one typed object, with defaults and validation."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._pkcs8 import ScryptCost

#: The shortest passphrase (in characters) that may protect new key material: a new
#: store, identity or rotated key, and a backup. Keys written before the rule still open
#: with the passphrase they were written with.
MIN_PASSPHRASE_LENGTH = 12


@dataclass(frozen=True)
class KeyStoreConfig:
    """How expensive, how long and how patient the key store is.

    The scrypt default (N=2**14, r=8, p=2) costs about 0.15 s per key on a 2-core
    machine and stays within OpenSSL's 32 MiB scrypt memory limit, so ``openssl pkey``
    can still decrypt a key file with the passphrase; p=2 doubles the work of N=2**14
    without raising the memory above that limit.
    """

    scrypt: ScryptCost = field(default_factory=lambda: ScryptCost(log2_n=14, r=8, p=2))
    lock_timeout_seconds: float = 30.0
    leaf_days: int = 365
    root_days: int = 3650
    rsa_bits: int = 3072

    def __post_init__(self) -> None:
        if self.lock_timeout_seconds < 0:
            raise ValueError("lock_timeout_seconds must not be negative")
        if not 1 <= self.leaf_days <= self.root_days:
            raise ValueError("leaf_days must be between 1 and root_days")
        if self.rsa_bits < 2048:
            raise ValueError("C2PA requires RSA keys of at least 2048 bits")
