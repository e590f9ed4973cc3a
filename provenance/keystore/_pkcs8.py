"""Encrypted PKCS#8 with scrypt (RFC 8018 PBES2 + RFC 7914), written by hand.

Why not ``serialization.BestAvailableEncryption``: for PKCS#8 in cryptography 50 it
produces PBES2 with PBKDF2-HMAC-SHA256 at only 2048 iterations, which costs an attacker
almost nothing per guess. PBES2 also allows scrypt as its key-derivation function, and
both cryptography's loader and OpenSSL (``openssl pkcs8``) read that, so the files stay
standard encrypted PKCS#8 while a guess costs ``2**log2_n`` scrypt work. Only the
writer lives here; reading goes through ``load_pem_private_key``.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

# DER object identifiers, pre-encoded (tag 0x06, length, body).
_OID_PBES2 = bytes.fromhex("06092a864886f70d01050d")  # 1.2.840.113549.1.5.13
_OID_SCRYPT = bytes.fromhex("06092b06010401da47040b")  # 1.3.6.1.4.1.11591.4.11
_OID_AES256_CBC = bytes.fromhex("060960864801650304012a")  # 2.16.840.1.101.3.4.1.42


@dataclass(frozen=True)
class ScryptCost:
    """scrypt work factors; memory use is about ``128 * r * 2**log2_n`` bytes."""

    log2_n: int = 15
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.log2_n <= 22:
            raise ValueError(f"scrypt log2_n must be in 1..22, got {self.log2_n}")
        if not 1 <= self.r <= 64 or not 1 <= self.p <= 16:
            raise ValueError(f"scrypt r and p out of range: r={self.r} p={self.p}")

    def derive(self, passphrase: bytes, salt: bytes, length: int = 32) -> bytes:
        """The key for ``passphrase`` and ``salt`` at this cost."""
        kdf = Scrypt(salt=salt, length=length, n=2**self.log2_n, r=self.r, p=self.p)
        return kdf.derive(passphrase)


def _der(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 0x80:
        return bytes([tag, length]) + body
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def _der_int(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")  # leading 0 keeps it positive
    return _der(0x02, raw)


def _seq(*parts: bytes) -> bytes:
    return _der(0x30, b"".join(parts))


def _octets(data: bytes) -> bytes:
    return _der(0x04, data)


def encrypt_private_key(key: PrivateKeyTypes, passphrase: bytes, cost: ScryptCost) -> bytes:
    """PEM ``ENCRYPTED PRIVATE KEY`` for ``key``: PBES2, scrypt, AES-256-CBC."""
    if not passphrase:
        raise ValueError("an empty passphrase cannot protect a private key")
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = os.urandom(16)
    iv = os.urandom(16)
    derived = cost.derive(passphrase, salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(derived), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()

    scrypt_params = _seq(
        _octets(salt),
        _der_int(2**cost.log2_n),
        _der_int(cost.r),
        _der_int(cost.p),
        _der_int(32),
    )
    pbes2_params = _seq(_seq(_OID_SCRYPT, scrypt_params), _seq(_OID_AES256_CBC, _octets(iv)))
    info = _seq(_seq(_OID_PBES2, pbes2_params), _octets(ciphertext))
    body = base64.encodebytes(info).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        + b"\n".join(lines)
        + b"\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
