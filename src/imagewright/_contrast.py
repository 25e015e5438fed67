"""Legible overlay text: the ink chosen from the background under the text, and a WCAG check.

Contrast follows WCAG 2.x: relative luminance of sRGB colours, ratio ``(L1 + 0.05) /
(L2 + 0.05)``; AA asks for at least 4.5:1 for body text.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image

from .errors import ContrastWarning

if TYPE_CHECKING:
    from .regions import TextBlock

__all__ = [
    "AA_CONTRAST",
    "DARK_INK",
    "LIGHT_INK",
    "ContrastWarning",
    "check_ink",
    "ink_for",
    "pick_ink",
]

AA_CONTRAST = 4.5
"""WCAG AA minimum contrast ratio for normal text."""
DARK_INK = "#111111"
LIGHT_INK = "#FFFFFF"


def _linear(channel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    c = channel / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def luminance(rgb: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """WCAG relative luminance (0..1) of sRGB values (``...x3`` array, 0..255)."""
    a = _linear(np.asarray(rgb, dtype=np.float64)[..., :3])
    return np.asarray(0.2126 * a[..., 0] + 0.7152 * a[..., 1] + 0.0722 * a[..., 2])


def ratio(l1: float, l2: float) -> float:
    """The WCAG contrast ratio of two luminances (1..21)."""
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def background_luminance(image: Image.Image, box: Sequence[int]) -> float:
    """The median luminance of the pixels under ``box`` (transparent pixels count as white)."""
    x0, y0, x1, y1 = box
    crop = image.crop((x0, y0, x1, y1)).convert("RGBA")
    back = Image.new("RGBA", crop.size, (255, 255, 255, 255))
    rgb = np.asarray(Image.alpha_composite(back, crop).convert("RGB"))
    return float(np.median(luminance(rgb))) if rgb.size else 1.0


def pick_ink(background: float) -> tuple[str, float]:
    """The dark or light ink with more contrast on ``background``, and that contrast."""
    dark = ratio(float(luminance(np.array([17, 17, 17]))), background)
    light = ratio(1.0, background)
    return (DARK_INK, dark) if dark >= light else (LIGHT_INK, light)


def check_ink(ink: tuple[int, ...], background: float, *, name: str, outlined: bool) -> float:
    """The contrast of ``ink`` on ``background``; warns below WCAG AA unless outlined."""
    from ._compile import _user_stacklevel

    contrast = ratio(float(luminance(np.array(ink[:3]))), background)
    if contrast < AA_CONTRAST and not outlined:
        warnings.warn(
            f"text {name!r}: contrast {contrast:.1f}:1 with the background under it is below "
            f"WCAG AA ({AA_CONTRAST}:1); use color='auto', another colour, or outline=2",
            ContrastWarning,
            stacklevel=_user_stacklevel(),
        )
    return contrast


def ink_for(
    block: TextBlock, image: Image.Image, box: Sequence[int], canvas: tuple[int, int]
) -> tuple[str, tuple[int, str] | None]:
    """The ink for ``block`` on ``image``, and an outline ``(width, colour)`` to add, if any.

    ``color="auto"``: the dark or light ink with more contrast on the background; when even
    that stays below WCAG AA (a mid-tone background) and the block has no outline, an outline
    in the other ink, about 1/400 of the canvas's long side wide. A chosen colour is kept, with
    a :class:`ContrastWarning` below AA unless the block is outlined.
    """
    from .typography import parse_colour

    background = background_luminance(image, box)
    name = block.name or block.label
    if block.color != "auto":
        ink = parse_colour(block.color, "RGB", f"{name}.color")
        check_ink(ink, background, name=name, outlined=block.outline > 0)
        return block.color, None
    color, contrast = pick_ink(background)
    if contrast >= AA_CONTRAST or block.outline > 0:
        return color, None
    other = LIGHT_INK if color == DARK_INK else DARK_INK
    return color, (max(1, round(max(canvas) / 400)), other)
