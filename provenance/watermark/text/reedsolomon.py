"""A small Reed-Solomon code over GF(2^8): systematic encoding, error correction.

Used for one short codeword (12 data bytes + 4 parity bytes), so clarity beats speed:
Berlekamp-Massey for the error locator, a Chien search for its roots and Forney's formula
for the magnitudes. ``nsym`` parity bytes correct up to ``nsym // 2`` wrong bytes.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ReedSolomonError", "rs_decode", "rs_encode"]

_PRIMITIVE: Final = 0x11D  # x^8 + x^4 + x^3 + x^2 + 1


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 512
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        value <<= 1
        if value & 0x100:
            value ^= _PRIMITIVE
    for power in range(255, 512):
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _tables()


class ReedSolomonError(ValueError):
    """The word has more errors than the code corrects."""


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


def _div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(256)")
    return 0 if a == 0 else _EXP[(_LOG[a] + 255 - _LOG[b]) % 255]


def _poly_mul(p: list[int], q: list[int]) -> list[int]:
    out = [0] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] ^= _mul(a, b)
    return out


def _poly_eval(poly: list[int], x: int) -> int:
    """Horner evaluation; coefficients highest degree first."""
    value = poly[0]
    for coefficient in poly[1:]:
        value = _mul(value, x) ^ coefficient
    return value


def _generator(nsym: int) -> list[int]:
    poly = [1]
    for power in range(nsym):
        poly = _poly_mul(poly, [1, _EXP[power]])
    return poly


def rs_encode(data: bytes, nsym: int) -> bytes:
    """``data`` followed by ``nsym`` parity bytes."""
    if len(data) + nsym > 255:
        raise ValueError("a GF(256) Reed-Solomon codeword holds at most 255 bytes")
    generator = _generator(nsym)
    remainder = list(data) + [0] * nsym
    for i in range(len(data)):
        coefficient = remainder[i]
        if coefficient:
            for j in range(1, len(generator)):
                remainder[i + j] ^= _mul(generator[j], coefficient)
    return bytes(data) + bytes(remainder[len(data) :])


def rs_decode(codeword: bytes, nsym: int) -> bytes:
    """The data bytes of ``codeword``, corrected; ``ReedSolomonError`` when it cannot be."""
    word = list(codeword)
    syndromes = [_poly_eval(word, _EXP[i]) for i in range(nsym)]
    if not any(syndromes):
        return bytes(word[:-nsym])
    locator = _error_locator(syndromes, nsym)
    errors = len(locator) - 1
    if errors * 2 > nsym:
        raise ReedSolomonError("too many errors to correct")
    positions = _error_positions(locator, len(word))
    if len(positions) != errors:
        raise ReedSolomonError("the error locator has no consistent roots")
    _correct(word, syndromes, positions)
    if any(_poly_eval(word, _EXP[i]) for i in range(nsym)):
        raise ReedSolomonError("the correction did not produce a codeword")
    return bytes(word[:-nsym])


def _error_locator(syndromes: list[int], nsym: int) -> list[int]:
    """Berlekamp-Massey; the locator polynomial, highest degree first."""
    locator = [1]
    previous = [1]
    for step in range(nsym):
        previous = [*previous, 0]
        delta = syndromes[step]
        for j in range(1, min(len(locator), step + 1)):
            delta ^= _mul(locator[-(j + 1)], syndromes[step - j])
        if delta:
            if len(previous) > len(locator):
                updated = [_mul(c, delta) for c in previous]
                previous = [_div(c, delta) for c in locator]
                locator = updated
            scaled = [_mul(c, delta) for c in previous]
            pad = len(locator) - len(scaled)
            if pad < 0:
                locator = [0] * -pad + locator
                pad = 0
            locator = [a ^ (scaled[i - pad] if i >= pad else 0) for i, a in enumerate(locator)]
    while len(locator) > 1 and locator[0] == 0:
        locator = locator[1:]
    return locator


def _error_positions(locator: list[int], length: int) -> list[int]:
    """Chien search: indices (from the start of the word) where errors sit."""
    reversed_locator = locator[::-1]
    positions = []
    for i in range(length):
        if _poly_eval(reversed_locator, _EXP[i]) == 0:
            positions.append(length - 1 - i)
    return positions


def _correct(word: list[int], syndromes: list[int], positions: list[int]) -> None:
    """Forney: subtract each error's magnitude in place."""
    length = len(word)
    coefficient_positions = [length - 1 - p for p in positions]
    locator = [1]
    for power in coefficient_positions:
        locator = _poly_mul(locator, [_EXP[power], 1])
    # Error evaluator: (syndromes(x) * locator(x)) mod x^(errors + 1), highest degree first.
    syndrome_poly = [*syndromes[::-1], 0]
    evaluator = _poly_mul(syndrome_poly, locator)[-len(locator) :]
    roots = [_EXP[power] for power in coefficient_positions]
    for i, root in enumerate(roots):
        inverse = _EXP[255 - _LOG[root]]
        denominator = 1
        for j, other in enumerate(roots):
            if j != i:
                denominator = _mul(denominator, 1 ^ _mul(inverse, other))
        magnitude = _mul(root, _div(_poly_eval(evaluator, inverse), denominator))
        word[positions[i]] ^= magnitude
