"""`provenance verify` over 10,000 mixed files: files/s and peak RSS, against the alternatives.

    python -m bench.batch [--files 10000] [--sample 200] [--big 100000] [--pool 150]

The corpus is what an upload folder holds: C2PA-signed photos (30%), signed and watermarked
(20%), watermarked then stripped by a re-encode (10%, to be `recovered` from the repository),
plain photos (30%) and broken files (10%, the hostile fixtures). Photos are random crops of
scikit-image's bundled pictures, 640x480 to 1024x768, JPEG or PNG, signed through the library
as `provenance sign` does. A pool of unique files per category is made (signing with a
watermark costs about 0.1 s) and copied to N distinct names in folders of 500.

Each measured run is a separate process tree (wall time with start-up, peak RSS sampled every
20 ms): the CLI over the folder with 1 and 2 workers, with and without watermark detection;
the CLI once per file on a sample (c2patool-style); a plain loop over c2pa-python's Reader in
one process; `--from-file` lists of N and of BIG entries for flat memory. Every run's verdicts
are checked against the categories, so a broken verifier cannot post good numbers.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import io
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench._report import write_section
from bench._rss import run_measured
from fixtures import hostile
from fixtures.support import PASSPHRASE, encode, make_key_store
from provenance.credentials.manifest import AIContent
from provenance.credentials.sign import ManifestSigner
from provenance.home import default_repository, verify_config_for_home, watermark_secret
from provenance.report import Verdict
from provenance.repository import SQLiteRepository
from provenance.signing.sign import Watermarking, sign_bytes
from provenance.verify.verifier import Verifier

FOLDER_SIZE = 500
PHOTOS = ["astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry",
          "rocket", "retina", "stereo_motorcycle", "camera"]  # fmt: skip
BROKEN: list[Callable[[Path], Path]] = [
    hostile.empty_file,
    hostile.random_bytes_as_image,
    hostile.truncated_jpeg,
    hostile.truncated_png,
    hostile.bitflip_jpeg_header,
    hostile.bitflip_png_header,
]


@dataclasses.dataclass(frozen=True)
class Category:
    name: str
    share: float
    verdict: str  # with watermark detection (the default)
    c2pa_only: str  # with --no-watermark


CATEGORIES = (
    Category("signed", 0.30, "trusted", "trusted"),
    Category("signed+watermark", 0.20, "trusted", "trusted"),
    Category("stripped", 0.10, "recovered", "none"),
    Category("plain", 0.30, "none", "none"),
    Category("broken", 0.10, "error", "error"),
)
BY_NAME = {category.name: category for category in CATEGORIES}
Corpus = list[tuple[Path, Category]]


@dataclasses.dataclass
class Row:
    label: str
    files: int
    seconds: float
    peak: int
    exit: str
    verdicts: collections.Counter[str]

    def markdown(self) -> str:
        tally = ", ".join(f"{n:,} {v}" for v, n in sorted(self.verdicts.items()))
        return (
            f"| {self.label} | {self.files:,} | {self.seconds:.1f} "
            f"| {self.files / self.seconds:.0f} | {self.peak / 2**20:.0f} MiB "
            f"| {self.exit} | {tally} |"
        )


def split(total: int) -> dict[str, int]:
    counts = {category.name: int(total * category.share) for category in CATEGORIES}
    counts["plain"] += total - sum(counts.values())
    return counts


def load_photos() -> list[Image.Image]:
    from skimage import data

    pictures = []
    for name in PHOTOS:
        pixels = getattr(data, name)()
        pixels = pixels[0] if isinstance(pixels, tuple) else pixels
        pictures.append(Image.fromarray(pixels).convert("RGB"))
    return pictures


def photo(pictures: Sequence[Image.Image], rng: np.random.Generator) -> tuple[bytes, str]:
    """A random crop of a random picture: 640x480 to 1024x768 (a third portrait), JPEG at
    quality 80-92 or one in eight PNG."""
    source = pictures[rng.integers(len(pictures))]
    width = int(rng.integers(640, 1025))
    height = width * 3 // 4
    if rng.random() < 1 / 3:
        width, height = height, width
    scale = max(width / source.width, height / source.height) * rng.uniform(1.0, 1.5)
    size = (math.ceil(source.width * scale), math.ceil(source.height * scale))
    resized = source.resize(size, Image.Resampling.BILINEAR)
    x = int(rng.integers(0, resized.width - width + 1))
    y = int(rng.integers(0, resized.height - height + 1))
    image = resized.crop((x, y, x + width, y + height))
    if rng.random() < 1 / 8:
        return encode(image, "PNG"), "png"
    return encode(image, "JPEG", quality=int(rng.integers(80, 93))), "jpg"


def make_pools(
    folder: Path, home: Path, counts: dict[str, int], pool: int
) -> tuple[dict[str, list[Path]], int]:
    """Unique files per category under ``folder``; stripped files that the verifier does not
    recover are dropped and counted (the watermark's hit rate is measured elsewhere)."""
    store = make_key_store(home, org="Bench")
    repository = SQLiteRepository(default_repository(home))
    watermarking = Watermarking(watermark_secret(store), repository)
    signer = ManifestSigner(store.signer(None, PASSPHRASE))
    content = AIContent(model="bench-model")
    config = verify_config_for_home(home)
    checker = Verifier(dataclasses.replace(config, repository=str(default_repository(home))))
    pictures, rng = load_photos(), np.random.default_rng(10_000)
    pools: dict[str, list[Path]] = {name: [] for name in counts}
    dropped = 0
    for category in CATEGORIES[:-1]:
        made = pools[category.name]
        while len(made) < min(pool, counts[category.name]):
            data, ext = photo(pictures, rng)
            if category.name == "signed":
                data = sign_bytes(data, signer, content).data
            elif category.name != "plain":
                data = sign_bytes(data, signer, content, watermarking=watermarking).data
            if category.name == "stripped":
                decoded = Image.open(io.BytesIO(data)).convert("RGB")
                data, ext = encode(decoded, "JPEG", quality=90), "jpg"
                if checker.verify_bytes(data).verdict is not Verdict.RECOVERED:
                    dropped += 1
                    continue
            path = folder / f"{category.name.replace('+', '-')}-{len(made):04d}.{ext}"
            path.write_bytes(data)
            made.append(path)
    pools["broken"] = [make(folder) for make in BROKEN]
    return pools, dropped


def fill(corpus: Path, pools: dict[str, list[Path]], counts: dict[str, int]) -> Corpus:
    """N distinct files, categories shuffled, copied from the pools into folders of 500."""
    labels = [name for name, count in counts.items() for _ in range(count)]
    order = np.random.default_rng(1).permutation(len(labels))
    used: collections.Counter[str] = collections.Counter()
    files: Corpus = []
    for index, which in enumerate(order):
        name = labels[which]
        source = pools[name][used[name] % len(pools[name])]
        used[name] += 1
        target = corpus / f"d{index // FOLDER_SIZE:03d}" / f"f{index:06d}{source.suffix}"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
        files.append((target, BY_NAME[name]))
    return files


def checked(output: Path, expected: dict[str, str]) -> collections.Counter[str]:
    """The verdicts in a JSONL report, each checked against its file's category."""
    verdicts: collections.Counter[str] = collections.Counter()
    with output.open("rb") as handle:
        for line in handle:
            report = json.loads(line)
            verdicts[report["verdict"]] += 1
            want = expected[report["path"]]
            if report["verdict"] != want:
                sys.exit(f"{report['path']}: {report['verdict']}, expected {want}")
    return verdicts


def cli_run(
    label: str, args: list[str], files: Corpus, c2pa_only: bool, env: dict[str, str], tmp: Path
) -> Row:
    """One `provenance verify --jsonl` process over ``files`` (named by ``args``)."""
    expected = {str(p): c.c2pa_only if c2pa_only else c.verdict for p, c in files}
    want = collections.Counter(c.c2pa_only if c2pa_only else c.verdict for _, c in files)
    output = tmp / "report.jsonl"
    command = [cli(), "verify", "--jsonl", *args, *(["--no-watermark"] * c2pa_only)]
    with output.open("wb") as handle:
        seconds, peak, code = run_measured(command, env, stdout=handle)
    verdicts = checked(output, expected)
    output.unlink()
    if verdicts != want:
        sys.exit(f"{label}: verdicts {dict(verdicts)}, expected {dict(want)}")
    row = Row(label, len(files), seconds, peak, str(code), verdicts)
    print(row.markdown(), flush=True)
    return row


def per_file_loop(sample: Corpus, env: dict[str, str], tmp: Path) -> Row:
    """c2patool-style: one `provenance verify --jsonl FILE` process per file."""
    peak, codes, verdicts = 0, set(), collections.Counter[str]()
    output = tmp / "one.jsonl"
    start = time.perf_counter()
    for path, category in sample:
        with output.open("wb") as handle:
            _, rss, code = run_measured([cli(), "verify", "--jsonl", str(path)], env, handle)
        verdicts += checked(output, {str(path): category.verdict})
        peak, codes = max(peak, rss), codes | {code}
    seconds = time.perf_counter() - start
    label = f"one `verify FILE` process per file (sample of {len(sample)})"
    row = Row(label, len(sample), seconds, peak, "/".join(map(str, sorted(codes))), verdicts)
    print(row.markdown(), flush=True)
    return row


def reader_run(listing: Path, files: Corpus, home: Path, tmp: Path) -> Row:
    """A plain loop over c2pa-python's Reader, in a process of its own, trusting what the
    CLI trusts (the home's anchors and allowed list)."""
    result = tmp / "reader.json"
    command = [sys.executable, "-m", "bench.batch", "--reader-loop", str(listing), str(result)]
    seconds, peak, code = run_measured(command, env=dict(os.environ, PROVENANCE_HOME=str(home)))
    states = collections.Counter[str](json.loads(result.read_text()))
    manifests = sum(n for state, n in states.items() if state in ("Valid", "Trusted", "Invalid"))
    signed = sum(c.name.startswith("signed") for _, c in files)
    if code != 0 or manifests != signed:
        sys.exit(f"Reader loop: exit {code}, states {dict(states)}, expected {signed} manifests")
    row = Row("c2pa-python `Reader` loop, one process", len(files), seconds, peak, "0", states)
    print(row.markdown(), flush=True)
    return row


def trusting_context(home: Path) -> Any:
    """A c2pa Context with the trust settings `verify` uses for ``home``."""
    import c2pa

    return c2pa.Context.from_dict(verify_config_for_home(home).trust.context_settings())


def read_states(paths: Sequence[Path], context: Any) -> collections.Counter[str]:
    """What a script over c2pa-python does: Reader and its state per file, nothing else."""
    import c2pa

    states: collections.Counter[str] = collections.Counter()
    for path in paths:
        try:
            with path.open("rb") as stream, c2pa.Reader(stream=stream, context=context) as reader:
                states[str(reader.get_validation_state())] += 1
        except Exception as exc:  # any file may throw; a batch must go on
            states[type(exc).__name__] += 1
    return states


def reader_loop(listing: Path, result: Path) -> None:
    """The Reader loop's process: the home's trust settings, no watermark, no repository."""
    context = trusting_context(Path(os.environ["PROVENANCE_HOME"]))
    with listing.open("rb") as handle:
        paths = [Path(os.fsdecode(line.rstrip(b"\n"))) for line in handle]
    result.write_text(json.dumps(read_states(paths, context)))


@dataclasses.dataclass(frozen=True)
class PerFile:
    """Milliseconds a file, in one warm process: the library against the bare Reader."""

    category: str
    files: int
    ours_ms: float
    reader_ms: float


def per_file_in_process(files: Corpus, home: Path, rounds: int = 3) -> list[PerFile]:
    """`Verifier.verify_path` (C2PA only, as `verify --no-watermark` builds it) against
    the bare Reader loop with the same trust settings, per category, start-up excluded:
    the best of ``rounds`` interleaved rounds of each."""
    config = dataclasses.replace(verify_config_for_home(home), check_watermark=False)
    verifier, context = Verifier(config), trusting_context(home)
    rows = []
    groups = [(c.name, [f for f in files if f[1] is c][:400]) for c in CATEGORIES]
    groups.append(("all, the corpus mix", files[:2000]))
    for group, entries in groups:
        paths = [path for path, _ in entries]
        ours, bare = math.inf, math.inf
        for _ in range(rounds):
            start = time.perf_counter()
            verdicts = [verifier.verify_path(path).verdict for path in paths]
            ours = min(ours, time.perf_counter() - start)
            start = time.perf_counter()
            read_states(paths, context)
            bare = min(bare, time.perf_counter() - start)
        wrong = [p for v, (p, c) in zip(verdicts, entries, strict=True) if v != c.c2pa_only]
        if wrong:
            sys.exit(f"in-process {group}: {len(wrong)} unexpected verdicts, e.g. {wrong[0]}")
        n = len(paths)
        rows.append(PerFile(group, n, ours / n * 1e3, bare / n * 1e3))
        print(f"in process, {group}: ours {ours / n * 1e3:.2f} ms, "
              f"Reader {bare / n * 1e3:.2f} ms", flush=True)  # fmt: skip
    return rows


def write_list(path: Path, files: Corpus) -> Path:
    path.write_bytes(b"".join(os.fsencode(p) + b"\n" for p, _ in files))
    return path


def cli() -> str:
    return str(Path(sys.executable).with_name("provenance"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="corpus size N")
    parser.add_argument("--sample", type=int, default=200, help="files for the per-file loop")
    parser.add_argument("--big", type=int, default=100_000, help="list size for flat memory")
    parser.add_argument("--pool", type=int, default=150, help="unique files per category")
    parser.add_argument("--reader-loop", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader_loop:
        reader_loop(*args.reader_loop)
        return
    counts = split(args.files)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "pools").mkdir()
        (tmp / "corpus").mkdir()
        start = time.perf_counter()
        pools, dropped = make_pools(tmp / "pools", tmp / "home", counts, args.pool)
        files = fill(tmp / "corpus", pools, counts)
        size = sum(path.stat().st_size for path, _ in files)
        print(f"corpus: {len(files):,} files, {size / 2**20:.0f} MiB, "
              f"{time.perf_counter() - start:.0f} s to make", flush=True)  # fmt: skip
        env = dict(os.environ, PROVENANCE_HOME=str(tmp / "home"))
        folder = str(tmp / "corpus")
        rows = []
        for c2pa_only in (False, True):
            for workers in (1, 2):
                flag = " --no-watermark" * c2pa_only
                label = f"`verify -r --workers {workers}{flag}`"
                flags = ["-r", "--workers", str(workers), folder]
                rows.append(cli_run(label, flags, files, c2pa_only, env, tmp))
        share = split(args.sample)
        sample = [f for c in CATEGORIES for f in [f for f in files if f[1] is c][: share[c.name]]]
        rows.append(per_file_loop(sample, env, tmp))
        listing = write_list(tmp / "list.txt", files)
        rows.append(reader_run(listing, files, tmp / "home", tmp))
        in_process = per_file_in_process(files, tmp / "home")
        big = [files[index % len(files)] for index in range(args.big)]
        flat = []
        for entries, path in ((files, listing), (big, write_list(tmp / "big.txt", big))):
            label = f"`verify --from-file` {len(entries):,} entries, 2 workers, no watermark"
            flags = ["--from-file", str(path), "--workers", "2"]
            flat.append(cli_run(label, flags, entries, True, env, tmp))
        rows += flat
    write_section("batch", f"Batch verify, {args.files:,} mixed files", report(
        args, counts, size, pools, dropped, rows, flat, in_process))  # fmt: skip


def report(
    args: argparse.Namespace,
    counts: dict[str, int],
    size: int,
    pools: dict[str, list[Path]],
    dropped: int,
    rows: list[Row],
    flat: list[Row],
    in_process: list[PerFile],
) -> str:
    mix = ", ".join(f"{counts[c.name]:,} {c.name} (`{c.verdict}`)" for c in CATEGORIES)
    unique = ", ".join(f"{len(pools[c.name])} {c.name}" for c in CATEGORIES)
    one, two, one_c2pa, two_c2pa, loop, reader = rows[:6]
    rate = {row.label: row.files / row.seconds for row in rows}
    table = [
        "| run | files | seconds | files/s | peak RSS (tree) | exit | verdicts |",
        "|---|---|---|---|---|---|---|",
        *(row.markdown() for row in rows),
    ]
    return (
        f"{args.files:,} files, {size / 2**20:,.0f} MiB: {mix}. Photos are random crops "
        "(640x480 to 1024x768, one in eight PNG, the rest JPEG) of scikit-image's bundled "
        "pictures, signed through the library as `provenance sign` does (watermark, manifest, "
        "repository); stripped means re-encoded as a JPEG without metadata; broken are the "
        f"hostile fixtures (empty, random bytes, truncated, bit-flipped). The unique pool "
        f"({unique}; {dropped} stripped candidates dropped because the watermark did not "
        "survive; the recovery section has that rate) is copied to distinct names in "
        f"folders of {FOLDER_SIZE}: contents repeat, paths and inodes do not, and the page "
        "cache holds the whole corpus, so this measures the verifier, not the disk.\n\n"
        "Each row but the per-file loop is one process tree: wall time including "
        "interpreter start-up, peak RSS of the CLI plus its workers sampled every 20 ms, "
        "JSONL to a file; exit 3 is the broken files being unreadable. Every verdict is "
        "checked against the file's category before a number is written. The per-file loop "
        "runs the CLI once per file, as a c2patool-style script would, on a sample spread "
        "over the categories; its RSS is the largest single process. The Reader loop is "
        "`c2pa.Reader` on the open file and `get_validation_state()` per file in one Python "
        "process, with the same trust settings as `verify` (the home's anchors and allowed "
        "list, so `Trusted`), and nothing else: no watermark detection, no repository, no "
        "revocation or limits, no report. The "
        f"`--from-file` rows list the corpus once and {args.big // max(1, args.files)} times "
        "over, for memory that stays flat with the number of files.\n\n"
        + "\n".join(table)
        + f"\n\n- 1 to 2 workers: x{one.seconds / two.seconds:.2f} with watermark "
        f"detection, x{one_c2pa.seconds / two_c2pa.seconds:.2f} C2PA only (2 cores).\n"
        f"- One process for the batch vs one per file: x{rate[one.label] / rate[loop.label]:.0f}"
        " (both 1 worker, watermark detection on).\n"
        f"- C2PA only, 1 worker, vs the bare Reader loop: "
        f"{rate[one_c2pa.label] / rate[reader.label]:.2f} of its rate (start-up included), "
        "the same trust; revocation, limits and the report on top.\n"
        f"- Peak RSS for {flat[0].files:,} vs {flat[1].files:,} entries: "
        f"{flat[0].peak / 2**20:.0f} vs {flat[1].peak / 2**20:.0f} MiB.\n\n"
        "Per file in one warm process, start-up excluded (the issue's target: C2PA-only "
        "verify at most 1.5x the bare Reader with the same trust settings): "
        "`Verifier.verify_path` as `verify --no-watermark` builds it (report, revocation, "
        "limits, the header check of files without a manifest) against the Reader loop above, "
        "on the same files, best of 3 interleaved rounds.\n\n"
        "| files | n | ours, ms a file | Reader, ms a file | x Reader |\n|---|---|---|---|---|\n"
        + "".join(
            f"| {r.category} | {r.files} | {r.ours_ms:.2f} | {r.reader_ms:.2f} | "
            f"{r.ours_ms / r.reader_ms:.2f} |\n"
            for r in in_process
        )
    )


if __name__ == "__main__":
    main()
