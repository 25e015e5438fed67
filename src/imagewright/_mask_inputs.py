"""Argument parsing and pixel access shared by the :class:`~imagewright.masks.Mask` constructors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageOps

from . import _mask_pixels
from .errors import MaskError, Problem
from .images import EncodedImage, ImageSource, _array_to_pil, load_image

Number = int | float

# Regions narrower than this share of the long side are likely lost at the model's resolution.
TINY_SHARE = 1 / 128
LINT_SIDE = 1024  # the tiny-region check runs at roughly the model's working resolution


def fail(param: str, value: Any, message: str, allowed: str | None = None) -> MaskError:
    return MaskError(Problem(param, value, message, allowed))


def size_of(target: Any, param: str = "size") -> tuple[int, int]:
    """``(width, height)`` of a size tuple, an encoded image or any image source.

    A ``Mask`` is handled by :func:`imagewright.masks.size_of`, which calls this for the rest.
    """
    if isinstance(target, EncodedImage):
        size: tuple[int, int] = target.size
        return size
    if isinstance(target, (tuple, list)) and len(target) == 2:
        w, h = target
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (w, h)):
            raise fail(param, target, "size must be two integers", allowed="(width, height)")
        if w < 1 or h < 1:
            raise fail(param, target, "size must be positive", allowed="(width, height) >= 1")
        return int(w), int(h)
    if isinstance(target, np.ndarray):
        if target.ndim < 2:
            raise fail(param, target.shape, "array has no height and width", allowed="HxW[xC]")
        return int(target.shape[1]), int(target.shape[0])
    if isinstance(target, Image.Image):
        # Orientations 5-8 turn the image by 90 degrees; no need to transpose pixels to know it.
        turned = target.getexif().get(0x0112, 1) in (5, 6, 7, 8)
        return (target.height, target.width) if turned else target.size
    return load_image(target, param=param).size


def oriented(im: Image.Image) -> Image.Image:
    """The image upright (EXIF orientation applied), as the API and ``load_image`` see it."""
    return ImageOps.exif_transpose(im)


def pixels(image: ImageSource | EncodedImage, param: str) -> Image.Image:
    """Decoded, upright pixels of any image source."""
    if isinstance(image, Image.Image):
        return oriented(image)
    if isinstance(image, np.ndarray):
        return _array_to_pil(image, param)
    enc = image if isinstance(image, EncodedImage) else load_image(image, param=param)
    return enc.to_pil()


def coords(values: Sequence[Number], size: tuple[int, int], param: str) -> list[float]:
    """Pixel coordinates from ``x, y, x, y, ...``: ints are pixels, floats are 0..1 fractions."""
    vals = list(values)
    if any(isinstance(v, bool) or not isinstance(v, (int, float, np.number)) for v in vals):
        raise fail(param, values, "coordinates must be numbers")
    if any(isinstance(v, (float, np.floating)) for v in vals):
        if not all(0.0 <= v <= 1.0 for v in vals):
            raise fail(
                param,
                values,
                "float coordinates are fractions of the image and must be in 0..1",
                allowed="all floats in 0..1, or all ints in pixels",
            )
        return [v * size[i % 2] for i, v in enumerate(vals)]
    return [float(v) for v in vals]


def box_px(box: Sequence[Number], size: tuple[int, int], param: str) -> tuple[int, int, int, int]:
    if len(box) != 4:
        raise fail(param, box, "a box has four numbers", allowed="(x0, y0, x1, y1)")
    x0, y0, x1, y1 = (round(v) for v in coords(box, size, param))
    if x1 <= x0 or y1 <= y0:
        raise fail(param, box, "the box is empty: x1 must exceed x0 and y1 must exceed y0")
    return x0, y0, x1, y1


def draw(size: tuple[int, int], paint: Any) -> npt.NDArray[np.bool_]:
    canvas = Image.new("L", size, 0)
    paint(ImageDraw.Draw(canvas))
    return np.asarray(canvas) > 0


def pads(sides: dict[str, Number], size: tuple[int, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for side, v in sides.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise fail(side, v, "padding must be a non-negative number", allowed="pixels or 0..1")
        scale = size[0] if side in ("left", "right") else size[1]
        out[side] = round(v * scale) if isinstance(v, float) else int(v)
    return out


def whole_pixels(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise fail(name, value, "must be a non-negative whole number of pixels", ">= 0")
    return int(value)


def thin_share(hard: npt.NDArray[np.bool_]) -> float:
    """Share of the editable pixels in regions too thin to survive a morphological opening.

    The check runs at about the model's working resolution (long side <= 1024), where a
    region must be at least 1/128 of the long side wide; tiny images are not checked.
    """
    h, w = hard.shape
    scale = min(1.0, LINT_SIDE / max(w, h))
    small = hard
    if scale < 1.0:
        small = _mask_pixels.resize(hard, (max(1, round(w * scale)), max(1, round(h * scale))))
    r = int(max(small.shape) * TINY_SHARE / 2)
    total = int(np.count_nonzero(small))
    if r == 0 or total == 0:
        return 0.0 if total else 1.0
    opened = _mask_pixels.dilate(_mask_pixels.erode(small, r), r)
    return 1.0 - int(np.count_nonzero(opened & small)) / total


def coverage_array(coverage: npt.ArrayLike) -> npt.NDArray[Any]:
    """A private copy of user coverage as ``bool`` or ``float32`` in 0..1, or ``MaskError``."""
    a = np.asarray(coverage)
    if a.ndim != 2 or 0 in a.shape:
        raise fail("mask", getattr(a, "shape", a), "coverage must be a 2-D array", "HxW")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise fail("mask", "float array", "float coverage must be in 0..1", "0.0..1.0")
        hard = (a == 0) | (a == 1)
        return (a == 1) if hard.all() else a.astype(np.float32)
    if a.dtype.kind in "iu":
        if not np.isin(a, (0, 1)).all():
            raise fail(
                "mask",
                f"{a.dtype} array",
                "integer coverage must be 0 or 1; for a 0..255 mask image use "
                "Mask.from_image(arr, editable='white') or 'black'",
                "bool, 0/1 or floats in 0..1",
            )
        return a.astype(bool)
    if a.dtype != np.bool_:
        raise fail("mask", str(a.dtype), "unsupported coverage dtype", "bool or float 0..1")
    out: npt.NDArray[Any] = a.copy()
    return out
