"""v1 and v2 image marks side by side: content signed with v1 still verifies and resolves."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.credentials.manifest import AIContent
from provenance.credentials.read import TrustSettings
from provenance.credentials.sign import ManifestSigner
from provenance.home import revocations_of
from provenance.keystore import KeyStore
from provenance.report import Verdict
from provenance.repository import SQLiteRepository
from provenance.signing.sign import Watermarking, sign_bytes
from provenance.verify.verifier import Verifier, VerifyConfig
from provenance.watermark import WatermarkSecret
from provenance.watermark.image import ALGORITHM
from provenance.watermark.image.config import ALGORITHM_V1
from provenance.watermark.image.engine import ImageMarkEngine


def stripped(data: bytes) -> bytes:
    """Metadata gone, re-encoded at 0.8 of the size: what a platform serves."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    small = image.resize((image.width * 4 // 5, image.height * 4 // 5), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.mark.parametrize("alg", [ALGORITHM_V1, ALGORITHM])
def test_each_version_signs_verifies_and_recovers(
    env_store: KeyStore, home: Path, monkeypatch: pytest.MonkeyPatch, alg: str
) -> None:
    repository_path = home / "repository.sqlite"
    repository = SQLiteRepository(repository_path)
    key = env_store.watermark_keys.get()
    secret = WatermarkSecret(key.name, key.secret)
    # Content signed by a release that wrote ``alg``.
    monkeypatch.setattr(ImageMarkEngine, "alg", alg)
    signed = sign_bytes(
        encode(natural_image(640, 480, seed=5), "JPEG", quality=92),
        ManifestSigner(env_store.signer(None, PASSPHRASE)),
        AIContent(model="gen"),
        watermarking=Watermarking(secret, repository),
    )
    monkeypatch.undo()  # verified by this release
    assert signed.record_id is not None
    record = repository.get(signed.record_id)
    assert record is not None and record.binding_alg == alg
    verifier = Verifier(
        VerifyConfig(
            trust=TrustSettings(anchors_pem=env_store.trust.pem()),
            revocations=revocations_of(env_store),
            watermark_secrets=(secret,),
            repository=str(repository_path),
        )
    )
    intact = verifier.verify_bytes(signed.data)
    assert intact.verdict is Verdict.TRUSTED, intact.summary
    assert intact.watermark is not None and intact.watermark.agrees is True
    assert intact.watermark.alg == alg
    copy = verifier.verify_bytes(stripped(signed.data))
    assert copy.verdict is Verdict.RECOVERED, copy.summary
    assert copy.watermark is not None and copy.watermark.alg == alg
    assert copy.watermark.record == f"{signed.record_id:016x}"
