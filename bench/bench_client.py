"""Client overhead, side by side with the official SDK, in one process, on loopback.

A tiny HTTP server on 127.0.0.1 answers every request at once with a fixed, valid
ImagesResponse, so what is measured is the client: building, validating and encoding the call,
sending it, and parsing the answer. Both SDKs send the same calls to the same server.

Run: ``python bench/bench_client.py`` (prints a table).
"""

from __future__ import annotations

import base64
import gc
import io
import json
import os
import statistics
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import numpy as np
import openai
from PIL import Image

import imagewright


def _answer(side: int) -> bytes:
    """A valid ImagesResponse holding one photo-like PNG of ``side`` x ``side``."""
    return json.dumps(
        {
            "created": 1,
            "data": [{"b64_json": base64.b64encode(_photo(side, side, 7)).decode()}],
            "output_format": "png",
            "size": f"{side}x{side}",
            "quality": "low",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 196,
                "total_tokens": 206,
                "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
            },
        }
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    """Answers every POST at once with ``answer`` (subclasses set their own)."""

    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one write per answer: no Nagle / delayed-ACK stalls on loopback
    disable_nagle_algorithm = True  # answers larger than the buffer go out in several writes

    def answer(self) -> bytes:
        """The body to send (a subclass answers another endpoint)."""
        return ANSWERS[int(self.headers.get("x-answer-size") or 1024)]

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        answer = self.answer()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def _photo(w: int, h: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    # smooth content, like a photo, so PNG sizes are realistic rather than worst case
    small = rng.integers(0, 255, (h // 32 + 1, w // 32 + 1, 3), dtype=np.uint8)
    im = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


ANSWERS = {1024: _answer(1024), 2048: _answer(2048)}


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), min(runs)


def _peak_mb(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def _decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()


def per_call(url: str) -> list[tuple[str, float, float, int]]:
    """Median ms per sync call (build, send, parse, decode the returned image), both SDKs."""
    ours = imagewright.Client("sk-bench", base_url=url, max_retries=0)
    theirs = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=0)
    inputs = {side: _photo(side, side, side) for side in (1024, 2048)}

    def ours_gen() -> None:
        ours.generate("a red fox", model="gpt-image-2", quality="low").output.image.load()

    def theirs_gen() -> None:
        r = theirs.images.generate(prompt="a red fox", model="gpt-image-2", quality="low")
        _decode(base64.b64decode(r.data[0].b64_json))  # type: ignore[index,arg-type]

    def ours_edit(side: int) -> Callable[[], None]:
        head = {"x-answer-size": str(side)}
        return lambda: ours.edit(
            inputs[side], "edit", model="gpt-image-2", extra_headers=head
        ).output.image.load()

    def theirs_edit(side: int) -> Callable[[], None]:
        head = {"x-answer-size": str(side)}

        def call() -> None:
            r = theirs.images.edit(
                image=("image.png", inputs[side], "image/png"),
                prompt="edit",
                model="gpt-image-2",
                extra_headers=head,
            )
            _decode(base64.b64decode(r.data[0].b64_json))  # type: ignore[index,arg-type]

        return call

    rows = []
    for name, o, t, repeat in [
        ("generate (JSON), 1024² answer", ours_gen, theirs_gen, 40),
        ("edit, 1024² in and out", ours_edit(1024), theirs_edit(1024), 20),
        ("edit, 2048² in and out", ours_edit(2048), theirs_edit(2048), 10),
    ]:
        # Interleave the two SDKs so load from other jobs hits both alike.
        o_runs, t_runs = [], []
        o(), t()
        for _ in range(repeat):
            o_runs.append(_time(o, 1)[0])
            t_runs.append(_time(t, 1)[0])
        rows.append((name, statistics.median(o_runs), statistics.median(t_runs), repeat))
    ours.close()
    theirs.close()
    return rows


def memory(url: str) -> tuple[float, float, float]:
    """Peak traced memory (MB) of one edit of 4 x 3840x2160 PNGs, both SDKs; and the input MB."""
    big = [_photo(3840, 2160, i) for i in range(4)]
    ours = imagewright.Client("sk-bench", base_url=url, max_retries=0)
    theirs = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=0)
    files = [(f"image_{i}.png", data, "image/png") for i, data in enumerate(big)]
    ours.edit(big, "edit", model="gpt-image-2")  # warm both (imports, pools)
    theirs.images.edit(image=files, prompt="edit", model="gpt-image-2")
    mine = _peak_mb(lambda: ours.edit(big, "edit", model="gpt-image-2"))
    other = _peak_mb(lambda: theirs.images.edit(image=files, prompt="edit", model="gpt-image-2"))
    ours.close()
    theirs.close()
    return mine, other, sum(len(b) for b in big) / 1e6


# ---- async throughput against a server that takes 100 ms per call ---------------------------

LATENCY = 0.1


def _slow_server(port_out: Any, answer: bytes, latency: float = LATENCY) -> None:
    """An asyncio HTTP/1.1 server (own process): every POST is answered after ``latency`` s
    with ``answer``, whatever it asked (the request body is read, not parsed)."""
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                await asyncio.sleep(latency)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
        port_out.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(run())


def start_slow_server(answer: bytes, latency: float = LATENCY) -> tuple[Any, str]:
    """Start :func:`_slow_server` in its own process; returns it and its base URL."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    proc = ctx.Process(target=_slow_server, args=(ports, answer, latency), daemon=True)
    proc.start()
    return proc, f"http://127.0.0.1:{ports.get(timeout=60)}/v1"


def throughput(levels: tuple[int, ...] = (16, 64, 256)) -> list[tuple[int, int, float, float]]:
    """Seconds for 4 x ``level`` generate calls with ``level`` in flight, both async SDKs."""
    import asyncio

    small = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 60, 90)).save(small, format="PNG")
    answer = json.loads(ANSWERS[1024])
    answer["data"][0]["b64_json"] = base64.b64encode(small.getvalue()).decode()
    proc, url = start_slow_server(json.dumps(answer).encode())

    async def run(level: int) -> tuple[float, float]:
        # Generous connect timeouts: on a loaded machine the server process may be slow to accept.
        slow = httpx2.Timeout(60.0)
        ours = imagewright.AsyncClient("sk-bench", base_url=url, max_retries=0, timeout=slow)
        theirs = openai.AsyncOpenAI(api_key="sk-bench", base_url=url, max_retries=0, timeout=slow)
        gate = asyncio.Semaphore(level)

        async def one_ours() -> None:
            async with gate:
                await ours.generate("a red fox", model="gpt-image-2", quality="low")

        async def one_theirs() -> None:
            async with gate:
                await theirs.images.generate(prompt="a red fox", model="gpt-image-2")

        async def timed(fn: Any) -> float:
            t0 = time.perf_counter()
            await asyncio.gather(*(fn() for _ in range(4 * level)))
            return time.perf_counter() - t0

        await timed(one_ours), await timed(one_theirs)  # warm: imports, connections
        o = min([await timed(one_ours) for _ in range(3)])
        t = min([await timed(one_theirs) for _ in range(3)])
        await ours.aclose()
        await theirs.close()
        return o, t

    rows = []
    for level in levels:
        o, t = asyncio.run(run(level))
        rows.append((level, 4 * level, o, t))
    proc.terminate()
    proc.join()
    return rows


def import_times(repeat: int = 7) -> list[tuple[str, float]]:
    """Median seconds of an import in a fresh interpreter (the process start is not counted)."""
    import subprocess
    import sys

    snippets = {
        "import imagewright": "import imagewright",
        "import imagewright; imagewright.Client": "import imagewright; imagewright.Client",
        "import openai": "import openai",
    }
    out = []
    for name, code in snippets.items():
        runs = []
        for _ in range(repeat):
            probe = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
            done = subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            )
            runs.append(float(done.stdout))
        out.append((name, statistics.median(runs)))
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    print("Per call, sync, median ms (build, send, parse, decode the returned image)")
    print(f"{'call':32} {'imagewright':>12} {'openai 3.51.0':>14} {'ratio':>7}")
    for name, o, t, _ in per_call(url):
        print(f"{name:32} {o:12.2f} {t:14.2f} {o / t:7.2f}")
    print(f"(load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    print()
    print(f"Async throughput: 4 x N generate calls, N in flight, {LATENCY * 1000:.0f} ms per call")
    print(
        f"{'in flight':>9} {'calls':>6} {'ideal s':>8} {'imagewright s':>14} {'openai s':>9} "
        f"{'% of ideal':>11}"
    )
    for level, calls, o, t in throughput():
        ideal = calls / level * LATENCY
        print(f"{level:9} {calls:6} {ideal:8.2f} {o:14.2f} {t:9.2f} {ideal / o * 100:10.0f}%")

    print()
    print("Import, fresh interpreter, median of 7 (s)")
    for name, seconds in import_times():
        print(f"{name:42} {seconds:.3f}")

    print()
    mine, other, total_in = memory(url)
    print(
        f"Peak traced memory, one edit of 4 x 3840x2160 PNG ({total_in:.1f} MB of input): "
        f"imagewright {mine:.1f} MB, openai {other:.1f} MB"
    )
    httpd.shutdown()


if __name__ == "__main__":
    main()
