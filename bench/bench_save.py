"""Benchmark: ``Result.save`` (issue 16), 100 saves of fresh results.

Each save gets a fresh copy of a sandbox result, so nothing computed by an earlier save (the
checks, the diff) is reused: this is what saving 100 new results costs. A generation
(1024x1024 PNG) and a masked edit (1024x1024, SSIM and heatmaps included) are measured; the
sandbox generate itself is timed for scale.

Run: ``python bench/bench_save.py [--repeat 100]``
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import imagewright
from imagewright import EditRequest, Mask


def fresh(result: imagewright.Result) -> imagewright.Result:
    """A copy of ``result`` with no cached proof."""
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    outputs = tuple(dataclasses.replace(o) for o in result.outputs)
    return imagewright.Result(**{**fields, "outputs": outputs})


def time_saves(result: imagewright.Result, repeat: int, root: Path) -> list[float]:
    times = []
    for i in range(repeat):
        r = fresh(result)
        t = time.perf_counter()
        r.save(root / f"{id(result)}-{i}")
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--edit-repeat", type=int, default=20)
    args = parser.parse_args()
    with imagewright.Client.sandbox() as client:
        t = time.perf_counter()
        gen = client.generate('A sign that says "OPEN"', size="1024x1024", quality="low")
        gen_s = time.perf_counter() - t
        mask = Mask.box(gen.output.size, (0.25, 0.25, 0.75, 0.75))
        edit = client.edit(EditRequest(gen.output.data, "add a hat", mask=mask), quality="low")
    root = Path(tempfile.mkdtemp(prefix="bench-save-"))
    try:
        rows = [
            ("generation 1024x1024", args.repeat, time_saves(gen, args.repeat, root)),
            ("masked edit 1024x1024", args.edit_repeat, time_saves(edit, args.edit_repeat, root)),
        ]
    finally:
        shutil.rmtree(root)
    print(f"sandbox generate (for scale): {gen_s * 1000:.0f} ms")
    print(f"{'result':<24}{'saves':>6}{'median ms':>11}{'mean ms':>9}{'total s':>9}")
    for name, n, times in rows:
        print(
            f"{name:<24}{n:>6}{statistics.median(times) * 1000:>11.1f}"
            f"{statistics.mean(times) * 1000:>9.1f}{sum(times):>9.2f}"
        )


if __name__ == "__main__":
    main()
