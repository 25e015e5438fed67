"""Numpy image operations the diff builds on: input coercion, SSIM maps, connected components,
colour maps.

Private machinery for :mod:`imagewright.diff`; everything here is pure numpy (no scipy, no
scikit-image) and tuned for 4K images on two cores.

The SSIM is scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)``: an 11-tap Gaussian (scipy's ``reflect`` edges)
applied separably as banded matrix products in float32, strip by strip so the working set stays
in cache.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from . import _mask_pixels
from .errors import ImageInputError, Problem

U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]
F32 = npt.NDArray[np.float32]


def as_array(image: Image.Image | npt.NDArray[Any], param: str) -> U8:
    """A PIL image or uint8 array as an ``HxWx3`` (or ``x4`` with alpha) uint8 array."""
    if isinstance(image, Image.Image):
        mode = (
            "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
        )
        return np.asarray(image.convert(mode))
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ImageInputError(Problem(param, str(arr.dtype), "unsupported dtype", allowed="uint8"))
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return arr
    raise ImageInputError(
        Problem(param, arr.shape, "unsupported array shape", allowed="HxW, HxWx3 or HxWx4")
    )


def with_channels(arr: U8, channels: int) -> U8:
    """``arr`` with 3 or 4 channels (an added alpha is opaque)."""
    if arr.shape[2] == channels:
        return arr
    if channels == 4:
        alpha = np.full((*arr.shape[:2], 1), 255, np.uint8)
        return np.concatenate([arr, alpha], axis=2)
    return arr[..., :3]


R = 5  # Gaussian window radius: int(3.5 * 1.5 + 0.5), as scikit-image and scipy use
_SIGMA = 1.5
_ROWS = 16  # rows filtered per strip: keeps the working set in cache
_BLOCK = 32  # columns per block of the banded horizontal filter
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _gauss() -> F32:
    x = np.arange(-R, R + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / _SIGMA) ** 2)
    return np.asarray(w / w.sum(), dtype=np.float32)


def _kernels() -> tuple[F32, F32, F32]:
    """Banded matrices applying the 11-tap Gaussian as matrix products (fast BLAS, not loops).

    ``vert`` (rows x rows+10) filters a strip of rows. Horizontally, a row is cut into blocks of
    ``_BLOCK`` columns; output block ``b`` is ``block[b] @ own + block[b+1][:10] @ next``.
    """
    w = _gauss()
    vert = np.zeros((_ROWS, _ROWS + 2 * R), np.float32)
    own = np.zeros((_BLOCK, _BLOCK), np.float32)
    nxt = np.zeros((2 * R, _BLOCK), np.float32)
    for i in range(_ROWS):
        vert[i, i : i + 2 * R + 1] = w
    for i in range(_BLOCK):
        for k in range(2 * R + 1):
            if i + k < _BLOCK:
                own[i + k, i] = w[k]
            else:
                nxt[i + k - _BLOCK, i] = w[k]
    return vert, own, nxt


_VERT, _OWN, _NEXT = _kernels()


def _planar_padded(arr: U8, hp: int, wp: int) -> U8:
    """Channels first, mirrored by 5 px on every side (scipy's 'reflect'), zero-filled to size."""
    h, w, c = arr.shape
    out = np.zeros((c, hp, wp), np.uint8)
    out[:, : h + 2 * R, : w + 2 * R] = np.pad(
        np.moveaxis(arr, 2, 0), ((0, 0), (R, R), (R, R)), mode="symmetric"
    )
    return out


def _filter(q: F32, blocks: int, w: int) -> F32:
    """Gaussian-filter a stack of padded strips ``(k, rows+10, >= (blocks+1)*32)`` into
    ``(k, rows, w)``."""
    k = q.shape[0]
    rows = np.matmul(_VERT, q[..., : (blocks + 1) * _BLOCK]).reshape(-1, _BLOCK)
    own = (rows @ _OWN).reshape(k, _ROWS, blocks + 1, _BLOCK)[:, :, :blocks]
    own += (rows[:, : 2 * R] @ _NEXT).reshape(k, _ROWS, blocks + 1, _BLOCK)[:, :, 1:]
    return np.asarray(own.reshape(k, _ROWS, blocks * _BLOCK)[:, :, :w], dtype=np.float32)


def _xterms(qx: F32, off: np.float32, w: int) -> tuple[F32, F32, F32]:
    """Filtered terms of ``x`` from its centred strip and its square (``qx``): the centred
    mean, the mean and the variance, for ``w`` output columns."""
    mxc, xx = _filter(qx, -(-w // _BLOCK), w)
    return mxc, mxc + off, xx - mxc * mxc


def _score(y: U8, off: np.float32, qx: F32, xterms: tuple[F32, F32, F32] | None, w: int) -> F32:
    """The SSIM of a padded strip ``y`` against ``x`` (``qx``: centred strip and its square;
    ``xterms``: its filtered terms, computed here when ``None``) for ``w`` output columns."""
    blocks = -(-w // _BLOCK)
    cols = (blocks + 1) * _BLOCK
    qy = np.empty((3, y.shape[0], cols), np.float32)
    np.subtract(y[:, :cols], off, out=qy[0])
    np.multiply(qy[0], qy[0], out=qy[1])
    np.multiply(qx[0, :, :cols], qy[0], out=qy[2])
    mxc, mx, vx = xterms if xterms is not None else _xterms(qx, off, w)
    my, yy, xy = _filter(qy, blocks, w)
    vy, vxy = yy - my * my, xy - mxc * my
    my += off
    num = (2 * mx * my + _C1) * (2 * vxy + _C2)
    den = (mx * mx + my * my + _C1) * (vx + vy + _C2)
    return np.asarray(num / den, dtype=np.float32)


def _dilate_cols(cols: Bool) -> Bool:
    """Columns within ``R`` of a True column."""
    sums = np.concatenate([[0], np.cumsum(cols)])
    idx = np.arange(cols.size)
    return np.asarray(
        sums[np.minimum(idx + R + 1, cols.size)] > sums[np.maximum(idx - R, 0)], dtype=np.bool_
    )


def _mixed_span(window: Bool) -> tuple[int, int] | None:
    """The columns ``[x0, x1)`` of the output positions whose 11x11 window (within these
    rows) holds both editable and protected pixels; ``None`` if there are none."""
    has_edit = np.asarray(window.any(axis=0), dtype=np.bool_)
    has_kept = np.asarray(~window.all(axis=0), dtype=np.bool_)
    both = _dilate_cols(has_edit) & _dilate_cols(has_kept)
    idx = np.flatnonzero(both)
    return (int(idx[0]), int(idx[-1]) + 1) if idx.size else None


def ssim_maps(a: U8, b: U8, editable: Bool | None) -> list[F32]:
    """SSIM maps of ``a`` against ``b``, averaged over channels: ``[plain]`` without a mask,
    ``[plain, inside, outside]`` with one.

    The region maps compare one region alone: the other region's pixels are taken from ``a``
    in both images, so a change on one side of the mask edge never lowers the other side's
    score. Only positions whose window straddles the mask edge need computing again: elsewhere
    a region map equals the plain map (window inside the region) or exactly 1 (window in the
    other region). Each channel is centred first (one offset for both images, so identical
    windows give exactly 1) to keep float32 variances accurate.
    """
    h, w, c = a.shape
    blocks = -(-w // _BLOCK)
    hp, wp = -(-h // _ROWS) * _ROWS + 2 * R, (blocks + 2) * _BLOCK
    pa, pb = _planar_padded(a, hp, wp), _planar_padded(b, hp, wp)
    outs = [np.zeros((h, w), np.float32) for _ in range(1 if editable is None else 3)]
    if editable is not None:
        pe = _planar_padded(editable[..., None].view(np.uint8), hp, wp)[0].astype(np.bool_)
        kept, pk = ~editable, ~pe
        spans, regions = [], []
        for r in range(0, h, _ROWS):
            window = editable[max(0, r - R) : r + _ROWS + R]
            spans.append(_mixed_span(window))
            e_here, k_here = bool(window.any()), not bool(window.all())
            regions.append(
                (
                    (outs[1], editable, pe, e_here, k_here),
                    (outs[2], kept, pk, k_here, e_here),
                )
            )
    qx = np.empty((2, _ROWS + 2 * R, wp), np.float32)
    for ch in range(c):
        for k, r0 in enumerate(range(0, h, _ROWS)):
            span = slice(r0, r0 + _ROWS + 2 * R)
            # A strip-local offset keeps dark and bright areas alike accurate.
            used = slice(0, w + 2 * R)
            means = float(pa[ch, span, used].mean()) + float(pb[ch, span, used].mean())
            off = np.float32(round(means / 2))
            rows = slice(r0, r0 + min(_ROWS, h - r0))
            n = rows.stop - r0
            np.subtract(pa[ch, span], off, out=qx[0])
            np.multiply(qx[0], qx[0], out=qx[1])
            plain = _score(pb[ch, span], off, qx, None, w)[:n]
            outs[0][rows] += plain
            if editable is None:
                continue
            for out, region, keep, here, other in regions[k]:
                if not here:  # no pixel of this region in reach: identical by construction
                    out[rows] += 1
                    continue
                if not other:  # the other region is out of reach: same as the plain map
                    out[rows] += plain
                    continue
                value = np.where(region[rows], plain, np.float32(1))
                mixed = spans[k]
                if mixed is not None:
                    x0, x1 = mixed
                    cols = slice(x0, wp)
                    y = np.where(keep[span, cols], pb[ch, span, cols], pa[ch, span, cols])
                    # x's terms are filtered again over the same columns so that identical
                    # windows give bit-identical terms, hence exactly 1.
                    value[:, x0:x1] = _score(y, off, qx[:, :, cols], None, x1 - x0)[:n]
                out[rows] += value
    for out in outs:
        out /= c
    return outs


def interior(h: int, w: int) -> tuple[slice, slice]:
    """The map without its 5-pixel border (where scikit-image also ignores it), if any is left."""
    if h <= 2 * R or w <= 2 * R:
        return slice(None), slice(None)
    return slice(R, h - R), slice(R, w - R)


def label(grid: Bool) -> npt.NDArray[np.int64]:
    """Label 8-connected components of a 2-D boolean grid (-1 = background).

    Union-find over horizontal runs: linear in the number of runs, no scipy needed.
    """
    gh, gw = grid.shape
    padded = np.zeros((gh, gw + 2), np.int8)
    padded[:, 1:-1] = grid
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)
    ends = np.nonzero(step == -1)[1]
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first = np.searchsorted(rows, np.arange(gh + 1)).tolist()
    s, e = starts.tolist(), ends.tolist()
    for r in range(1, gh):
        i, i_end, j, j_end = first[r - 1], first[r], first[r], first[r + 1]
        while i < i_end and j < j_end:
            if s[i] <= e[j] and s[j] <= e[i]:  # overlapping or diagonal neighbours
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            if e[i] < e[j]:
                i += 1
            elif e[j] < e[i]:
                j += 1
            else:
                i += 1
                j += 1
    roots = [find(i) for i in range(len(parent))]
    compact = {root: k for k, root in enumerate(dict.fromkeys(roots))}
    labels = np.full((gh, gw), -1, np.int64)
    for k, (r, a, b) in enumerate(zip(rows.tolist(), s, e, strict=True)):
        labels[r, a:b] = compact[roots[k]]
    return labels


def outline(region: Bool) -> Bool:
    inner = region.copy()
    inner[1:] &= region[:-1]
    inner[:-1] &= region[1:]
    inner[:, 1:] &= region[:, :-1]
    inner[:, :-1] &= region[:, 1:]
    return np.asarray(region & ~inner, dtype=np.bool_)


def _magma_lut() -> tuple[U8, list[int]]:
    # Anchor colours of matplotlib's magma at t = 0, 1/8, ..., 1, interpolated linearly.
    anchors = np.array(
        [
            (0, 0, 4),
            (28, 16, 68),
            (79, 18, 123),
            (129, 37, 129),
            (181, 54, 122),
            (229, 80, 100),
            (251, 135, 97),
            (254, 194, 135),
            (252, 253, 191),
        ],
        np.float64,
    )
    t = np.sqrt(np.arange(256) / 255.0)
    pos = np.linspace(0, 1, len(anchors))
    lut = np.stack([np.interp(t, pos, anchors[:, k]) for k in range(3)], axis=1)
    alpha = np.where(np.arange(256) == 0, 0.0, np.minimum(1.0, 0.35 + t))
    return np.rint(lut).astype(np.uint8), np.rint(alpha * 255).astype(int).tolist()


MAGMA, ALPHA = _magma_lut()
LEAK_FLOOR = 128
"""Overlays draw a changed protected pixel at least at this level: visible however small."""
DIM = [round(v * 0.3) for v in range(256)]


def _cell(h: int, w: int) -> int:
    return max(4, -(-max(h, w) // 256))


def regions(leak: Bool) -> list[tuple[tuple[int, int, int, int], int]]:
    """Connected regions of ``leak``, largest first, as ``((left, top, right, bottom), pixels)``.

    Regions are 8-connected on a grid of cells (4 px, or 1/256 of the longest side on big
    images) so nearby specks group into one region; boxes are tight around the pixels.
    """
    h, w = leak.shape
    cell = _cell(h, w)
    gh, gw = -(-h // cell), -(-w // cell)
    full = np.zeros((gh * cell, gw * cell), bool)
    full[:h, :w] = leak
    cells = full.reshape(gh, cell, gw, cell)
    count = cells.sum(axis=(1, 3))
    rows_any = np.asarray(cells.any(axis=3))  # (gh, cell, gw)
    cols_any = np.asarray(cells.any(axis=1))  # (gh, gw, cell)
    top = np.argmax(rows_any, axis=1) + np.arange(gh)[:, None] * cell
    bottom = cell - np.argmax(rows_any[:, ::-1], axis=1) + np.arange(gh)[:, None] * cell
    left = np.argmax(cols_any, axis=2) + np.arange(gw)[None, :] * cell
    right = cell - np.argmax(cols_any[:, :, ::-1], axis=2) + np.arange(gw)[None, :] * cell
    labels = label(count > 0)
    sel = labels >= 0
    lab = labels[sel]
    n = int(lab.max()) + 1 if lab.size else 0
    x0 = np.full(n, np.iinfo(np.int64).max)
    y0 = x0.copy()
    x1 = np.zeros(n, np.int64)
    y1 = x1.copy()
    np.minimum.at(x0, lab, left[sel])
    np.minimum.at(y0, lab, top[sel])
    np.maximum.at(x1, lab, right[sel])
    np.maximum.at(y1, lab, bottom[sel])
    total = np.bincount(lab, weights=count[sel], minlength=n).astype(np.int64)
    order = sorted(range(n), key=lambda i: (-int(total[i]), int(y0[i]), int(x0[i])))
    return [((int(x0[i]), int(y0[i]), int(x1[i]), int(y1[i])), int(total[i])) for i in order]


def _seam_weight(editable: Bool, feather: float) -> npt.NDArray[np.float32]:
    """How much of the output to keep per pixel: 0 outside the editable area, rising linearly
    over ``feather`` px inside it, and always 1 at the deepest point of every region, so a
    region narrower than the seam keeps its edit instead of fading out."""
    steps = max(1, math.ceil(feather))
    depth = editable.astype(np.uint8)  # 1 on the edge, +1 for each erosion survived
    core = editable
    for _ in range(steps):
        core = _mask_pixels.erode(core, 1)
        if not core.any():
            break
        depth += core
    # The deepest point within reach: a region's own peak, or the full seam width.
    peak = np.maximum(_mask_pixels.dilate(depth, steps), 1)
    weight: npt.NDArray[np.float32] = (depth / peak).astype(np.float32)
    weight[~editable] = 0
    return weight


def paste(src: U8, out: U8, editable: Bool, feather: float) -> Image.Image:
    """``out`` inside the editable area and ``src`` outside it, with a soft seam of ``feather``
    px inside the area (0: a hard edge); the protected pixels are ``src``'s exact bytes."""
    if feather < 0:
        raise ValueError(f"feather={feather!r}: must be >= 0")
    if feather == 0:
        result = np.where(editable[..., None], out, src)
    else:
        w = _seam_weight(editable, feather)[..., None]
        mixed = src + w * (out.astype(np.float32) - src)
        result = np.rint(mixed).astype(np.uint8)
        # The weight is 0 there already; restoring the bytes makes exactness independent of
        # float rounding.
        result[~editable] = src[~editable]
    return Image.fromarray(result, mode="RGBA" if out.shape[2] == 4 else "RGB")
