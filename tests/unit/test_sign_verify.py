"""Sign and verify round trips through the real key store and c2pa-rs."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from fixtures.support import encode, natural_image, png_chunks
from provenance.credentials.manifest import AIContent
from provenance.credentials.read import TrustSettings
from provenance.credentials.sign import ManifestSigner
from provenance.errors import InputError, OutputExists, UnsupportedMedia, UsageError
from provenance.home import revocations_of
from provenance.keystore import Algorithm, KeyStore
from provenance.report import Verdict
from provenance.signing.sign import sign_bytes, sign_file
from provenance.verify.verifier import Verifier, VerifyConfig

FORMATS = [
    ("photo.jpg", "JPEG", "image/jpeg"),
    ("photo.png", "PNG", "image/png"),
    ("photo.webp", "WEBP", "image/webp"),
    ("photo.gif", "GIF", "image/gif"),
    ("photo.tif", "TIFF", "image/tiff"),
    ("photo.avif", "AVIF", "image/avif"),
    ("photo.heic", "HEIF", "image/heic"),
]


def trusting(store: KeyStore) -> Verifier:
    trust = TrustSettings(anchors_pem=store.trust.pem())
    return Verifier(VerifyConfig(trust=trust, revocations=revocations_of(store)))


@pytest.fixture
def signer(env_store: KeyStore, passphrase: str) -> ManifestSigner:
    return ManifestSigner(env_store.signer(None, passphrase))


@pytest.mark.parametrize(("name", "fmt", "media_type"), FORMATS)
def test_round_trip_each_format(
    env_store: KeyStore,
    signer: ManifestSigner,
    image_file: Callable[..., Path],
    tmp_path: Path,
    name: str,
    fmt: str,
    media_type: str,
) -> None:
    source = image_file(name, fmt)
    original = source.read_bytes()
    output = tmp_path / f"signed-{name}"
    result = sign_file(source, output, signer, AIContent(model="gen", model_version="2"))
    assert result.media_type == media_type
    assert source.read_bytes() == original  # the input is never modified

    report = trusting(env_store).verify_path(output)
    assert report.verdict is Verdict.TRUSTED, report.summary
    assert report.media_type == media_type
    assert report.ai_generated is True
    assert report.credentials is not None
    assert report.credentials.model == "gen 2"
    assert report.credentials.signer == "default"
    assert report.credentials.failures == ()

    untrusted = Verifier().verify_path(output)
    assert untrusted.verdict is Verdict.VALID
    assert "not in your trust anchors" in untrusted.summary


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_each_algorithm_signs_trusted(
    env_store: KeyStore, passphrase: str, algorithm: Algorithm
) -> None:
    env_store.identities.create(f"id-{algorithm}", algorithm, passphrase=passphrase)
    signer = ManifestSigner(env_store.signer(f"id-{algorithm}", passphrase))
    signed = sign_bytes(encode(natural_image(96, 64), "JPEG"), signer, AIContent(model="m")).data
    report = trusting(env_store).verify_bytes(signed)
    assert report.verdict is Verdict.TRUSTED, report.summary
    assert report.credentials is not None and report.credentials.signer == f"id-{algorithm}"


def _signed_jpeg(signer: ManifestSigner) -> bytes:
    return sign_bytes(encode(natural_image(256, 192), "JPEG"), signer, AIContent(model="m")).data


def test_flipped_pixel_byte_is_invalid(env_store: KeyStore, signer: ManifestSigner) -> None:
    data = bytearray(_signed_jpeg(signer))
    data[-200] ^= 0x01  # inside the entropy-coded scan, after the manifest
    report = trusting(env_store).verify_bytes(bytes(data))
    assert report.verdict is Verdict.INVALID
    assert report.credentials is not None
    assert "assertion.dataHash.mismatch" in report.credentials.failures
    assert report.summary.startswith("content changed after signing")


def test_flipped_manifest_byte_is_invalid(env_store: KeyStore, signer: ManifestSigner) -> None:
    data = bytearray(_signed_jpeg(signer))
    at = data.index(b"notAllowed")  # inside the CBOR of the training-mining assertion
    data[at + 2] ^= 0x01
    report = trusting(env_store).verify_bytes(bytes(data))
    assert report.verdict is Verdict.INVALID, report.summary
    assert report.credentials is not None
    assert "assertion.hashedURI.mismatch" in report.credentials.failures


def test_manifest_transplanted_onto_other_pixels_is_invalid(
    env_store: KeyStore, signer: ManifestSigner
) -> None:
    """A manifest copied from one image onto another must not read as trusted."""
    first = sign_bytes(encode(natural_image(256, 192, seed=1), "PNG"), signer, AIContent()).data
    other = encode(natural_image(256, 192, seed=2), "PNG")
    # PNG chunks: keep the signed file's caBX chunk, swap in the other image's IDAT data.
    signed_chunks, other_chunks = png_chunks(first), png_chunks(other)
    idat = [c for c in other_chunks if c[4:8] == b"IDAT"]
    rebuilt = b"".join(c for c in signed_chunks if c[4:8] not in (b"IDAT", b"IEND"))
    rebuilt += b"".join(idat) + next(c for c in signed_chunks if c[4:8] == b"IEND")
    report = trusting(env_store).verify_bytes(b"\x89PNG\r\n\x1a\n" + rebuilt)
    assert report.verdict is Verdict.INVALID
    Image.open(io.BytesIO(b"\x89PNG\r\n\x1a\n" + rebuilt)).load()  # still a decodable PNG


def test_revoked_identity_reads_invalid(
    env_store: KeyStore, signer: ManifestSigner, passphrase: str
) -> None:
    signed = _signed_jpeg(signer)
    assert trusting(env_store).verify_bytes(signed).verdict is Verdict.TRUSTED
    env_store.identities.revoke("default", "key compromised", passphrase)
    report = trusting(env_store).verify_bytes(signed)
    assert report.verdict is Verdict.INVALID
    assert report.credentials is not None
    assert "signingCredential.revoked" in report.credentials.failures
    assert "revoked" in report.summary


def test_hostile_manifest_strings_are_escaped(env_store: KeyStore, signer: ManifestSigner) -> None:
    model = "\x1b[2J\x1b]0;pwned\x07[red]<script>alert(1)</script>" + "x" * 5000
    signed = sign_bytes(encode(natural_image(64, 64), "PNG"), signer, AIContent(model=model)).data
    report = trusting(env_store).verify_bytes(signed)
    assert report.verdict is Verdict.TRUSTED
    assert "\x1b" not in report.summary and "\x07" not in report.summary
    assert report.credentials is not None and report.credentials.model is not None
    assert len(report.credentials.model) <= 256


def test_sign_refuses_bad_paths_before_work(
    signer: ManifestSigner, image_file: Callable[..., Path], tmp_path: Path
) -> None:
    source = image_file()
    existing = tmp_path / "exists.jpg"
    existing.write_bytes(b"keep me")
    with pytest.raises(OutputExists, match=r"output already exists$"):
        sign_file(source, existing, signer, AIContent())
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(UsageError, match="never modified"):
        sign_file(source, source, signer, AIContent(), force=True)
    with pytest.raises(UsageError, match="directory does not exist"):
        sign_file(source, tmp_path / "no" / "x.jpg", signer, AIContent())
    with pytest.raises(InputError, match="no such file"):
        sign_file(tmp_path / "missing.jpg", tmp_path / "o.jpg", signer, AIContent())


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", UnsupportedMedia),
        (bytes(range(256)), UnsupportedMedia),  # neither an image nor UTF-8 text
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, InputError),  # a JPEG that stops in its header
    ],
)
def test_sign_refuses_unreadable_input_and_writes_nothing(
    signer: ManifestSigner, tmp_path: Path, data: bytes, error: type[Exception]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    source, output = work / "in.jpg", work / "out.jpg"
    source.write_bytes(data)
    with pytest.raises(error):
        sign_file(source, output, signer, AIContent())
    assert [p.name for p in work.iterdir()] == ["in.jpg"]  # no output, no temp file


def test_pixel_limit_refuses_decompression_bombs(signer: ManifestSigner) -> None:
    from provenance.kinds.media import Limits

    data = encode(natural_image(200, 100), "PNG")
    with pytest.raises(InputError, match="larger than the limit of 10,000 pixels"):
        sign_bytes(data, signer, AIContent(), limits=Limits(max_pixels=10_000))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02garbage" * 20, "not a supported image, text, audio or video type"),
        (b"\xff\xd8\xff" + bytes(range(256)) * 4, "could not be parsed"),
    ],
)
def test_verify_unreadable_input_is_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    report = Verifier().verify_path(path)
    assert report.verdict is Verdict.ERROR
    assert report.error is not None and expected in report.error


def test_verify_missing_file_and_size_limit(tmp_path: Path) -> None:
    from provenance.kinds.media import Limits

    assert Verifier().verify_path(tmp_path / "nope.png").error == "no such file"
    path = tmp_path / "big.png"
    path.write_bytes(encode(natural_image(64, 64), "PNG"))
    small = Verifier(VerifyConfig(limits=Limits(max_file_bytes=100)))
    assert "limit" in (small.verify_path(path).error or "")


def test_wrong_extension_is_reported(
    env_store: KeyStore, signer: ManifestSigner, tmp_path: Path
) -> None:
    path = tmp_path / "really-a-png.jpg"
    path.write_bytes(sign_bytes(encode(natural_image(64, 64), "PNG"), signer, AIContent()).data)
    report = trusting(env_store).verify_path(path)
    assert report.verdict is Verdict.TRUSTED
    assert report.media_type == "image/png"
    assert "content is image/png" in report.summary
