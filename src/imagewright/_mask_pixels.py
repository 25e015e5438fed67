"""Pixel machinery behind :class:`~imagewright.masks.Mask`: morphology, blur, resize, padding.

Everything here works on 2-D coverage arrays (``bool``, or ``float32`` in 0..1; ``True``/``1``
means editable) and is fast enough for 3840x2160 masks with numpy and Pillow alone:

- ``dilate``/``erode`` use a square window built by *shift doubling*: a window of half-width
  ``c`` combined with itself shifted by ``d <= 2c + 1`` becomes half-width ``c + d``, so a
  radius ``r`` takes about ``log3(r)`` shifted max/min passes per axis, each a single
  vectorised numpy operation. Work is limited to the bounding box grown by ``r``.
- ``blur`` uses Pillow's Gaussian blur on an 8-bit image of the bounding box; large radii
  blur a downscaled copy (the result is smooth anyway) and scale it back.
- ``resize`` is the library's one resize (coverage arrays, and the images a diff compares).
- ``pad_image`` extends a canvas with Pillow paste/resize (repeating edge pixels if asked).

The mask PNG writer lives in ``_png``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

Array = npt.NDArray[Any]

_Op = Callable[..., Any]


def bbox(a: Array) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` of the non-zero pixels (exclusive end), or ``None`` when all zero."""
    rows = np.flatnonzero(a.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(a[rows[0] : rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _expand(box: tuple[int, int, int, int], r: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    x0, y0, x1, y1 = box
    return (
        slice(max(0, y0 - r), min(shape[0], y1 + r)),
        slice(max(0, x0 - r), min(shape[1], x1 + r)),
    )


def _window_1d(a: Array, r: int, axis: int, op: _Op) -> Array:
    cur = a
    c = 0
    while c < r:
        d = min(2 * c + 1, r - c)
        nxt = cur.copy()
        if axis == 0:
            op(nxt[d:], cur[:-d], out=nxt[d:])
            op(nxt[:-d], cur[d:], out=nxt[:-d])
        else:
            op(nxt[:, d:], cur[:, :-d], out=nxt[:, d:])
            op(nxt[:, :-d], cur[:, d:], out=nxt[:, :-d])
        cur = nxt
        c += d
    return cur


def _morph(a: Array, r: int, op: _Op, neutral: float) -> Array:
    out: Array = a.copy()
    if r <= 0:
        return out
    box = bbox(a)
    out = np.zeros_like(a)
    if box is None:
        return out
    # Outside the bounding box grown by r nothing can change, so only that window is processed.
    win = _expand(box, r, a.shape)
    # Padding with the neutral value lets partial windows at the edge carry values inward.
    sub = np.pad(a[win], r, constant_values=neutral)
    sub = _window_1d(_window_1d(sub, r, 0, op), r, 1, op)
    out[win] = sub[r:-r, r:-r]
    return out


def dilate(a: Array, r: int) -> Array:
    """Grow the non-zero area by ``r`` pixels in every direction (square window)."""
    return _morph(a, r, np.maximum, 0)


def erode(a: Array, r: int) -> Array:
    """Shrink the non-zero area by ``r`` pixels; the image border does not erode."""
    return _morph(a, r, np.minimum, 1)


def to_u8(a: Array) -> npt.NDArray[np.uint8]:
    """Coverage as 0..255 bytes."""
    out: npt.NDArray[np.uint8]
    if a.dtype == np.bool_:
        out = a.view(np.uint8) * np.uint8(255)
        return out
    out = (a * 255.0 + 0.5).astype(np.uint8)
    return out


def from_u8(a: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """0..255 bytes as float32 coverage in 0..1."""
    out: npt.NDArray[np.float32] = a.astype(np.float32)
    out *= np.float32(1 / 255)
    return out


def _gaussian(u8: npt.NDArray[np.uint8], sigma: float) -> npt.NDArray[np.uint8]:
    from PIL import ImageFilter

    factor = int(sigma // 2) if sigma >= 4 else 1
    if factor == 1:
        return np.asarray(Image.fromarray(u8).filter(ImageFilter.GaussianBlur(sigma)))
    # Blurring a downscaled copy is ~3x faster and the upscaled result is smooth anyway.
    # Padding to whole blocks (repeating the edge, as Pillow's blur does) keeps reduce() and the
    # upscale on the same pixel grid.
    h, w = u8.shape
    padded = np.pad(u8, ((0, -h % factor), (0, -w % factor)), mode="edge")
    small = Image.fromarray(padded).reduce(factor)
    small = small.filter(ImageFilter.GaussianBlur(sigma / factor))
    big = small.resize((padded.shape[1], padded.shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(big)[:h, :w]


def blur(a: Array, sigma: float) -> npt.NDArray[np.float32]:
    """Gaussian blur of the coverage with standard deviation ``sigma`` pixels, as float32."""
    out = np.zeros(a.shape, dtype=np.float32)
    box = bbox(a)
    if box is None:
        return out
    win = _expand(box, int(3 * sigma) + 2, a.shape)
    out[win] = from_u8(_gaussian(to_u8(a[win]), sigma))
    return out


def resize(a: Array, size: tuple[int, int]) -> Array:
    """Resample to ``size`` (w, h): the one resize of the library.

    A 2-D coverage array is box-filtered down or bilinear up, and a hard mask stays hard
    (threshold at one half). A ``uint8`` ``HxWx3``/``HxWx4`` image is resampled with Lanczos,
    as the sandbox resizes inputs (a diff compares a resized source this way).
    """
    if a.ndim == 3:
        mode = "RGBA" if a.shape[2] == 4 else "RGB"
        rgb = Image.fromarray(a.astype(np.uint8), mode=mode)
        return np.asarray(rgb.resize(size, Image.Resampling.LANCZOS))
    im = Image.fromarray(to_u8(a))
    method = (
        Image.Resampling.BOX
        if size[0] <= im.width and size[1] <= im.height
        else Image.Resampling.BILINEAR
    )
    out = np.asarray(im.resize(size, method))
    if a.dtype == np.bool_:
        return out >= 128
    return from_u8(out)


def pad_image(
    src: Image.Image, left: int, right: int, top: int, bottom: int, fill: Any
) -> Image.Image:
    """``src`` on a larger canvas; ``fill`` is ``"edge"`` (repeat the border), ``"transparent"``
    or an RGB colour."""
    w, h = src.size
    size = (w + left + right, h + top + bottom)
    if fill == "edge" or fill == "transparent":
        color: tuple[int, ...] = (0,) * len(src.getbands())
    else:
        color = (*fill, 255) if src.mode == "RGBA" else tuple(fill)
    canvas = Image.new(src.mode, size, color)
    canvas.paste(src, (left, top))
    if fill == "edge":
        near = Image.Resampling.NEAREST
        if left:
            canvas.paste(src.crop((0, 0, 1, h)).resize((left, h), near), (0, top))
        if right:
            canvas.paste(src.crop((w - 1, 0, w, h)).resize((right, h), near), (left + w, top))
        # Rows are stretched from the already widened canvas, so the corners are filled too.
        if top:
            canvas.paste(canvas.crop((0, top, size[0], top + 1)).resize((size[0], top), near))
        if bottom:
            row = canvas.crop((0, top + h - 1, size[0], top + h))
            canvas.paste(row.resize((size[0], bottom), near), (0, top + h))
    return canvas


def overlay(
    base: Image.Image, cov: Array, color: tuple[int, int, int], opacity: float
) -> Image.Image:
    """``base`` with ``cov`` tinted ``color`` at ``opacity`` and its hard edge outlined."""
    out = base.copy()
    box = bbox(cov)
    if box is None:
        return out
    hard = cov if cov.dtype == np.bool_ else cov >= 0.5
    line = max(1, round(max(base.size) / 400))
    # erode() leaves the image border alone, so regions touching it are not outlined there.
    edge = hard & ~erode(hard, line)
    # Only the bounding box changes; blending just that region keeps 4K previews fast.
    x0, y0, x1, y1 = box
    region = out.crop(box)
    tint = Image.fromarray(to_u8(cov[y0:y1, x0:x1])).point(lambda v: round(v * opacity))
    region = Image.composite(Image.new("RGB", region.size, color), region, tint)
    region.paste(color, (0, 0, *region.size), Image.fromarray(to_u8(edge[y0:y1, x0:x1])))
    out.paste(region, box)
    return out
