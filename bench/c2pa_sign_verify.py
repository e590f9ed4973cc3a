"""Sign and verify time per 1 MP JPEG: provenance-toolkit vs raw c2pa-python, same settings.

    python -m bench.c2pa_sign_verify [--rounds 300]

Both sides use one ES256 key from a fresh key store, thumbnails off and the same
verify-after-sign setting; rounds are interleaved so drift hits both alike. "Raw" is the
least a c2pa-python user writes: one Signer and Context reused, a Builder per file,
and for reading a Reader plus the JSON and validation results a verdict needs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import c2pa

from bench._report import write_section
from fixtures.demo_image import landscape
from fixtures.support import PASSPHRASE, encode, make_key_store
from provenance.credentials.manifest import AIContent, manifest_definition
from provenance.credentials.read import TrustSettings
from provenance.credentials.sign import ManifestSigner, SignOptions
from provenance.keystore import Signer
from provenance.signing.sign import sign_bytes
from provenance.verify.verifier import Verifier, VerifyConfig


def one_megapixel_jpeg() -> bytes:
    return encode(landscape(1152, 864), "JPEG", quality=90)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = make_key_store(Path(tmp) / "home", org="Bench")
        signer = store.signer(None, PASSPHRASE)
        anchors = store.trust.pem()
    asset = one_megapixel_jpeg()
    content = AIContent(model="bench-model", model_version="1")
    options = SignOptions()

    ours_signer = ManifestSigner(signer, options)
    raw_signer = c2pa.Signer.from_callback(
        signer.sign, c2pa.C2paSigningAlg.ES256, signer.certificate_chain_pem.decode(), None
    )
    raw_sign_context = c2pa.Context.from_dict(options.context_settings())
    definition = manifest_definition(content, "image/jpeg")

    def raw_sign() -> bytes:
        out = io.BytesIO()
        with c2pa.Builder(definition, raw_sign_context) as builder:
            builder.sign(raw_signer, "image/jpeg", io.BytesIO(asset), out)
        return out.getvalue()

    def ours_sign() -> bytes:
        return sign_bytes(asset, ours_signer, content).data

    signed = ours_sign()
    trust = TrustSettings(anchors_pem=anchors)
    raw_read_context = c2pa.Context.from_dict(trust.context_settings())
    verifier = Verifier(VerifyConfig(trust=trust))
    assert verifier.verify_bytes(signed).verdict == "trusted"

    def raw_read() -> None:
        reader = c2pa.Reader.try_create("image/jpeg", io.BytesIO(signed), context=raw_read_context)
        assert reader is not None
        with reader:
            reader.json()
            reader.get_validation_state()
            reader.get_validation_results()

    def ours_read() -> None:
        verifier.verify_bytes(signed)

    cases = {
        "sign raw": raw_sign,
        "sign ours": ours_sign,
        "read raw": raw_read,
        "read ours": ours_read,
    }
    for fn in cases.values():  # warm up
        for _ in range(5):
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            times[name].append(timed(fn))

    def ms(name: str) -> float:
        return statistics.median(times[name]) * 1000

    def p90(name: str) -> float:
        return statistics.quantiles(times[name], n=10)[-1] * 1000

    rows = [
        "| operation | raw c2pa-python median (p90) | provenance-toolkit median (p90) | overhead |",
        "|---|---|---|---|",
    ]
    for op, label in (("sign", "sign"), ("read", "read + validate")):
        raw, ours = ms(f"{op} raw"), ms(f"{op} ours")
        raw_p90, ours_p90 = p90(f"{op} raw"), p90(f"{op} ours")
        rows.append(
            f"| {label} | {raw:.2f} ms ({raw_p90:.2f}) | {ours:.2f} ms ({ours_p90:.2f}) "
            f"| {100 * (ours / raw - 1):+.1f}% |"
        )
    choices = settings_table(asset, signer, content, max(10, args.rounds // 10))
    versions = (
        f"c2pa-python {importlib.metadata.version('c2pa-python')} (c2pa-rs {c2pa.sdk_version()})"
    )
    body = (
        f"1152x864 JPEG ({len(asset):,} bytes), ES256, thumbnail off, verify_after_sign "
        f"{'on' if options.verify_after_sign else 'off'}, {args.rounds} interleaved rounds, "
        f"{versions}. Signed output: {len(signed):,} bytes "
        f"(manifest adds {len(signed) - len(asset):,}).\n\n"
        "Ours includes sniffing the type, checking the image header against the pixel "
        "limit and building the manifest; reading includes sniffing and the verdict.\n\n"
        + "\n".join(rows)
        + "\n\nWhat the defaults save (provenance-toolkit signing, median ms and output size):\n\n"
        + choices
    )
    print(body)
    write_section("c2pa_sign_verify", "C2PA sign and verify, 1 MP JPEG", body)


def settings_table(asset: bytes, signer: Signer, content: AIContent, rounds: int) -> str:
    """Signing time and size under the settings SignOptions and ManifestSigner choose."""
    variants: dict[str, Callable[[], bytes]] = {}
    for label, options in (
        ("defaults: thumbnail off, verify_after_sign on", SignOptions()),
        ("verify_after_sign off", SignOptions(verify_after_sign=False)),
        ("thumbnail on (c2pa-rs's default)", SignOptions(thumbnail=True)),
    ):
        reused = ManifestSigner(signer, options)
        variants[label] = lambda reused=reused: sign_bytes(asset, reused, content).data
    variants["a new c2pa Signer and Context per file"] = lambda: (
        sign_bytes(asset, ManifestSigner(signer), content).data
    )
    rows = ["| setting | sign ms | signed bytes |", "|---|---|---|"]
    for label, fn in variants.items():
        size = len(fn())
        median = statistics.median(timed(fn) for _ in range(rounds)) * 1000
        rows.append(f"| {label} | {median:.2f} | {size:,} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
