"""Pictures and text of a session: the filmstrip of its steps, notebook HTML, a summary.

Machinery for :mod:`imagewright.session`, drawn with the helpers of :mod:`imagewright._display`
so a session looks like the results it is made of.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from ._display import _BG, _FG, _LINE, _caption, _font, _thumb, png_bytes

if TYPE_CHECKING:
    from ._session_step import SessionStep
    from .diff import Preservation
    from .session import BaseSession

__all__ = ["filmstrip", "step_lines", "summary_lines", "to_html"]

Line = tuple[str, bool | None]


def _verdict(pres: Preservation | None, none: str) -> Line:
    """``preserved 0.30%`` / ``LEAKED 0.62% (limit 0.50%)``, or ``none`` without a verdict."""
    if pres is None:
        return (none, None)
    out = pres.outside
    if pres.passed:
        return (f"preserved ({out.changed_fraction:.2%} changed)", True)
    return (f"LEAKED: {'; '.join(pres.reasons)}", False)


def _quoted(text: str, limit: int) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def step_lines(step: SessionStep) -> list[Line]:
    """What one step did: its number, instruction and cost, then its own verdict and the
    verdict since the source (and a drift warning when small leaks added up)."""
    own_text, own_ok = _verdict(step.preservation, "no mask: the whole image was editable")
    since_text, since_ok = _verdict(
        step.since_source, "nothing protected since the source (a step had no mask)"
    )
    lines: list[Line] = [
        (f"#{step.number} [{step.branch}] {_quoted(step.instruction, 48)}", None),
        (f"cost ${step.cost_usd:.4f}", None),
        (f"this step: {own_text}", own_ok),
        (f"since source: {since_text}", since_ok),
    ]
    if step.drifted:
        lines.append(("DRIFT: every step passed alone, but the leaks added up", False))
    return lines


def summary_lines(session: BaseSession) -> list[str]:
    """The session's summary: where it is, what it spent, then each step of the history."""
    branches = ", ".join(f"{name} (#{n})" for name, n in session.branches.items())
    w, h = session.origin.size
    out = [
        f"{type(session).__name__} on branch {session.branch_name!r}: "
        f"{len(session.history)} step(s) in the history, {len(session.steps)} made; "
        f"spent ${session.cost_usd:.4f}",
        f"branches: {branches}",
        f"source: {w}x{h} {session.origin.format}",
    ]
    for step in session.history:
        head, cost, own, since, *drift = step_lines(step)
        out.append(f"{head[0]}  {cost[0]}")
        out += [f"    {text}" for text, _ in (own, since, *drift)]
    return out


def _column(panels: list[tuple[str, Image.Image]], height: int) -> Image.Image:
    """Labelled thumbnails stacked top to bottom."""
    thumbs = [(label, _thumb(im, height)) for label, im in panels]
    width = max(t.width for _, t in thumbs) + 16
    canvas = Image.new("RGB", (width, sum(t.height + _LINE + 10 for _, t in thumbs)), _BG)
    draw = ImageDraw.Draw(canvas)
    y = 0
    for label, thumb in thumbs:
        draw.text((8, y + 4), label, fill=_FG, font=_font())
        canvas.paste(thumb, (8, y + _LINE + 6))
        y += thumb.height + _LINE + 10
    return canvas


def filmstrip(session: BaseSession, *, height: int = 160) -> Image.Image:
    """The source, then each step of the history (its image over its diff), captioned."""
    w, h = session.origin.size
    cells = [_caption(_column([("source", session.origin.image)], height), [(f"{w}x{h}", None)])]
    for step in session.history:
        panels = [(f"#{step.number}", step.output.image)]
        if step.result.diff is not None:
            panels.append(("diff", step.result.diff.heatmap_overlay))
        cells.append(_caption(_column(panels, height), step_lines(step)))
    strip = Image.new("RGB", (sum(c.width for c in cells), max(c.height for c in cells)), _BG)
    x = 0
    for cell in cells:
        strip.paste(cell, (x, 0))
        x += cell.width
    return strip


def to_html(session: BaseSession) -> str:
    """Notebook HTML: the filmstrip, then a table with one row per step of the history."""
    picture = base64.b64encode(png_bytes(filmstrip(session, height=128))).decode("ascii")
    rows = []
    for step in session.history:
        cells = [text for text, _ in step_lines(step)]
        rows.append(
            "<tr>"
            + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in cells[:4])
            + f"<td style='text-align:left;color:#c33'>{html.escape(' '.join(cells[4:]))}</td>"
            + "</tr>"
        )
    head = "".join(
        f"<th style='text-align:left'>{h}</th>"
        for h in ("step", "cost", "this step", "since source", "")
    )
    title = html.escape(repr(session))
    return (
        f"<div><div style='font-family:monospace'>{title}</div>"
        f"<img src='data:image/png;base64,{picture}' style='max-width:100%'/>"
        f"<table><tr>{head}</tr>{''.join(rows)}</table></div>"
    )
