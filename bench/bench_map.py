"""``client.map`` throughput and memory, next to the official SDK doing the same batch.

Setup (issue 10): N edits of a 2048x2048 image sent through ``AsyncClient.map`` at concurrency
64 to ``imagewright serve`` on loopback (its own process) answering after 100 ms; then the same
edits through openai's ``AsyncOpenAI`` with ``asyncio.gather`` and a semaphore, in the same run,
against the same server. The ideal throughput is concurrency / latency (640 requests/s).

CPU: the client process's own CPU time (user + system, all threads) over the pass, per
request. The ideal leaves ``cores / ideal`` of CPU per request for the client and the server
together (3.1 ms on 2 cores), which is what makes the ideal out of reach for 2048x2048 images.

Memory: this process's resident set size (RSS) is read after 10 %, 50 % and 100 % of the
requests of each ``map`` pass (100, 500 and 1,000 with the default N), and its peak at the
end. ``map`` runs twice on ``AsyncClient`` and twice on the sync ``Client``: keeping nothing
(the caller drops each result), and with a ledger (each result written to disk and released).

Two servers (``--server``):

- ``sandbox`` (default, the issue's setup): ``imagewright serve``, which really decodes each
  upload, paints the edit and encodes a 2048x2048 PNG: about 0.6 s of CPU per edit on one core,
  so this run measures the server and shows that neither client adds to it.
- ``canned``: an asyncio server in its own process that reads each upload and answers with one
  fixed 2048x2048 PNG after the latency, doing no image work: this run measures the clients.

Run: ``python bench/bench_map.py`` (N = 1000), ``--n 200`` for a short run, ``--server canned``
for the client-bound run. The table says the machine's load average, since the server and both
clients share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any

import numpy as np
from PIL import Image

import imagewright
from imagewright import EditRequest

_MB = 1024 * 1024


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / _MB


def cpu_s() -> float:
    """CPU seconds (user + system) this process has used so far, in all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def photo(side: int) -> bytes:
    """A photo-like PNG (smooth noise), so the upload is not trivially small."""
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (side // 32, side // 32, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC).save(buf, format="PNG")
    return buf.getvalue()


def start_server(latency: float, kind: str = "sandbox", side: int = 2048) -> tuple[Any, str]:
    """The server for the run: ``imagewright serve``, or the canned answer (see the module)."""
    if kind == "canned":
        from bench_client import _answer, start_slow_server

        return start_slow_server(_answer(side), latency)
    return start_sandbox(latency)


def start_sandbox(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "imagewright", "serve", "--port", str(port), "--quiet"]
    proc = subprocess.Popen([*cmd, "--latency", str(latency)], stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("imagewright serve did not start")


async def run_map(url: str, source: bytes, n: int, conc: int, ledger: str | None) -> dict[str, Any]:
    marks = {max(1, n // 10): 0.0, max(1, n // 2): 0.0, n: 0.0}
    requests = [EditRequest(source, f"edit number {i}") for i in range(n)]
    async with imagewright.AsyncClient(api_key="bench", base_url=url, timeout=600) as client:
        t0, c0 = time.perf_counter(), cpu_s()
        run = client.map(
            requests, concurrency=conc, size="2048x2048", ledger=ledger, progress=False
        )
        done = 0
        async for outcome in run:
            assert isinstance(outcome, imagewright.Result), outcome
            done += 1
            if done in marks:
                marks[done] = rss_mb()
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    summary = run.summary
    return {"wall": wall, "cpu": cpu, "marks": marks, "peak": peak_rss_mb(), "summary": summary}


def run_sync_map(url: str, source: bytes, n: int, conc: int, ledger: str | None) -> dict[str, Any]:
    """The same batch through the sync ``Client.map`` (the same engine, sending from threads)."""
    marks = {max(1, n // 10): 0.0, max(1, n // 2): 0.0, n: 0.0}
    requests = [EditRequest(source, f"edit number {i}") for i in range(n)]
    with imagewright.Client(api_key="bench", base_url=url, timeout=600) as client:
        t0, c0 = time.perf_counter(), cpu_s()
        run = client.map(
            requests, concurrency=conc, size="2048x2048", ledger=ledger, progress=False
        )
        for done, outcome in enumerate(run, 1):
            assert isinstance(outcome, imagewright.Result), outcome
            if done in marks:
                marks[done] = rss_mb()
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    summary = run.summary
    return {"wall": wall, "cpu": cpu, "marks": marks, "peak": peak_rss_mb(), "summary": summary}


async def run_openai(url: str, source: bytes, n: int, conc: int) -> dict[str, Any]:
    import openai

    marks = {max(1, n // 10): 0.0, max(1, n // 2): 0.0, n: 0.0}
    gate = asyncio.Semaphore(conc)
    client = openai.AsyncOpenAI(api_key="bench", base_url=url, timeout=600, max_retries=2)
    done = 0

    async def one(i: int) -> None:
        nonlocal done
        async with gate:
            resp = await client.images.edit(
                model="gpt-image-2",
                image=("source.png", source, "image/png"),
                prompt=f"edit number {i}",
                size="2048x2048",  # type: ignore[arg-type]
            )
            assert resp.data is not None
            base64.b64decode(resp.data[0].b64_json or "")  # the bytes, as map's Result holds
        done += 1
        if done in marks:
            marks[done] = rss_mb()

    t0, c0 = time.perf_counter(), cpu_s()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    await client.close()
    return {"wall": wall, "cpu": cpu, "marks": marks, "peak": peak_rss_mb()}


PASSES = (
    "map",
    "map + ledger",
    "sync Client.map",
    "sync Client.map + ledger",
    "openai AsyncOpenAI",
)


def one_pass(label: str, url: str, n: int, conc: int, side: int) -> dict[str, Any]:
    """Run one pass in this process (a fresh one: its peak RSS is the pass's own)."""
    warnings.filterwarnings("ignore", category=imagewright.ExperimentalSizeWarning)
    source = photo(side)
    if label == "openai AsyncOpenAI":
        return asyncio.run(run_openai(url, source, n, conc))
    with tempfile.TemporaryDirectory() as tmp:
        ledger = os.path.join(tmp, "l") if label.endswith("+ ledger") else None
        if label.startswith("sync"):
            out = run_sync_map(url, source, n, conc, ledger)
        else:
            out = asyncio.run(run_map(url, source, n, conc, ledger))
    out["summary"] = str(out["summary"]).replace("\n", "; ")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="edits per pass (default 1000)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1, help="server latency, seconds")
    parser.add_argument("--side", type=int, default=2048, help="image side in pixels")
    parser.add_argument("--no-openai", action="store_true", help="skip the official SDK pass")
    parser.add_argument(
        "--server", choices=("sandbox", "canned"), default="sandbox", help="see the module doc"
    )
    parser.add_argument("--pass", dest="one", choices=PASSES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one pass, its figures as JSON on stdout
        out = one_pass(args.one, args.url, args.n, args.concurrency, args.side)
        print(json.dumps(out))
        return
    proc, url = start_server(args.latency, args.server, args.side)
    ideal = args.concurrency / args.latency
    rows = []
    try:
        # Warm the server first: a fresh ``imagewright serve`` made whichever pass came first
        # 20-35 % slower (200 edits: 62-65 s first, 46-50 s after, for either client).
        warm = [sys.executable, __file__, "--pass", "map", "--url", url, "--side", str(args.side)]
        warm += ["--n", str(args.concurrency), "--concurrency", str(args.concurrency)]
        subprocess.run(warm, capture_output=True, check=True)
        for label in PASSES[:-1] if args.no_openai else PASSES:
            cmd = [sys.executable, __file__, "--pass", label, "--url", url]
            cmd += ["--n", str(args.n), "--concurrency", str(args.concurrency)]
            cmd += ["--side", str(args.side)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append((label, out))
            if "summary" in out:
                print(f"{label}: {out['summary']}", file=sys.stderr)
    finally:
        proc.terminate()
        proc.join() if hasattr(proc, "join") else proc.wait()
    load = os.getloadavg()
    print(
        f"\n{args.n} edits of {args.side}x{args.side}, {args.server} server, "
        f"concurrency {args.concurrency}, server latency {args.latency * 1000:.0f} ms; "
        f"ideal {ideal:.0f} req/s; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"on {os.cpu_count()} cores; each pass in its own process\n"
    )
    print(
        "| pass | wall s | req/s | % of ideal | client CPU ms per request "
        "| RSS MB at 10 % / 50 % / 100 % | peak RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for label, out in rows:
        rate = args.n / out["wall"]
        marks = " / ".join(f"{v:.0f}" for v in out["marks"].values())
        print(
            f"| {label} | {out['wall']:.1f} | {rate:.1f} | {100 * rate / ideal:.1f} | "
            f"{1000 * out['cpu'] / args.n:.1f} | {marks} | {out['peak']:.0f} |"
        )


if __name__ == "__main__":
    main()
