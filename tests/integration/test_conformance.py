"""Every real-world C2PA file from c2pa-rs and c2pa-org gets an acceptable verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from fixtures.support import conformance_trust
from provenance.verify.verifier import Verifier, VerifyConfig


@pytest.mark.parametrize("mode", ["default", "testroot"])
def test_every_file_gets_an_acceptable_verdict(
    conformance: tuple[Path, dict[str, dict[str, list[str]]]], mode: str
) -> None:
    root, expected = conformance
    verifier = Verifier(VerifyConfig(trust=conformance_trust(root, mode)))
    wrong = {}
    for name, modes in expected.items():
        report = verifier.verify_path(root / name)
        if str(report.verdict) not in modes[mode]:
            wrong[name] = (str(report.verdict), modes[mode], report.summary)
    assert len(expected) == 31
    assert not wrong, wrong


def test_cli_batch_over_the_conformance_set(
    conformance: tuple[Path, dict[str, dict[str, list[str]]]], home: Path
) -> None:
    """The CLI's JSON report and exit code over the whole set in testroot mode."""
    root, expected = conformance
    args = [
        "verify",
        "--recursive",
        "--jsonl",
        "--workers",
        "2",
        "--trust-anchors",
        str(root / "trust" / "c2pa-rs-test_cert_root_bundle.pem"),
        "--trust-config",
        str(root / "trust" / "c2pa-rs-store.cfg"),
        str(root / "c2pa-rs"),
        str(root / "public-testfiles"),
    ]
    result = CliRunner().invoke(app, args)
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(reports) == 31
    for report in reports:
        name = str(Path(report["path"]).relative_to(root))
        assert report["verdict"] in expected[name]["testroot"], (name, report)
    assert result.exit_code == 1  # the set holds invalid files
    assert "31 files:" in result.stderr
