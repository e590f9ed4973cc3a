"""The signing session (provenance.signing): one settings object checked in one place,
the library's default path equal to `provenance sign`'s, checks before the passphrase,
and one audit line format whichever front end signed (the CLI, the server, a batch)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from fixtures.support import PASSPHRASE, encode, natural_image
from provenance.batch import SignStatus, sign_many
from provenance.credentials.manifest import TrainingMining
from provenance.errors import IdentityNotFound, InputError, UsageError
from provenance.home import verify_config_for_home
from provenance.keystore import KeyStore
from provenance.kinds.media import Limits
from provenance.report import Verdict
from provenance.signing import ContentSigner, SignSettings
from provenance.verify.verifier import Verifier

# -- settings: validated when made ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tsa_url": "http://tsa.example", "time_stamp": False}, "choose one of tsa_url"),
        ({"model_version": "1"}, "model_version needs model"),
        ({"training_mining": "sometimes"}, "is not one of allowed"),
        ({"assertions": ({"label": "c2pa.actions", "data": {}},)}, "c2pa.actions"),
    ],
)
def test_settings_refuse_contradictions_and_bad_values(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        SignSettings(**fields)


@pytest.mark.parametrize(
    "fields",
    [{"watermark": "no"}, {"model": 3}, {"limits": {"max_pixels": 1}}, {"home": 42}],
)
def test_settings_refuse_values_of_the_wrong_type(fields: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        SignSettings(**fields)


def test_settings_normalise_what_they_are_given(tmp_path: Path) -> None:
    settings = SignSettings(
        home=str(tmp_path),
        parent=str(tmp_path / "p.jpg"),
        repository=tmp_path / "r.sqlite",
        training_mining="allowed",  # type: ignore[arg-type]
        assertions=[{"label": "org.example.note", "data": {"a": 1}}],  # type: ignore[arg-type]
    )
    assert settings.home == tmp_path and settings.parent == tmp_path / "p.jpg"
    assert settings.repository == str(tmp_path / "r.sqlite")
    assert settings.training_mining is TrainingMining.ALLOWED
    assert isinstance(settings.assertions, tuple)
    with pytest.raises(Exception, match=r"frozen|cannot assign"):
        settings.model = "m"  # type: ignore[misc]


# -- the session ---------------------------------------------------------------------------


def _never() -> str:
    raise AssertionError("the passphrase was asked for before the checks failed")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"identity": "nobody"}, IdentityNotFound),
        ({"watermark_key": "nokey"}, IdentityNotFound),
        ({"parent": "missing-parent.jpg"}, Exception),
    ],
)
def test_checks_run_before_the_passphrase_is_asked_for(
    store_home: Path, tmp_path: Path, options: dict[str, Any], error: type[Exception]
) -> None:
    if "parent" in options:
        options = {"parent": tmp_path / options["parent"]}
    with pytest.raises(error):
        ContentSigner(store_home, _never, SignSettings(**options))


def test_the_library_default_path_watermarks_and_time_stamps(
    store_home: Path, tmp_path: Path
) -> None:
    source, output = tmp_path / "gen.png", tmp_path / "signed.png"
    source.write_bytes(encode(natural_image(320, 256), "PNG"))
    with ContentSigner(store_home, lambda: PASSPHRASE, SignSettings(model="m")) as signer:
        result = signer.sign_file(source, output)
        assert signer.time_stamp_authority  # the store's own authority, offline
    assert result.record_id is not None
    report = Verifier(verify_config_for_home(store_home)).verify_path(output)
    assert report.verdict is Verdict.TRUSTED, report.summary
    assert report.credentials is not None and report.credentials.signed_at
    assert report.watermark is not None
    assert report.watermark.payload == f"{result.record_id:016x}"


def test_keywords_replace_fields_of_the_settings(store_home: Path) -> None:
    settings = SignSettings(model="a", watermark=False)
    with ContentSigner(store_home, PASSPHRASE, settings, model="b", audit=False) as signer:
        assert signer.settings.model == "b" and not signer.settings.watermark
        assert signer.settings.home == store_home
        assert signer.settings.repository == str(store_home / "repository.sqlite")
    with pytest.raises(ValueError, match="another key store"):
        ContentSigner(store_home, PASSPHRASE, SignSettings(home=store_home / "elsewhere"))


# -- one audit line format -----------------------------------------------------------------


def _sign_lines(home: Path) -> list[dict[str, Any]]:
    audit = KeyStore.open(home).path / "audit.log"
    lines = audit.read_text().splitlines() if audit.exists() else []
    return [event for event in map(json.loads, lines) if event["event"] == "sign"]


def _by_cli(home: Path, work: Path) -> None:
    source = work / "one.png"
    source.write_bytes(encode(natural_image(320, 256, seed=1), "PNG"))
    args = ["--home", str(home), "sign", str(source), "-o", str(work / "one-signed.png")]
    result = CliRunner().invoke(app, [*args, "--model", "m"])
    assert result.exit_code == 0, result.output


def _by_batch(home: Path, work: Path) -> None:
    folder = work / "many"
    folder.mkdir()
    (folder / "a.png").write_bytes(encode(natural_image(320, 256, seed=2), "PNG"))
    settings = SignSettings(home=home)
    outcomes = list(sign_many([folder], work / "out", settings, PASSPHRASE, recursive=True))
    assert [o.status for o in outcomes] == [SignStatus.SIGNED]


def _by_server(home: Path, work: Path) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from provenance.server import ServerSettings, create_app, create_token

    token = create_token(home, "ci")
    settings = ServerSettings.from_home(home, passphrase=PASSPHRASE)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/sign",
            params={"model": "m"},
            files={"file": ("g.jpg", encode(natural_image(320, 256, seed=3), "JPEG"))},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("front_end", [_by_cli, _by_batch, _by_server])
def test_every_front_end_writes_the_same_audit_line(
    front_end: Callable[[Path, Path], None],
    store_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", PASSPHRASE)
    monkeypatch.chdir(tmp_path)
    before = len(_sign_lines(store_home))
    front_end(store_home, tmp_path)
    (line,) = _sign_lines(store_home)[before:]
    store = KeyStore.open(store_home)
    assert line["identity"] == store.identities.get().name
    details = line["details"]
    assert set(details) == {"output", "media_type", "record", "time_stamp", "client"}
    assert details["media_type"].startswith("image/")
    assert len(details["record"]) == 16 and details["time_stamp"] and details["output"]
    assert details["client"] == ("ci" if front_end is _by_server else "")


def test_settings_limits_reach_the_session(store_home: Path) -> None:
    settings = SignSettings(watermark=False, limits=Limits(max_pixels=10_000))
    with (
        ContentSigner(store_home, PASSPHRASE, settings) as signer,
        pytest.raises(InputError, match=r"pixels"),
    ):
        signer.sign(encode(natural_image(320, 256), "PNG"))
