"""Masks with explicit polarity, so the API's conventions are impossible to get wrong.

A :class:`Mask` stores *one* thing: the editable area, as a coverage array where ``True``
(or ``1.0`` for soft masks) means "the model may change this pixel". It never stores a
polarity, so it can never be sent with the wrong one. Every conversion names its convention:

=========================  ====================================================
``Mask.to_openai()``       RGBA PNG, **alpha 0 = editable** (OpenAI Images API)
``Mask.to_white_editable`` L image, **255 = editable** (diffusers, Stability, Imagen)
``Mask.to_array()``        ``bool``/``float32`` array, **True/1.0 = editable**
=========================  ====================================================

and so does every way in: ``Mask.from_alpha`` (transparent = editable),
``Mask.from_image(img, editable="white"|"black"|"transparent")``, ``Mask(array)`` (True =
editable). A mask image handed to :class:`~imagewright.edit.EditRequest` goes through
:func:`prepare_mask`, which needs ``editable=`` unless the image is an RGBA PNG following
OpenAI's convention.

Examples:
    >>> m = Mask.box((1024, 768), (0.5, 0.0, 1.0, 1.0))  # right half, in fractions
    >>> m.coverage, m.bbox
    (0.5, (512, 0, 1024, 768))
    >>> (m | Mask.ellipse((1024, 768), (100, 100, 300, 300))).grow(8).size
    (1024, 768)
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

import numpy as np
import numpy.typing as npt
from PIL import Image

from . import _mask_pixels
from ._mask_inputs import (
    TINY_SHARE,
    Number,
    box_px,
    coords,
    coverage_array,
    draw,
    fail,
    pads,
    pixels,
    thin_share,
    whole_pixels,
)
from ._mask_inputs import (
    size_of as _size_of,
)
from ._png import encode_alpha_png
from .errors import MaskError, MaskWarning, Problem
from .images import EncodedImage, ImageSource, load_image
from .models import MAX_MASK_BYTES

__all__ = [
    "Editable",
    "Mask",
    "MaskFinding",
    "MaskWarning",
    "SizeLike",
    "prepare_mask",
    "read_mask",
]

Editable = Literal["white", "black", "transparent"]
"""Which pixels of a mask image mark the editable area."""

SizeLike = Union[tuple[int, int], "Mask", EncodedImage, ImageSource]
"""A canvas size: ``(width, height)``, or anything whose size it is (an image or a mask)."""

Fill = tuple[int, int, int] | Literal["edge", "transparent"]


@dataclass(frozen=True)
class MaskFinding:
    """One result of :meth:`Mask.lint`: an error (the mask would be refused) or a warning.

    Attributes:
        level: ``"error"`` or ``"warning"``.
        code: A stable identifier: ``empty``, ``full``, ``tiny``, ``resized``,
            ``aspect_mismatch``.
        message: What is wrong and what to do, in words.
    """

    level: Literal["error", "warning"]
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.level} [{self.code}]: {self.message}"


class Mask:
    """The editable area of an image, stored once as coverage (``True``/``1.0`` = editable).

    A ``Mask`` is immutable: every operation returns a new mask. Hard masks hold a ``bool``
    array; :meth:`feather` makes a soft ``float32`` mask, whose edge fades from 1 to 0 (useful
    for pasting edits back). Soft masks are hardened at 0.5 when sent to OpenAI.

    Args:
        coverage: A 2-D array, ``HxW``: ``bool``, ``0``/``1`` integers, or floats in 0..1.
            ``True``/``1`` means editable.

    Examples:
        >>> import numpy as np
        >>> Mask(np.eye(4, dtype=bool)).coverage
        0.25
    """

    __slots__ = ("_cov", "_digest")

    def __init__(self, coverage: npt.ArrayLike) -> None:
        a = coverage_array(coverage)
        a.setflags(write=False)
        self._cov: npt.NDArray[Any] = a
        self._digest: str | None = None

    @classmethod
    def _of(cls, a: npt.NDArray[Any]) -> Mask:
        """Wrap the result of one of our own operations (bool, or float32 in 0..1) unchecked."""
        m = cls.__new__(cls)
        a.setflags(write=False)
        m._cov = a
        m._digest = None
        return m

    # ------------------------------------------------------------------ constructors

    @classmethod
    def full(cls, size: SizeLike) -> Mask:
        """Everything editable."""
        w, h = size_of(size)
        return cls(np.ones((h, w), dtype=bool))

    @classmethod
    def empty(cls, size: SizeLike) -> Mask:
        """Nothing editable (a starting point for ``|``)."""
        w, h = size_of(size)
        return cls(np.zeros((h, w), dtype=bool))

    @classmethod
    def box(cls, size: SizeLike, box: Sequence[Number]) -> Mask:
        """A rectangle ``(x0, y0, x1, y1)``, end exclusive: ints are pixels, floats 0..1 fractions.

        Examples:
            >>> Mask.box((100, 100), (10, 10, 20, 30)).bbox
            (10, 10, 20, 30)
        """
        return cls.boxes(size, [box])

    @classmethod
    def boxes(cls, size: SizeLike, boxes: Sequence[Sequence[Number]]) -> Mask:
        """The union of several rectangles (same rules as :meth:`box`)."""
        w, h = size_of(size)
        a = np.zeros((h, w), dtype=bool)
        for i, b in enumerate(boxes):
            x0, y0, x1, y1 = box_px(b, (w, h), f"boxes[{i}]")
            a[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
        return cls(a)

    @classmethod
    def ellipse(cls, size: SizeLike, box: Sequence[Number]) -> Mask:
        """The ellipse inscribed in ``box`` (same rules as :meth:`box`)."""
        w, h = size_of(size)
        x0, y0, x1, y1 = box_px(box, (w, h), "box")
        return cls(draw((w, h), lambda d: d.ellipse((x0, y0, x1 - 1, y1 - 1), fill=255)))

    @classmethod
    def polygon(cls, size: SizeLike, points: Sequence[Sequence[Number]]) -> Mask:
        """The filled polygon through ``points`` (``(x, y)`` pairs, pixels or 0..1 fractions)."""
        w, h = size_of(size)
        if len(points) < 3:
            raise fail("points", points, "a polygon needs at least three points")
        flat = coords([v for p in points for v in p], (w, h), "points")
        xy = list(zip(flat[0::2], flat[1::2], strict=True))
        return cls(draw((w, h), lambda d: d.polygon(xy, fill=255)))

    @classmethod
    def from_alpha(cls, image: ImageSource | EncodedImage, *, param: str = "mask") -> Mask:
        """Read an image with OpenAI's convention: **fully transparent (alpha 0) = editable**."""
        im = pixels(image, param)
        if not ("A" in im.getbands() or "transparency" in im.info):
            raise fail(
                param,
                _mask_name(image, im),
                "the mask has no alpha channel; OpenAI edits only where a mask is fully "
                "transparent (alpha 0), so a black-and-white image without alpha says nothing",
                allowed="an RGBA PNG whose transparent pixels mark the editable area, or "
                "editable='white' / editable='black' to say which colour marks it",
            )
        rgba = im if im.mode in ("RGBA", "LA") else im.convert("RGBA")  # skip a 4K copy
        return cls._of(np.asarray(rgba.getchannel("A")) == 0)

    @classmethod
    def from_image(
        cls,
        image: ImageSource | EncodedImage,
        *,
        editable: Editable,
        threshold: int = 128,
        param: str = "mask",
    ) -> Mask:
        """Read a mask image whose ``editable`` pixels are white, black, or transparent.

        ``white``: luminance >= ``threshold`` is editable (diffusers, Stability, Imagen);
        ``black``: luminance < ``threshold``; ``transparent``: alpha 0 (OpenAI, see
        :meth:`from_alpha`).
        """
        if editable == "transparent":
            return cls.from_alpha(image, param=param)
        if editable not in ("white", "black"):
            raise fail("editable", editable, "unknown polarity", "'white', 'black', 'transparent'")
        lum = np.asarray(pixels(image, param).convert("L"))
        return cls(lum >= threshold if editable == "white" else lum < threshold)

    @classmethod
    def from_color(
        cls,
        image: ImageSource | EncodedImage,
        rgb: tuple[int, int, int],
        *,
        tolerance: int = 16,
    ) -> Mask:
        """Pixels within ``tolerance`` of ``rgb`` on every channel are editable (a chroma key)."""
        if not (
            len(rgb) == 3
            and all(isinstance(v, int) and 0 <= v <= 255 for v in rgb)
            and isinstance(tolerance, int)
            and tolerance >= 0
        ):
            raise fail("rgb", (rgb, tolerance), "bad key colour", "rgb in 0..255, tolerance >= 0")
        a: npt.NDArray[np.uint8] | None = None
        if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3:
            a = image if image.shape[2] in (3, 4) else None  # RGB(A) arrays need no copy
        if a is None:
            a = np.asarray(pixels(image, "image").convert("RGB"))
        keep = np.ones(a.shape[:2], dtype=bool)
        for c, v in enumerate(rgb):
            lo = max(0, v - tolerance)
            span = min(255, v + tolerance) - lo
            # Unsigned wrap-around: (x - lo) mod 256 <= span  <=>  lo <= x <= lo + span.
            keep &= (a[..., c] - np.uint8(lo)) <= np.uint8(span)
        return cls._of(keep)

    @classmethod
    def outpaint(
        cls,
        image: ImageSource | EncodedImage,
        *,
        left: Number = 0,
        right: Number = 0,
        top: Number = 0,
        bottom: Number = 0,
        fill: Fill = "edge",
        overlap: int = 0,
    ) -> tuple[Image.Image, Mask]:
        """Pad ``image`` and return ``(canvas, mask)``, the mask covering exactly the new area.

        Padding is in pixels (ints) or fractions of the image's width/height (floats).
        ``fill`` paints the new area: ``"edge"`` repeats the border pixels (gives the model
        colour context), an RGB tuple paints a colour, ``"transparent"`` leaves it clear.
        ``overlap`` extends the editable area that many pixels into the original along each
        padded side, so the model can blend the seam.

        Examples:
            >>> import numpy as np
            >>> canvas, m = Mask.outpaint(np.zeros((100, 200, 3), np.uint8), left=56, right=0.5)
            >>> canvas.size, m.bbox
            ((356, 100), (0, 0, 356, 100))
        """
        src = pixels(image, "image")
        if src.mode not in ("RGB", "RGBA"):
            src = src.convert("RGBA" if "A" in src.getbands() else "RGB")
        if fill == "transparent" and src.mode != "RGBA":
            src = src.convert("RGBA")
        p = pads({"left": left, "right": right, "top": top, "bottom": bottom}, src.size)
        if not any(p.values()):
            raise fail("outpaint", p, "nothing to add", allowed="at least one side > 0")
        canvas = _mask_pixels.pad_image(src, p["left"], p["right"], p["top"], p["bottom"], fill)
        edit = np.ones((canvas.height, canvas.width), dtype=bool)
        ov = {k: (overlap if v else 0) for k, v in p.items()}
        y0, x0 = p["top"] + ov["top"], p["left"] + ov["left"]
        y1 = p["top"] + src.height - ov["bottom"]
        x1 = p["left"] + src.width - ov["right"]
        edit[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
        return canvas, cls(edit)

    # ------------------------------------------------------------------ facts

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return (int(self._cov.shape[1]), int(self._cov.shape[0]))

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self._cov.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self._cov.shape[0])

    @property
    def is_soft(self) -> bool:
        """True for a feathered mask (coverage between 0 and 1 somewhere)."""
        return self._cov.dtype != np.bool_

    @property
    def coverage(self) -> float:
        """The editable share of the image, 0..1 (soft pixels count partly)."""
        if self.is_soft:
            return float(self._cov.mean())
        return float(np.count_nonzero(self._cov) / self._cov.size)

    @property
    def bbox(self) -> tuple[int, int, int, int] | None:
        """``(x0, y0, x1, y1)`` around every editable pixel (end exclusive), ``None`` if empty."""
        return _mask_pixels.bbox(self._cov)

    # ------------------------------------------------------------------ conversions

    def to_array(self) -> npt.NDArray[Any]:
        """A copy of the coverage: ``bool`` (hard) or ``float32`` (soft), **True/1.0 = editable**."""
        out: npt.NDArray[Any] = self._cov.copy()
        return out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        if dtype is not None:
            return self._cov.astype(dtype)
        # copy=False may share memory: the coverage is read-only, so the mask stays immutable.
        out: npt.NDArray[Any] = self._cov if copy is False else self._cov.copy()
        return out

    def to_white_editable(self) -> Image.Image:
        """An ``L`` image, **255 = editable**, 0 = keep (the diffusers/Stability/Imagen convention)."""
        return Image.fromarray(_mask_pixels.to_u8(self._cov))

    def to_openai(self, image: SizeLike | None = None, *, param: str = "mask") -> EncodedImage:
        """The mask as OpenAI wants it: an RGBA PNG, **alpha 0 = editable**, under 4 MB.

        With ``image`` (the first input image, or its size), a mask of another size is resized
        when the aspect ratio matches (with a :class:`MaskWarning`) and refused otherwise.
        The mask is linted first: errors raise :class:`~imagewright.errors.MaskError`, warnings
        are issued as :class:`MaskWarning`. Soft masks are hardened at 0.5.

        Raises:
            MaskError: Nothing editable, an aspect-ratio mismatch, or a PNG of 4 MB or more.
        """
        m = self
        findings: list[MaskFinding] = []
        if image is not None:
            target = size_of(image, param="image")
            findings = self._size_findings(target)
            if not any(f.level == "error" for f in findings) and target != self.size:
                m = self.resize(target)
        findings += m.lint()
        _raise_or_warn(findings, param, self.size)
        hard = m._cov if not m.is_soft else m._cov >= 0.5
        data = encode_alpha_png(hard)
        if len(data) >= MAX_MASK_BYTES:
            raise fail(
                param,
                f"{len(data):,} bytes",
                "the mask PNG is too large (a very noisy mask); simplify it, e.g. "
                "mask.shrink(1).grow(1)",
                allowed="< 4 MB",
            )
        return EncodedImage(data, "png", m.width, m.height, "RGBA", "mask.png")

    # ------------------------------------------------------------------ algebra

    def _other(self, other: object) -> npt.NDArray[Any]:
        if not isinstance(other, Mask):
            raise TypeError(f"cannot combine a Mask with {type(other).__name__}")
        if other.size != self.size:
            raise fail(
                "mask",
                f"{other.width}x{other.height}",
                "masks of different sizes cannot be combined; resize() one first",
                allowed=f"{self.width}x{self.height}",
            )
        return other._cov

    def _soft_pair(self, other: object) -> tuple[npt.NDArray[Any], npt.NDArray[Any], bool]:
        b = self._other(other)
        a = self._cov
        hard = a.dtype == np.bool_ and b.dtype == np.bool_
        return a, b, hard

    def __invert__(self) -> Mask:
        return Mask._of(~self._cov if not self.is_soft else 1.0 - self._cov)

    def __or__(self, other: Mask) -> Mask:
        a, b, _ = self._soft_pair(other)
        return Mask._of(np.maximum(a, b))

    def __and__(self, other: Mask) -> Mask:
        a, b, _ = self._soft_pair(other)
        return Mask._of(np.minimum(a, b))

    def __sub__(self, other: Mask) -> Mask:
        a, b, hard = self._soft_pair(other)
        return Mask._of(a & ~b if hard else np.minimum(a, 1.0 - b))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mask):
            return NotImplemented
        return self._cov.dtype == other._cov.dtype and np.array_equal(self._cov, other._cov)

    def __hash__(self) -> int:
        if self._digest is None:
            a = self._cov
            data = np.packbits(a).tobytes() if a.dtype == np.bool_ else a.tobytes()
            h = hashlib.blake2b(data, digest_size=16)
            h.update(repr((a.shape, a.dtype.str)).encode())
            self._digest = h.hexdigest()
        return hash(self._digest)

    # ------------------------------------------------------------------ geometry

    def grow(self, pixels: int) -> Mask:
        """Extend the editable area by ``pixels`` in every direction (square corners)."""
        return Mask._of(_mask_pixels.dilate(self._cov, whole_pixels(pixels, "pixels")))

    def shrink(self, pixels: int) -> Mask:
        """Pull the editable area in by ``pixels``; edges on the image border stay put."""
        return Mask._of(_mask_pixels.erode(self._cov, whole_pixels(pixels, "pixels")))

    def feather(self, radius: float) -> Mask:
        """A soft mask whose edge fades over about ``radius`` pixels on each side (for paste-back).

        The fade is a Gaussian blur with sigma ``radius / 2``, so the original edge sits at
        coverage 0.5 and hardening (as :meth:`to_openai` does) gives back about the same mask.
        """
        if not (isinstance(radius, (int, float)) and radius >= 0 and math.isfinite(radius)):
            raise fail("radius", radius, "feather radius must be >= 0", "pixels")
        if radius == 0:
            return self
        return Mask._of(_mask_pixels.blur(self._cov, radius / 2))

    def harden(self, threshold: float = 0.5) -> Mask:
        """A hard mask: pixels with coverage >= ``threshold`` are editable."""
        return self if not self.is_soft else Mask._of(self._cov >= threshold)

    def resize(self, size: SizeLike) -> Mask:
        """This mask resampled to another size (an image or ``(w, h)``); hard stays hard."""
        target = size_of(size)
        return self if target == self.size else Mask._of(_mask_pixels.resize(self._cov, target))

    def crop(self, box: Sequence[Number]) -> Mask:
        """The part of the mask inside ``box`` (pixels or 0..1 fractions, end exclusive)."""
        x0, y0, x1, y1 = box_px(box, self.size, "box")
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(self.width, x1), min(self.height, y1)
        if x1 <= x0 or y1 <= y0:
            raise fail("box", box, "the box lies outside the mask", f"inside {self.size}")
        return Mask._of(self._cov[y0:y1, x0:x1])

    def crop_to_bbox(self, padding: int = 0) -> Mask:
        """The mask cropped to its bounding box grown by ``padding`` (see :attr:`bbox`)."""
        box = self.bbox
        if box is None:
            raise fail("mask", repr(self), "an empty mask has no bounding box")
        p = whole_pixels(padding, "padding")
        return self.crop((box[0] - p, box[1] - p, box[2] + p, box[3] + p))

    # ------------------------------------------------------------------ lint

    def _size_findings(self, target: tuple[int, int]) -> list[MaskFinding]:
        if target == self.size:
            return []
        (w, h), (tw, th) = self.size, target
        if abs(w * th - h * tw) <= 0.01 * w * th:
            return [
                MaskFinding(
                    "warning",
                    "resized",
                    f"the mask is {w}x{h} but the image is {tw}x{th}; it is resized to "
                    "match (same aspect ratio)",
                )
            ]
        return [
            MaskFinding(
                "error",
                "aspect_mismatch",
                f"the mask is {w}x{h} but the image is {tw}x{th}, and the aspect ratios "
                "differ, so it cannot be resized without moving the editable area; "
                f"make the mask {tw}x{th}",
            )
        ]

    def lint(self, image: SizeLike | None = None) -> list[MaskFinding]:
        """Check the mask before sending; an empty list means nothing to report.

        Errors: nothing editable; a size mismatch with ``image`` whose aspect ratio differs.
        Warnings: everything editable; editable regions too thin for the model to honour
        (narrower than 1/128 of the long side); a size mismatch that resizing fixes.
        """
        findings = [] if image is None else self._size_findings(size_of(image, "image"))
        hard = self._cov if not self.is_soft else self._cov >= 0.5
        editable = int(np.count_nonzero(hard))
        if editable == 0:
            findings.append(
                MaskFinding(
                    "error",
                    "empty",
                    "no pixel is editable, so the edit could change nothing; use a larger "
                    "mask, or no mask to let the model change everything",
                )
            )
            return findings
        if editable == hard.size:
            findings.append(
                MaskFinding(
                    "warning",
                    "full",
                    "every pixel is editable, which is the same as sending no mask",
                )
            )
            return findings
        lost = thin_share(hard)
        if lost >= 0.25:
            px = max(1, round(max(self.size) * TINY_SHARE))
            findings.append(
                MaskFinding(
                    "warning",
                    "tiny",
                    f"{lost:.0%} of the editable area is in regions narrower than about "
                    f"{px} px (1/128 of the long side), which the model is likely to ignore; "
                    "grow() the mask",
                )
            )
        return findings

    # ------------------------------------------------------------------ display

    def preview(
        self,
        image: ImageSource | EncodedImage | None = None,
        *,
        color: tuple[int, int, int] = (255, 0, 102),
        opacity: float = 0.45,
        max_side: int | None = None,
    ) -> Image.Image:
        """The image with the editable area tinted ``color`` and outlined (grey without ``image``).

        Examples:
            >>> Mask.box((64, 48), (0.25, 0.25, 0.75, 0.75)).preview().size
            (64, 48)
        """
        if image is None:
            base = Image.new("RGB", self.size, (128, 128, 128))
        else:
            base = pixels(image, "image").convert("RGB")
        _raise_or_warn(
            [f for f in self._size_findings(base.size) if f.level == "error"], "mask", self.size
        )
        m = self if base.size == self.size else self.resize(base.size)
        if max_side and max(base.size) > max_side:
            scale = max_side / max(base.size)
            small = (max(1, round(base.width * scale)), max(1, round(base.height * scale)))
            base, m = base.resize(small, Image.Resampling.BOX), m.resize(small)
        return _mask_pixels.overlay(base, m._cov, color, opacity)

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.preview(max_side=512).save(buf, format="PNG")
        return buf.getvalue()

    def __repr__(self) -> str:
        kind = "soft" if self.is_soft else "hard"
        return (
            f"Mask({self.width}x{self.height}, {kind}, coverage={self.coverage:.1%}, "
            f"bbox={self.bbox})"
        )


def size_of(target: Any, param: str = "size") -> tuple[int, int]:
    """``(width, height)`` of a size tuple, a mask, an encoded image or any image source."""
    if isinstance(target, Mask):
        return target.size
    return _size_of(target, param)


def editable_pixels(mask: Any, size: tuple[int, int], param: str = "mask") -> npt.NDArray[np.bool_]:
    """The editable area as a boolean ``HxW`` array at ``size`` (width, height).

    The one reader of "which pixels are editable" outside an edit's own mask: a ``Mask``
    (hardened at one half), a 2-D array (``True``, any non-zero integer or a float >= 0.5 is
    editable) or a mask image (a PIL image, a path or bytes) read by :func:`read_mask`. A different size is resampled with
    :meth:`Mask.resize`.
    """
    if isinstance(mask, (Image.Image, EncodedImage, str, bytes, os.PathLike)):
        m = read_mask(mask, param=param)
    elif isinstance(mask, Mask):
        m = mask
    else:
        raw = np.asarray(mask)
        if raw.ndim != 2 or raw.dtype.kind not in "biuf" or 0 in raw.shape:
            raise fail(
                param,
                f"{raw.dtype} array of shape {raw.shape}"
                if isinstance(mask, np.ndarray)
                else type(mask).__name__,
                "unsupported mask",
                allowed="a Mask, a 2-D boolean array (True = editable) or a mask image",
            )
        m = Mask._of(raw >= 0.5 if raw.dtype.kind == "f" else raw != 0)
    if m.size != size:
        m = m.resize(size)
    return np.asarray(m._cov >= 0.5, dtype=np.bool_)


def _raise_or_warn(findings: list[MaskFinding], param: str, size: tuple[int, int]) -> None:
    errors = [f for f in findings if f.level == "error"]
    if errors:
        raise MaskError([Problem(param, f"{size[0]}x{size[1]} mask", f.message) for f in errors])
    for f in findings:
        warnings.warn(f"{param}: {f.message}", MaskWarning, stacklevel=3)


def prepare_mask(
    mask: Mask | ImageSource | EncodedImage,
    *,
    image: EncodedImage,
    editable: Editable | None = None,
    param: str = "mask",
) -> EncodedImage:
    """Turn a user's mask into a valid OpenAI mask for ``image``: an RGBA PNG, alpha 0 = edit.

    A :class:`Mask` is converted directly. A mask image is read with ``editable=``
    (``"white"``, ``"black"`` or ``"transparent"``); without it, only an image with an alpha
    channel is accepted and read with OpenAI's convention (alpha 0 = editable), because a
    black-and-white image without alpha is ambiguous. The result is linted and fitted to
    ``image`` as :meth:`Mask.to_openai` describes.

    Raises:
        MaskError: The mask is ambiguous, unreadable as a mask, empty, the wrong shape or too big.
        ImageInputError: The mask file itself is empty, corrupt or not an image.
    """
    if isinstance(mask, Mask):
        if editable is not None:
            raise fail(
                "editable",
                editable,
                "editable= only applies to mask images; a Mask already knows its editable area",
                allowed="None",
            )
        m = mask
    else:
        m = read_mask(mask, editable=editable, param=param)
    return m.to_openai(image, param=param)


def read_mask(
    source: ImageSource | EncodedImage,
    *,
    editable: Editable | None = None,
    param: str = "mask",
) -> Mask:
    """Read a mask image with the one rule imagewright applies everywhere (edits, diffs, CLI).

    With ``editable=`` (``"white"``, ``"black"``, ``"transparent"``) the image is read that way.
    Without it only an image with an alpha channel is accepted, read with OpenAI's convention
    (alpha 0 = editable): a black-and-white image without alpha is ambiguous, and so is an
    alpha channel with no transparent pixel (white-on-black drawn on an opaque canvas).

    Raises:
        MaskError: The mask is ambiguous or marks nothing; the message names the file.
    """
    if isinstance(source, Image.Image):
        m = Mask.from_image(source, editable=editable or "transparent", param=param)
        name: Any = _mask_name(source, source)
    else:
        enc = source if isinstance(source, EncodedImage) else load_image(source, param=param)
        display = str(source) if isinstance(source, (str, os.PathLike)) else enc.filename
        try:
            m = Mask.from_image(enc, editable=editable or "transparent", param=param)
        except MaskError as exc:
            raise MaskError(
                [Problem(p.param, display, p.message, p.allowed) for p in exc.problems]
            ) from None
        name = display
    if editable is None and m.bbox is None:
        raise fail(
            param,
            name,
            "the mask has an alpha channel but no fully transparent pixel, so OpenAI "
            "would edit nothing",
            allowed="transparent pixels where the edit goes, or editable='white' / "
            "editable='black' if a colour marks it",
        )
    return m


def _mask_name(source: Any, im: Image.Image) -> str:
    """How an error names a mask: its file name when it has one, else its kind and mode."""
    filename = getattr(source, "filename", None)
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if filename:
        return str(filename)
    kind = "a PIL image" if isinstance(source, Image.Image) else f"a {type(source).__name__}"
    return f"{kind} in mode {im.mode}"
