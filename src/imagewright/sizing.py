"""The size planner: any deliverable in, the nearest size the model accepts out, then exact pixels.

A deliverable is what you need in the end: pixels (``"1200x628"``), an aspect (``"9:16"``) or a
print size (``"A5@300dpi"``, ``"148x210mm"`` with ``dpi=300``, ``"8x10in@300dpi"``). The API only
accepts certain sizes (gpt-image-2: sides divisible by 16, aspect 1:3..3:1, pixel and edge
bounds; older models: three fixed sizes). :func:`plan_size` picks the size to request and
:meth:`SizePlan.finish` turns the model's output into the exact deliverable by a centred crop
to the deliverable's aspect followed by one resize.

Examples:
    >>> from imagewright.sizing import plan_size
    >>> plan = plan_size("1200x628", model="gpt-image-2")
    >>> plan.api_size, plan.deliverable
    ('1216x640', (1200, 628))
    >>> plan_size("1200x628", model="gpt-image-1.5").api_size
    '1536x1024'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Union

from PIL import Image

from .errors import Problem, ValidationError
from .models import STANDARD_SIZES, SizeRule, lookup, parse_size

__all__ = [
    "DEFAULT_PIXELS",
    "PAPER_SIZES_MM",
    "Deliverable",
    "DeliverableSpec",
    "SizePlan",
    "parse_deliverable",
    "plan_size",
]

DEFAULT_PIXELS = 1024 * 1536
"""Pixel budget for deliverables given only as an aspect (``"9:16"``): the size of a standard
portrait/landscape image."""

MAX_ASPECT_ERROR = 0.02
"""The planner keeps the requested size within 2% of the deliverable's aspect on arbitrary-size
models (when the aspect itself is inside the model's limits); the crop removes the rest."""

PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "A0": (841, 1189),
    "A1": (594, 841),
    "A2": (420, 594),
    "A3": (297, 420),
    "A4": (210, 297),
    "A5": (148, 210),
    "A6": (105, 148),
    "B5": (176, 250),
    "LETTER": (215.9, 279.4),
    "LEGAL": (215.9, 355.6),
    "TABLOID": (279.4, 431.8),
}
"""Portrait paper sizes in millimetres; add ``-landscape`` to the name to swap the sides."""

DeliverableSpec = Union[str, tuple[int, int], "Deliverable"]
"""What :func:`plan_size` accepts: ``"1200x628"``, ``"9:16"``, ``"A5@300dpi"``, ``(1200, 628)``."""

_UNITS_MM = {"mm": 1.0, "cm": 10.0, "in": 25.4}
_ASPECT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")
_PIXELS_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*(?:px)?\s*$")
_PRINT_RE = re.compile(
    r"^\s*(?:(?P<paper>[A-Za-z]+\d*)(?P<land>-landscape)?|"
    r"(?P<w>\d+(?:\.\d+)?)\s*[xX×]\s*(?P<h>\d+(?:\.\d+)?)\s*(?P<unit>mm|cm|in))"
    r"\s*(?:@\s*(?P<dpi>\d+)\s*dpi)?\s*$"
)
_ALLOWED = (
    "pixels 'WxH' (e.g. '1200x628'), an aspect 'W:H' (e.g. '9:16'), or a print size "
    "('A5@300dpi', '148x210mm@300dpi', '8x10in' with dpi=300)"
)


@dataclass(frozen=True)
class Deliverable:
    """The exact picture the caller needs, in pixels.

    Attributes:
        width: Width in pixels.
        height: Height in pixels.
        source: The spec it was parsed from, for messages (``"A5@300dpi"``).
        kind: ``"pixels"``, ``"aspect"`` or ``"print"``.
    """

    width: int
    height: int
    source: str
    kind: str = "pixels"

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return (self.width, self.height)

    @property
    def aspect(self) -> float:
        """Width divided by height."""
        return self.width / self.height


def _bad(spec: object, message: str) -> ValidationError:
    return ValidationError(Problem("size", spec, message, allowed=_ALLOWED))


def _aspect_pixels(a: float, b: float, pixels: int) -> tuple[int, int]:
    """Exact-ratio pixels near ``pixels`` total, on the 16-pixel grid when the ratio allows it."""
    # Scaled to integers so that ratios like 1.91:1 reduce exactly.
    frac_a, frac_b = round(a * 1000), round(b * 1000)
    g = math.gcd(frac_a, frac_b)
    ra, rb = frac_a // g, frac_b // g
    # The smallest step k such that k*ra and k*rb are both multiples of 16, if that step is
    # small enough to land near the budget; otherwise any integer step.
    step = math.lcm(16 // math.gcd(16, ra), 16 // math.gcd(16, rb))
    ideal = math.sqrt(pixels / (ra * rb))
    if ideal < step:
        step = 1
    lo = max(step, math.floor(ideal / step) * step)
    hi = lo + step
    best = min((lo, hi), key=lambda k: abs(math.log(k * k * ra * rb / pixels)))
    return best * ra, best * rb


def parse_deliverable(
    spec: DeliverableSpec, *, dpi: int | None = None, pixels: int = DEFAULT_PIXELS
) -> Deliverable:
    """Parse a deliverable spec into exact pixels.

    Args:
        spec: ``"1200x628"``, ``(1200, 628)``, ``"9:16"``, ``"A5@300dpi"``, ``"148x210mm"``...
        dpi: Dots per inch for print sizes that do not carry ``@NNNdpi``.
        pixels: Pixel budget for aspect-only specs.

    Raises:
        ValidationError: The spec is not one of the accepted forms, or a print size has no DPI.
    """
    if isinstance(spec, Deliverable):
        return spec
    if isinstance(spec, tuple):
        if len(spec) != 2 or not all(isinstance(v, int) and v > 0 for v in spec):
            raise _bad(spec, "a pixel size must be two positive integers")
        return Deliverable(spec[0], spec[1], f"{spec[0]}x{spec[1]}")
    if not isinstance(spec, str):
        raise _bad(spec, f"expected a string or (width, height), got {type(spec).__name__}")
    if m := _PIXELS_RE.match(spec):
        w, h = int(m.group(1)), int(m.group(2))
        if w <= 0 or h <= 0:
            raise _bad(spec, "width and height must be positive")
        return Deliverable(w, h, spec)
    if m := _ASPECT_RE.match(spec):
        a, b = float(m.group(1)), float(m.group(2))
        if a <= 0 or b <= 0:
            raise _bad(spec, "both sides of an aspect must be positive")
        w, h = _aspect_pixels(a, b, pixels)
        return Deliverable(w, h, spec, kind="aspect")
    if m := _PRINT_RE.match(spec):
        if m.group("paper"):
            name = m.group("paper").upper()
            if name not in PAPER_SIZES_MM:
                raise _bad(spec, f"unknown paper size {m.group('paper')!r}")
            wmm, hmm = PAPER_SIZES_MM[name]
            if m.group("land"):
                wmm, hmm = hmm, wmm
        else:
            factor = _UNITS_MM[m.group("unit")]
            wmm, hmm = float(m.group("w")) * factor, float(m.group("h")) * factor
        res = int(m.group("dpi")) if m.group("dpi") else dpi
        if res is None or res <= 0:
            raise _bad(spec, "a print size needs a resolution: add '@300dpi' or pass dpi=300")
        w, h = round(wmm / 25.4 * res), round(hmm / 25.4 * res)
        if w <= 0 or h <= 0:
            raise _bad(spec, "the print size is smaller than one pixel")
        return Deliverable(w, h, spec, kind="print")
    raise _bad(spec, "not a size imagewright understands")


def cover_crop(src: tuple[int, int], aspect: float) -> tuple[int, int, int, int]:
    """The largest centred ``(left, top, right, bottom)`` box of ``src`` with the given aspect."""
    sw, sh = src
    if sw / sh > aspect:
        cw = min(sw, max(1, round(sh * aspect)))
        left = (sw - cw) // 2
        return (left, 0, left + cw, sh)
    ch = min(sh, max(1, round(sw / aspect)))
    top = (sh - ch) // 2
    return (0, top, sw, top + ch)


@dataclass(frozen=True)
class SizePlan:
    """What to ask the API for, and how to turn its answer into the deliverable.

    Attributes:
        model: The model the plan is for.
        api_size: The ``size`` to send, e.g. ``"1216x640"``; always valid for ``model``.
        deliverable: The exact ``(width, height)`` the caller gets after :meth:`finish`.
        crop_box: The centred ``(left, top, right, bottom)`` box cut from the API image.
        experimental: The API calls this size experimental (above 2560x1440).
        aspect_error: Relative difference between the API size's aspect and the deliverable's
            (0.0 when they match exactly); the crop removes it.
        source: The deliverable spec as given.
    """

    model: str
    api_size: str
    deliverable: tuple[int, int]
    crop_box: tuple[int, int, int, int]
    experimental: bool
    aspect_error: float
    source: str

    @property
    def api_dims(self) -> tuple[int, int]:
        """The API size as ``(width, height)``."""
        parsed = parse_size(self.api_size)
        assert parsed is not None  # the planner only produces "WxH"
        return parsed

    @property
    def scale(self) -> float:
        """Resize factor from the crop box to the deliverable; above 1.0 means upscaling."""
        left, _top, right, _bottom = self.crop_box
        return self.deliverable[0] / (right - left)

    @property
    def needs_crop(self) -> bool:
        """True when the API image is cut before resizing."""
        return self.crop_box != (0, 0, *self.api_dims)

    @property
    def needs_resize(self) -> bool:
        """True when the (cropped) API image is resized to reach the deliverable."""
        left, top, right, bottom = self.crop_box
        return (right - left, bottom - top) != self.deliverable

    def finish(self, image: Image.Image) -> Image.Image:
        """Crop and resize one output image to exactly the deliverable size.

        The crop is recomputed from the image's real size, so an output that does not match
        ``api_size`` still comes out at the deliverable size.
        """
        return fit_to(image, self.deliverable)


def fit_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Centred cover-crop of ``image`` to the aspect of ``size``, then one Lanczos resize."""
    if image.size == size:
        return image
    box = cover_crop(image.size, size[0] / size[1])
    out = image.crop(box) if box != (0, 0, *image.size) else image
    if out.size != size:
        out = out.resize(size, Image.Resampling.LANCZOS)
    return out


def _aspect_err(w: int, h: int, aspect: float) -> float:
    return abs((w / h) / aspect - 1.0)


def _arbitrary_candidates(rule: SizeRule, aspect: float, cap: int) -> list[tuple[int, int]]:
    m = rule.multiple
    out: list[tuple[int, int]] = []
    for h in range(m, rule.max_edge + 1, m):
        lo = max(m, math.floor(h * aspect / m) * m)
        for w in (lo, lo + m):
            if w * h <= cap and not rule.check(f"{w}x{h}"):
                out.append((w, h))
    return out


def _plan_arbitrary(
    rule: SizeRule, target: Deliverable, allow_experimental: bool
) -> tuple[int, int]:
    aspect = min(max(target.aspect, 1 / rule.max_aspect), rule.max_aspect)
    cap = rule.max_pixels if allow_experimental else rule.experimental_pixels
    cands = _arbitrary_candidates(rule, aspect, cap)
    # The ideal size has the (clamped) aspect and covers the deliverable's crop.
    need_w, need_h = target.width, target.height
    if target.aspect > aspect:
        need_h = max(1, round(target.width / aspect))
    elif target.aspect < aspect:
        need_w = max(1, round(target.height * aspect))
    close = [c for c in cands if _aspect_err(c[0], c[1], aspect) <= MAX_ASPECT_ERROR] or cands
    covering = [c for c in close if c[0] >= need_w and c[1] >= need_h]
    if covering:
        # Smallest size that covers the deliverable: no upscaling, no wasted pixels.
        return min(covering, key=lambda c: (c[0] * c[1], _aspect_err(c[0], c[1], aspect), c))
    # The deliverable is bigger than the model can make: the largest size, upscaled later.
    return max(close, key=lambda c: (c[0] * c[1], -_aspect_err(c[0], c[1], aspect), c))


def _plan_fixed(rule: SizeRule, target: Deliverable) -> tuple[int, int]:
    sizes = [p for s in rule.fixed if (p := parse_size(s)) is not None] or [
        p for s in STANDARD_SIZES if (p := parse_size(s)) is not None
    ]
    return min(
        sizes,
        key=lambda s: (abs(math.log((s[0] / s[1]) / target.aspect)), -s[0] * s[1], s),
    )


def plan_size(
    deliverable: DeliverableSpec,
    *,
    model: str = "gpt-image-2",
    dpi: int | None = None,
    allow_experimental: bool = True,
    pixels: int = DEFAULT_PIXELS,
) -> SizePlan:
    """Plan the API size for a deliverable, and how to crop/resize the output to it.

    On arbitrary-size models the plan is the smallest valid size, within 2% of the deliverable's
    aspect (clamped to the model's 1:3..3:1), that covers the deliverable, so the output is only
    ever cut and scaled down; when the model cannot reach the deliverable, the largest valid
    size is used and scaled up (``plan.scale > 1``). Fixed-size models get the standard size with
    the nearest aspect.

    Args:
        deliverable: ``"1200x628"``, ``(1200, 628)``, ``"9:16"``, ``"A5@300dpi"``, ``"8x10in"``...
        model: The model to plan for. Unknown models are planned on the standard sizes, which
            every GPT Image model accepts.
        dpi: Resolution for print sizes given without ``@NNNdpi``.
        allow_experimental: Allow sizes above 2560x1440, which the API calls experimental; the
            plan flags them. ``False`` caps the plan at 2560x1440 worth of pixels.
        pixels: Pixel budget for aspect-only deliverables.

    Raises:
        ValidationError: The deliverable cannot be parsed, or the model is no longer available.

    Examples:
        >>> plan = plan_size("A5@300dpi", model="gpt-image-2")
        >>> plan.deliverable, plan.api_size, plan.experimental
        ((1748, 2480), '1760x2480', True)
    """
    target = parse_deliverable(deliverable, dpi=dpi, pixels=pixels)
    spec = lookup(model)
    if spec is not None and not spec.available:
        raise ValidationError(
            Problem("model", model, spec.unavailable_message(), allowed="a current GPT Image model")
        )
    rule = spec.sizes if spec is not None else SizeRule()
    if rule.arbitrary:
        w, h = _plan_arbitrary(rule, target, allow_experimental)
    else:
        w, h = _plan_fixed(rule, target)
    api = f"{w}x{h}"
    return SizePlan(
        model=model,
        api_size=api,
        deliverable=target.size,
        crop_box=cover_crop((w, h), target.aspect),
        experimental=rule.is_experimental(api),
        aspect_error=_aspect_err(w, h, target.aspect),
        source=target.source,
    )
