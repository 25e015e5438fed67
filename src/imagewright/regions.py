"""The regions a :class:`~imagewright.layout.Layout` places on its canvas.

A region's ``box`` is ``(x, y, width, height)`` from the canvas's top-left corner, either in
fractions of the canvas (every value between 0 and 1) or in pixels (any value above 1).

* :class:`TextBlock` - a string to show, with its role and typography.
* :class:`ImageSlot` - what goes in an area: a product, a logo, a photo, a comic panel.
* :class:`Shape` - a plain graphic element (a band of colour, a circle badge).
* :class:`Keep` - an area an edit must leave untouched.

Examples:
    >>> from imagewright.regions import TextBlock, describe_place
    >>> TextBlock("SUMMER SALE", (0.1, 0.05, 0.8, 0.2), role="headline").role
    'headline'
    >>> describe_place((0.1, 0.05, 0.8, 0.2))
    'top third, centred (about 80% of the width, 20% of the height)'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import Problem, ValidationError
from .typography import Align, VAlign, Weight, parse_colour

__all__ = [
    "Box",
    "ImageSlot",
    "Keep",
    "Region",
    "Shape",
    "TextBlock",
    "describe_place",
    "resolve_box",
]

Box = tuple[float, float, float, float]
"""``(x, y, width, height)``: fractions of the canvas (all values 0..1) or pixels."""

Role = Literal["headline", "subhead", "body", "cta", "label", "caption", "price", "logo"]


@dataclass(frozen=True)
class TextBlock:
    """A text the image must show, in a box, with its typography.

    Attributes:
        text: The exact string; ``\\n`` forces a line break.
        box: Where it goes (see :data:`Box`).
        role: ``headline``, ``subhead``, ``body``, ``cta``, ``label``, ``caption``...
        font: A font file path or family name for local rendering (``None``: automatic).
        weight: ``"regular"`` or ``"bold"``.
        color: Text colour (``"#RRGGBB"`` or a CSS name), or ``"auto"`` (the default): when
            imagewright sets the text (overlay mode), dark or light ink, whichever contrasts
            more with the picture under the box; the model is asked for a contrasting colour.
        align: Horizontal alignment inside the box.
        valign: Vertical alignment inside the box.
        max_lines: At most this many lines (``None``: as many as fit).
        min_size: The smallest acceptable size in pixels; below it the text "does not fit".
            ``None`` uses a readable minimum for the role and canvas.
        max_size: The largest size in pixels (``None``: the box height).
        typography: How the model should letter it (``"hand-painted brush script"``);
            ``None`` derives it from ``weight``, ``font`` and ``color``.
        line_spacing: Line height as a multiple of the font's ascent + descent.
        outline: Width in canvas pixels of an outline around the letters (local rendering),
            which keeps overlay text legible on any background.
        outline_color: Colour of that outline.
        name: A name to address the region by; defaults to the role.
    """

    text: str
    box: Box
    role: str = "body"
    font: str | None = None
    weight: Weight = "regular"
    color: str = "auto"
    align: Align = "center"
    valign: VAlign = "middle"
    max_lines: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    typography: str | None = None
    line_spacing: float = 1.15
    outline: int = 0
    outline_color: str = "#000000"
    name: str | None = None

    @property
    def label(self) -> str:
        """The default name: the role."""
        return self.role

    def problems(self, param: str) -> list[Problem]:
        """Every reason this block cannot be rendered (bad alignment, colour, limits...)."""
        out: list[Problem] = []
        if not self.text.strip():
            out.append(Problem(f"{param}.text", self.text, "the text is empty"))
        for name, value, allowed in (
            ("align", self.align, ("left", "center", "right")),
            ("valign", self.valign, ("top", "middle", "bottom")),
            ("weight", self.weight, ("regular", "bold")),
        ):
            if value not in allowed:
                out.append(Problem(f"{param}.{name}", value, "not allowed", ", ".join(allowed)))
        for name, number, low in (
            ("max_lines", self.max_lines, 1),
            ("min_size", self.min_size, 1),
            ("max_size", self.max_size, 1),
            ("outline", self.outline, 0),
        ):
            if number is not None and (not isinstance(number, int) or number < low):
                out.append(
                    Problem(f"{param}.{name}", number, "out of range", f"an integer >= {low}")
                )
        if not self.line_spacing > 0:
            out.append(Problem(f"{param}.line_spacing", self.line_spacing, "must be positive"))
        for name, colour in (("color", self.color), ("outline_color", self.outline_color)):
            if name == "color" and colour == "auto":
                continue
            try:
                parse_colour(colour, "RGB", f"{param}.{name}")
            except ValidationError as exc:
                out.extend(exc.problems)
        return out

    def lettering(self) -> str:
        """The typography hint given to the model."""
        if self.typography:
            return self.typography
        face = self.font or "sans-serif"
        weight = "bold " if self.weight == "bold" else ""
        aligned = "" if self.align == "center" else f", {self.align}-aligned"
        colour = (
            "a colour that contrasts with what is behind it" if self.color == "auto" else self.color
        )
        return f"{weight}{face} lettering in {colour}{aligned}"


@dataclass(frozen=True)
class ImageSlot:
    """An area holding a picture: what goes there, in words.

    Attributes:
        content: What the area shows (``"a bottle of olive oil, three-quarter view"``).
        box: Where it goes (see :data:`Box`).
        kind: ``product``, ``logo``, ``photo``, ``illustration``, ``panel``...
        name: A name to address the region by; defaults to the kind.
    """

    content: str
    box: Box
    kind: str = "photo"
    name: str | None = None

    @property
    def label(self) -> str:
        """The default name: the kind."""
        return self.kind


@dataclass(frozen=True)
class Shape:
    """A plain graphic element: a band, a badge, a frame.

    Attributes:
        box: Where it goes (see :data:`Box`).
        kind: ``rectangle``, ``ellipse``, ``band``, ``frame``...
        fill: Its colour (``"#RRGGBB"`` or a CSS name), if it has one.
        description: Extra words for the model (``"with rounded corners"``).
        name: A name to address the region by; defaults to the kind.
    """

    box: Box
    kind: str = "rectangle"
    fill: str | None = None
    description: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """The default name: the kind."""
        return self.kind


@dataclass(frozen=True)
class Keep:
    """An area an edit must leave untouched (a logo, a face, existing text).

    Attributes:
        box: Where it is (see :data:`Box`).
        reason: What it holds, for the prompt (``"the brand logo"``).
        name: A name to address the region by; defaults to ``"keep"``.
    """

    box: Box
    reason: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """The default name."""
        return "keep"


Region = TextBlock | ImageSlot | Shape | Keep
"""Any region a layout holds."""


def _is_fraction(box: Box) -> bool:
    return all(0 <= v <= 1 for v in box)


def resolve_box(
    box: Box, canvas: tuple[int, int], *, base: tuple[int, int] | None = None, param: str = "box"
) -> tuple[int, int, int, int]:
    """A region's ``(left, top, right, bottom)`` in pixels on a canvas of size ``canvas``.

    Fractions scale to ``canvas``; pixel boxes are in ``base`` pixels (the layout's own canvas,
    default ``canvas``) and scale from it.

    Raises:
        ValidationError: The box is malformed, empty or reaches outside the canvas.
    """
    if len(box) != 4 or not all(isinstance(v, (int, float)) for v in box):
        raise ValidationError(Problem(param, box, "a box is four numbers (x, y, width, height)"))
    x, y, w, h = (float(v) for v in box)
    if min(x, y) < 0 or w <= 0 or h <= 0:
        raise ValidationError(
            Problem(param, box, "x and y must be >= 0, width and height > 0", allowed=_ALLOWED)
        )
    cw, ch = canvas
    if _is_fraction(box):
        sx, sy = float(cw), float(ch)
        over = x + w > 1 + 1e-9 or y + h > 1 + 1e-9
    else:
        bw, bh = base or canvas
        sx, sy = cw / bw, ch / bh
        over = x + w > bw + 1e-9 or y + h > bh + 1e-9
    if over:
        raise ValidationError(
            Problem(param, box, "the box reaches outside the canvas", allowed=_ALLOWED)
        )
    left, top = round(x * sx), round(y * sy)
    right, bottom = round((x + w) * sx), round((y + h) * sy)
    return (left, top, max(right, left + 1), max(bottom, top + 1))


_ALLOWED = "(x, y, width, height) in fractions 0..1 of the canvas, or in pixels inside it"


def fraction_box(box: Box, canvas: tuple[int, int]) -> Box:
    """The box in fractions of the canvas, whichever unit it was given in."""
    if _is_fraction(box):
        return box
    cw, ch = canvas
    return (box[0] / cw, box[1] / ch, box[2] / cw, box[3] / ch)


def describe_place(box: Box) -> str:
    """A fractional box's place in words: ``"top third, centred (about 80% of the width, ...)"``.

    Examples:
        >>> describe_place((0.0, 0.0, 1.0, 1.0))
        'the whole canvas'
        >>> describe_place((0.55, 0.7, 0.4, 0.25))
        'bottom third, right (about 40% of the width, 25% of the height)'
    """
    x, y, w, h = box
    if w >= 0.9 and h >= 0.9:
        return "the whole canvas"
    cx, cy = x + w / 2, y + h / 2
    if h >= 0.9:
        vertical = "full height"
    else:
        vertical = "top third" if cy < 1 / 3 else "bottom third" if cy > 2 / 3 else "middle"
    if w >= 0.9:
        horizontal = "full width"
    else:
        horizontal = "left" if cx < 0.4 else "right" if cx > 0.6 else "centred"
    return (
        f"{vertical}, {horizontal} "
        f"(about {round(w * 100)}% of the width, {round(h * 100)}% of the height)"
    )
