"""``Layout``: a canvas with placed regions, compiled into a prompt, a guide, masks and type.

A layout says where things go: a headline in the top third, the product in the middle, a
call to action at the bottom right. It compiles into

1. prompt text naming each region's place in words and quoting its text (:meth:`Layout.compile`),
2. a wireframe guide image, usable as an extra reference or, on GPT Image 2.5, as ``markup``
   (:meth:`Layout.guide_image`),
3. per-region masks, so an edit can target one region (:meth:`Layout.mask`),
4. exact local typography: :meth:`Layout.render_text` sets every :class:`TextBlock` with real
   fonts, fitted to its box.

With ``text="overlay"`` the model is asked to leave the text areas clean and imagewright sets
the type afterwards (:meth:`Layout.finish`), so spelling and placement are exact.

Examples:
    >>> from imagewright.layout import Layout
    >>> layout = Layout.banner("Autumn sale", cta="Shop now", image="a stack of knit sweaters")
    >>> layout.planned_size("gpt-image-2")
    '1216x640'
    >>> print(layout.compile().splitlines()[0])
    Format: landscape banner, landscape 1.91:1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from . import _presets
from ._presets import GuideMode, PresetOptions, TextMode
from .errors import Problem, ValidationError
from .masks import Mask
from .models import lookup
from .prompt import Prompt, check_length, role_title
from .regions import (
    Box,
    ImageSlot,
    Keep,
    Region,
    Shape,
    TextBlock,
    describe_place,
    fraction_box,
    resolve_box,
)
from .sizing import Deliverable, DeliverableSpec, SizePlan, fit_to, parse_deliverable, plan_size
from .typography import FittedText, draw_text, fit_text, resolve_font

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "GuideMode",
    "ImageSlot",
    "Keep",
    "Layout",
    "PresetOptions",
    "Region",
    "Shape",
    "TextBlock",
    "TextMode",
]


# The smallest readable size per role, as a share of the canvas's short side.
_READABLE = {"headline": 0.03, "subhead": 0.02, "cta": 0.018}
_READABLE_DEFAULT = 0.012
_READABLE_FLOOR = 10

# Wireframe colours per region type (outline, translucent fill).
_GUIDE_COLOURS: dict[type, tuple[int, int, int]] = {
    TextBlock: (30, 90, 220),
    ImageSlot: (20, 150, 70),
    Shape: (230, 130, 20),
    Keep: (210, 30, 30),
}


def _aspect_words(w: int, h: int) -> str:
    g = math.gcd(w, h)
    a, b = w // g, h // g
    ratio = f"{a}:{b}" if max(a, b) <= 32 else (f"{w / h:.2f}:1" if w >= h else f"1:{h / w:.2f}")
    if w == h:
        return "square 1:1"
    return f"{'landscape' if w > h else 'portrait'} {ratio}"


@dataclass(frozen=True)
class Layout:
    """A canvas and the regions placed on it.

    Args:
        canvas: The deliverable: pixels (``"1200x628"``), an aspect (``"9:16"``) or a print
            size (``"A5@300dpi"``); see :func:`~imagewright.sizing.parse_deliverable`.
        regions: :class:`TextBlock`, :class:`ImageSlot`, :class:`Shape` and :class:`Keep`
            regions, drawn in this order (later ones on top).
        prompt: The rest of the brief (subject, style, lighting...) as a :class:`Prompt`.
        text: ``"model"``: the model letters the text as prompted. ``"overlay"``: the model
            leaves the text areas clean and :meth:`finish` sets the type locally.
        guide: Send the wireframe with the request: ``"reference"`` as an extra reference
            image (edits), ``"markup"`` as markup (GPT Image 2.5), ``"auto"`` markup when the
            model takes it else a reference, ``"none"`` (default) not at all.
        kind: What the piece is, for the prompt (``"poster"``, ``"product card"``).
        dpi: Resolution for print canvases given without ``@NNNdpi``.

    Examples:
        >>> layout = Layout("1080x1080", [TextBlock("Hello", (0.1, 0.1, 0.8, 0.2))])
        >>> layout.size
        (1080, 1080)
    """

    canvas: DeliverableSpec | Deliverable = "1024x1536"
    regions: Sequence[Region] = field(default=())
    prompt: Prompt = field(default_factory=Prompt)
    text: TextMode = "model"
    guide: GuideMode = "none"
    kind: str | None = None
    dpi: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "canvas", parse_deliverable(self.canvas, dpi=self.dpi))
        object.__setattr__(self, "regions", tuple(self.regions))
        problems: list[Problem] = []
        if self.text not in ("model", "overlay"):
            problems.append(Problem("text", self.text, "unknown text mode", "'model', 'overlay'"))
        if self.guide not in ("none", "reference", "markup", "auto"):
            problems.append(
                Problem("guide", self.guide, "unknown guide mode", "none, reference, markup, auto")
            )
        names: set[str] = set()
        for i, region in enumerate(self.regions):
            if not isinstance(region, (TextBlock, ImageSlot, Shape, Keep)):
                problems.append(
                    Problem(f"regions[{i}]", region, "not a region", "TextBlock, ImageSlot, ...")
                )
                continue
            try:
                resolve_box(region.box, self.size, param=f"regions[{i}].box")
            except ValidationError as exc:
                problems.extend(exc.problems)
            if isinstance(region, TextBlock):
                problems.extend(region.problems(f"regions[{i}]"))
            if region.name is not None:
                if region.name in names:
                    problems.append(Problem(f"regions[{i}].name", region.name, "duplicate name"))
                names.add(region.name)
        if not problems:
            given = {r.name for r in self.regions if r.name is not None}
            clashes = [
                n
                for r, n in zip(self.regions, self.names, strict=True)
                if r.name is None and n in given
            ]
            if clashes:
                problems.append(
                    Problem(
                        "regions",
                        clashes,
                        "a region's name is also the default name of another region",
                        allowed="distinct names (set name= on both)",
                    )
                )
        if self.text == "overlay" and self.prompt.text:
            problems.append(
                Problem(
                    "prompt.text",
                    [t.text for t in self.prompt.texts],
                    "in text='overlay' mode the model draws no text",
                    allowed="put the text in TextBlock regions",
                )
            )
        if problems:
            raise ValidationError(problems)

    # -- geometry --------------------------------------------------------------------------------

    @property
    def deliverable(self) -> Deliverable:
        """The parsed canvas."""
        assert isinstance(self.canvas, Deliverable)
        return self.canvas

    @property
    def size(self) -> tuple[int, int]:
        """The deliverable's ``(width, height)`` in pixels."""
        return self.deliverable.size

    @property
    def names(self) -> tuple[str, ...]:
        """Each region's name: its ``name``, else its role/kind, numbered when repeated."""
        labels = [r.label for r in self.regions]
        counts = {label: labels.count(label) for label in labels}
        seen: dict[str, int] = {}
        out: list[str] = []
        for region, label in zip(self.regions, labels, strict=True):
            if region.name is not None:
                out.append(region.name)
                continue
            seen[label] = seen.get(label, 0) + 1
            out.append(f"{label}-{seen[label]}" if counts[label] > 1 else label)
        return tuple(out)

    def region(self, name: str) -> Region:
        """The region called ``name`` (see :attr:`names`)."""
        for n, region in zip(self.names, self.regions, strict=True):
            if n == name:
                return region
        raise ValidationError(
            Problem("region", name, "no region by that name", allowed=", ".join(self.names))
        )

    def box(self, region: Region | str, size: tuple[int, int] | None = None) -> tuple[int, ...]:
        """A region's ``(left, top, right, bottom)`` in pixels on an image of ``size``."""
        r = self.region(region) if isinstance(region, str) else region
        return resolve_box(r.box, size or self.size, base=self.size)

    def with_regions(self, *regions: Region) -> Layout:
        """A copy with more regions on top."""
        return replace(self, regions=(*self.regions, *regions))

    # -- size ------------------------------------------------------------------------------------

    def plan(self, model: str) -> SizePlan:
        """The size plan for this canvas on ``model`` (see :func:`~imagewright.sizing.plan_size`)."""
        return plan_size(self.deliverable, model=model)

    def planned_size(self, model: str) -> str | None:
        """The API ``size`` to request on ``model`` when the caller gives none."""
        return self.plan(model).api_size

    # -- prompt ----------------------------------------------------------------------------------

    def _container(self, region: Region) -> tuple[str, Box] | None:
        """The smallest picture region (not the whole canvas) that holds ``region``."""
        x, y, w, h = fraction_box(region.box, self.size)
        best: tuple[str, Box] | None = None
        for name, other in zip(self.names, self.regions, strict=True):
            if other is region or not isinstance(other, (ImageSlot, Shape)):
                continue
            ox, oy, ow, oh = fraction_box(other.box, self.size)
            inside = ox <= x and oy <= y and x + w <= ox + ow + 1e-9 and y + h <= oy + oh + 1e-9
            if (
                inside
                and not (ow >= 0.9 and oh >= 0.9)
                and (best is None or ow * oh < best[1][2] * best[1][3])
            ):
                best = (name, (ox, oy, ow, oh))
        return best

    def _place(self, region: Region) -> str:
        box = fraction_box(region.box, self.size)
        holder = self._container(region)
        if holder is None:
            return describe_place(box)
        name, (ox, oy, ow, oh) = holder
        rel = ((box[0] - ox) / ow, (box[1] - oy) / oh, box[2] / ow, box[3] / oh)
        where = describe_place(rel).split(" (")[0]
        return f"inside {name.replace('-', ' ')}, {where}"

    def _describe(self, name: str, region: Region) -> str:
        place = self._place(region)
        title = role_title(name)
        if isinstance(region, TextBlock):
            if self.text == "overlay":
                return (
                    f"- {title} area, {place}: keep it clean and uncluttered, no text; "
                    "type is added later."
                )
            return f'- {title} text "{region.text}", {place}: {region.lettering()}.'
        if isinstance(region, ImageSlot):
            return f"- {title}, {place}: {region.content.rstrip('.')}."
        if isinstance(region, Shape):
            fill = f" in {region.fill}" if region.fill else ""
            extra = f", {region.description.rstrip('.')}" if region.description else ""
            kind = "" if name.startswith(region.kind) else f" ({region.kind})"
            return f"- {title}{kind}{fill}, {place}{extra}."
        reason = f" ({region.reason})" if region.reason else ""
        return f"- Leave untouched, {place}{reason}."

    def _format_line(self) -> str:
        w, h = self.size
        kind = f"{self.kind}, " if self.kind else ""
        return f"Format: {kind}{_aspect_words(w, h)}."

    def _layout_lines(self) -> list[str]:
        if not self.regions:
            return []
        lines = ["Layout (each element in its place):"]
        lines += [self._describe(n, r) for n, r in zip(self.names, self.regions, strict=True)]
        return lines

    def _constraints(self) -> list[str]:
        blocks = [r for r in self.regions if isinstance(r, TextBlock)]
        out: list[str] = []
        if blocks and self.text == "model":
            out.append(
                "Render each quoted text exactly as written, letter for letter, in its place; "
                "no other text"
            )
        if self.text == "overlay":
            out.append("Draw no text, letters, numbers or logos anywhere in the image")
        if any(isinstance(r, Keep) for r in self.regions):
            out.append("The areas marked leave untouched stay exactly as they are")
        return out

    def compile(self, *, model: str | None = None) -> str:
        """The prompt text, after checking that every text fits and every glyph exists.

        Raises:
            TextFitError: A text does not fit its box at a readable size.
            GlyphError: The font cannot draw some characters (they are named).
            ValidationError: The prompt is over the model's limit, or template variables of
                the :class:`Prompt` are unfilled.
        """
        self.fit_text()
        paragraphs = self.prompt.sections(
            preamble=[self._format_line()],
            layout=self._layout_lines(),
            extra_constraints=self._constraints(),
        )
        return check_length("\n".join(paragraphs), model)

    # -- typography ------------------------------------------------------------------------------

    def _min_size(self, block: TextBlock, size: tuple[int, int]) -> int:
        if block.min_size is not None:
            return max(1, round(block.min_size * size[1] / self.size[1]))
        share = _READABLE.get(block.role, _READABLE_DEFAULT)
        return max(_READABLE_FLOOR, round(min(size) * share))

    def fit_text(self, size: tuple[int, int] | None = None) -> dict[str, FittedText]:
        """Fit every :class:`TextBlock` into its box on an image of ``size`` (default: canvas).

        Raises:
            TextFitError: A text does not fit at a readable size (names the region).
            GlyphError: The block's font cannot draw some of its characters.
        """
        size = size or self.size
        out: dict[str, FittedText] = {}
        for i, (name, region) in enumerate(zip(self.names, self.regions, strict=True)):
            if not isinstance(region, TextBlock):
                continue
            param = f"regions[{i}] ({name})"
            font = resolve_font(
                region.font, weight=region.weight, text=region.text, param=f"{param}.font"
            )
            left, top, right, bottom = self.box(region, size)
            scale = size[1] / self.size[1]
            out[name] = fit_text(
                region.text,
                (right - left, bottom - top),
                font,
                max_lines=region.max_lines,
                min_size=self._min_size(region, size),
                max_size=None if region.max_size is None else round(region.max_size * scale),
                align=region.align,
                valign=region.valign,
                line_spacing=region.line_spacing,
                stroke=round(region.outline * scale),
                param=f"{param}.text",
            )
        return out

    def render_text(self, image: Image.Image) -> Image.Image:
        """A copy of ``image`` with every :class:`TextBlock` set locally, fitted to its box.

        Boxes scale with the image, so any output of the layout's aspect works.

        Raises:
            TextFitError: A text does not fit at a readable size; nothing is drawn.
            GlyphError: A font cannot draw some characters; nothing is drawn.
        """
        from ._contrast import ink_for

        # Judge the picture under each box before any text is drawn on it; an automatic ink
        # that cannot reach WCAG AA there gets an outline in the other ink (fitted with it).
        inks: dict[str, str] = {}
        regions: list[Region] = []
        for r in self.regions:
            if isinstance(r, TextBlock):
                name = r.name or r.label
                inks[name], outline = ink_for(r, image, self.box(r, image.size), self.size)
                if outline is not None:
                    r = replace(r, outline=outline[0], outline_color=outline[1])
            regions.append(r)
        layout = replace(self, regions=tuple(regions))
        fitted = layout.fit_text(image.size)
        out = image.copy()
        for name, ft in fitted.items():
            region = layout.region(name)
            assert isinstance(region, TextBlock)
            left, top, _r, _b = layout.box(region, image.size)
            draw_text(
                out,
                ft,
                (left, top),
                color=inks[name],
                stroke_color=region.outline_color,
                param=f"{name}.color",
            )
        return out

    def finish(self, image: Image.Image) -> Image.Image:
        """Turn one model output into the deliverable: exact size, then the type in overlay mode."""
        out = fit_to(image, self.size)
        if self.text == "overlay":
            out = self.render_text(out)
        return out

    # -- guide and masks -------------------------------------------------------------------------

    def guide_image(
        self, size: tuple[int, int] | None = None, *, transparent: bool = False
    ) -> Image.Image:
        """A wireframe of the regions: outlined, tinted boxes with their names and texts.

        Args:
            size: Pixel size of the picture (default: the canvas).
            transparent: Transparent background (for ``markup``) instead of white.
        """
        size = size or self.size
        img = Image.new("RGBA", size, (0, 0, 0, 0) if transparent else (255, 255, 255, 255))
        overlay = Image.new("RGBA", size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        line = max(2, round(min(size) / 300))
        label_font = resolve_font(None).load(max(10, round(min(size) / 45)))
        fitted = self._safe_fit(size)
        for name, region in zip(self.names, self.regions, strict=True):
            colour = _GUIDE_COLOURS[type(region)]
            left, top, right, bottom = self.box(region, size)
            draw.rectangle(
                (left, top, right - 1, bottom - 1),
                fill=(*colour, 40),
                outline=(*colour, 255),
                width=line,
            )
            draw.text((left + 2 * line, top + 2 * line), name, font=label_font, fill=(*colour, 255))
            if name in fitted:
                grey = (90, 90, 90, 255)
                draw_text(overlay, fitted[name], (left, top), color=grey, stroke_color=grey)
        return Image.alpha_composite(img, overlay)

    def _repr_png_(self) -> bytes:
        """The wireframe, at most 512 pixels on its long side, for notebooks."""
        import io

        w, h = self.size
        scale = min(1.0, 512 / max(w, h))
        buf = io.BytesIO()
        self.guide_image((max(1, round(w * scale)), max(1, round(h * scale)))).save(buf, "PNG")
        return buf.getvalue()

    def _safe_fit(self, size: tuple[int, int]) -> dict[str, FittedText]:
        try:
            return self.fit_text(size)
        except ValidationError:
            return {}

    def reference_images(self, model: str) -> list[Image.Image]:
        """The guide to send as an extra reference image, when ``guide`` asks for one."""
        spec = lookup(model)
        takes_markup = spec is not None and spec.markup
        if self.guide == "reference" or (self.guide == "auto" and not takes_markup):
            return [self.guide_image(self.plan(model).api_dims).convert("RGB")]
        return []

    def markup(self, model: str, size: tuple[int, int] | None = None) -> Image.Image | None:
        """The guide as a transparent markup overlay, when ``guide`` asks for it and the model
        accepts markup; ``size`` should be the first input image's size."""
        spec = lookup(model)
        if self.guide not in ("markup", "auto") or spec is None or not spec.markup:
            if self.guide == "markup" and spec is not None and not spec.markup:
                raise ValidationError(
                    Problem(
                        "guide",
                        "markup",
                        f"{model} does not accept markup",
                        allowed="a gpt-image-2.5 model, or guide='reference'",
                        model=model,
                    )
                )
            return None
        return self.guide_image(size or self.plan(model).api_dims, transparent=True)

    def mask(self, *regions: Region | str, size: tuple[int, int] | None = None) -> Mask:
        """A :class:`~imagewright.masks.Mask` whose editable area is the given regions.

        With no region, every :class:`TextBlock` (to redo just the type in an edit).

        Examples:
            >>> layout = Layout.banner("Sale", image="shoes")
            >>> round(layout.mask("photo").coverage, 2)
            0.32
        """
        size = size or self.size
        chosen = regions or tuple(r for r in self.regions if isinstance(r, TextBlock))
        out = np.zeros((size[1], size[0]), dtype=bool)
        for region in chosen:
            out |= self.region_array(region, size)
        return Mask(out)

    def keep_mask(self, size: tuple[int, int] | None = None) -> Mask:
        """A :class:`~imagewright.masks.Mask` editable everywhere except the :class:`Keep` regions."""
        return Mask(self.keep_array(size))

    def region_array(
        self, region: Region | str, size: tuple[int, int] | None = None
    ) -> npt.NDArray[np.bool_]:
        """A boolean ``(height, width)`` array, ``True`` inside the region (the editable part)."""
        size = size or self.size
        left, top, right, bottom = self.box(region, size)
        out = np.zeros((size[1], size[0]), dtype=bool)
        out[top:bottom, left:right] = True
        return out

    def keep_array(self, size: tuple[int, int] | None = None) -> npt.NDArray[np.bool_]:
        """``True`` everywhere except inside :class:`Keep` regions: the editable part of an edit."""
        size = size or self.size
        out = np.ones((size[1], size[0]), dtype=bool)
        for region in self.regions:
            if isinstance(region, Keep):
                out &= ~self.region_array(region, size)
        return out

    # -- presets (built in ._presets) ---------------------------------------------------------

    poster = classmethod(_presets.poster)
    square_post = classmethod(_presets.square_post)
    story = classmethod(_presets.story)
    banner = classmethod(_presets.banner)
    product_card = classmethod(_presets.product_card)
    comic_page = classmethod(_presets.comic_page)
