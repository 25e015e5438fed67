"""Soak: many generate calls at high concurrency against ``imagewright serve`` (a subprocess on
127.0.0.1), through imagewright's ``AsyncClient`` and, in the same run, the official
``openai.AsyncOpenAI``. Records calls ok / failed, wall time, calls/s, this process's open file
descriptors and sockets before and after (clients closed), RSS at 10/50/100 % of the calls,
and the sandbox's billed count (``GET /v1/sandbox/counters``).

Run: ``python bench/soak.py [--n 10000] [--concurrency 128] [--no-openai]`` (prints a table).
``run_soak(...)`` is the importable core (``tests/test_soak.py`` runs a short version).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import imagewright

PROMPT = "a small fox"
OPTIONS: dict[str, Any] = {"quality": "low", "size": "1024x1024"}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def open_sockets() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                count += 1
        except OSError:
            pass  # the fd of the listdir itself, closed since
    return count


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def counters(base: str) -> dict[str, int]:
    request = urllib.request.Request(
        f"{base}/v1/sandbox/counters", headers={"Authorization": "Bearer sk-test"}
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        return dict(json.loads(r.read()))


@contextmanager
def serve(latency: float = 0.0) -> Iterator[str]:
    """``imagewright serve`` on a free loopback port; yields its base URL (without ``/v1``)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "imagewright", "serve", "--port", str(port), "--quiet"]
    if latency:
        cmd += ["--latency", str(latency)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                counters(base)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("imagewright serve did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


async def _drive(
    call: Callable[[], Awaitable[Any]], n: int, concurrency: int
) -> tuple[int, Counter[str], dict[str, float], float]:
    """n calls, at most ``concurrency`` at once; returns ok, failures by type, RSS marks, wall."""
    sem = asyncio.Semaphore(concurrency)
    failures: Counter[str] = Counter()
    ok = 0
    done = 0
    marks = {max(1, n * p // 100): f"rss_{p}" for p in (10, 50, 100)}
    rss: dict[str, float] = {}

    async def one() -> None:
        nonlocal ok, done
        async with sem:
            try:
                await call()
                ok += 1
            except Exception as exc:  # every call is accounted for
                failures[type(exc).__name__] += 1
            done += 1
            if done in marks:
                rss[marks[done]] = rss_mb()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return ok, failures, rss, time.perf_counter() - t0


async def _soak_imagewright(base: str, n: int, concurrency: int) -> dict[str, Any]:
    client = imagewright.AsyncClient(
        "sk-test", base_url=base + "/v1", default_model=imagewright.models.DEFAULT_MODEL
    )
    try:
        ok, failures, rss, wall = await _drive(
            lambda: client.generate(PROMPT, **OPTIONS), n, concurrency
        )
    finally:
        await client.aclose()
    return {
        "ok": ok,
        "failed": sum(failures.values()),
        "failures": dict(failures),
        **rss,
        "wall_s": wall,
    }


async def _soak_openai(base: str, n: int, concurrency: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base + "/v1", api_key="sk-test")
    try:
        ok, failures, rss, wall = await _drive(
            lambda: client.images.generate(
                model=imagewright.models.DEFAULT_MODEL, prompt=PROMPT, **OPTIONS
            ),
            n,
            concurrency,
        )
    finally:
        await client.close()
    return {
        "ok": ok,
        "failed": sum(failures.values()),
        "failures": dict(failures),
        **rss,
        "wall_s": wall,
    }


def _phase(
    name: str,
    soak: Callable[[str, int, int], Awaitable[dict[str, Any]]],
    base: str,
    n: int,
    concurrency: int,
) -> dict[str, Any]:
    billed_before = counters(base)["billed_images"]
    fds, socks, rss0 = open_fds(), open_sockets(), rss_mb()
    row = asyncio.run(soak(base, n, concurrency))
    row.update(
        sdk=name,
        calls=n,
        calls_per_s=n / row["wall_s"],
        fds_before=fds,
        fds_after=open_fds(),
        sockets_before=socks,
        sockets_after=open_sockets(),
        rss_before=rss0,
        rss_after=rss_mb(),
        billed=counters(base)["billed_images"] - billed_before,
    )
    row["fd_delta"] = row["fds_after"] - row["fds_before"]
    row["socket_delta"] = row["sockets_after"] - row["sockets_before"]
    row["rss_delta"] = row["rss_100"] - row["rss_10"]
    return row


def run_soak(
    n: int = 10_000, concurrency: int = 128, *, openai: bool = True, latency: float = 0.0
) -> dict[str, Any]:
    """Run the soak; returns ``{"imagewright": row, "openai": row or None}``."""
    with serve(latency) as base:
        result: dict[str, Any] = {
            "imagewright": _phase("imagewright", _soak_imagewright, base, n, concurrency),
            "openai": None,
        }
        if openai:
            result["openai"] = _phase("openai", _soak_openai, base, n, concurrency)
    return result


COLUMNS = [
    ("calls", "{:d}"),
    ("ok", "{:d}"),
    ("failed", "{:d}"),
    ("billed", "{:d}"),
    ("wall_s", "{:.1f}"),
    ("calls_per_s", "{:.0f}"),
    ("fds_before", "{:d}"),
    ("fds_after", "{:d}"),
    ("sockets_before", "{:d}"),
    ("sockets_after", "{:d}"),
    ("rss_before", "{:.1f}"),
    ("rss_10", "{:.1f}"),
    ("rss_50", "{:.1f}"),
    ("rss_100", "{:.1f}"),
    ("rss_delta", "{:+.1f}"),
]


def table(result: dict[str, Any]) -> str:
    rows = [r for r in (result["imagewright"], result["openai"]) if r]
    lines = [f"| metric (RSS in MB) | {' | '.join(r['sdk'] for r in rows)} |"]
    lines.append("|---" * (len(rows) + 1) + "|")
    for key, fmt in COLUMNS:
        lines.append(f"| {key} | {' | '.join(fmt.format(r[key]) for r in rows)} |")
    for r in rows:
        if r["failures"]:
            lines.append(f"\n{r['sdk']} failures: {r['failures']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10_000, help="calls per SDK (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=128, help="calls at once (128)")
    parser.add_argument("--latency", type=float, default=0.0, help="server latency, seconds")
    parser.add_argument("--no-openai", action="store_true", help="imagewright only")
    args = parser.parse_args(argv)
    result = run_soak(args.n, args.concurrency, openai=not args.no_openai, latency=args.latency)
    print(f"soak: n={args.n} concurrency={args.concurrency} load={os.getloadavg()}")
    print(table(result))


if __name__ == "__main__":
    main()
