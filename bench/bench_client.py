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
import statistics
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import openai
from PIL import Image

import imagewright
from imagewright import EditRequest

_PNG = io.BytesIO()
Image.new("RGB", (1024, 1024), (30, 60, 90)).save(_PNG, format="PNG")
ANSWER = json.dumps(
    {
        "created": 1,
        "data": [{"b64_json": base64.b64encode(_PNG.getvalue()).decode()}],
        "output_format": "png",
        "size": "1024x1024",
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
    answer = ANSWER

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)


def _photo(w: int, h: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    # smooth content, like a photo, so PNG sizes are realistic rather than worst case
    small = rng.integers(0, 255, (h // 32 + 1, w // 32 + 1, 3), dtype=np.uint8)
    im = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


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


def main() -> None:
    warnings.simplefilter("ignore")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    ours = imagewright.Client("sk-bench", base_url=url, max_retries=0)
    theirs = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=0)
    one = [_photo(1024, 1024, 1)]
    three = [_photo(1024, 1024, i) for i in range(3)]
    big = [_photo(3840, 2160, i) for i in range(4)]

    def ours_edit(images: list[bytes]) -> Callable[[], Any]:
        return lambda: ours.edit(EditRequest(images, "edit"), model="gpt-image-2")

    def theirs_edit(images: list[bytes]) -> Callable[[], Any]:
        files = [(f"image_{i}.png", data, "image/png") for i, data in enumerate(images)]
        return lambda: theirs.images.edit(image=files, prompt="edit", model="gpt-image-2")

    rows: list[tuple[str, str, str]] = []
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], int]] = [
        (
            "generate (JSON)",
            lambda: ours.generate("a red fox", model="gpt-image-2", quality="low"),
            lambda: theirs.images.generate(prompt="a red fox", model="gpt-image-2", quality="low"),
            60,
        ),
        ("edit, 1 x 1024x1024 PNG", ours_edit(one), theirs_edit(one), 30),
        ("edit, 3 x 1024x1024 PNG", ours_edit(three), theirs_edit(three), 20),
        ("edit, 4 x 3840x2160 PNG", ours_edit(big), theirs_edit(big), 8),
    ]
    for name, ours_fn, theirs_fn, repeat in cases:
        o_med, o_min = _time(ours_fn, repeat)
        t_med, t_min = _time(theirs_fn, repeat)
        rows.append((name, f"{o_med:8.2f} ({o_min:.2f})", f"{t_med:8.2f} ({t_min:.2f})"))

    compile_one = _time(
        lambda: ours.compile_edit(EditRequest(three, "edit"), model="gpt-image-2"), 30
    )
    compile_big = _time(lambda: ours.compile_edit(EditRequest(big, "edit"), model="gpt-image-2"), 8)
    mem_ours = _peak_mb(ours_edit(big))
    mem_theirs = _peak_mb(theirs_edit(big))
    total_in = sum(len(b) for b in big) / 1e6

    print(f"{'call (ms, median (best))':28} {'imagewright':>20} {'openai 3.51.0':>20}")
    for name, o, t in rows:
        print(f"{name:28} {o:>20} {t:>20}")
    print()
    print(f"compile only, 3 x 1024 PNG:    {compile_one[0]:.2f} ms median")
    print(f"compile only, 4 x 3840x2160:   {compile_big[0]:.2f} ms median")
    print(
        f"peak traced memory, edit of 4 x 3840x2160 ({total_in:.1f} MB of PNG): "
        f"imagewright {mem_ours:.1f} MB, openai {mem_theirs:.1f} MB"
    )
    ours.close()
    theirs.close()
    httpd.shutdown()


if __name__ == "__main__":
    main()
