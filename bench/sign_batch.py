"""`provenance sign --out-dir` over a folder of ~1 MP JPEGs: files/s, 1 and 2 workers.

    python -m bench.sign_batch [--files 36] [--sample 6]

Each run is one `provenance sign -r FOLDER --out-dir OUT` process (wall time with start-up,
the passphrase's key derivation and the workers' own unlocks), with the watermark and with
`--no-watermark`, against a loop of one `provenance sign IN -o OUT` process per file on a
sample. Inputs are synthetic photos (fixtures.support.photo_like), 1152x864, JPEG 90. Every
run's outcomes are checked: each file signed, exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench._report import write_section
from bench._rss import run_measured
from fixtures.support import PASSPHRASE, encode, make_key_store, photo_like

CLI = str(Path(sys.executable).with_name("provenance"))
WIDTH, HEIGHT = 1152, 864


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=36)
    parser.add_argument("--sample", type=int, default=6, help="files for the per-file loop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sign-") as tmp:
        root = Path(tmp)
        home = root / "home"
        make_key_store(home, org="Bench")
        env = {**os.environ, "PROVENANCE_HOME": str(home), "PROVENANCE_PASSPHRASE": PASSPHRASE}
        folder = root / "gen"
        folder.mkdir()
        for index in range(args.files):
            data = encode(photo_like(WIDTH, HEIGHT, seed=index), "JPEG", quality=90)
            (folder / f"{index:04d}.jpg").write_bytes(data)
        rows = []
        for watermark in (True, False):
            flags = [] if watermark else ["--no-watermark"]
            label = "watermark + C2PA" if watermark else "C2PA only"
            for workers in (1, 2):
                out = root / "out"
                shutil.rmtree(out, ignore_errors=True)
                command = [CLI, "sign", "-r", str(folder), "--out-dir", str(out), "--jsonl",
                           "--model", "bench", "-w", str(workers), *flags]  # fmt: skip
                with open(root / "outcomes.jsonl", "wb") as sink:
                    seconds, peak, code = run_measured(command, env, stdout=sink)
                outcomes = [json.loads(line) for line in (root / "outcomes.jsonl").open()]
                assert code == 0 and len(outcomes) == args.files, (code, outcomes[:2])
                assert {o["status"] for o in outcomes} == {"signed"}
                rows.append((label, f"one process, --workers {workers}", args.files, seconds, peak))
            loop = 0.0
            for index in range(args.sample):
                output = root / f"single-{index}.jpg"
                output.unlink(missing_ok=True)
                command = [CLI, "sign", str(folder / f"{index:04d}.jpg"), "-o", str(output),
                           "--model", "bench", *flags]  # fmt: skip
                seconds, _, code = run_measured(command, env)
                assert code == 0
                loop += seconds
            rows.append((label, "one `sign` process per file", args.sample, loop, 0))
    lines = [
        f"{args.files} synthetic photos, {WIDTH}x{HEIGHT} JPEG 90, signed into a mirrored "
        "folder; wall time of the whole command (start-up, key derivation, each worker's "
        f"unlock included); the per-file loop on the first {args.sample}.",
        "",
        "| content | how | files | seconds | files/s | peak RSS |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, how, files, seconds, peak in rows:
        rss = f"{peak / 2**20:.0f} MiB" if peak else "-"
        lines.append(
            f"| {label} | {how} | {files} | {seconds:.1f} | {files / seconds:.2f} | {rss} |"
        )
    body = "\n".join(lines)
    print(body)
    write_section("sign_batch", "Batch signing: `sign --out-dir`, 1 and 2 workers", body)


if __name__ == "__main__":
    main()
