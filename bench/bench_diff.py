"""Benchmark: full diff metrics (issue 6) at 1024x1024, 2048x2048 and 3840x2160.

For each size: changed fraction, MAE, PSNR and SSIM overall and inside/outside a mask, the
heatmap (plain and overlay) and the preservation verdict with leaked regions, all from a fresh
:class:`~imagewright.diff.Diff`. When scikit-image is importable, its SSIM is computed on the same
pair and the largest absolute difference is printed (scikit-image is not a dependency).

Run: ``python bench/bench_diff.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

from imagewright.diff import Diff, compute_diff

SIZES = [(1024, 1024, 0.3), (2048, 2048, 1.2), (3840, 2160, 2.5)]


def make_pair(
    width: int, height: int, mask: str = "box"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured source, an output changed inside the mask plus a leak and noise, the mask.

    ``box``: a rectangle over a quarter of the rows. ``band``: a vertical band crossing every
    row, the worst case for the per-region SSIM (every strip holds both regions).
    """
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 60 * np.sin(x / 37), 128 + 60 * np.cos(y / 23), (x + y) % 256], -1)
    source = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    output = source.copy()
    editable = np.zeros((height, width), bool)
    if mask == "box":
        editable[height // 4 : height // 2, width // 4 : width // 2] = True
    else:
        editable[:, width // 3 : width // 2] = True
    output[editable] = 255 - output[editable]
    output[10 : 10 + height // 10, 10 : 10 + width // 10] = 0  # a leak outside the mask
    noise = rng.integers(-3, 4, output.shape)  # re-encoding noise everywhere
    output = np.clip(output.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return source, output, editable


def full_metrics(source: np.ndarray, output: np.ndarray, editable: np.ndarray) -> Diff:
    d = compute_diff(source, output, editable)
    _ = (d.overall, d.inside, d.outside, d.heatmap, d.heatmap_overlay, d.preservation)
    return d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is shown")
    args = parser.parse_args()
    try:
        from skimage.metrics import structural_similarity
    except ImportError:  # pragma: no cover - scikit-image is optional here
        structural_similarity = None

    header = (
        f"{'size':>10} {'mask':>4} {'best s':>7} {'median':>7} {'target':>6} {'ok':>3} {'ssim':>8} "
        f"{'in/out changed':>15} {'preserved':>9} {'leaks':>5} {'skimage s':>9} {'|Δssim|':>8}"
    )
    print(header)
    for (width, height, target), mask in itertools.product(SIZES, ("box", "band")):
        source, output, editable = make_pair(width, height, mask)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            d = full_metrics(source, output, editable)
            times.append(time.perf_counter() - t0)
        best, median = min(times), statistics.median(times)
        ref_text, delta_text = "-", "-"
        if structural_similarity is not None:
            t0 = time.perf_counter()
            ref = structural_similarity(
                source,
                output,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=255,
                channel_axis=-1,
            )
            ref_text = f"{time.perf_counter() - t0:.2f}"
            delta_text = f"{abs(ref - d.ssim):.1e}"
        inside, outside, pres = d.inside, d.outside, d.preservation
        assert inside is not None
        assert outside is not None
        assert pres is not None
        changed = f"{inside.changed_fraction:.3f}/{outside.changed_fraction:.4f}"
        print(
            f"{width}x{height:<5} {mask:>4} {best:7.3f} {median:7.3f} {target:6.1f} "
            f"{'yes' if best < target else 'NO':>3} {d.ssim:8.5f} {changed:>15} "
            f"{pres.passed!s:>9} {pres.region_count:>5} {ref_text:>9} {delta_text:>8}"
        )


if __name__ == "__main__":
    main()
