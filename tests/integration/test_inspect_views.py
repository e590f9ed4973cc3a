"""`inspect --certs` and `inspect --detailed`: c2patool's other ways of showing a store.

The chain is read from the store's own bytes (c2pa-python's JSON has none) and must be
exactly what the key store signed with; the detailed report is c2pa-rs's, with the
verdict this toolkit reached (text's hard binding is checked here, not by c2pa-rs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.media import mp4, wav
from provenance.keystore import KeyStore


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def signed(source: Path, output: Path, *extra: str) -> Path:
    result = run("sign", str(source), "-o", str(output), "--model", "m", *extra)
    assert result.exit_code == 0, result.output
    return output


@pytest.fixture
def make_signed(
    env_store: KeyStore, image_file: Callable[..., Path], tmp_path: Path
) -> Callable[[str], Path]:
    """A file of each kind signed by the key store, by name: jpeg, png, mp4, wav, text,
    sidecar (a JPEG whose store is beside it)."""

    def make(kind: str) -> Path:
        if kind in ("jpeg", "png", "sidecar"):
            name, fmt = ("in.png", "PNG") if kind == "png" else ("in.jpg", "JPEG")
            source = image_file(name, fmt)
            extra = ("--sidecar",) if kind == "sidecar" else ()
            return signed(source, tmp_path / f"out-{kind}{source.suffix}", *extra)
        source = tmp_path / {"mp4": "in.mp4", "wav": "in.wav", "text": "in.txt"}[kind]
        if kind == "text":
            source.write_text("A generated story about the sea. " * 12, encoding="utf-8")
        else:
            source.write_bytes((mp4() if kind == "mp4" else wav()).data)
        return signed(source, tmp_path / f"out-{kind}{source.suffix}")

    return make


def pem_chain(output: str) -> list[x509.Certificate]:
    assert output.startswith("-----BEGIN CERTIFICATE-----"), output
    return x509.load_pem_x509_certificates(output.encode())


@pytest.mark.parametrize("kind", ["jpeg", "png", "mp4", "wav", "text", "sidecar"])
def test_certs_prints_the_chain_the_key_store_signed_with(
    env_store: KeyStore, make_signed: Callable[[str], Path], kind: str
) -> None:
    path = make_signed(kind)
    result = run("inspect", "--certs", str(path))
    assert result.exit_code == 0, result.output
    printed = pem_chain(result.stdout)
    # What the signer carries: the store's chain file (the local CA's identities carry
    # the leaf alone; c2pa-rs finds the root among the trust anchors).
    carried = x509.load_pem_x509_certificates(env_store.identities.chain_pem("default"))
    assert printed == carried
    root = x509.load_pem_x509_certificate(env_store.root_pem())
    printed[-1].verify_directly_issued_by(root)  # the leaf, issued by the store's root CA
    stamped_by = x509.load_pem_x509_certificates(env_store.tsa.chain_pem())
    assert not set(printed) & set(stamped_by)  # the time-stamp's authority is not in it
    if kind == "sidecar":
        assert "manifest from the sidecar out-sidecar.c2pa" in result.stderr


def test_certs_of_a_conformance_file_leaf_first(
    conformance: tuple[Path, dict[str, dict[str, list[str]]]],
) -> None:
    root, _ = conformance
    result = run("inspect", "--certs", str(root / "c2pa-rs" / "CA.jpg"))
    assert result.exit_code == 0, result.output
    chain = pem_chain(result.stdout)
    leaf = chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert leaf == "C2PA Signer" and len(chain) >= 2
    chain[0].verify_directly_issued_by(chain[1])


def test_a_file_without_a_manifest_exits_1_for_every_view(
    env_store: KeyStore, image_file: Callable[..., Path]
) -> None:
    plain = image_file("plain.jpg")
    for view in ("--certs", "--detailed", "--tree"):
        result = run("inspect", view, str(plain))
        assert result.exit_code == 1 and result.stdout == "", (view, result.output)
        assert "plain.jpg: no C2PA manifest" in result.stderr


def detailed(path: Path) -> dict[str, Any]:
    result = run("inspect", "--detailed", str(path))
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def failure_codes(report: dict[str, Any]) -> list[str]:
    active = report["validation_results"]["activeManifest"]
    return [entry["code"] for entry in active.get("failure") or ()]


@pytest.mark.parametrize("kind", ["jpeg", "mp4", "text"])
def test_detailed_is_c2pa_rs_detailed_report_with_this_toolkit_verdict(
    make_signed: Callable[[str], Path], kind: str
) -> None:
    path = make_signed(kind)
    report = detailed(path)
    label = report["active_manifest"]
    manifest = report["manifests"][label]
    # The detailed form: the claim and the assertion store as they are, not the summary.
    assert manifest["claim"]["signature"] == f"self#jumbf=/c2pa/{label}/c2pa.signature"
    assert "c2pa.actions.v2" in manifest["assertion_store"]
    assert report["validation_state"] == "Trusted", failure_codes(report)
    assert failure_codes(report) == []
    plain = json.loads(run("inspect", str(path)).stdout)
    assert plain["active_manifest"] == label and "assertion_store" not in plain["manifests"][label]


def test_detailed_text_carries_the_text_binding_check(make_signed: Callable[[str], Path]) -> None:
    path = make_signed("text")
    successes = detailed(path)["validation_results"]["activeManifest"]["success"]
    assert "assertion.dataHash.match" in {entry["code"] for entry in successes}
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("the sea", "the SEA", 1), encoding="utf-8")
    report = detailed(path)
    assert report["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in failure_codes(report)


@pytest.mark.parametrize(
    "flags", [("--tree", "--certs"), ("--tree", "--detailed"), ("--detailed", "--certs")]
)
def test_the_views_are_exclusive(
    make_signed: Callable[[str], Path], flags: tuple[str, str]
) -> None:
    result = run("inspect", *flags, str(make_signed("jpeg")))
    assert result.exit_code == 2 and result.stdout == ""
    assert f"choose one of {flags[0]} and {flags[1]}" in result.stderr


def test_certs_of_an_update_manifest_and_of_a_store_c2pa_rs_cannot_read(
    conformance: tuple[Path, dict[str, dict[str, list[str]]]],
) -> None:
    root, _ = conformance
    updated = run("inspect", "--certs", str(root / "c2pa-rs" / "update_manifest.jpg"))
    assert updated.exit_code == 0, updated.output  # the active manifest is a c2um box
    assert len(pem_chain(updated.stdout)) >= 1
    for view in ("--certs", "--detailed"):
        broken = run("inspect", view, str(root / "c2pa-rs" / "no_alg.jpg"))
        assert broken.exit_code == 3 and broken.stdout == "", broken.output
        (line,) = broken.stderr.splitlines()
        assert "manifest.malformed" in line and "unknown algorithm" in line
