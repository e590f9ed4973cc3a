"""Time-stamped signatures, verified with the clock moved by libfaketime (Debian's
`faketime`), never by sleeping: the real CLI in a subprocess, the way a user runs it."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

from fixtures.support import PASSPHRASE, ExternalCA, encode, natural_image
from provenance.errors import TimeStampError
from provenance.timestamp import ExternalAuthority, parse_request, stamp
from provenance.timestamp.protocol import TimeStampRequest, build_response, refusal

FAKETIME = shutil.which("faketime")
PROVENANCE = Path(sys.executable).with_name("provenance")
pytestmark = pytest.mark.skipif(
    FAKETIME is None, reason="libfaketime missing: apt-get install faketime (.ci/run does)"
)


def cli(
    home: Path, *args: str, offset: str | None = None, check: int | None = 0
) -> subprocess.CompletedProcess[str]:
    """``provenance --home HOME ARGS`` with the clock moved by ``offset`` (e.g. "+800d")."""
    command = [str(PROVENANCE), "--home", str(home), *args]
    if offset is not None:
        assert FAKETIME is not None
        command = [FAKETIME, "-f", offset, *command]
    env = {**os.environ, "PROVENANCE_PASSPHRASE": PASSPHRASE}
    env.pop("PROVENANCE_HOME", None)
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    if check is not None:
        assert result.returncode == check, (result.returncode, result.stdout, result.stderr)
    return result


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    (line,) = result.stdout.splitlines()
    found: dict[str, Any] = json.loads(line)
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ts") / "home"
    cli(path, "keys", "init", "--org", "Clock Org")
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ts-inputs")
    image = folder / "gen.jpg"
    image.write_bytes(encode(natural_image(512, 384, seed=3), "JPEG", quality=92))
    text = folder / "answer.txt"
    text.write_text(" ".join(f"token{i}" for i in range(80)), encoding="utf-8")
    return {"image": image, "text": text}


@pytest.fixture(scope="module")
def signed(
    home: Path, inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ts-signed")
    outputs = {}
    for kind, source in inputs.items():
        output = folder / f"signed-{source.name}"
        result = cli(home, "sign", str(source), "-o", str(output), "--model", "gen")
        assert "time-stamped by" in result.stdout
        outputs[kind] = output
    return outputs


@pytest.mark.parametrize("kind", ["image", "text"])
def test_stamped_content_stays_trusted_after_the_certificate_expires(
    home: Path, signed: dict[str, Path], kind: str
) -> None:
    now = report(cli(home, "verify", "--jsonl", str(signed[kind])))
    assert now["verdict"] == "trusted"
    assert now["credentials"]["signed_at"]
    later = report(cli(home, "verify", "--jsonl", str(signed[kind]), offset="+800d"))
    assert later["verdict"] == "trusted", later["summary"]
    assert later["credentials"]["signed_at"] == now["credentials"]["signed_at"]
    assert "time-stamped by Clock Org" in later["summary"]


def test_stripped_copy_is_recovered_after_the_certificate_expires(
    home: Path, signed: dict[str, Path], tmp_path: Path
) -> None:
    stripped = tmp_path / "shared.jpg"
    Image.open(signed["image"]).convert("RGB").save(stripped, "JPEG", quality=80)
    later = report(cli(home, "verify", "--jsonl", str(stripped), offset="+800d"))
    assert later["verdict"] == "recovered", later["summary"]
    assert later["credentials"]["signed_at"]


@pytest.mark.parametrize("kind", ["image", "text"])
def test_unstamped_content_turns_invalid_with_the_honest_reason(
    home: Path, inputs: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    output = tmp_path / f"unstamped-{inputs[kind].name}"
    result = cli(home, "sign", str(inputs[kind]), "-o", str(output), "--no-timestamp")
    assert "no time-stamp" in result.stdout
    assert report(cli(home, "verify", "--jsonl", str(output)))["verdict"] == "trusted"
    later = cli(home, "verify", "--jsonl", str(output), offset="+800d", check=1)
    found = report(later)
    assert found["verdict"] == "invalid"
    assert "no time-stamp shows it was signed before" in found["summary"]
    assert found["credentials"]["signed_at"] is None


def test_a_two_day_identity_signs_content_that_stays_trusted(
    home: Path, inputs: dict[str, Path], tmp_path: Path
) -> None:
    cli(home, "keys", "create", "short", "--days", "2")
    for kind, source in inputs.items():
        output = tmp_path / f"short-{source.name}"
        cli(home, "sign", str(source), "-o", str(output), "--identity", "short", "--model", "m")
        later = report(cli(home, "verify", "--jsonl", str(output), offset="+30d"))
        assert later["verdict"] == "trusted", (kind, later["summary"])


def test_revocation_time_decides_against_the_stamp(tmp_path: Path, inputs: dict[str, Path]) -> None:
    """A store made 20 days ago signs 10 and 4 days ago; its key is then revoked as of 5
    days ago. The older stamp predates the revocation, the newer does not."""
    home = tmp_path / "home"
    cli(home, "keys", "init", "--org", "Revoking Org", offset="-20d")
    before, after = tmp_path / "before.jpg", tmp_path / "after.txt"
    cli(home, "sign", str(inputs["image"]), "-o", str(before), "--model", "m", offset="-10d")
    cli(home, "sign", str(inputs["text"]), "-o", str(after), "--model", "m", offset="-4d")
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).isoformat(timespec="seconds")
    cli(home, "keys", "revoke", "default", "--reason", "laptop lost", "--since", since)
    kept = report(cli(home, "verify", "--jsonl", str(before)))
    assert kept["verdict"] == "trusted", kept["summary"]
    assert "signed before default was revoked on" in kept["summary"]
    found = report(cli(home, "verify", "--jsonl", str(after), check=1))
    assert found["verdict"] == "invalid"
    assert "before its time-stamp of" in found["summary"]
    assert "signingCredential.revoked" in found["credentials"]["failures"]


def test_content_stays_trusted_after_rotation_of_identity_and_tsa(
    tmp_path: Path, inputs: dict[str, Path]
) -> None:
    home = tmp_path / "home"
    cli(home, "keys", "init", "--org", "Rotating Org")
    signed = tmp_path / "signed.jpg"
    cli(home, "sign", str(inputs["image"]), "-o", str(signed), "--model", "m")
    cli(home, "keys", "rotate", "default")
    cli(home, "keys", "rotate", "tsa")
    later = report(cli(home, "verify", "--jsonl", str(signed), offset="+800d"))
    assert later["verdict"] == "trusted", later["summary"]
    fresh = tmp_path / "fresh.txt"
    cli(home, "sign", str(inputs["text"]), "-o", str(fresh), "--model", "m")
    assert report(cli(home, "verify", "--jsonl", str(fresh), offset="+800d"))["verdict"] == (
        "trusted"
    )


# --- an external authority that fails in each way it can ---------------------------------


class FaultyTSA:
    """An RFC 3161 service on loopback that answers as told: "ok", "down" (HTTP 500),
    "slow", "nonce", "imprint", "not-a-tsa" (signed by a certificate without the
    time-stamping purpose) or "rejected"."""

    def __init__(self) -> None:
        self.mode = "ok"
        ca = ExternalCA("Faulty TSA Root")
        self.tsa_key, self.tsa_cert = ca.leaf(ekus=[ExtendedKeyUsageOID.TIME_STAMPING])
        self.other_key, self.other_cert = ca.leaf()  # emailProtection + C2PA: no TSA
        self.root = ca.cert
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = tsa.answer(parse_request(body))
                if answer is None:
                    self.send_error(500)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def answer(self, request: TimeStampRequest) -> bytes | None:
        now = dt.datetime.now(dt.UTC)
        key: ec.EllipticCurvePrivateKey = self.tsa_key
        chain: list[x509.Certificate] = [self.tsa_cert, self.root]
        if self.mode == "down":
            return None
        if self.mode == "slow":
            threading.Event().wait(3)
        if self.mode == "rejected":
            return refusal("rejection", "policy not accepted")
        if self.mode == "nonce":
            request = TimeStampRequest(
                request.hash_algorithm, request.digest, (request.nonce or 0) + 1, True, b""
            )
        if self.mode == "imprint":
            request = TimeStampRequest(
                request.hash_algorithm, bytes(len(request.digest)), request.nonce, True, b""
            )
        if self.mode == "not-a-tsa":
            key, chain = self.other_key, [self.other_cert, self.root]
        return build_response(request, key, chain, policy="2.25.1", serial=7, now=now)

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def faulty() -> Iterator[FaultyTSA]:
    tsa = FaultyTSA()
    yield tsa
    tsa.close()


MESSAGES = {
    "down": "answered HTTP 500",
    "nonce": "wrong nonce",
    "imprint": "wrong message imprint",
    "not-a-tsa": "not a time-stamping authority",
    "rejected": "refused the request (rejection: policy not accepted)",
}


@pytest.mark.parametrize("mode", list(MESSAGES))
@pytest.mark.parametrize("kind", ["image", "text"])
def test_a_failing_authority_fails_the_signing_and_writes_nothing(
    home: Path, inputs: dict[str, Path], faulty: FaultyTSA, tmp_path: Path, mode: str, kind: str
) -> None:
    faulty.mode = mode
    output = tmp_path / f"out-{inputs[kind].name}"
    result = cli(
        home, "sign", str(inputs[kind]), "-o", str(output), "--model", "m", "--tsa", faulty.url,
        check=1,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert MESSAGES[mode] in lines[0], lines[0]
    assert faulty.url in lines[0]
    assert not output.exists()
    assert not list(tmp_path.glob(".*tmp"))


def test_an_unreachable_authority_is_named(
    home: Path, inputs: dict[str, Path], tmp_path: Path
) -> None:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    output = tmp_path / "out.jpg"
    url = f"http://127.0.0.1:{port}/"
    result = cli(
        home, "sign", str(inputs["image"]), "-o", str(output), "--model", "m", "--tsa", url,
        check=1,
    )  # fmt: skip
    assert "cannot be reached" in result.stderr and url in result.stderr
    assert not output.exists()


def test_a_slow_authority_times_out(faulty: FaultyTSA) -> None:
    faulty.mode = "slow"
    with pytest.raises(TimeStampError, match=r"cannot be reached .*timed out"):
        stamp(ExternalAuthority(faulty.url, timeout=0.5), b"message")


def test_a_good_external_authority_stamps(faulty: FaultyTSA) -> None:
    faulty.mode = "ok"
    found = stamp(ExternalAuthority(faulty.url), b"message")
    assert found.token and "imported signer" in found.tsa
    assert abs((found.gen_time - dt.datetime.now(dt.UTC)).total_seconds()) < 60


@pytest.mark.parametrize("url", ["ftp://tsa.example/", "notaurl", "http:///nohost"])
def test_a_tsa_url_that_is_not_http_is_a_usage_error_before_any_network(
    home: Path, inputs: dict[str, Path], tmp_path: Path, url: str
) -> None:
    output = tmp_path / "out.jpg"
    result = cli(home, "sign", str(inputs["image"]), "-o", str(output), "--tsa", url, check=2)
    assert "is not a time-stamping authority URL" in result.stderr
    assert not output.exists()
