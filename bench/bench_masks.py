"""Benchmark: Mask construction, operations and ``to_openai()``, and the image boundary (issue 3).

Masks are measured at 1024x1024 and 3840x2160 in two shapes: a *typical* mask (an ellipse over
about a quarter of the frame) and a *busy* one (the union of 150 scattered ellipses, whose
edges cover the whole frame, which defeats the bounding-box shortcuts). The image boundary is
measured on a 3840x2160 photo-like PNG and JPEG: pass-through of valid bytes versus re-encoding
(a PIL image, an array, an EXIF-rotated JPEG).

Targets (issue 3): every mask operation on a 3840x2160 mask under 50 ms on a 2-core machine;
pass-through of a 3840x2160 image adds under 5 ms.

Run: ``python bench/bench_masks.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import io
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from imagewright.images import load_image
from imagewright.masks import Mask, MaskWarning

SIZES = [(1024, 1024), (3840, 2160)]


def typical(size: tuple[int, int]) -> Mask:
    return Mask.ellipse(size, (0.3, 0.25, 0.8, 0.85))


def busy(size: tuple[int, int]) -> Mask:
    rng = np.random.default_rng(0)
    w, h = size
    yy, xx = np.ogrid[:h, :w]
    a = np.zeros((h, w), bool)
    for _ in range(150):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.01, 0.05) * w, rng.uniform(0.01, 0.05) * h
        x0, x1 = max(0, int(cx - rx)), min(w, int(cx + rx) + 1)
        y0, y1 = max(0, int(cy - ry)), min(h, int(cy + ry) + 1)
        sub = ((xx[:, x0:x1] - cx) / rx) ** 2 + ((yy[y0:y1] - cy) / ry) ** 2 <= 1
        a[y0:y1, x0:x1] |= sub
    return Mask(a)


def photo(size: tuple[int, int]) -> np.ndarray:
    """Smooth gradients plus sensor-like noise: compresses like a photo, not like a flat fill."""
    w, h = size
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [128 + 90 * np.sin(x / 311), 128 + 90 * np.cos(y / 197), (x + y) / (w + h) * 255]
    )
    noisy = base.transpose(1, 2, 0) + rng.normal(0, 6, (h, w, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def best_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def mask_rows(size: tuple[int, int]) -> list[tuple[str, Callable[[], Any]]]:
    w, h = size
    t, b = typical(size), busy(size)
    other = Mask.box(size, (0.1, 0.1, 0.6, 0.6))
    soft = t.feather(8)
    rgba = io.BytesIO()
    Image.fromarray(np.where(t.to_array(), 0, 255).astype(np.uint8), "L").convert("RGBA").save(
        rgba, format="PNG"
    )
    alpha_png = rgba.getvalue()
    rng = np.random.default_rng(2)
    points = [(float(x), float(y)) for x, y in rng.uniform(0.1, 0.9, (12, 2))]
    image = photo(size)
    return [
        ("Mask.box (fractions)", lambda: Mask.box(size, (0.1, 0.2, 0.7, 0.9))),
        (
            "Mask.boxes (10 boxes)",
            lambda: Mask.boxes(
                size, [(i * 90, i * 50, i * 90 + 300, i * 50 + 200) for i in range(10)]
            ),
        ),
        ("Mask.ellipse", lambda: typical(size)),
        ("Mask.polygon (12 points)", lambda: Mask.polygon(size, points)),
        ("Mask.full", lambda: Mask.full(size)),
        ("Mask.from_alpha (RGBA PNG bytes)", lambda: Mask.from_alpha(alpha_png)),
        ("Mask.from_color (RGB array)", lambda: Mask.from_color(image, (128, 128, 128))),
        ("Mask.outpaint (+25% right)", lambda: Mask.outpaint(image, right=0.25)),
        ("~mask", lambda: ~t),
        ("mask | other", lambda: t | other),
        ("mask & other", lambda: t & other),
        ("mask - other", lambda: t - other),
        ("coverage", lambda: t.coverage),
        ("bbox", lambda: t.bbox),
        ("grow(16)", lambda: t.grow(16)),
        ("grow(16) busy", lambda: b.grow(16)),
        ("shrink(16)", lambda: t.shrink(16)),
        ("shrink(16) busy", lambda: b.shrink(16)),
        ("grow(200) busy", lambda: b.grow(200)),
        ("feather(8)", lambda: t.feather(8)),
        ("feather(8) busy", lambda: b.feather(8)),
        ("feather(2) busy", lambda: b.feather(2)),
        ("resize to half", lambda: t.resize((w // 2, h // 2))),
        ("crop_to_bbox", lambda: t.crop_to_bbox()),
        ("harden (soft mask)", lambda: soft.harden()),
        ("lint", lambda: t.lint()),
        ("lint busy", lambda: b.lint()),
        ("to_white_editable", lambda: t.to_white_editable()),
        ("to_openai", lambda: t.to_openai()),
        ("to_openai busy", lambda: b.to_openai()),
        ("to_openai soft", lambda: soft.to_openai()),
        ("hash", lambda: hash(Mask(t.to_array()))),
        ("preview(image)", lambda: t.preview(image)),
        ("_repr_png_", lambda: t._repr_png_()),
    ]


def boundary_rows(size: tuple[int, int]) -> list[tuple[str, Callable[[], Any]]]:
    arr = photo(size)
    pil = Image.fromarray(arr)
    png, jpeg, rotated = io.BytesIO(), io.BytesIO(), io.BytesIO()
    pil.save(png, format="PNG", compress_level=1)
    pil.save(jpeg, format="JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    pil.save(rotated, format="JPEG", quality=90, exif=exif.tobytes())
    png_b, jpeg_b, rot_b = png.getvalue(), jpeg.getvalue(), rotated.getvalue()
    mb = len(png_b) / 1e6
    return [
        (f"load_image PNG bytes, pass-through ({mb:.0f} MB)", lambda: load_image(png_b)),
        (
            f"load_image JPEG bytes, pass-through ({len(jpeg_b) / 1e6:.1f} MB)",
            lambda: load_image(jpeg_b),
        ),
        ("load_image EXIF-rotated JPEG (re-encode)", lambda: load_image(rot_b)),
        ("load_image PIL image (encode PNG)", lambda: load_image(pil)),
        ("load_image uint8 array (encode PNG)", lambda: load_image(arr)),
        ("reference: PIL full decode of the PNG", lambda: Image.open(io.BytesIO(png_b)).load()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per row; the best is shown")
    args = parser.parse_args()
    warnings.simplefilter("ignore", MaskWarning)  # busy masks lint as "tiny"; not the point here

    rows: dict[str, dict[tuple[int, int], float]] = {}
    for size in SIZES:
        for name, fn in mask_rows(size):
            rows.setdefault(name, {})[size] = best_ms(fn, args.repeat)
    head = " | ".join(f"{w}x{h} ms" for w, h in SIZES)
    print(f"| mask operation | {head} |")
    print("|---|" + "---:|" * len(SIZES))
    for name, by_size in rows.items():
        cells = " | ".join(f"{by_size[s]:.1f}" for s in SIZES)
        print(f"| {name} | {cells} |")

    print()
    print("| image boundary, 3840x2160 photo-like | ms |")
    print("|---|---:|")
    for name, fn in boundary_rows((3840, 2160)):
        print(f"| {name} | {best_ms(fn, args.repeat):.1f} |")
    print(f"\nbest of {args.repeat} runs after one warm-up run")


if __name__ == "__main__":
    main()
