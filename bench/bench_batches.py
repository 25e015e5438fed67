"""Batch API submit on the sandbox: N edit lines over P product photos, with a mask.

Measures what ``client.batches.submit`` costs before the API does any work: compiling and
validating every line, uploading each distinct input once (the content-addressed cache),
writing and splitting the JSONL and creating the batches. Counts the uploads the sandbox saw.

Run: ``python bench/bench_batches.py [LINES] [PHOTOS]`` (default 5000 lines over 40 photos).
"""

from __future__ import annotations

import io
import os
import sys
import time

from PIL import Image

import imagewright
from imagewright import EditRequest, Mask


def _photo(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (i * 6 % 256, 90, 200 - i % 200)).save(buf, format="PNG")
    return buf.getvalue()


def main(lines: int, photos: int) -> None:
    shots = [_photo(i) for i in range(photos)]
    mask = Mask.box((256, 256), (0, 0, 128, 256))
    scenes = ["on a beach", "in the snow", "on a desk", "in a kitchen"]
    requests = [
        EditRequest(shots[i % photos], f"put the product {scenes[i % len(scenes)]} #{i}", mask=mask)
        for i in range(lines)
    ]
    rows = []
    for max_lines in (50_000, 1_000):
        with imagewright.Client.sandbox() as client:
            started = time.perf_counter()
            job = client.batches.submit(requests, quality="low", max_lines=max_lines)
            elapsed = time.perf_counter() - started
            uploads = client.sandbox_engine.files.uploads
        rows.append((max_lines, len(job.ids), uploads, elapsed, lines / elapsed))
    load = os.getloadavg()[0]
    print(f"{lines} edit lines over {photos} photos, one mask (load average {load:.1f})")
    print("| max lines per batch | batches | uploads | submit s | lines/s |")
    print("|---|---|---|---|---|")
    for max_lines, batches, uploads, elapsed, rate in rows:
        print(f"| {max_lines:,} | {batches} | {uploads} | {elapsed:.2f} | {rate:,.0f} |")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*(args + [5000, 40][len(args) :]))
