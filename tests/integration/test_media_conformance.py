"""c2pa-rs's audio, video and other stills: every file gets an acceptable verdict in both
trust modes, each signs and verifies, AVIF and HEIC are checked for the watermark, and a
mixed folder verifies in one batch with per-kind counts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cli.main import app
from fixtures.media import MediaFile, flip_media_byte, mp4, wav
from fixtures.support import PASSPHRASE, conformance_trust, encode, make_key_store, photo_like
from provenance.credentials.manifest import AIContent
from provenance.credentials.read import TrustSettings
from provenance.home import watermark_secrets
from provenance.keystore import KeyStore
from provenance.kinds.imaging import decode_image
from provenance.report import Verdict
from provenance.signing.sign import sign_file
from provenance.signing.signer import manifest_signer
from provenance.verify.verifier import Verifier, VerifyConfig
from provenance.watermark.image.files import mark_in_kind

Expected = dict[str, dict[str, list[str]]]
HOSTILE = ("nested_moov_1000.mp4", "sample3.invalid.wav", "riff_bomb_1000.wav")
HOSTILE += ("id3v23_compression_underflow.mp3",)
UNSIGNED_AV = ("video1_no_manifest.mp4", "c.mov", "sample1.m4a", "test.avi", "sample1.wav")
UNSIGNED_AV += ("sample1.mp3", "sample1.flac")
STILLS = ("sample1.avif", "sample1.heic", "sample1.gif", "sample1.jxl", "TUSCANY.TIF")
STILLS += ("MultiPage.tif",)


@pytest.fixture(scope="module")
def media_set(conformance: tuple[Path, Expected]) -> tuple[Path, Path, Expected]:
    """The c2pa-media set beside the c2pa one (``conformance`` skips when it is absent)."""
    root = conformance[0]
    media = root.parent / "c2pa-media"
    if not (media / "expected.json").is_file():
        pytest.skip(f"the c2pa-media conformance files are not in {media.parent}")
    return root, media, json.loads((media / "expected.json").read_text())["files"]


@pytest.mark.parametrize("mode", ["default", "testroot"])
def test_every_media_file_gets_an_acceptable_verdict(
    media_set: tuple[Path, Path, Expected], mode: str
) -> None:
    root, media, expected = media_set
    verifier = Verifier(VerifyConfig(trust=conformance_trust(root, mode)))
    wrong = {}
    for name, modes in expected.items():
        report = verifier.verify_path(media / name)
        if str(report.verdict) not in modes[mode]:
            wrong[name] = (str(report.verdict), modes[mode], report.summary)
        if name in HOSTILE:
            assert "\n" not in report.summary and "Traceback" not in report.summary
            if report.verdict is Verdict.ERROR:
                assert report.error and "could not be parsed" in report.error, report
    assert len(expected) == 20
    assert not wrong, wrong
    dash = verifier.verify_path(media / "dashinit.mp4")
    assert dash.summary.startswith("content changed after signing")


def test_cli_batch_over_the_media_set_counts_each_kind(
    media_set: tuple[Path, Path, Expected], home: Path
) -> None:
    root, media, expected = media_set
    trust = root / "trust"
    args = ["verify", "-r", "--jsonl", "--workers", "2", str(media)]
    args += ["--trust-anchors", str(trust / "c2pa-rs-test_cert_root_bundle.pem")]
    args += ["--trust-config", str(trust / "c2pa-rs-store.cfg")]
    result = CliRunner().invoke(app, args)
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    checked = {Path(r["path"]).name: r for r in reports if Path(r["path"]).name in expected}
    assert len(checked) == 20
    for name, report in checked.items():
        assert report["verdict"] in expected[name]["testroot"], (name, report)
    assert result.exit_code == 1  # dashinit.mp4 is invalid
    # README.txt and expected.json are read as text
    assert "22 files:" in result.stderr
    assert "; by kind: 6 image, 2 text, 7 audio, 7 video" in result.stderr


@pytest.fixture(scope="module")
def signing_store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_key_store(tmp_path_factory.mktemp("media-home"))


def test_each_unsigned_conformance_file_signs_trusted_and_detects_a_flipped_byte(
    media_set: tuple[Path, Path, Expected], signing_store: KeyStore, tmp_path: Path
) -> None:
    """c2pa-rs's own audio, video and stills: signed here, verified with the store's trust;
    one byte of the media data (the file's middle) flipped is invalid."""
    _, media, _ = media_set
    verifier = Verifier(VerifyConfig(trust=TrustSettings(signing_store.trust.pem())))
    with manifest_signer(signing_store, None, PASSPHRASE) as signer:
        for name in UNSIGNED_AV + STILLS:
            data = (media / name).read_bytes()
            output = tmp_path / f"signed-{name}"
            sign_file(media / name, output, signer, AIContent(model="m"))
            report = verifier.verify_path(output)
            assert report.verdict is Verdict.TRUSTED, (name, report.summary)
            assert report.credentials is not None and report.credentials.signed_at
            original = MediaFile(name, str(report.media_type), data, len(data) // 2)
            changed = tmp_path / f"changed-{name}"
            changed.write_bytes(flip_media_byte(original, output.read_bytes()))
            broken = verifier.verify_path(changed)
            assert broken.verdict is Verdict.INVALID, (name, broken.summary)


def test_svg_signs_and_verifies(signing_store: KeyStore, tmp_path: Path) -> None:
    source = tmp_path / "mark.svg"
    source.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
        '<rect width="8" height="8" fill="#036"/></svg>\n'
    )
    output = tmp_path / "signed.svg"
    with manifest_signer(signing_store, None, PASSPHRASE) as signer:
        result = sign_file(source, output, signer, AIContent(model="m"))
    assert result.media_type == "image/svg+xml"
    verifier = Verifier(VerifyConfig(trust=TrustSettings(signing_store.trust.pem())))
    assert verifier.verify_path(output).verdict is Verdict.TRUSTED


@pytest.mark.parametrize(("fmt", "media_type"), [("AVIF", "image/avif"), ("HEIF", "image/heic")])
def test_avif_and_heic_are_checked_for_the_watermark(
    signing_store: KeyStore, fmt: str, media_type: str
) -> None:
    """A watermarked image re-saved as AVIF or HEIC: verify decodes it and finds the mark;
    cut short, its pixels cannot be decoded and it reads error with the reason."""
    secrets = tuple(watermark_secrets(signing_store))
    source = decode_image(encode(photo_like(512, 384), "PNG"), "photo")
    marked = Image.open(io.BytesIO(mark_in_kind(source, bytes(range(8)), secrets[0], "photo")))
    data = encode(marked, fmt, quality=90)
    verifier = Verifier(VerifyConfig(watermark_secrets=secrets))
    report = verifier.verify_bytes(data, f"photo.{fmt.lower()}")
    assert report.media_type == media_type
    assert report.verdict is Verdict.WATERMARKED, report.summary
    assert report.watermark is not None and report.watermark.payload == bytes(range(8)).hex()
    cut = verifier.verify_bytes(data[: len(data) * 2 // 3], "cut")
    assert cut.verdict is Verdict.ERROR
    assert cut.error and ("could not be decoded" in cut.error or "damaged" in cut.error)


def test_a_mixed_folder_verifies_in_one_run_with_per_kind_counts(
    home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "photo.png").write_bytes(encode(photo_like(64, 48), "PNG"))
    (folder / "notes.txt").write_text("a few words\n")
    for media in (wav(), mp4()):
        (folder / media.name).write_bytes(media.data)
    (folder / "empty.bin").write_bytes(b"")
    result = CliRunner().invoke(app, ["verify", "-r", "--no-watermark", str(folder)])
    assert result.exit_code == 3, result.output  # the empty file is unreadable
    assert (
        "5 files: 4 none, 1 error; by kind: 1 image, 1 text, 1 audio, 1 video, 1 unknown"
        in result.stderr
    )
