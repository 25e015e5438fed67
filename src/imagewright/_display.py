"""Pictures of results: side-by-side comparisons, notebook HTML, annotated contact sheets.

Machinery for :mod:`imagewright.results`; everything is drawn with Pillow's default font and
plain ASCII so it renders the same everywhere.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from .results import Result

__all__ = [
    "comparison",
    "contact_sheet",
    "cost_text",
    "header_lines",
    "output_lines",
    "png_bytes",
    "share_text",
    "summary_lines",
    "to_html",
]

_BG = (24, 24, 28)
_FG = (235, 235, 235)
_BAD = (255, 110, 90)
_GOOD = (120, 220, 140)
_LINE = 14


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(12)


def _thumb(image: Image.Image, height: int) -> Image.Image:
    im = image.convert("RGBA")
    width = max(1, round(im.width * height / im.height))
    im = im.resize((width, height), Image.Resampling.LANCZOS)
    # Transparent pixels show on a mid grey, not as black.
    back = Image.new("RGBA", im.size, (128, 128, 128, 255))
    return Image.alpha_composite(back, im).convert("RGB")


def _row(images: Sequence[tuple[str, Image.Image]], height: int) -> Image.Image:
    thumbs = [(label, _thumb(im, height)) for label, im in images]
    width = sum(t.width for _, t in thumbs) + 8 * (len(thumbs) + 1)
    canvas = Image.new("RGB", (width, height + _LINE + 12), _BG)
    draw = ImageDraw.Draw(canvas)
    x = 8
    for label, thumb in thumbs:
        draw.text((x, 4), label, fill=_FG, font=_font())
        canvas.paste(thumb, (x, _LINE + 6))
        x += thumb.width + 8
    return canvas


def header_lines(result: Result, index: int = 0) -> list[tuple[str, bool | None]]:
    """Model, size, quality, time and the call's cost (text, verdict: good / bad / neutral).

    The cost is the whole call's; with several outputs the line says so, and how many.
    """
    size = result.outputs[index].size if index < len(result.outputs) else None
    head = f"{result.model or '?'}  {size[0]}x{size[1]}" if size else f"{result.model or '?'}"
    return [
        (f"{head}  q={result.quality or '?'}  {result.timings.elapsed_s:.1f}s", None),
        (cost_text(result), None),
    ]


def cost_text(result: Result) -> str:
    """``cost $0.0123`` for one output; ``cost $0.0492 for the call (4 images)`` for more."""
    cost = result.cost
    if cost is None:
        return "cost: no usage reported"
    n = len(result.outputs)
    return f"cost ${cost.total_usd:.4f}" + (f" for the call ({n} images)" if n > 1 else "")


def share_text(result: Result) -> str:
    """One output's labelled share of the call's cost (for cells that show one output)."""
    cost = result.cost
    if cost is None:
        return "cost: no usage reported"
    n = len(result.outputs)
    if n == 1:
        return f"cost ${cost.total_usd:.4f}"
    return f"share ${cost.total_usd / n:.4f} (1/{n} of ${cost.total_usd:.4f})"


def output_lines(result: Result, index: int) -> list[tuple[str, bool | None]]:
    """What happened to output ``index``: the edit, the preservation verdict, the contract
    checks, then one verdict line that names everything that failed (never "ok" next to a
    failure)."""
    lines: list[tuple[str, bool | None]] = []
    failures: list[str] = []
    if index < len(result.diffs):
        d = result.diffs[index]
        pres = d.preservation
        resized = "  (source resized to compare)" if d.source_resized else ""
        if pres is None or d.inside is None:
            lines.append((f"changed {d.changed_fraction:.1%}  SSIM {d.ssim:.3f}{resized}", None))
        else:
            lines.append((f"edited {d.inside.changed_fraction:.1%} of the mask{resized}", None))
            lines.append((pres.describe(), pres.passed))
            if not pres.passed:
                failures.append("the protected area changed")
    reading = result.text_check(index)
    if reading is not None:
        lines.append((reading.summary(), reading.passed))
        if not reading.passed:
            names = ", ".join(f'"{s.expected}"' for s in reading.failed)
            failures.append(f"text FAILED: {names}")
    # the text strings are judged on the line above; the contract is everything else
    checks = [
        c
        for c in result.checks_for(index)
        if not c.name.startswith("text") and (c.severity == "error" or not c.passed)
    ]
    failed = [c for c in checks if not c.passed and c.severity == "error"]
    if failed:
        names = ", ".join(c.name for c in failed)
        lines.append((f"contract checks FAILED: {names}", False))
        failures.append(f"contract check failed: {names}")
    else:
        lines.append((f"contract checks: all {len(checks)} passed", None))
    verdict = "verdict: PASS" if not failures else "verdict: FAIL: " + "; ".join(failures)
    lines.append((verdict, not failures))
    return lines


def summary_lines(result: Result, index: int = 0) -> list[tuple[str, bool | None]]:
    """Short lines about one output, for captions (its labelled share of the call's cost)."""
    head = header_lines(result, index)
    return [head[0], (share_text(result), None), *output_lines(result, index)]


_MIN_CAPTION_WIDTH = 256


def _wrap(text: str, width: float, font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` pixels (long words kept)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and font.getlength(lines[-1] + " " + word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _caption(canvas: Image.Image, lines: list[tuple[str, bool | None]]) -> Image.Image:
    font = _font()
    # At least a readable width (a portrait thumbnail is narrow), and long lines wrap: the
    # caption is never clipped, whatever the picture's aspect.
    width = max(canvas.width, _MIN_CAPTION_WIDTH)
    lines = [(part, good) for text, good in lines for part in _wrap(text, width - 16, font)]
    out = Image.new("RGB", (width, canvas.height + _LINE * len(lines) + 8), _BG)
    out.paste(canvas, (0, 0))
    draw = ImageDraw.Draw(out)
    y = canvas.height + 2
    for text, good in lines:
        colour = _FG if good is None else (_GOOD if good else _BAD)
        draw.text((8, y), text, fill=colour, font=font)
        y += _LINE
    return out


def comparison(
    result: Result, index: int = 0, *, height: int = 256, caption: bool = True
) -> Image.Image:
    """Source | output | diff for an edit (the outputs side by side for a generation)."""
    panels: list[tuple[str, Image.Image]] = []
    if result.source is not None:
        panels.append(("source", result.source))
    if result.diffs and index < len(result.diffs):
        panels.append((f"output {index}", _outlined(result, index)))
        panels.append(("diff", result.diffs[index].heatmap_overlay))
    else:
        panels += [(f"output {o.index}", _outlined(result, o.index)) for o in result.outputs]
    canvas = _row(panels, height)
    return _caption(canvas, summary_lines(result, index)) if caption else canvas


def _outlined(result: Result, index: int) -> Image.Image:
    """Output ``index``, with its text check's strings outlined when one was run."""
    check = result.text_check(index)
    if check is None:
        return result.outputs[index].image
    from .text import outline_failures

    return outline_failures(result.outputs[index].image, check)


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as PNG."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def to_html(result: Result) -> str:
    """Notebook HTML: the comparison picture and a table of the key numbers (the call's cost
    once, then one row per output)."""
    picture = base64.b64encode(png_bytes(comparison(result, caption=False))).decode("ascii")
    prompt = result.prompt_text
    rows = [("prompt", prompt if len(prompt) <= 300 else prompt[:297] + "...")]
    head = header_lines(result)
    rows.append(("call", f"{head[0][0]} | {cost_text(result)}"))
    rows += [
        (f"output {i}", " | ".join(t for t, _ in output_lines(result, i)))
        for i in range(len(result.outputs))
    ]
    if result.request_id:
        rows.append(("request id", result.request_id))
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return (
        f"<div><img src='data:image/png;base64,{picture}' style='max-width:100%'/>"
        f"<table>{cells}</table></div>"
    )


def contact_sheet(results: Sequence[Result], *, columns: int = 4, cell: int = 256) -> Image.Image:
    """An annotated grid with one cell per output of every result, labelled ``#result.output``,
    with its share of the call's cost, time, preservation and checks."""
    if not results:
        raise ValueError("results_grid needs at least one result")
    if columns < 1:
        raise ValueError(f"columns={columns!r}: must be >= 1")
    cells = []
    for i, result in enumerate(results):
        for k, out in enumerate(result.outputs):
            thumb = _thumb(out.image, cell)
            thumb.thumbnail((cell, cell))
            tile = Image.new("RGB", (cell, cell), _BG)
            tile.paste(thumb, ((cell - thumb.width) // 2, (cell - thumb.height) // 2))
            label = (
                f"#{i}"
                if len(result.outputs) == 1
                else f"#{i}.{k} (output {k + 1} of {len(result.outputs)})"
            )
            framed = _row([(label, tile)], cell)
            cells.append(_caption(framed, summary_lines(result, k)))
    width = max(c.width for c in cells)
    height = max(c.height for c in cells)
    rows = -(-len(cells) // columns)
    sheet = Image.new("RGB", (width * min(columns, len(cells)), height * rows), _BG)
    for i, c in enumerate(cells):
        sheet.paste(c, ((i % columns) * width, (i // columns) * height))
    return sheet
