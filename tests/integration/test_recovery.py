"""Durable credentials: sign = watermark + manifest; verify recovers what platforms strip."""

from __future__ import annotations

import io
import json
import multiprocessing
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE, encode, natural_image, png_chunks
from provenance.credentials.manifest import AIContent
from provenance.credentials.read import TrustSettings
from provenance.credentials.sign import ManifestSigner
from provenance.home import revocations_of
from provenance.keystore import KeyStore
from provenance.report import Verdict
from provenance.repository import SQLiteRepository
from provenance.signing.sign import Watermarking, sign_bytes, sign_file
from provenance.verify.verifier import Verifier, VerifyConfig
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import ALGORITHM


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def social_media(data: bytes) -> bytes:
    """What a platform does: decode, resize to 0.75, JPEG 75, metadata gone."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    small = image.resize((int(width * 0.75), int(height * 0.75)), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=75)
    return out.getvalue()


class Setup:
    def __init__(self, store: KeyStore, home: Path) -> None:
        self.store = store
        self.repository_path = home / "repository.sqlite"
        self.repository = SQLiteRepository(self.repository_path)
        key = store.watermark_keys.get()
        self.secret = WatermarkSecret(key.name, key.secret)
        self.signer = ManifestSigner(store.signer(None, PASSPHRASE))

    def sign(self, data: bytes, model: str = "gen") -> tuple[bytes, int]:
        signed = sign_bytes(
            data, self.signer, AIContent(model=model), watermarking=Watermarking(
                self.secret, self.repository
            ),
        )  # fmt: skip
        assert signed.record_id is not None
        return signed.data, signed.record_id

    def verifier(self, *, repository: bool = True) -> Verifier:
        return Verifier(
            VerifyConfig(
                trust=TrustSettings(anchors_pem=self.store.trust.pem()),
                revocations=revocations_of(self.store),
                watermark_secrets=(self.secret,),
                repository=str(self.repository_path) if repository else None,
            )
        )


@pytest.fixture
def setup(env_store: KeyStore, home: Path) -> Setup:
    return Setup(env_store, home)


def photo(seed: int = 0, fmt: str = "JPEG") -> bytes:
    return encode(
        natural_image(512, 384, seed=seed), fmt, **({"quality": 92} if fmt == "JPEG" else {})
    )


def test_signed_file_is_trusted_and_its_watermark_agrees(setup: Setup) -> None:
    signed, record_id = setup.sign(photo())
    report = setup.verifier().verify_bytes(signed)
    assert report.verdict is Verdict.TRUSTED, report.summary
    assert report.watermark is not None
    assert report.watermark.agrees is True
    assert report.watermark.payload == f"{record_id:016x}"
    assert "watermark agrees" in report.summary
    record = setup.repository.get(record_id)
    assert record is not None and record.binding_alg == ALGORITHM
    assert record.media_type == "image/jpeg" and record.signer == "default"


def test_stripped_and_reencoded_file_is_recovered(setup: Setup) -> None:
    signed, record_id = setup.sign(photo(), model="imagegen-3")
    attacked = social_media(signed)
    report = setup.verifier().verify_bytes(attacked)
    assert report.verdict is Verdict.RECOVERED, report.summary
    assert report.ai_generated is True
    assert report.credentials is not None
    assert report.credentials.state == "Trusted"
    assert report.credentials.model == "imagegen-3"
    assert "assertion.dataHash.mismatch" in report.credentials.failures  # expected, reported
    assert report.watermark is not None and report.watermark.record == f"{record_id:016x}"
    assert "recovered through the watermark" in report.summary


def test_watermark_without_a_record_is_watermarked(setup: Setup) -> None:
    signed, _ = setup.sign(photo())
    report = setup.verifier(repository=False).verify_bytes(social_media(signed))
    assert report.verdict is Verdict.WATERMARKED
    assert "no repository here" in report.summary
    assert report.credentials is None
    setup.repository_path.unlink()
    SQLiteRepository(setup.repository_path)  # an empty repository: no record for it
    report = setup.verifier().verify_bytes(social_media(signed))
    assert report.verdict is Verdict.WATERMARKED
    assert "no manifest for it in the repository" in report.summary


def test_plain_image_is_none_and_no_watermark_flag_skips_detection(setup: Setup) -> None:
    report = setup.verifier().verify_bytes(photo())
    assert report.verdict is Verdict.NONE
    assert report.watermark is not None and report.watermark.detected is False


def test_transplanted_manifest_is_not_rescued_by_a_foreign_watermark(setup: Setup) -> None:
    """Manifest of image A pasted onto image B (which carries B's watermark)."""
    signed_a, record_a = setup.sign(photo(seed=1, fmt="PNG"))
    signed_b, record_b = setup.sign(photo(seed=2, fmt="PNG"))
    manifest_a = [c for c in png_chunks(signed_a) if c[4:8] == b"caBX"]
    chunks_b = [c for c in png_chunks(signed_b) if c[4:8] != b"caBX"]
    forged = b"\x89PNG\r\n\x1a\n" + chunks_b[0] + b"".join(manifest_a) + b"".join(chunks_b[1:])
    report = setup.verifier().verify_bytes(forged)
    assert report.verdict is Verdict.INVALID, report.summary
    assert "its watermark carries another record" in report.summary
    assert "not made for this content" in report.summary
    assert report.ai_generated is None
    assert report.watermark is not None
    assert report.watermark.payload == f"{record_b:016x}" != f"{record_a:016x}"
    assert report.watermark.agrees is False


def test_own_manifest_with_changed_pixels_is_invalid_and_linked(setup: Setup) -> None:
    """Pixels re-encoded but the manifest kept: the binding fails, the watermark agrees.
    Altered content is invalid whatever its watermark says; the report says which record
    the mark links it to, and never a cause it cannot observe."""
    signed, record_id = setup.sign(photo(seed=3, fmt="PNG"))
    manifest = [c for c in png_chunks(signed) if c[4:8] == b"caBX"]
    reencoded = encode(Image.open(io.BytesIO(signed)).convert("RGB").rotate(0.5), "PNG")
    chunks = png_chunks(reencoded)
    kept = b"\x89PNG\r\n\x1a\n" + chunks[0] + b"".join(manifest) + b"".join(chunks[1:])
    report = setup.verifier().verify_bytes(kept)
    assert report.verdict is Verdict.INVALID, report.summary
    assert report.summary.startswith(
        f"content changed after signing; its watermark links it to record {record_id:016x}: "
        "AI-generated by gen; signed by default"
    )
    assert report.ai_generated is True
    assert report.watermark is not None and report.watermark.record == f"{record_id:016x}"
    assert report.watermark.agrees is True
    assert report.credentials is not None
    assert "assertion.dataHash.mismatch" in report.credentials.failures
    assert "re-encoded" not in report.summary


def test_recovered_manifest_of_a_revoked_signer_is_invalid(setup: Setup) -> None:
    signed, _ = setup.sign(photo(seed=4))
    setup.store.identities.revoke("default", "compromised", PASSPHRASE)
    report = setup.verifier().verify_bytes(social_media(signed))
    assert report.verdict is Verdict.INVALID
    assert "failed validation: the signing certificate was revoked" in report.summary
    assert report.ai_generated is None


def test_small_images_are_refused_for_watermarking_not_silently_skipped(setup: Setup) -> None:
    from provenance.errors import InputError

    with pytest.raises(InputError):
        setup.sign(encode(natural_image(200, 150), "PNG"))
    assert setup.verifier().verify_bytes(encode(natural_image(200, 150), "PNG")).verdict == "none"


def _sign_three(home: str, folder: str, worker: int) -> list[int]:
    store = KeyStore.open(Path(home))
    key = store.watermark_keys.get()
    watermarking = Watermarking(
        WatermarkSecret(key.name, key.secret), SQLiteRepository(Path(home) / "repository.sqlite")
    )
    signer = ManifestSigner(store.signer(None, PASSPHRASE))
    ids = []
    for index in range(3):
        source = Path(folder) / f"in-{worker}-{index}.png"
        source.write_bytes(encode(natural_image(300, 260, seed=10 * worker + index), "PNG"))
        result = sign_file(
            source, source.with_name(f"out-{worker}-{index}.png"), signer, AIContent(),
            watermarking=watermarking,
        )  # fmt: skip
        assert result.record_id is not None
        ids.append(result.record_id)
    return ids


def test_two_processes_sign_into_one_repository(
    env_store: KeyStore, home: Path, tmp_path: Path
) -> None:
    SQLiteRepository(home / "repository.sqlite").close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(_sign_three, [(str(home), str(tmp_path), w) for w in (1, 2)])
    ids = results[0] + results[1]
    assert len(set(ids)) == 6
    repository = SQLiteRepository(home / "repository.sqlite")
    assert all(repository.get(record_id) is not None for record_id in ids)


def test_cli_end_to_end_recovery(home: Path, passphrase: str, tmp_path: Path) -> None:
    assert run("keys", "init").exit_code == 0
    source = tmp_path / "gen.png"
    source.write_bytes(photo(seed=5, fmt="PNG"))
    signed = tmp_path / "signed.png"
    result = run("sign", str(source), "-o", str(signed), "--model", "m")
    assert result.exit_code == 0, result.output
    assert "watermark record" in result.stdout
    shared = tmp_path / "shared.jpg"
    shared.write_bytes(social_media(signed.read_bytes()))
    result = run("verify", "--jsonl", str(signed), str(shared))
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line)["verdict"] for line in result.stdout.splitlines()]
    assert verdicts == ["trusted", "recovered"]
    skipped = run("verify", "--no-watermark", str(shared))
    assert skipped.exit_code == 0 and skipped.stdout.startswith("none")
    plain = tmp_path / "plain.png"
    assert run("sign", str(source), "-o", str(plain), "--no-watermark").exit_code == 0
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(social_media(plain.read_bytes()))
    assert run("verify", str(stripped)).stdout.startswith("none")


def test_cli_signs_with_the_default_or_named_watermark_key(
    home: Path, passphrase: str, tmp_path: Path
) -> None:
    assert run("keys", "init").exit_code == 0
    KeyStore.open(home).watermark_keys.create("second")
    source = tmp_path / "gen.png"
    source.write_bytes(photo(seed=6, fmt="PNG"))
    for name, key in (("default.png", None), ("second.png", "second")):
        extra = ["--watermark-key", key] if key else []
        result = run("sign", str(source), "-o", str(tmp_path / name), *extra)
        assert result.exit_code == 0, result.output
        shared = tmp_path / f"shared-{name}.jpg"
        shared.write_bytes(social_media((tmp_path / name).read_bytes()))
        (report,) = json.loads(run("verify", "--json", str(shared)).stdout)
        assert report["verdict"] == "recovered"
        assert report["watermark"]["key"] == (key or "default")
