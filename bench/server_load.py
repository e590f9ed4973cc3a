"""`provenance serve` under load: POST /v1/verify of a signed 1 MP JPEG at 1, 8 and 32 clients.

    python -m bench.server_load [--requests 1000] [--seconds 30] [--clients 1,8,32]

The real server runs in a subprocess on 127.0.0.1 (a free port, a fresh key store, default
settings: 4 jobs at once, more refused with 503). Each level sends at most --requests
requests or runs --seconds, whichever ends first, from that many client threads, each with
its own keep-alive connection. Latency is over the answered (200) requests; 503s are
counted apart. Peak RSS is the server's process tree, sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench._report import write_section
from bench._rss import tree_rss
from fixtures.demo_image import landscape
from fixtures.support import PASSPHRASE, encode, make_key_store
from provenance.credentials.manifest import AIContent
from provenance.credentials.sign import ManifestSigner
from provenance.signing.sign import sign_bytes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def signed_jpeg(home: Path) -> bytes:
    store = make_key_store(home, org="Bench")
    signer = ManifestSigner(store.signer(None, PASSPHRASE))
    jpeg = encode(landscape(1152, 864), "JPEG", quality=90)
    return sign_bytes(jpeg, signer, AIContent(model="bench")).data


class Sampler:
    """Peak RSS of a process tree, from start() to stop()."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            time.sleep(0.02)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def load(url: str, data: bytes, clients: int, limit: int, seconds: float) -> dict[str, float]:
    """``clients`` threads POST until ``limit`` requests are sent or ``seconds`` pass."""
    lock = threading.Lock()
    sent = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal sent, errors
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    if sent >= limit or time.perf_counter() > deadline:
                        return
                    sent += 1
                start = time.perf_counter()
                try:
                    response = client.post(url, files={"file": ("bench.jpg", data, "image/jpeg")})
                except httpx.HTTPError:
                    with lock:
                        errors += 1
                    continue
                elapsed = time.perf_counter() - start
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 200:
                        latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    ok = statuses.get(200, 0)
    return {
        "sent": sent,
        "ok": ok,
        "busy": statuses.get(503, 0),
        "other": sum(n for code, n in statuses.items() if code not in (200, 503)) + errors,
        "wall": wall,
        "rps": ok / wall,
        "p50": pct(0.50) if latencies else float("nan"),
        "p99": pct(0.99) if latencies else float("nan"),
        "mean": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not answer /healthz within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="most requests per level")
    parser.add_argument("--seconds", type=float, default=30.0, help="most seconds per level")
    parser.add_argument("--clients", default="1,8,32", help="client counts, comma-separated")
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        home, log = Path(tmp) / "home", Path(tmp) / "serve.log"
        data = signed_jpeg(home)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-c", "from cli.main import main; main()", "--home", str(home)]
        command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "PROVENANCE_PASSPHRASE": PASSPHRASE}
        with log.open("w") as stderr:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_ready(base, process, log)
            idle_rss = tree_rss(process.pid)
            url = f"{base}/v1/verify"
            load(url, data, 1, 5, 30)  # warm-up: imports, first verify
            rows = []
            for clients in levels:
                sampler = Sampler(process.pid)
                sampler.start()
                result = load(url, data, clients, args.requests, args.seconds)
                peak = sampler.stop()
                rows.append((clients, result, peak))
                print(
                    f"{clients:3d} clients: {result['ok']:.0f}/{result['sent']:.0f} ok, "
                    f"{result['busy']:.0f} busy, {result['rps']:.1f} req/s, "
                    f"p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms, "
                    f"peak RSS {peak / 2**20:.0f} MiB",
                    file=sys.stderr,
                )
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    lines = [
        f"`provenance serve` (default settings: 4 jobs at once, more refused with 503) on "
        f"127.0.0.1; clients POST /v1/verify with one signed 1152x864 JPEG "
        f"(signed without a watermark, so this is C2PA validation, not detection) "
        f"({len(data) / 1024:.0f} KiB), multipart, keep-alive, from threads in a second "
        f"process on the same machine (client and server share its cores, so the client's CPU "
        f"is part of what is measured). Each level stops after {args.requests} requests or "
        f"{args.seconds:.0f} s. Latency over the 200 answers; peak RSS is the server's, "
        f"{idle_rss / 2**20:.0f} MiB idle.",
        "",
        "| clients | sent | 200 | 503 busy | other | req/s (200) | p50 ms | p99 ms | "
        "server peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clients, r, peak in rows:
        lines.append(
            f"| {clients} | {r['sent']:.0f} | {r['ok']:.0f} | {r['busy']:.0f} | "
            f"{r['other']:.0f} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p99']:.0f} | "
            f"{peak / 2**20:.0f} MiB |"
        )
    write_section("server_load", "HTTP server under load, POST /v1/verify", "\n".join(lines))


if __name__ == "__main__":
    main()
