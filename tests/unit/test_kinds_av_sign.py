"""Audio and video sign and verify like images: the same manifest, trusted with the store's
trust, invalid after one byte of media data changes; big files stream."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from fixtures.media import MediaFile, bmff_head, every_kind, flip_media_byte, mp4, wav
from provenance.credentials.manifest import AIContent, DigitalSourceType
from provenance.credentials.read import TrustSettings
from provenance.credentials.sign import ManifestSigner
from provenance.errors import InputError
from provenance.home import revocations_of
from provenance.keystore import KeyStore
from provenance.kinds.media import Limits
from provenance.report import Verdict
from provenance.signing.sign import read_asset, sign_bytes, sign_file
from provenance.signing.signer import manifest_signer
from provenance.verify.verifier import Verifier, VerifyConfig

MAKERS = every_kind()


def trusting(store: KeyStore, limits: Limits = Limits()) -> Verifier:
    trust = TrustSettings(anchors_pem=store.trust.pem())
    return Verifier(VerifyConfig(trust=trust, revocations=revocations_of(store), limits=limits))


@pytest.fixture
def signer(env_store: KeyStore, passphrase: str) -> Iterator[ManifestSigner]:
    with manifest_signer(env_store, None, passphrase) as made:  # time-stamped, offline
        yield made


@pytest.fixture
def media_file(tmp_path: Path) -> Callable[[MediaFile], Path]:
    def write(media: MediaFile) -> Path:
        path = tmp_path / media.name
        path.write_bytes(media.data)
        return path

    return write


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_each_kind_signs_verifies_trusted_and_a_flipped_byte_is_invalid(
    env_store: KeyStore,
    signer: ManifestSigner,
    media_file: Callable[[MediaFile], Path],
    tmp_path: Path,
    make: Callable[[], MediaFile],
) -> None:
    media = make()
    source = media_file(media)
    output = tmp_path / f"signed-{media.name}"
    result = sign_file(source, output, signer, AIContent(model="sound-gen", model_version="3"))
    assert result.media_type == media.media_type
    assert result.record_id is None
    assert result.size == output.stat().st_size
    assert source.read_bytes() == media.data  # the input is never modified

    verifier = trusting(env_store)
    report = verifier.verify_path(output)
    assert report.verdict is Verdict.TRUSTED, report.summary
    assert report.media_type == media.media_type
    assert report.ai_generated is True
    credentials = report.credentials
    assert credentials is not None
    assert credentials.model == "sound-gen 3"
    assert credentials.signer == "default"
    assert credentials.digital_source_type == str(DigitalSourceType.TRAINED_ALGORITHMIC_MEDIA)
    assert credentials.signed_at is not None  # the store's own time-stamping authority
    assert "time-stamped by" in report.summary
    kind = "audio" if media.media_type.startswith("audio/") else "video"
    assert report.watermark is not None
    assert report.watermark.note == f"no watermark check for {kind} content"
    store = verifier.manifest_store(output)
    assert store is not None
    preference = store.assertion("cawg.training-mining")
    assert preference is not None and preference["entries"]

    changed = tmp_path / f"changed-{media.name}"
    changed.write_bytes(flip_media_byte(media, output.read_bytes()))
    broken = verifier.verify_path(changed)
    assert broken.verdict is Verdict.INVALID, broken.summary
    assert broken.summary.startswith("content changed after signing")
    assert broken.credentials is not None
    assert any(code.endswith("Hash.mismatch") for code in broken.credentials.failures)


def test_an_unsigned_file_reads_none_and_says_there_is_no_watermark_check(
    media_file: Callable[[MediaFile], Path],
) -> None:
    report = Verifier().verify_path(media_file(wav()))
    assert report.verdict is Verdict.NONE
    assert report.summary == (
        "no manifest embedded; watermark not checked (no watermark check for audio content)"
    )


def test_cli_signs_without_a_watermark_says_so_and_verify_exits_1_on_a_changed_copy(
    env_store: KeyStore,
    media_file: Callable[[MediaFile], Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``sign`` asks for the watermark by default: a video gets its credentials, and the
    warning (stderr, through the CLI's logging) says it has no mark."""
    media = mp4()
    source = media_file(media)
    output = tmp_path / "out.mp4"
    runner = CliRunner()
    signed = runner.invoke(app, ["sign", str(source), "-o", str(output), "--model", "v"])
    assert signed.exit_code == 0, signed.output
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{source}: video content has no watermark in this toolkit; signed with C2PA alone"
    ]
    assert "no watermark" in signed.stdout
    changed = tmp_path / "changed.mp4"
    changed.write_bytes(flip_media_byte(media, output.read_bytes()))
    checked = runner.invoke(app, ["verify", str(output), str(changed)])
    assert checked.exit_code == 1, checked.output
    assert "2 files: 1 trusted, 1 invalid; by kind: 2 video" in checked.stderr


def test_in_memory_signing_takes_audio_too(env_store: KeyStore, signer: ManifestSigner) -> None:
    """The in-memory path (pipelines, the server) is the stream path on a memory stream."""
    media = wav()
    signed = sign_bytes(media.data, signer, AIContent(model="m"))
    assert signed.media_type == "audio/wav"
    report = trusting(env_store).verify_bytes(signed.data, "tone.wav")
    assert report.verdict is Verdict.TRUSTED, report.summary


def _big_mp4(path: Path, size: int) -> MediaFile:
    """An MP4 of about ``size`` bytes, written in pieces (never whole in memory)."""
    piece = os.urandom(1 << 20)
    media_size = (size // len(piece)) * len(piece)
    head, offset = bmff_head(b"isom", (b"isom", b"mp41"), media_size, audio=False, sample_size=768)
    with path.open("wb") as handle:
        handle.write(head)
        for _ in range(media_size // len(piece)):
            handle.write(piece)
    return MediaFile(path.name, "video/mp4", head + piece[:256], offset)


def test_a_video_over_the_in_memory_limit_streams(
    env_store: KeyStore, signer: ManifestSigner, tmp_path: Path
) -> None:
    """With the limit for content read whole at 1 MiB, a 48 MiB MP4 still signs and
    verifies: it is never read whole. The lowered limit still holds for an image."""
    limits = Limits(max_file_bytes=1 << 20)
    source = tmp_path / "big.mp4"
    media = _big_mp4(source, 48 << 20)
    asset = read_asset(source, limits=limits)
    assert asset.on_disk and asset.kind.name == "video"
    output = tmp_path / "big-signed.mp4"
    result = sign_file(source, output, signer, AIContent(model="m"), limits=limits)
    assert result.size == output.stat().st_size > source.stat().st_size
    verifier = trusting(env_store, limits)
    assert verifier.verify_path(output).verdict is Verdict.TRUSTED
    # one byte of the first megabyte of media data, patched in place
    with output.open("r+b") as handle:
        data = handle.read(1 << 16)
        at = data.find(media.data[media.payload_at : media.payload_at + 64])
        assert at > 0
        handle.seek(at + 3)
        handle.write(bytes([data[at + 3] ^ 0xFF]))
    assert verifier.verify_path(output).verdict is Verdict.INVALID

    image = tmp_path / "big.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 << 20))
    refused = verifier.verify_path(image)
    assert refused.verdict is Verdict.ERROR
    assert refused.error == "larger than the 1,048,576-byte limit for image files"


def test_the_stream_limit_is_its_own(tmp_path: Path) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(mp4().data)
    limits = Limits(max_stream_bytes=1000)
    with pytest.raises(InputError, match="limit for video files"):
        read_asset(source, limits=limits)
    report = Verifier(VerifyConfig(limits=limits)).verify_path(source)
    assert report.verdict is Verdict.ERROR
    assert report.error == "larger than the 1,000-byte limit for video files"


def test_batch_signing_takes_audio_and_video(
    env_store: KeyStore, media_file: Callable[[MediaFile], Path], tmp_path: Path
) -> None:
    sources = [media_file(wav()), media_file(mp4())]
    out = tmp_path / "out"
    args = ["sign", *map(str, sources), "--out-dir", str(out), "--workers", "1", "--jsonl"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 files: 2 signed; by kind: 1 audio, 1 video" in result.stderr
    verifier = trusting(env_store)
    for source in sources:
        signed = out / source.relative_to(source.anchor)
        assert verifier.verify_path(signed).verdict is Verdict.TRUSTED


def test_batch_signing_streams_video_over_the_in_memory_limit(
    env_store: KeyStore, passphrase: str, tmp_path: Path
) -> None:
    """``sign --out-dir`` signs audio and video from a stream as one file does: with the
    in-memory limit at 1 MiB, a 24 MiB MP4 signs; an image over it is that file's error."""
    from provenance.batch import SignStatus, sign_many
    from provenance.signing import SignSettings

    limits = Limits(max_file_bytes=1 << 20)
    folder = tmp_path / "in"
    folder.mkdir()
    _big_mp4(folder / "big.mp4", 24 << 20)
    (folder / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 << 20))
    settings = SignSettings(home=env_store.home, model="m", watermark=False, limits=limits)
    outcomes = {
        Path(o.input).name: o
        for o in sign_many([folder], tmp_path / "out", settings, passphrase, recursive=True)
    }
    video = outcomes["big.mp4"]
    assert video.status is SignStatus.SIGNED and video.output is not None
    assert video.size == Path(video.output).stat().st_size > (24 << 20)
    assert trusting(env_store, limits).verify_path(Path(video.output)).verdict is Verdict.TRUSTED
    image = outcomes["big.png"]
    assert image.status is SignStatus.UNREADABLE
    assert image.error == "larger than the 1,048,576-byte limit for image files"
