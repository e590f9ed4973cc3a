"""Text signed before v2 (v1 payload, v1 soft binding) still verifies and is recovered."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fixtures.support import PASSPHRASE
from provenance.credentials.manifest import AIContent
from provenance.credentials.text import strip_text_manifest
from provenance.home import (
    default_repository,
    verify_config_for_home,
    watermark_secret,
)
from provenance.keystore import KeyStore
from provenance.kinds import load_asset
from provenance.kinds.media import Limits
from provenance.kinds.text import TextKind
from provenance.repository import open_repository
from provenance.signing.sign import Watermarking, sign_loaded
from provenance.signing.signer import manifest_signer
from provenance.verify.verifier import Verifier
from provenance.watermark import MarkEngine, Marker, WatermarkSecret
from provenance.watermark.text import (
    ALGORITHM_V1,
    FORMAT_V1,
    LAYOUT_V1,
    TextPayloadEngine,
    detect_payload,
    embed_payload,
)

TEXT = " ".join(
    f"Paragraph {i} explains how a careful model writes calm sentences about rivers."
    for i in range(12)
)


class _TextEngineV1(TextPayloadEngine):
    """The text payload as it was before v2: the v1 payload under the v1 binding."""

    alg = ALGORITHM_V1

    def marker(
        self, data: bytes, media_type: str, secret: WatermarkSecret, limits: Limits, name: str
    ) -> Marker:
        text = data.decode("utf-8")

        def mark(payload: bytes) -> bytes:
            return embed_payload(text, payload, secret, fmt=FORMAT_V1, layout=LAYOUT_V1).encode()

        return mark


class _TextKindV1(TextKind):
    """The text kind as it was before v2."""

    mark: MarkEngine | None = _TextEngineV1()


def test_a_v1_signed_text_verifies_trusted_and_its_excerpt_is_recovered(
    fast_store: KeyStore, store_home: Path
) -> None:
    secret = watermark_secret(fast_store)
    repository = open_repository(default_repository(store_home))
    asset = dataclasses.replace(load_asset(TEXT.encode()), kind=_TextKindV1())
    with manifest_signer(fast_store, None, PASSPHRASE) as signer:
        signed = sign_loaded(
            asset, signer, AIContent(model="old-llm"), Watermarking(secret, repository)
        )
    repository.close()
    text = signed.data.decode("utf-8")
    assert detect_payload(strip_text_manifest(text), [secret]).algorithm == ALGORITHM_V1

    config = verify_config_for_home(store_home)
    verifier = Verifier(dataclasses.replace(config, repository=str(default_repository(store_home))))
    report = verifier.verify_bytes(signed.data, "old.txt")
    assert report.verdict == "trusted", report.summary
    assert report.watermark is not None and report.watermark.agrees is True
    assert report.watermark.alg == ALGORITHM_V1

    excerpt = " ".join(strip_text_manifest(text).split()[30:80])
    report = verifier.verify_bytes(excerpt.encode(), "excerpt.txt")
    assert report.verdict == "recovered", report.summary
    assert "old-llm" in report.summary and report.ai_generated is True
    assert report.watermark is not None and report.watermark.alg == ALGORITHM_V1
