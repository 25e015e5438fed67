"""The layout presets: poster, square post, story, banner, product card, comic page.

They are exposed as classmethods of :class:`~imagewright.layout.Layout` (``Layout.poster``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from .errors import Problem, ValidationError
from .prompt import Prompt
from .regions import Box, ImageSlot, Region, TextBlock

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .layout import Layout
    from .sizing import DeliverableSpec

TextMode = Literal["model", "overlay"]
GuideMode = Literal["none", "reference", "markup", "auto"]


def poster(
    cls: type[Layout],
    headline: str,
    *,
    subhead: str | None = None,
    body: str | None = None,
    cta: str | None = None,
    image: str | None = None,
    size: DeliverableSpec = "1024x1536",
    **options: Unpack[PresetOptions],
) -> Layout:
    """A portrait poster: headline on top, key visual in the middle, details below.

    Examples:
        >>> from imagewright.layout import Layout
        >>> Layout.poster("Jazz on the Roof", cta="Tickets at the door").names
        ('headline', 'cta')
    """
    return _preset(
        cls,
        "poster",
        size,
        [
            ("headline", headline, (0.06, 0.05, 0.88, 0.17), 2),
            ("subhead", subhead, (0.1, 0.23, 0.8, 0.06), 2),
            ("key visual", image, (0.08, 0.31, 0.84, 0.42), 0),
            ("body", body, (0.1, 0.75, 0.8, 0.1), 3),
            ("cta", cta, (0.25, 0.87, 0.5, 0.07), 1),
        ],
        options,
    )


def square_post(
    cls: type[Layout],
    headline: str,
    *,
    body: str | None = None,
    image: str | None = None,
    size: DeliverableSpec = "1080x1080",
    **options: Unpack[PresetOptions],
) -> Layout:
    """A square social post: headline on top, picture in the middle, a line of body text."""
    return _preset(
        cls,
        "square social post",
        size,
        [
            ("headline", headline, (0.08, 0.05, 0.84, 0.18), 2),
            ("photo", image, (0.1, 0.26, 0.8, 0.55), 0),
            ("body", body, (0.1, 0.84, 0.8, 0.1), 2),
        ],
        options,
    )


def story(
    cls: type[Layout],
    headline: str,
    *,
    body: str | None = None,
    cta: str | None = None,
    image: str | None = None,
    size: DeliverableSpec = "1080x1920",
    **options: Unpack[PresetOptions],
) -> Layout:
    """A 9:16 story: clear of the app's top and bottom bars, headline, picture, call to action."""
    return _preset(
        cls,
        "vertical story",
        size,
        [
            ("headline", headline, (0.08, 0.1, 0.84, 0.14), 3),
            ("photo", image, (0.08, 0.27, 0.84, 0.45), 0),
            ("body", body, (0.1, 0.74, 0.8, 0.08), 3),
            ("cta", cta, (0.2, 0.84, 0.6, 0.06), 1),
        ],
        options,
    )


def banner(
    cls: type[Layout],
    headline: str,
    *,
    subhead: str | None = None,
    cta: str | None = None,
    image: str | None = None,
    size: DeliverableSpec = "1200x628",
    **options: Unpack[PresetOptions],
) -> Layout:
    """A landscape banner (1200x628 by default): text on the left, picture on the right."""
    return _preset(
        cls,
        "landscape banner",
        size,
        [
            ("headline", headline, (0.05, 0.1, 0.5, 0.36), 2),
            ("subhead", subhead, (0.05, 0.48, 0.5, 0.16), 2),
            ("cta", cta, (0.05, 0.7, 0.3, 0.16), 1),
            ("photo", image, (0.58, 0.08, 0.38, 0.84), 0),
        ],
        options,
    )


def product_card(
    cls: type[Layout],
    name: str,
    *,
    product: str,
    price: str | None = None,
    description: str | None = None,
    size: DeliverableSpec = "1024x1024",
    **options: Unpack[PresetOptions],
) -> Layout:
    """A product card: the product on top, then its name, a description and the price."""
    return _preset(
        cls,
        "product card",
        size,
        [
            ("product", product, (0.1, 0.05, 0.8, 0.57), 0),
            ("headline", name, (0.08, 0.64, 0.84, 0.1), 2),
            ("body", description, (0.08, 0.75, 0.84, 0.11), 2),
            ("price", price, (0.3, 0.88, 0.4, 0.08), 1),
        ],
        options,
    )


def comic_page(
    cls: type[Layout],
    panels: int | Sequence[str],
    *,
    captions: Sequence[str | None] | None = None,
    title: str | None = None,
    columns: int | None = None,
    gutter: float = 0.02,
    size: DeliverableSpec = "1024x1536",
    **options: Unpack[PresetOptions],
) -> Layout:
    """A comic page: ``panels`` panels on a grid (reading order left to right, top to bottom),
    an optional title and a caption box at the top of each panel.

    Args:
        panels: How many panels, or what happens in each.
        captions: One caption (or ``None``) per panel.
        title: A title strip across the top.
        columns: Panels per row (default: 1 for one panel, 3 for nine or more, else 2).
        gutter: Space between panels, as a share of the canvas.

    Examples:
        >>> from imagewright.layout import Layout
        >>> Layout.comic_page(3).names
        ('panel-1', 'panel-2', 'panel-3')
    """
    scenes = [f"panel {i + 1}" for i in range(panels)] if isinstance(panels, int) else list(panels)
    if not scenes:
        raise ValidationError(
            Problem("panels", panels, "a page needs at least one panel", "1 or more")
        )
    if captions is not None and len(captions) != len(scenes):
        raise ValidationError(
            Problem(
                "captions",
                list(captions),
                "one caption (or None) per panel",
                f"{len(scenes)} items",
            )
        )
    cols = columns or (1 if len(scenes) == 1 else 3 if len(scenes) >= 9 else 2)
    rows = math.ceil(len(scenes) / cols)
    margin = 0.04
    top = margin + (0.1 if title else 0.0)
    cell_h = (1 - top - margin - gutter * (rows - 1)) / rows
    regions: list[Region] = []
    if title:
        regions.append(
            TextBlock(
                title,
                (margin, margin, 1 - 2 * margin, 0.08),
                role="headline",
                weight="bold",
                max_lines=1,
                color=options.get("color", "auto"),
            )
        )
    for i, scene in enumerate(scenes):
        row, col = divmod(i, cols)
        in_row = min(cols, len(scenes) - row * cols)  # the last row's panels widen to fill it
        cell_w = (1 - 2 * margin - gutter * (in_row - 1)) / in_row
        x = margin + col * (cell_w + gutter)
        y = top + row * (cell_h + gutter)
        box = (x, y, cell_w, cell_h)
        regions.append(ImageSlot(scene, box, kind="panel", name=f"panel-{i + 1}"))
        if captions is not None and captions[i]:
            cap = (x + 0.01, y + 0.01, cell_w - 0.02, min(0.06, cell_h * 0.2))
            regions.append(
                TextBlock(
                    captions[i] or "",
                    cap,
                    role="caption",
                    name=f"caption-{i + 1}",
                    align="left",
                    max_lines=2,
                    color=options.get("color", "auto"),
                )
            )
    base = options.get("prompt") or Prompt()
    if base.composition is None:
        grid = f"{rows} rows of {cols}" if rows > 1 else "one row"
        composition = (
            f"{len(scenes)} panels in {grid}, read left to right, top to bottom, separated by "
            "white gutters"
            if len(scenes) > 1
            else "a single full-page panel"
        )
        options = {**options, "prompt": replace(base, composition=composition)}
    return _build(cls, "comic page", size, regions, options)


class PresetOptions(TypedDict, total=False):
    """Options every preset accepts."""

    style: str
    """Visual style, e.g. ``"risograph print"``."""
    background: str
    """The scene behind everything."""
    prompt: Prompt
    """More direction (lighting, palette, constraints...)."""
    text: TextMode
    """``"model"`` or ``"overlay"``."""
    guide: GuideMode
    """How to send the wireframe."""
    font: str
    """Font file or family for every text block."""
    color: str
    """Text colour for every text block."""
    outline: int
    """Outline width in pixels around the letters of every text block (local rendering)."""
    outline_color: str
    """Colour of that outline."""


def _build(
    cls: type[Layout],
    kind: str,
    size: DeliverableSpec,
    regions: Sequence[Region],
    options: PresetOptions,
) -> Layout:
    base = options.get("prompt") or Prompt()
    prompt = replace(
        base,
        style=options.get("style", base.style),
        scene=options.get("background", base.scene),
    )
    text_style: dict[str, Any] = {
        k: v for k, v in options.items() if k in ("font", "outline", "outline_color")
    }
    if text_style:
        regions = [replace(r, **text_style) if isinstance(r, TextBlock) else r for r in regions]
    return cls(
        size,
        regions,
        prompt=prompt,
        text=options.get("text", "model"),
        guide=options.get("guide", "none"),
        kind=kind,
    )


def _preset(
    cls: type[Layout],
    kind: str,
    size: DeliverableSpec,
    slots: Sequence[tuple[str, str | None, Box, int]],
    options: PresetOptions,
) -> Layout:
    """Regions from ``(role, content, box, max_lines)``; ``max_lines == 0`` marks a picture."""
    color = options.get("color", "auto")
    regions: list[Region] = []
    for role, content, box, max_lines in slots:
        if content is None:
            continue
        if max_lines == 0:
            regions.append(ImageSlot(content, box, kind=role))
        else:
            bold = role in ("headline", "cta", "price")
            regions.append(
                TextBlock(
                    content,
                    box,
                    role=role,
                    weight="bold" if bold else "regular",
                    color=color,
                    max_lines=max_lines,
                )
            )
    return _build(cls, kind, size, regions, options)
