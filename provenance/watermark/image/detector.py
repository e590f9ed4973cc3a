"""Detection: sync once per image, then per secret: pilot offset, soft decode, tag check.

A payload is reported only when the keyed tag decodes exactly. Each secret gets at most
``config.max_decodes`` decoding attempts, so an unmarked image (or a foreign mark) reports
a payload with probability at most ``max_decodes * 2**-TAG_BITS`` per secret tried.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage

from provenance.watermark.secret import WatermarkSecret

from .config import CELL, TILE, WatermarkConfig
from .pattern import CELL_FILTER_FFT, ORIENTATIONS, Layout, Orientation, layout_for, reorient
from .payload import CODED_BITS, decode_soft, tag_matches
from .pixels import detection_luma
from .sync import (
    ANALYSIS_SIDE,
    NOMINAL,
    Analysis,
    Lattice,
    analyse,
    fold,
    lattice_candidates,
)

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Spectrum = npt.NDArray[np.complex128]
#: Pilot z-score under which a candidate is not worth a decoding attempt.
_DECODE_GATE = 5.5
#: Pilot z-score above which the best lattice is refined (the mark is surely there).
_REFINE_GATE = 6.0
#: Refinement steps: relative scale, rotation (radians), then halved once.
_REFINE_STEPS = (0.006, math.radians(0.3))


@dataclasses.dataclass(frozen=True)
class Detection:
    """What ``detect`` found.

    ``alg`` is the format the mark was written in (``config.ALGORITHMS``), read from its
    tag. ``orientation`` names the quarter turn and mirroring of the image against the
    marked original ("0" upright, "90" turned a quarter counter-clockwise, "mirror+0"
    flipped left to right, ...). ``p_value`` bounds the chance of this report on an
    unmarked image, counting every secret tried, every decoding attempt and every format's
    tag checked (1.0 when nothing was found). ``score`` is the
    pilot's z-score. Geometry: ``scale`` is the tile size relative to a freshly marked image
    of this size (1.0 after uniform resizing, 1.25 after cropping 80% and scaling back),
    ``angle`` the rotation in degrees (counter-clockwise), ``offset`` the (x, y) of a tile
    origin in input pixels. ``tile_to_input`` is the whole geometry as an affine map: input
    pixel ``(x, y) = A @ (u, v) + t`` for canonical tile coordinates ``(u, v)`` (``TILE`` px
    a period), given as the rows ``(A[0,0], A[0,1], t[0]), (A[1,0], A[1,1], t[1])``; None
    when nothing was found.
    """

    detected: bool
    payload: bytes | None
    secret_name: str | None
    p_value: float
    score: float
    scale: float
    angle: float
    offset: tuple[float, float]
    secrets_tried: int
    tile_to_input: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    alg: str | None = None
    orientation: str | None = None


@dataclasses.dataclass(frozen=True)
class _Candidate:
    lattice: Lattice
    z: float
    shift: tuple[int, int]  # (row, col) of the tile origin in the fold
    spec: npt.NDArray[np.complex128]  # whitened fold spectrum
    orientation: Orientation = ORIENTATIONS[0]


def detect(
    image: Image.Image,
    secrets: Sequence[WatermarkSecret] | WatermarkSecret,
    config: WatermarkConfig | None = None,
) -> Detection:
    """Look for a mark made with any of ``secrets``; the first that decodes wins."""
    config = config or WatermarkConfig()
    if isinstance(secrets, WatermarkSecret):
        secrets = [secrets]
    if not secrets or not all(isinstance(s, WatermarkSecret) for s in secrets):
        raise TypeError("secrets must be a non-empty sequence of WatermarkSecret")
    analysis = analyse(detection_luma(image, config))
    nominal = whiten_fold(fold(analysis.residual, NOMINAL))
    budget = [config.max_decodes] * len(secrets)
    best_z = -math.inf
    # Fast path: most images keep their geometry (or were resized as a whole).
    for i, secret in enumerate(secrets):
        layout = layout_for(secret.key)
        cand = pilot_offset(layout, NOMINAL, nominal)
        best_z = max(best_z, cand.z)
        if cand.z >= _REFINE_GATE:
            budget[i] -= 1
            found = _decode(layout, cand, secret.key)
            if found is not None:
                return _report(analysis, cand, found, secret, len(secrets), config)
    # Full search over the lattices the autocorrelation suggests.
    # Candidates are ranked on cheap folds; a decoding attempt uses the exact fold.
    folds = [(NOMINAL, nominal)] + [
        (lat, whiten_fold(fold(analysis.residual, lat, exact=False)))
        for lat in lattice_candidates(analysis.residual)
        if lat is not NOMINAL
    ]
    exact: dict[Lattice, Spectrum] = {NOMINAL: nominal}
    for i, secret in enumerate(secrets):
        layout = layout_for(secret.key)
        ranked = sorted((pilot_offset(layout, lat, f) for lat, f in folds), key=lambda c: -c.z)
        best_z = max(best_z, ranked[0].z)
        tried = budget[i] < config.max_decodes  # the nominal lattice was decoded above
        for rough in _attempts(analysis, layout, ranked, budget[i], skip_nominal=tried):
            if rough.lattice not in exact:
                exact[rough.lattice] = whiten_fold(fold(analysis.residual, rough.lattice))
            cand = pilot_offset(layout, rough.lattice, exact[rough.lattice])
            found = _decode(layout, cand, secret.key)
            if found is not None:
                return _report(analysis, cand, found, secret, len(secrets), config)
    return Detection(False, None, None, 1.0, best_z, 0.0, 0.0, (0.0, 0.0), len(secrets))


def whiten_fold(folded: FloatArray, like: FloatArray | None = None) -> Spectrum:
    """Spectrum of the fold with its magnitude flattened (what is left of the photo in the
    fold is coloured; the mark is not), returned in the frequency domain. With ``like``,
    the flattening measured on that fold is applied (a linear map, for the embedder)."""
    spec = np.fft.fft2(folded)
    ref = spec if like is None else np.fft.fft2(like)
    mag = np.fft.fftshift(np.abs(ref))
    smooth = np.fft.ifftshift(ndimage.uniform_filter(mag, 5, mode="wrap"))
    out: npt.NDArray[np.complex128] = spec / (smooth + 1e-9 * float(smooth.mean()) + 1e-30)
    return out


def _attempts(
    analysis: Analysis,
    layout: Layout,
    ranked: list[_Candidate],
    limit: int,
    *,
    skip_nominal: bool = False,
) -> Iterator[_Candidate]:
    """At most ``limit`` candidates to decode, best pilot first.

    When the best pilot is clear but its lattice does not decode, the lattice is slightly
    off (a long fold magnifies small errors): its refinement is the next attempt. It is
    computed only if needed and counts against ``limit``, so the bound holds. With
    ``skip_nominal`` the nominal lattice, already decoded, is only refined.
    """
    usable = [c for c in ranked if c.z >= _DECODE_GATE]
    if not usable or limit <= 0:
        return
    first = usable[0]
    if not (skip_nominal and first.lattice is NOMINAL):
        yield first
        limit -= 1
    if first.z >= _REFINE_GATE and limit > 0:
        yield _refine(analysis, layout, first)
        limit -= 1
    rest = [c for c in usable[1:] if not (skip_nominal and c.lattice is NOMINAL)]
    yield from rest[: max(limit, 0)]


def _refine(analysis: Analysis, layout: Layout, start: _Candidate) -> _Candidate:
    """Coordinate ascent of the pilot z over scale, rotation and per-axis stretch."""
    turn = start.orientation
    spec = whiten_fold(fold(analysis.residual, start.lattice))
    best = pilot_offset(layout, start.lattice, spec, only=turn)
    scale_step, angle_step = _REFINE_STEPS
    for _ in range(2):
        for move in ("scale", "angle", "stretch_x", "stretch_y"):
            for sign in (-1.0, 1.0):
                step = angle_step if move == "angle" else scale_step
                lattice = _perturb(best.lattice, move, sign * step)
                spec = whiten_fold(fold(analysis.residual, lattice))
                cand = pilot_offset(layout, lattice, spec, only=turn)
                if cand.z > best.z:
                    best = cand
        scale_step, angle_step = scale_step / 2, angle_step / 2
    return best


def _perturb(lattice: Lattice, move: str, amount: float) -> Lattice:
    m = lattice.matrix() * TILE
    if move == "scale":
        m = m * (1.0 + amount)
    elif move == "angle":
        c, s = math.cos(amount), math.sin(amount)
        m = np.array([[c, s], [-s, c]]) @ m
    elif move == "stretch_x":
        m = np.diag([1.0 + amount, 1.0]) @ m
    else:
        m = np.diag([1.0, 1.0 + amount]) @ m
    return Lattice(
        (float(m[0, 0]), float(m[1, 0])), (float(m[0, 1]), float(m[1, 1])), lattice.score
    )


def pilot_offset(
    layout: Layout, lattice: Lattice, spec: Spectrum, *, only: Orientation | None = None
) -> _Candidate:
    """Cyclic cross-correlation of the fold with the pilot tile in each orientation (or
    ``only`` one): the best orientation, its offset and z-score.

    The orientations are free for the false-positive bound (they decode nothing), and
    cheap: the eight correlations are one batched inverse FFT.
    """
    half = spec[:, : TILE // 2 + 1]
    if only is None:
        orientations = ORIENTATIONS
        corr = np.fft.irfft2(half[None] * layout.oriented_pilot_rfft, s=(TILE, TILE))
    else:
        orientations = (only,)
        pilot = layout.oriented_pilot_rfft[ORIENTATIONS.index(only)]
        corr = np.fft.irfft2(half * pilot, s=(TILE, TILE))[None]
    flat = corr.reshape(corr.shape[0], -1)
    peaks = flat.argmax(axis=1)
    # Over the TILE**2 offsets the correlation is close to Gaussian (a sum of many cells).
    top = flat[np.arange(flat.shape[0]), peaks]
    zs = (top - flat.mean(axis=1)) / (flat.std(axis=1) + 1e-30)
    best = int(np.argmax(zs))  # ties go to the first: upright
    row, col = divmod(int(peaks[best]), TILE)
    return _Candidate(lattice, float(zs[best]), (row, col), spec, orientations[best])


def cell_responses(spec: npt.NDArray[np.complex128], shift: tuple[int, int]) -> FloatArray:
    """Matched-filter output per cell, for a tile origin at ``shift`` (row, col)."""
    corr = np.fft.ifft2(spec * CELL_FILTER_FFT).real
    aligned = np.roll(corr, (-shift[0], -shift[1]), axis=(0, 1))
    out: FloatArray = aligned[::CELL, ::CELL].ravel()
    return out


def _decode(layout: Layout, cand: _Candidate, key: bytes) -> tuple[bytes, str] | None:
    """One decoding attempt: payload and format, or None (the tag did not match)."""
    spec, shift = cand.spec, cand.shift
    if cand.orientation is not ORIENTATIONS[0]:
        # Turn the fold back upright (whitening commutes with the turn) and find the
        # offset there: the cells then lie where the layout says.
        upright = reorient(np.fft.ifft2(spec).real, cand.orientation, inverse=True)
        spec = np.fft.fft2(upright)
        shift = pilot_offset(layout, cand.lattice, spec, only=ORIENTATIONS[0]).shift
    cells = cell_responses(spec, shift) * layout.chips
    soft = np.bincount(layout.bit_of_cell, cells[layout.data], CODED_BITS).astype(np.float64)
    return tag_matches(decode_soft(soft), key)


def _report(
    analysis: Analysis,
    cand: _Candidate,
    found: tuple[bytes, str],
    secret: WatermarkSecret,
    n_secrets: int,
    config: WatermarkConfig,
) -> Detection:
    payload, alg = found
    lat = cand.lattice
    period = 0.5 * (math.hypot(*lat.v1) + math.hypot(*lat.v2))
    row, col = cand.shift
    fold_to_input = lat.matrix() / analysis.factor
    ox, oy = fold_to_input @ np.array([col, row], dtype=np.float64)
    offset = (float(ox) + analysis.origin[0], float(oy) + analysis.origin[1])
    # A tile coordinate y lands at fold coordinate D y + shift (D: the orientation).
    matrix = fold_to_input @ np.array(cand.orientation.matrix, dtype=np.float64)
    angle = -math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    affine = (
        (float(matrix[0, 0]), float(matrix[0, 1]), offset[0]),
        (float(matrix[1, 0]), float(matrix[1, 1]), offset[1]),
    )
    return Detection(
        detected=True,
        payload=payload,
        secret_name=secret.name,
        p_value=config.false_positive_bound(n_secrets),
        score=cand.z,
        scale=period / (ANALYSIS_SIDE / 4),
        angle=angle,
        offset=offset,
        secrets_tried=n_secrets,
        tile_to_input=affine,
        alg=alg,
        orientation=cand.orientation.name,
    )
