"""Property-based fuzzing of the verifier entry point: ``Verifier.verify_bytes`` never raises.

    make fuzz        # about 90 seconds; outside ``make test`` (pytest's testpaths is tests/)

For random bytes and for mutations (bit flips, truncation, splices, duplicated ranges) of
valid JPEG, PNG and WebP images, a signed JPEG and a signed text with its C2PA wrapper,
the verifier must return a ``Report`` with one of the seven verdicts, and an ``error``
report must say why. The verifier runs with a watermark secret so that undecodable pixels
reach the decoder too. A crash found here becomes a named fixture in fixtures/hostile.py
and a test in tests/integration/test_hostile_inputs.py.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fixtures.support import FAST_CONFIG, PASSPHRASE, make_key_store
from provenance import AIContent, ManifestSigner, Verdict, Verifier, VerifyConfig
from provenance.credentials.read import TrustSettings
from provenance.signing.sign import sign_bytes
from provenance.watermark import WatermarkSecret

# Per-test example budget: `make fuzz` overrides it with FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # c2pa-rs and a decode per example; time is bounded by the budget
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _image(fmt: str) -> bytes:
    pixels = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, fmt)
    return buffer.getvalue()


@functools.cache
def _setup() -> tuple[Verifier, dict[str, bytes]]:
    """One verifier (trusting a fresh store's CA) and the valid seed inputs."""
    home = Path(tempfile.mkdtemp(prefix="provenance-fuzz-"))
    store = make_key_store(home, org="Fuzz Org", config=FAST_CONFIG)
    signer = ManifestSigner(store.signer(None, PASSPHRASE))
    seeds = {fmt.lower(): _image(fmt) for fmt in ("JPEG", "PNG", "WEBP")}
    seeds["signed-jpeg"] = sign_bytes(seeds["jpeg"], signer, AIContent(model="m")).data
    text = b"A short generated paragraph about provenance.\n"
    seeds["signed-text"] = sign_bytes(text, signer, AIContent(model="m")).data
    verify_config = VerifyConfig(
        trust=TrustSettings(anchors_pem=store.trust.pem()),
        watermark_secrets=(WatermarkSecret("fuzz", b"0123456789abcdef0123456789abcdef"),),
    )
    return Verifier(verify_config), seeds


def _check(data: bytes) -> None:
    verifier, _ = _setup()
    report = verifier.verify_bytes(data, "fuzz")
    assert isinstance(report.verdict, Verdict)
    if report.verdict is Verdict.ERROR:
        assert report.error and report.summary
    assert "\x1b" not in report.summary


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    _, seeds = _setup()
    data = bytearray(seeds[draw(st.sampled_from(sorted(seeds)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "byte", "truncate", "splice", "duplicate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice":
            data[at:at] = draw(st.binary(max_size=64))
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 512))]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(
    st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"]),
    st.binary(max_size=1024),
)
def test_magic_then_random(magic: bytes, rest: bytes) -> None:
    _check(magic + rest)


@FUZZ
@given(_mutated())
def test_mutated_valid_inputs(data: bytes) -> None:
    _check(data)


@FUZZ
@given(st.text(max_size=512), st.integers(0, 8))
def test_text_around_a_wrapper(prefix: str, cut: int) -> None:
    _, seeds = _setup()
    signed = seeds["signed-text"].decode("utf-8")
    text = prefix + signed[: len(signed) - cut] if cut else prefix + signed
    _check(text.encode("utf-8", "surrogatepass"))
