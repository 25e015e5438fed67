"""Benchmark the pure describe-side of Layout/Prompt: size planning, compile (with fit checks),
local typography. Prints a table of median times. Run: python bench/bench_layout.py"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from PIL import Image

from imagewright.layout import Layout
from imagewright.prompt import Prompt
from imagewright.sizing import plan_size
from imagewright.typography import fit_text, resolve_font


def bench(fn: Callable[[], object], repeat: int = 30) -> float:
    fn()  # warm caches (fonts, glyph checks) - measured separately below
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def poster(text: str = "overlay") -> Layout:
    return Layout.poster(
        "Jazz on the Roof",
        subhead="Summer concert series",
        cta="Tickets at the door",
        image="a jazz trio on a rooftop",
        style="gig poster",
        text=text,  # type: ignore[arg-type]
    )


def main() -> None:
    layout = poster()
    canvas = Image.new("RGB", (1024, 1536), "navy")
    api_out = Image.new("RGB", (1104, 1712), "navy")
    print_layout = Layout.poster("Jazz on the Roof", size="11x17in@100dpi", text="overlay")
    font = resolve_font(None)
    rows = [
        ("plan_size('1200x628', gpt-image-2)", lambda: plan_size("1200x628")),
        ("plan_size('A5@300dpi', gpt-image-2)", lambda: plan_size("A5@300dpi")),
        (
            "plan_size('1200x628', gpt-image-1.5)",
            lambda: plan_size("1200x628", model="gpt-image-1.5"),
        ),
        (
            "Prompt.compile (product shot, 9 layers)",
            lambda: Prompt(
                subject="a bottle",
                scene="marble",
                style="photo",
                camera="100 mm",
                lighting="soft",
                palette="green",
                mood="fresh",
                text=["OLIVA"],
                constraints=["in frame"],
                avoid=["hands"],
            ).compile(model="gpt-image-2"),
        ),
        (
            "fit_text (headline, 2 lines, 900x260 box)",
            lambda: fit_text("Jazz on the Roof", (900, 260), font, max_lines=2),
        ),
        (
            "Layout.compile (poster, 3 text blocks, fit checks)",
            lambda: layout.compile(model="gpt-image-2"),
        ),
        ("Layout.guide_image (1024x1536)", lambda: layout.guide_image()),
        ("Layout.render_text (1024x1536)", lambda: layout.render_text(canvas)),
        ("Layout.finish (1104x1712 -> 1100x1700 + type)", lambda: print_layout.finish(api_out)),
        ("Layout.mask('key visual') (1024x1536)", lambda: layout.mask("key visual")),
    ]
    t0 = time.perf_counter()
    resolve_font(None, text="Καλημέρα Привет")
    cold = (time.perf_counter() - t0) * 1000
    print(f"{'operation':<55} {'median ms':>10}")
    print("-" * 66)
    print(f"{'resolve_font + glyph check, first call (cold caches)':<55} {cold:>10.2f}")
    for name, fn in rows:
        print(f"{name:<55} {bench(fn):>10.2f}")


if __name__ == "__main__":
    main()
