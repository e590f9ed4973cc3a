"""``provenance sign INPUT... --out-dir DIR``: many files in one command (issue 14, item 3).

Through typer's CliRunner for outputs and exit codes, through the library for how often the
key is unlocked, and through the real console script (a pseudo-terminal for the passphrase
prompt, a process group for Ctrl-C) for what only a real process shows.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from cli.main import app
from fixtures.support import PASSPHRASE, REPO, encode, natural_image, process_group_gone
from provenance.batch import SignStatus, sign_many
from provenance.errors import WrongPassphrase
from provenance.keystore import KeyStore
from provenance.signing import SignSettings

CLI = Path(sys.executable).with_name("provenance")
TREE = ["gen/a.jpg", "gen/b.png", "gen/deep/c.jpg", "gen/deep/er/d.png"]


def run(*args: str | Path, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args], input=stdin)


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def tree(tmp_path: Path, env_store: KeyStore, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A key store (PROVENANCE_HOME, PROVENANCE_PASSPHRASE) and a tree of small images
    under ``tmp_path/gen``; the working directory is ``tmp_path``."""
    for index, name in enumerate(TREE):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = "PNG" if name.endswith(".png") else "JPEG"
        path.write_bytes(encode(natural_image(320, 256, seed=index), fmt))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def verify_reports(*paths: str | Path) -> list[dict[str, Any]]:
    result = run("verify", "--jsonl", *paths)
    return lines(result)


def test_a_tree_signs_into_a_mirrored_tree_that_verifies_trusted(tree: Path) -> None:
    result = run("sign", "-r", "gen", "--out-dir", "out", "--model", "m", "--jsonl")
    assert result.exit_code == 0, result.output
    outcomes = lines(result)
    assert [o["input"] for o in outcomes] == TREE  # one line per input, in input order
    assert [o["output"] for o in outcomes] == [f"out/{name}" for name in TREE]
    assert {o["status"] for o in outcomes} == {"signed"}
    assert all(o["error"] is None and o["signer"] == "default" for o in outcomes)
    assert [o["media_type"] for o in outcomes] == ["image/jpeg", "image/png"] * 2
    assert "4 files: 4 signed" in result.stderr
    records = [o["record"] for o in outcomes]
    assert len(set(records)) == 4 and all(len(r) == 16 for r in records)
    sources = {p.relative_to(tree).as_posix() for p in (tree / "gen").rglob("*") if p.is_file()}
    assert sources == set(TREE)  # inputs untouched, nothing written beside them
    assert sorted(p.as_posix() for p in Path("out").rglob("*") if p.is_file()) == [
        f"out/{name}" for name in sorted(TREE)
    ]
    reports = verify_reports(*(o["output"] for o in outcomes))
    assert [r["verdict"] for r in reports] == ["trusted"] * 4
    assert [r["watermark"]["record"] for r in reports] == records
    # The repository holds each record: a stripped copy recovers its credentials.
    stripped = tree / "stripped.jpg"
    Image.open("out/gen/b.png").convert("RGB").save(stripped, "JPEG", quality=92)
    (report,) = verify_reports(stripped)
    assert report["verdict"] == "recovered" and report["watermark"]["record"] == records[1]


def test_an_existing_output_is_refused_per_file_and_left_untouched(tree: Path) -> None:
    existing = tree / "out" / "gen" / "b.png"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"mine, not to be replaced")
    result = run("sign", "-r", "gen", "--out-dir", "out", "--model", "m", "--jsonl")
    assert result.exit_code == 2, result.output
    outcomes = {o["input"]: o for o in lines(result)}
    refused = outcomes["gen/b.png"]
    assert refused["status"] == "refused" and refused["record"] is None
    assert refused["error"].startswith("out/gen/b.png: output already exists")
    assert existing.read_bytes() == b"mine, not to be replaced"
    assert [o["status"] for o in outcomes.values()].count("signed") == 3
    assert "4 files: 3 signed, 1 refused" in result.stderr
    assert not list((tree / "out").rglob(".prov-*"))  # no temporary file left behind
    again = run("sign", "-r", "gen", "--out-dir", "out", "--model", "m", "--force")
    assert again.exit_code == 0, again.output
    assert [r["verdict"] for r in verify_reports("out/gen/b.png")] == ["trusted"]


def test_exit_codes_rank_failures_as_documented(tree: Path) -> None:
    """Unreadable inputs alone exit 3; a refused output outranks them (2)."""
    listing = tree / "list.txt"
    listing.write_text("gen/a.jpg\n\nmissing.jpg\n\ngen\n")
    result = run("sign", "--from-file", listing, "--out-dir", "out", "--jsonl")
    assert result.exit_code == 3, result.output
    outcomes = lines(result)
    assert [(o["input"], o["status"]) for o in outcomes] == [
        ("gen/a.jpg", "signed"),
        ("missing.jpg", "unreadable"),
        ("gen", "unreadable"),  # a directory without -r
    ]
    assert outcomes[1]["error"] == "no such file"
    assert "warning: no --model given" in result.stderr
    result = run("sign", "gen/a.jpg", "missing.jpg", "--out-dir", "out")
    assert result.exit_code == 2, result.output
    assert result.stdout.startswith("refused    gen/a.jpg  out/gen/a.jpg: output already exists")


def test_the_output_folder_inside_the_input_tree_is_not_walked(tree: Path) -> None:
    os.chdir(tree / "gen")
    first = run("sign", "-r", ".", "--out-dir", "signed", "--jsonl")
    assert first.exit_code == 0, first.output
    assert [o["output"] for o in lines(first)] == [
        "signed/a.jpg",
        "signed/b.png",
        "signed/deep/c.jpg",
        "signed/deep/er/d.png",
    ]
    second = run("sign", "-r", ".", "--out-dir", "signed", "--force", "--jsonl")
    assert len(lines(second)) == 4 and not Path("signed/signed").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gen/a.jpg", "-o", "x.jpg", "-r"], "-r goes with --out-dir"),
        (["gen/a.jpg", "-o", "x.jpg", "--workers", "2"], "--workers goes with --out-dir"),
        (["gen/a.jpg", "gen/b.png", "-o", "x.jpg"], "-o OUTPUT takes one INPUT"),
        (["gen/a.jpg", "-o", "x.jpg", "--out-dir", "out"], "choose one of -o"),
        (["gen/a.jpg"], "-o OUTPUT, or --out-dir DIR"),
        (["-", "--out-dir", "out"], "--from-file - reads the list"),
        (["--out-dir", "out"], "name files or directories to sign"),
        (["gen", "--out-dir", "out", "--scheduler", "tcp://h:1"], "--scheduler goes with"),
    ],
)
def test_flags_that_do_not_go_together_are_usage_errors(
    tree: Path, args: list[str], message: str
) -> None:
    result = run("sign", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not Path("x.jpg").exists()


def test_an_output_folder_that_is_a_file_fails_before_the_passphrase(tree: Path) -> None:
    (tree / "taken").write_bytes(b"x")
    result = run("sign", "-r", "gen", "--out-dir", "taken")
    assert result.exit_code == 2
    assert result.stderr == "error: taken: is not a directory (the output folder)\n"


def test_a_wrong_passphrase_is_one_error_before_any_file(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_PASSPHRASE", "not the passphrase at all")
    result = run("sign", "-r", "gen", "--out-dir", "out", "-w", "2")
    assert result.exit_code == 1
    assert result.stdout == "" and result.stderr.count("error:") == 1
    assert not list(Path("out").rglob("*.*"))


# -- the key is unlocked once per worker ----------------------------------------------------


# Loaded by every interpreter started with the probe's folder on PYTHONPATH: worker
# processes start fresh (spawn), so a monkeypatch here would not reach them.
_UNLOCK_PROBE = """
import os
if os.environ.get("UNLOCK_LOG"):
    from provenance.keystore import KeyStore

    real = KeyStore.signer

    def counted(self, identity, passphrase):
        with open(os.environ["UNLOCK_LOG"], "a") as handle:
            handle.write(f"{os.getpid()}\\n")
        return real(self, identity, passphrase)

    KeyStore.signer = counted
"""


@pytest.fixture
def unlocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file with one line per ``KeyStore.signer`` call (the key unlock) by process id,
    in this process and in every worker process started from it."""
    log = tmp_path / "unlocks.log"
    log.touch()
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(_UNLOCK_PROBE)
    paths = [str(probe), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("UNLOCK_LOG", str(log))
    real = KeyStore.signer

    def counted(self: KeyStore, identity: str | None, passphrase: str | None) -> Any:
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return real(self, identity, passphrase)

    monkeypatch.setattr(KeyStore, "signer", counted)  # this process
    yield log


@pytest.mark.parametrize("workers", [1, 2])
def test_the_passphrase_is_asked_once_and_each_worker_unlocks_once(
    tree: Path, unlocks: Path, workers: int
) -> None:
    asked: list[int] = []

    def passphrase() -> str:
        asked.append(1)
        return PASSPHRASE

    settings = SignSettings(home=Path(os.environ["PROVENANCE_HOME"]), model="m")
    outcomes = list(
        sign_many([Path("gen")], Path("out"), settings, passphrase, recursive=True, workers=workers)
    )
    assert [o.status for o in outcomes] == [SignStatus.SIGNED] * 4, outcomes
    assert len({o.record for o in outcomes}) == 4
    assert asked == [1]
    pids = unlocks.read_text().split()
    # Here once (a wrong passphrase fails before any file; with one worker that unlock
    # signs the batch), then once in each worker process.
    assert pids[0] == str(os.getpid())
    assert len(pids) == (1 if workers == 1 else 1 + workers)
    assert len(set(pids)) == len(pids)


def test_a_wrong_passphrase_raises_before_any_file(tree: Path) -> None:
    settings = SignSettings(home=Path(os.environ["PROVENANCE_HOME"]))
    with pytest.raises(WrongPassphrase):
        sign_many([Path("gen")], Path("out"), settings, "wrong passphrase!", recursive=True)


def _pty_session(command: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run ``command`` on a pseudo-terminal, type ``answer`` at each passphrase prompt; its
    exit status and everything it wrote to the terminal."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its controlling one
        os.execve(command[0], command, env)
    seen = b""
    answered = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if seen.count(b"Passphrase for") > answered:
                answered += 1
                os.write(fd, answer.encode() + b"\n")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_on_a_terminal_the_prompt_comes_once_for_two_workers(tree: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROVENANCE_PASSPHRASE"}
    command = [str(CLI), "sign", "-r", "gen", "--out-dir", "out", "--model", "m", "-w", "2"]
    code, shown = _pty_session(command, env, PASSPHRASE)
    assert code == 0, shown
    assert shown.count("Passphrase for the signing key") == 1
    assert "4 files: 4 signed" in shown
    assert len([p for p in Path("out").rglob("*") if p.is_file()]) == 4


# -- Ctrl-C ---------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT are POSIX")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_and_reports_every_output_written(
    tmp_path: Path, env_store: KeyStore, workers: str
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    data = encode(natural_image(512, 384, seed=1), "JPEG")
    for index in range(200):
        (folder / f"{index:03d}.jpg").write_bytes(data)
    out = tmp_path / "out"
    command = [str(CLI), "sign", "-r", str(folder), "--out-dir", str(out), "--jsonl", "-w", workers]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert b'"signed"' in first, first
    os.killpg(process.pid, signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    stderr = err.decode()
    assert process.returncode == 130, stderr
    outcomes = [json.loads(line) for line in (first + rest).decode().splitlines()]
    assert 1 <= len(outcomes) < 200
    assert {o["status"] for o in outcomes} == {"signed"}
    written = sorted(str(p) for p in out.rglob("*") if p.is_file())
    assert written == sorted(o["output"] for o in outcomes)  # nothing signed unreported
    assert not [p for p in out.rglob(".prov-*")]
    done = len(outcomes)
    assert (
        stderr.splitlines()[-1]
        == f"interrupted after {done} file{'s' * (done != 1)}: {done} signed"
    )
    if not process_group_gone(process.pid):
        pytest.fail("worker processes outlived the interrupted batch")


def test_the_sign_many_example_of_docs_pipelines_runs(tree: Path) -> None:
    doc = (REPO / "docs" / "pipelines.md").read_text()
    (code,) = [c for c in re.findall(r"```python\n(.*?)```", doc, flags=re.S) if "sign_many" in c]
    os.rename("gen", "generated")
    namespace: dict[str, Any] = {
        "home": Path(os.environ["PROVENANCE_HOME"]),
        "passphrase": PASSPHRASE,
        "print": lambda *args: None,
    }
    exec(compile(code.replace("workers=4", "workers=2"), "docs/pipelines.md", "exec"), namespace)
    signed = sorted(p.relative_to("signed").as_posix() for p in Path("signed").rglob("*.*"))
    assert signed == sorted(name.replace("gen/", "generated/") for name in TREE)


def test_sidecars_go_beside_each_signed_copy_and_two_inputs_never_share_one(
    tree: Path,
) -> None:
    clash = tree / "gen" / "a.png"  # a.jpg and a.png would both keep their store in a.c2pa
    clash.write_bytes(encode(natural_image(320, 256, seed=9), "PNG"))
    story = tree / "gen" / "story.txt"  # text keeps its manifest in itself
    story.write_text("A model wrote this short story about a lighthouse keeper.\n")
    result = run("sign", "-r", "gen", "--out-dir", "out", "--model", "m", "--sidecar", "--jsonl")
    outcomes = {o["input"]: o for o in lines(result)}
    assert result.exit_code == 2, result.output  # refusals rank as exit 2
    for name in TREE:
        assert outcomes[name]["status"] == "signed", outcomes[name]
        assert outcomes[name]["manifest"] == f"out/{name.rsplit('.', 1)[0]}.c2pa"
    second = outcomes["gen/a.png"]  # walked after a.jpg, in name order
    assert second["status"] == "refused" and "a.c2pa is that of gen/a.jpg" in second["error"]
    assert outcomes["gen/story.txt"]["status"] != "signed"
    assert "no sidecar" in outcomes["gen/story.txt"]["error"]
    assert not Path("out/gen/a.png").exists() and not Path("out/gen/story.txt").exists()
    # Each copy carries no manifest of its own and verifies trusted against its sidecar.
    reports = verify_reports(*(f"out/{name}" for name in TREE))
    assert [r["verdict"] for r in reports] == ["trusted"] * 4
    assert all("(manifest from the sidecar" in r["summary"] for r in reports)
    assert (
        "manifest in again/gen/a.c2pa)"
        in run("sign", "gen/a.jpg", "--out-dir", "again", "--sidecar", "--model", "m").stdout
    )


# -- resuming an interrupted batch (issue 23, item 14) -------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT are POSIX")
def test_a_batch_stopped_by_ctrl_c_resumes_with_skip_existing(
    tmp_path: Path, env_store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "gen"
    folder.mkdir()
    files = 16  # one worker is stopped after the first; most are left
    for index in range(files):
        fmt = "PNG" if index % 2 else "JPEG"
        (folder / f"{index:02d}.{fmt.lower()}").write_bytes(
            encode(natural_image(320, 256, seed=index), fmt)
        )
    monkeypatch.chdir(tmp_path)
    command = [str(CLI), "sign", "-r", "gen", "--out-dir", "out", "--jsonl", "-w", "1"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert b'"signed"' in first, first
    os.killpg(process.pid, signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    assert process.returncode == 130, err.decode()
    done = {json.loads(line)["input"] for line in (first + rest).decode().splitlines()}
    assert 1 <= len(done) < files

    # Run again as it was: every finished file is refused, each under its kind.
    again = run("sign", "-r", "gen", "--out-dir", "out", "--jsonl", "--model", "m")
    assert again.exit_code == 2, again.output
    refused = [o for o in lines(again) if o["status"] == "refused"]
    assert {o["input"] for o in refused} == done
    assert all(o["media_type"] in ("image/png", "image/jpeg") for o in refused)
    assert again.stderr.splitlines()[-1] == (
        f"{files} files: {files - len(done)} signed, {len(done)} refused; by kind: {files} image"
    )
    # Interrupted again at the same place, now resumed: what exists is skipped, exit 0.
    for outcome in lines(again):
        if outcome["status"] == "signed":
            Path(outcome["output"]).unlink()
    resumed = run("sign", "-r", "gen", "--out-dir", "out", "--jsonl", "--skip-existing")
    assert resumed.exit_code == 0, resumed.output
    outcomes = lines(resumed)
    assert {o["input"] for o in outcomes if o["status"] == "skipped"} == done
    assert {o["status"] for o in outcomes} == {"signed", "skipped"}
    skipped = next(o for o in outcomes if o["status"] == "skipped")
    assert skipped["error"] is None and skipped["record"] is None
    assert skipped["media_type"] in ("image/png", "image/jpeg")
    assert resumed.stderr.splitlines()[-1] == (
        f"{files} files: {files - len(done)} signed, {len(done)} skipped; by kind: {files} image"
    )
    assert len(list(Path("out").rglob("*.*"))) == files
    text = run("sign", "gen/00.jpeg", "--out-dir", "out", "--skip-existing")
    assert (
        text.exit_code == 0
        and text.stdout == "skipped    gen/00.jpeg -> out/gen/00.jpeg  (exists)\n"
    )


def test_skip_existing_is_a_usage_error_with_force_or_one_file(tree: Path) -> None:
    both = run("sign", "-r", "gen", "--out-dir", "out", "--skip-existing", "--force")
    assert both.exit_code == 2
    assert both.stderr.strip() == (
        "error: choose one of --force (replace outputs that exist) and --skip-existing"
    )
    one = run("sign", "gen/a.jpg", "-o", "a.jpg", "--skip-existing")
    assert one.exit_code == 2
    assert one.stderr.strip() == (
        "error: --skip-existing goes with --out-dir DIR (many files), not with -o"
    )
    assert not Path("out").exists() and not Path("a.jpg").exists()
