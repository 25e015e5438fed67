"""How fast the sandbox answers: in process (``Client.sandbox()``) and over loopback
(``SandboxServer``), for the calls the demo, the tests and users' CI make.

Run: ``python bench/bench_sandbox.py`` (prints a table).
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

import imagewright
from imagewright import EditRequest, Mask
from imagewright.sandbox import SandboxServer


def _median_ms(fn: Callable[[], Any], repeat: int = 10) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def _photo(size: tuple[int, int]) -> bytes:
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (size[1] // 32, size[0] // 32, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(buf, format="PNG")
    return buf.getvalue()


def _calls(client: imagewright.Client) -> list[tuple[str, Callable[[], Any]]]:
    source = _photo((1024, 1024))
    mask = Mask.box((1024, 1024), (256, 256, 768, 768))
    return [
        (
            "generate 1024x1024 png",
            lambda: client.generate('a sign that says "OPEN"', quality="low"),
        ),
        (
            "generate 1536x1024 jpeg",
            lambda: client.generate("a fox", size="1536x1024", output_format="jpeg", quality="low"),
        ),
        (
            "stream, 3 partial images",
            lambda: list(client.stream_generate("a fox", partial_images=3, quality="low")),
        ),
        (
            "masked edit 1024x1024",
            lambda: client.edit(EditRequest(source, 'a lantern "OPEN"', mask=mask), quality="low"),
        ),
    ]


async def _concurrent(n: int, latency: float) -> float:
    async with imagewright.AsyncClient.sandbox(latency=latency) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(client.generate(f"poster {i}", quality="low") for i in range(n)))
        return time.perf_counter() - t0


def main() -> None:
    in_process = imagewright.Client.sandbox()
    rows = {name: [_median_ms(fn)] for name, fn in _calls(in_process)}
    in_process.close()
    with SandboxServer() as server:
        remote = imagewright.Client("any", base_url=server.url, default_model="gpt-image-2")
        for name, fn in _calls(remote):
            rows[name].append(_median_ms(fn))
        remote.close()
    print(f"{'request (median ms of 10)':30} {'in process':>12} {'127.0.0.1':>12}")
    for name, (local, loop) in rows.items():
        print(f"{name:30} {local:12.1f} {loop:12.1f}")
    elapsed = asyncio.run(_concurrent(20, 0.5))
    print(f"\n20 concurrent async generations, 0.5 s latency each: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
