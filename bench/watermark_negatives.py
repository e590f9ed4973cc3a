"""Image watermark: what a decision costs on unmarked photos, and what is found, before and after.

Most files a verifier sees carry no mark, so the cost that matters is that of saying
"not found". This benchmark runs the same measurement on two versions of the engine, each
in its own process: the working tree, and a git revision (``--before``, default the
commit that last changed the detector before v2) checked out in a temporary worktree.

For each: (1) per unmarked ~1 MP JPEG, the watermark check as verify runs it (Pillow
decode, then detect with one key) against a bare Pillow decode of the same bytes, both
best of 3; once with the default allocator and once with freed memory kept
(``provenance.keep_freed_memory``, what the CLI does), applied through ctypes so that it
means the same for both versions; (2) over the whole attack suite, which attacked marked
images are detected (exact 64-bit payload) and how many unmarked ones report anything.
The detected sets of the two versions are compared image by image.

    python -m bench.watermark_negatives [--before REV] [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import ctypes
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The last commit of the v1 detector (issue 13 starts after it).
DEFAULT_BEFORE = "0e99cf9"


def _keep_freed_memory() -> None:
    libc = ctypes.CDLL(None)
    libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 128 * 1024 * 1024)  # M_TRIM_THRESHOLD


def _best(fn: Any, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def worker(quick: bool, kept: bool) -> dict[str, Any]:
    """The measurement, on whichever ``provenance`` is first on sys.path."""
    import numpy as np
    from PIL import Image

    import provenance
    from bench import _watermark_attacks as attacks
    from bench.watermark_image import photos
    from provenance.watermark import WatermarkSecret
    from provenance.watermark.image import detect, embed

    if kept:
        _keep_freed_memory()
    pics = photos(quick)
    rng = np.random.default_rng(13)
    # (1) negative decisions on ~1 MP JPEGs
    secret = WatermarkSecret("bench", rng.bytes(32))
    ratios, checks, decodes = [], [], []
    for _, img in pics:
        f = (1_000_000 / (img.width * img.height)) ** 0.5
        big = img.resize((round(img.width * f), round(img.height * f)), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=90)
        data = buf.getvalue()

        def decode(data: bytes = data) -> Image.Image:
            image = Image.open(io.BytesIO(data))
            image.load()
            return image

        def check(data: bytes = data) -> None:
            detect(decode(data), [secret])

        check()  # warm-up: caches, imports
        t_decode, t_check = _best(decode), _best(check)
        decodes.append(t_decode)
        checks.append(t_check)
        ratios.append(t_check / t_decode)
    result: dict[str, Any] = {
        "source": str(Path(provenance.__file__).resolve().parents[1]),
        "decode_ms": 1000 * statistics.median(decodes),
        "check_ms": 1000 * statistics.median(checks),
        "ratio_median": statistics.median(ratios),
        "ratio_max": max(ratios),
    }
    if kept:
        return result
    # (2) the suite: detected sets and unmarked reports
    detected, unmarked_hits, unmarked_times = [], 0, []
    try:  # the same pixels on both versions: v1 marks (so the sets compare the detectors)
        from provenance.watermark.image.config import ALGORITHM_V1

        options: dict[str, Any] = {"alg": ALGORITHM_V1}
    except ImportError:
        options = {}  # the v1 release: it writes nothing else
    for label, img in pics:
        key, payload = rng.bytes(32), rng.bytes(8)
        marked = embed(img, payload, WatermarkSecret("k", key), **options)
        for name in attacks.ALL:
            if detect(attacks.apply(name, marked), [WatermarkSecret("k", key)]).payload == payload:
                detected.append(f"{label}/{name}")
            attacked = attacks.apply(name, img)
            t0 = time.perf_counter()
            unmarked_hits += detect(attacked, [WatermarkSecret("k", key)]).detected
            unmarked_times.append(time.perf_counter() - t0)
    result.update(
        attacked=len(pics) * len(attacks.ALL),
        detected=detected,
        unmarked_hits=unmarked_hits,
        unmarked_ms=1000 * statistics.median(unmarked_times),
    )
    return result


def _run(source: Path, quick: bool, kept: bool) -> dict[str, Any]:
    """``worker`` in a fresh process whose ``provenance`` and ``bench`` come from ``source``
    (this file is loaded by path: it may not exist at the old revision)."""
    script = (
        "import importlib.util, json\n"
        f"spec = importlib.util.spec_from_file_location('negatives', {str(Path(__file__))!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"print(json.dumps(module.worker({quick!r}, {kept!r})))\n"
    )
    shared = os.environ.get("PROVENANCE_SHARED_BENCH", str(ROOT.parent / "shared" / "bench"))
    env = dict(os.environ, PYTHONPATH=str(source), PROVENANCE_SHARED_BENCH=shared)
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=source, capture_output=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr.decode(errors="replace"))
        raise SystemExit(f"the measurement of {source} failed")
    result: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    if Path(result["source"]) != source.resolve():
        raise RuntimeError(f"measured {result['source']}, not {source}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=DEFAULT_BEFORE, help="git revision to compare with")
    ap.add_argument("--quick", action="store_true", help="4 photos")
    ap.add_argument("--no-write", action="store_true", help="print instead of writing docs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.before],
            check=True,
            capture_output=True,
        )
        try:
            runs = {}
            for label, source in (("before", old), ("after", ROOT)):
                for kept in (False, True):
                    runs[label, kept] = _run(source, args.quick, kept)
                    print(f"{label} kept={kept}: done", file=sys.stderr, flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False
            )
    body = report(runs, args.before)
    if args.no_write:
        print(body)
    else:
        from bench._report import write_section

        write_section("watermark_negatives", "Image watermark: deciding on unmarked photos", body)


def report(runs: dict[tuple[str, bool], dict[str, Any]], before: str) -> str:
    b, a = runs["before", False], runs["after", False]
    lost = sorted(set(b["detected"]) - set(a["detected"]))
    gained = sorted(set(a["detected"]) - set(b["detected"]))
    lines = [
        f"Before: revision `{before}` (the v1 detector); after: this tree. Each row is one "
        "process. The check is decode + detect with one key, as `verify` runs it on a file "
        "without a manifest; the ratio is the check over a bare Pillow decode of the same "
        "JPEG (~1 MP, quality 90), per photo, median and worst over the photos. *Kept*: "
        "freed memory kept for reuse (`provenance.keep_freed_memory()`, what the CLI does). "
        "Target: ratio <= 4.",
        "",
        "| run | Pillow decode ms | check ms | ratio median | ratio worst |",
        "|---|---|---|---|---|",
    ]
    for (label, kept), r in runs.items():
        name = f"{label}{', kept' if kept else ''}"
        lines.append(
            f"| {name} | {r['decode_ms']:.1f} | {r['check_ms']:.1f} | "
            f"{r['ratio_median']:.1f}x | {r['ratio_max']:.1f}x |"
        )
    lines += [
        "",
        f"Over the suite ({a['attacked']} attacked marked images, one key a photo, v1 marks "
        "on both sides so that the same pixels are searched and only the detector differs): "
        "detected "
        f"before {len(b['detected'])}, after {len(a['detected'])}; lost {len(lost)}"
        + (f" ({', '.join(lost)})" if lost else "")
        + f", gained {len(gained)}"
        + (f" ({', '.join(gained)})" if gained else "")
        + f". Unmarked copies reporting a mark: before {b['unmarked_hits']}, after "
        f"{a['unmarked_hits']} of {a['attacked']}; median detect time on them "
        f"{b['unmarked_ms']:.0f} ms before, {a['unmarked_ms']:.0f} ms after.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
