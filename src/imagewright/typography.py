"""Exact local typography: font resolution, glyph coverage, fit-to-box text and drawing.

Fonts are resolved in a fixed order: an explicit font file, then a family name looked up among
installed fonts (directories in ``IMAGEWRIGHT_FONT_DIRS``, fonts shipped by Python packages,
the user's and the system's font directories), then common system fonts, then Pillow's
built-in default. A character the chosen font cannot draw is an error naming the character,
never a silent box. Text is fitted by a binary search on the font size with word wrap, a line
limit and alignment; a text that does not fit at a readable size raises before anything is
drawn (and, through :class:`~imagewright.layout.Layout`, before any request is sent).

Examples:
    >>> from imagewright.typography import fit_text, resolve_font
    >>> font = resolve_font(None, text="Hello world")
    >>> fitted = fit_text("Hello world", (400, 120), font, max_lines=2)
    >>> fitted.size > 20
    True
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageColor, ImageDraw, ImageFont

from .errors import GlyphError, Problem, TextFitError, ValidationError

__all__ = [
    "COMMON_FONTS",
    "FittedText",
    "FontRef",
    "GlyphError",
    "TextFitError",
    "draw_text",
    "fit_text",
    "line_bboxes",
    "missing_glyphs",
    "parse_colour",
    "resolve_font",
]

Align = Literal["left", "center", "right"]
VAlign = Literal["top", "middle", "bottom"]
Weight = Literal["regular", "bold"]

COMMON_FONTS: tuple[str, ...] = (
    "DejaVu Sans",
    "Noto Sans",
    "Liberation Sans",
    "Arial",
    "Helvetica",
    "FreeSans",
    "Roboto",
    "Open Sans",
)
"""Families tried, in order, when no family is given or the given one is not installed."""

_FONT_EXTS = (".ttf", ".otf", ".ttc")
_PROBE_SIZE = 32
# Codepoints no font maps (a noncharacter and a last-plane private-use point): they draw .notdef.
_NOTDEF_PROBES = ("\uffff", "\U0010fffd")


@dataclass(frozen=True)
class FontRef:
    """A resolved font: a file on disk, or Pillow's built-in default when ``path`` is ``None``.

    Attributes:
        path: The font file, or ``None`` for Pillow's default font.
        name: A readable name (``"DejaVu Sans Bold"``) for messages.
        index: The face index inside a ``.ttc`` collection.
    """

    path: str | None
    name: str
    index: int = 0

    def load(self, size: int) -> ImageFont.FreeTypeFont:
        """The font at ``size`` pixels."""
        return _load(self.path, self.index, size)


@functools.lru_cache(maxsize=512)
def _load(path: str | None, index: int, size: int) -> ImageFont.FreeTypeFont:
    if path is None:
        font = ImageFont.load_default(size=size)
        if not isinstance(font, ImageFont.FreeTypeFont):  # pragma: no cover - Pillow w/o FreeType
            raise RuntimeError("Pillow was built without FreeType; pass a font file")
        return font
    return ImageFont.truetype(path, size=size, index=index)


def _font_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("IMAGEWRIGHT_FONT_DIRS", "").split(os.pathsep) if p]
    # Fonts shipped by installed Python packages, found without importing them.
    for package, sub in (("matplotlib", "mpl-data/fonts/ttf"),):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            dirs.append(Path(spec.origin).parent / sub)
    home = Path.home()
    dirs += [home / ".fonts", home / ".local/share/fonts"]
    if sys.platform == "darwin":
        dirs += [home / "Library/Fonts", Path("/Library/Fonts"), Path("/System/Library/Fonts")]
    elif sys.platform == "win32":
        windir = os.environ.get("WINDIR", "C:\\Windows")
        dirs += [Path(windir) / "Fonts"]
    dirs += [Path("/usr/share/fonts"), Path("/usr/local/share/fonts")]
    return dirs


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[tuple[str, str, str], ...]:
    """Every installed font file as ``(normalised family, normalised style, path)``, in order."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for d in _font_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.rglob("*")):
            if path.suffix.lower() not in _FONT_EXTS or str(path) in seen:
                continue
            seen.add(str(path))
            try:
                family, style = ImageFont.truetype(str(path), size=12).getname()
            except OSError:
                continue
            out.append((_norm(family or path.stem), _norm(style or "regular"), str(path)))
    return tuple(out)


_STYLE_WORDS: dict[tuple[Weight, bool], tuple[str, ...]] = {
    ("regular", False): ("regular", "book", "roman", "normal", ""),
    ("bold", False): ("bold",),
    ("regular", True): ("italic", "oblique"),
    ("bold", True): ("bolditalic", "boldoblique"),
}


def _find_family(family: str, weight: Weight, italic: bool) -> FontRef | None:
    want = _norm(family)
    styles = _STYLE_WORDS[(weight, italic)]
    for fam, style, path in _installed():
        if fam == want and style in styles:
            label = family if style in ("", "regular", "book") else f"{family} {style.title()}"
            return FontRef(path, label)
    return None


def resolve_font(
    font: str | os.PathLike[str] | None,
    *,
    weight: Weight = "regular",
    italic: bool = False,
    text: str | None = None,
    param: str = "font",
) -> FontRef:
    """Find the font to draw with.

    Order: ``font`` as a file path; ``font`` as a family name among installed fonts; the
    :data:`COMMON_FONTS`; Pillow's default. With ``text``, a font picked automatically (no
    ``font`` given, or the family is not installed) must cover every character of ``text``;
    an explicitly chosen font that does not is an error.

    Args:
        font: A font file path, a family name (``"DejaVu Sans"``) or ``None``.
        weight: ``"regular"`` or ``"bold"``.
        italic: Prefer an italic/oblique face.
        text: The text to be drawn, to check glyph coverage.
        param: The parameter name used in errors.

    Raises:
        ValidationError: ``font`` looks like a file path that does not exist.
        GlyphError: The font cannot draw some characters of ``text`` (they are named).
    """
    if font is not None:
        fspath = os.fspath(font)
        if os.path.isfile(fspath):
            ref = FontRef(fspath, Path(fspath).stem)
            try:
                ref.load(12)
            except OSError as exc:
                raise ValidationError(
                    Problem(param, fspath, f"not a readable font file ({exc})")
                ) from exc
            return _checked(ref, text, param)
        if fspath.lower().endswith(_FONT_EXTS) or os.sep in fspath:
            raise ValidationError(
                Problem(param, fspath, "font file not found", allowed="an existing .ttf/.otf file")
            )
        ref_or_none = _find_family(fspath, weight, italic)
        if ref_or_none is None and weight == "bold":
            ref_or_none = _find_family(fspath, "regular", italic)
        if ref_or_none is not None:
            return _checked(ref_or_none, text, param)
    candidates = [r for fam in COMMON_FONTS if (r := _find_family(fam, weight, italic))]
    candidates += [r for fam in COMMON_FONTS if (r := _find_family(fam, "regular", False))]
    candidates.append(FontRef(None, "Pillow default"))
    if text is None:
        return candidates[0]
    for ref in candidates:
        if not missing_glyphs(ref, text):
            return ref
    # Last resort: any installed font that covers the text (e.g. a CJK or Arabic face).
    for _fam, _style, path in _installed():
        ref = FontRef(path, Path(path).stem)
        if not missing_glyphs(ref, text):
            return ref
    return _checked(candidates[0], text, param)


def _checked(ref: FontRef, text: str | None, param: str) -> FontRef:
    if text is None:
        return ref
    missing = missing_glyphs(ref, text)
    if missing:
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing)
        raise GlyphError(
            Problem(
                param,
                ref.name,
                f"the font cannot draw {shown}; they would render as empty boxes",
                allowed="a font that covers the text (pass a font file or family)",
            )
        )
    return ref


@functools.lru_cache(maxsize=64)
def _notdef_masks(path: str | None, index: int) -> frozenset[tuple[tuple[int, int], bytes]]:
    font = _load(path, index, _PROBE_SIZE)
    return frozenset(_mask(font, ch) for ch in _NOTDEF_PROBES)


def _mask(font: ImageFont.FreeTypeFont, ch: str) -> tuple[tuple[int, int], bytes]:
    m = font.getmask(ch)
    return (m.size, bytes(m))


@functools.lru_cache(maxsize=8192)
def _has_glyph(path: str | None, index: int, ch: str) -> bool:
    if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"):
        return True
    font = _load(path, index, _PROBE_SIZE)
    mask = _mask(font, ch)
    notdef = _notdef_masks(path, index)
    if mask in notdef:
        return False
    # A font whose .notdef is empty draws nothing for a missing character; a visible
    # character that draws nothing is missing too.
    return mask[0][0] * mask[0][1] > 0 and any(mask[1])


def missing_glyphs(font: FontRef, text: str) -> list[str]:
    """The distinct characters of ``text`` the font cannot draw, in order of appearance."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch not in out and not _has_glyph(font.path, font.index, ch):
            out.append(ch)
    return out


@dataclass(frozen=True)
class FittedText:
    """A text laid out in a box: the size found and where each line goes.

    Attributes:
        size: Font size in pixels.
        lines: The wrapped lines.
        origins: The ``(x, y)`` of each line for ``ImageDraw.text(..., anchor="la")``,
            relative to the box's top-left corner.
        bbox: The inked ``(left, top, right, bottom)`` of the whole block, relative to the box.
        font: The font used.
        stroke: Outline width in pixels.
    """

    size: int
    lines: tuple[str, ...]
    origins: tuple[tuple[int, int], ...]
    bbox: tuple[int, int, int, int]
    font: FontRef
    stroke: int = 0


def _breaks_anywhere(ch: str) -> bool:
    """Letters of scripts written without spaces (Chinese, Japanese) may break anywhere."""
    return unicodedata.east_asian_width(ch) in ("W", "F") and unicodedata.category(ch)[0] == "L"


def _tokens(para: str) -> list[tuple[str, str]]:
    """The unbreakable pieces of a paragraph, each with the separator that goes before it."""
    out: list[tuple[str, str]] = []
    for word in para.split():
        pieces: list[str] = []
        for ch in word:
            # Punctuation and Latin after a CJK letter stay attached to it (no line may start
            # with a closing mark).
            if not pieces or _breaks_anywhere(ch):
                pieces.append(ch)
            else:
                pieces[-1] += ch
        out += [(" " if k == 0 and out else "", piece) for k, piece in enumerate(pieces)]
    return out


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str] | None:
    """Greedy wrap at spaces (and between CJK characters); ``None`` when a piece that cannot
    be broken is wider than ``width``."""
    lines: list[str] = []
    for para in text.split("\n"):
        pieces = _tokens(para)
        if not pieces:
            lines.append("")
            continue
        line = pieces[0][1]
        if font.getlength(line) > width:
            return None
        for sep, piece in pieces[1:]:
            trial = f"{line}{sep}{piece}"
            if font.getlength(trial) <= width:
                line = trial
                continue
            if font.getlength(piece) > width:
                return None
            lines.append(line)
            line = piece
        lines.append(line)
    return lines


def _ink(font: ImageFont.FreeTypeFont, line: str, stroke: int) -> tuple[int, int, int, int]:
    """The whole-pixel box that contains a line's ink, relative to its ``"la"`` origin."""
    if not line:
        return (0, 0, 0, 0)
    left, top, right, bottom = font.getbbox(line, anchor="la", stroke_width=stroke)
    return (math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom))


def _layout_at(
    text: str,
    box: tuple[int, int],
    font_ref: FontRef,
    size: int,
    max_lines: int | None,
    align: Align,
    valign: VAlign,
    line_spacing: float,
    stroke: int,
) -> FittedText | None:
    font = font_ref.load(size)
    bw, bh = box
    lines = _wrap(text, font, bw)
    if lines is None or (max_lines is not None and len(lines) > max_lines):
        return None
    ascent, descent = font.getmetrics()
    step = max(1, round((ascent + descent) * line_spacing))
    boxes = [_ink(font, line, stroke) for line in lines]
    inked = [(i, b) for i, b in enumerate(boxes) if b[2] > b[0]]
    if not inked:
        return None
    top = min(b[1] + i * step for i, b in inked)
    bottom = max(b[3] + i * step for i, b in inked)
    widest = max(b[2] - b[0] for _, b in inked)
    if widest > bw or bottom - top > bh:
        return None
    slack_y = bh - (bottom - top)
    dy = {"top": 0, "middle": slack_y // 2, "bottom": slack_y}[valign] - top
    origins: list[tuple[int, int]] = []
    left = right = None
    for i, b in enumerate(boxes):
        slack_x = bw - (b[2] - b[0])
        dx = {"left": 0, "center": slack_x // 2, "right": slack_x}[align] - b[0]
        origins.append((dx, dy + i * step))
        if b[2] > b[0]:
            left = dx + b[0] if left is None else min(left, dx + b[0])
            right = dx + b[2] if right is None else max(right, dx + b[2])
    assert left is not None
    assert right is not None
    bbox = (left, top + dy, right, bottom + dy)
    return FittedText(size, tuple(lines), tuple(origins), bbox, font_ref, stroke)


def fit_text(
    text: str,
    box: tuple[int, int],
    font: FontRef,
    *,
    max_lines: int | None = None,
    min_size: int = 10,
    max_size: int | None = None,
    align: Align = "center",
    valign: VAlign = "middle",
    line_spacing: float = 1.15,
    stroke: int = 0,
    param: str = "text",
) -> FittedText:
    """The largest font size at which ``text`` fits a ``(width, height)`` box, and its layout.

    Binary search on the size between ``min_size`` and ``max_size`` (default: the box height),
    greedy word wrap at each size, at most ``max_lines`` lines, explicit newlines kept. The
    inked bounding box of every line, outline (``stroke`` pixels) included, stays inside.

    Raises:
        TextFitError: The text does not fit even at ``min_size`` (the readable minimum).
    """
    bw, bh = box
    hi = max(min_size, max_size if max_size is not None else bh)
    lo = min_size

    def attempt(size: int) -> FittedText | None:
        return _layout_at(text, box, font, size, max_lines, align, valign, line_spacing, stroke)

    best = attempt(lo) if bw > 0 else None
    if best is None:
        limit = f" in at most {max_lines} line(s)" if max_lines else ""
        raise TextFitError(
            Problem(
                param,
                text,
                f"does not fit a {bw}x{bh} px box{limit} even at {min_size} px, the smallest "
                "readable size",
                allowed="a shorter text, a bigger box, more lines or a smaller min_size",
            )
        )
    lo += 1
    while lo <= hi:
        mid = (lo + hi) // 2
        fitted = attempt(mid)
        if fitted is None:
            hi = mid - 1
        else:
            best, lo = fitted, mid + 1
    return best


def draw_text(
    image: Image.Image,
    fitted: FittedText,
    origin: tuple[int, int],
    *,
    color: str | tuple[int, ...] = "#000000",
    stroke_color: str | tuple[int, ...] = "#000000",
    param: str = "color",
) -> None:
    """Draw a fitted text onto ``image`` with its box's top-left corner at ``origin``."""
    fill = parse_colour(color, image.mode, param)
    outline = parse_colour(stroke_color, image.mode, param)
    draw = ImageDraw.Draw(image)
    font = fitted.font.load(fitted.size)
    for line, (x, y) in zip(fitted.lines, fitted.origins, strict=True):
        if line:
            draw.text(
                (origin[0] + x, origin[1] + y),
                line,
                font=font,
                fill=fill,
                anchor="la",
                stroke_width=fitted.stroke,
                stroke_fill=outline,
            )


def parse_colour(colour: str | tuple[int, ...], mode: str, param: str) -> tuple[int, ...]:
    """A colour as a fill tuple for an image of ``mode``; a clear error when it is not one."""
    try:
        rgb = ImageColor.getrgb(colour) if isinstance(colour, str) else tuple(colour)
    except ValueError as exc:
        raise ValidationError(
            Problem(param, colour, "not a colour", allowed="'#RRGGBB', a CSS colour name or RGB(A)")
        ) from exc
    if mode in ("L", "1", "I", "F") and len(rgb) >= 3:
        return (round(sum(rgb[:3]) / 3),)
    return rgb


def line_bboxes(
    fitted: FittedText, origin: tuple[int, int]
) -> Sequence[tuple[float, float, float, float]]:
    """Each non-empty line's inked box on the image, measured with ``ImageDraw.textbbox``."""
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    font = fitted.font.load(fitted.size)
    return [
        draw.textbbox(
            (origin[0] + x, origin[1] + y),
            line,
            font=font,
            anchor="la",
            stroke_width=fitted.stroke,
        )
        for line, (x, y) in zip(fitted.lines, fitted.origins, strict=True)
        if line.strip()
    ]
