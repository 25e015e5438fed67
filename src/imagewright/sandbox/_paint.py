"""Deterministic pictures: scenes for generations, visible masked changes for edits.

Nothing here is a model. Every picture is a pure function of the request (hashes seed the
colours and shapes), so the same request always gives the same pixels, and the changes are
easy to see and to check: quoted prompt text is drawn legibly, and an edit touches only the
editable area of the mask (unless leakage is switched on).
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "MARK",
    "apply_typos",
    "encode",
    "leak",
    "min_alpha",
    "paint_edit",
    "paint_scene",
    "partial",
    "quoted_strings",
    "seed_of",
]

# FreeType faces must not be used from two threads at once; the server draws from many.
_FONT_LOCK = threading.Lock()

MARK = "SANDBOX"
"""The corner mark drawn on every image the sandbox makes."""

_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”')
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
_FONT_NAMES = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "Arial Bold.ttf",
    "arialbd.ttf",
    "Arial.ttf",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
BoolArray = npt.NDArray[np.bool_]


def min_alpha(image: Image.Image) -> int:
    """The lowest alpha value of an RGBA image (255 when it is fully opaque)."""
    return int(np.asarray(image.getchannel("A")).min())


def seed_of(*parts: object) -> int:
    """A stable 64-bit seed from any reprs (stable across runs, unlike ``hash``)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def quoted_strings(prompt: str) -> list[str]:
    """Every string the prompt puts in straight or curly double quotes, in order."""
    return [a or b for a, b in _QUOTED.findall(prompt) if (a or b).strip()]


def apply_typos(text: str, rate: float, seed: int) -> str:
    """``text`` with a fraction ``rate`` of its letters replaced (at least one when ``rate > 0``)."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha() and ch.isascii()]
    if rate <= 0 or not letters:
        return text
    count = max(1, round(rate * len(letters)))
    rng = np.random.default_rng(seed)
    chars = list(text)
    for i in rng.choice(letters, size=min(count, len(letters)), replace=False):
        base = ord("a") if chars[i].islower() else ord("A")
        chars[i] = chr(base + (ord(chars[i]) - base + 1) % 26)
    return "".join(chars)


@lru_cache(maxsize=1)
def _font_path() -> str | None:
    for folder in _FONT_DIRS:
        root = Path(folder)
        if not root.is_dir():
            continue
        for name in _FONT_NAMES:
            found = next(root.rglob(name), None)
            if found is not None:
                return str(found)
    return None


@lru_cache(maxsize=64)
def _font(size: int) -> Font:
    path = _font_path()
    if path is not None:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _text_size(draw: ImageDraw.ImageDraw, text: str, font: Font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return int(right - left), int(bottom - top)


def _draw_lines(image: Image.Image, lines: list[str], box: tuple[int, int, int, int]) -> None:
    """Draw ``lines`` centred in ``box`` on light plates, as large as fits."""
    if not lines:
        return
    with _FONT_LOCK:
        _draw_lines_locked(image, lines, box)


def _draw_lines_locked(
    image: Image.Image, lines: list[str], box: tuple[int, int, int, int]
) -> None:
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    draw = ImageDraw.Draw(image)
    size = max(8, min(height // (2 * len(lines) + 1), 160))
    longest = max(lines, key=len)
    while size > 8 and _text_size(draw, longest, _font(size))[0] > 0.85 * width:
        size = max(8, int(size * 0.85))
    font = _font(size)
    pad = max(2, size // 5)
    step = size + 3 * pad
    y = y0 + (height - step * len(lines)) // 2 + pad
    for line in lines:
        tw, _ = _text_size(draw, line, font)
        x = x0 + (width - tw) // 2
        left, top, right, bottom = draw.textbbox((x, y), line, font=font)
        draw.rectangle(
            (left - pad, top - pad, right + pad, bottom + pad), fill=(250, 250, 245, 255)
        )
        draw.text((x, y), line, font=font, fill=(15, 15, 20, 255))
        y += step


def _draw_mark(image: Image.Image, box: tuple[int, int, int, int]) -> None:
    """Draw the small ``SANDBOX`` mark in the bottom-right corner of ``box``."""
    with _FONT_LOCK:
        _draw_mark_locked(image, box)


def _draw_mark_locked(image: Image.Image, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    size = max(8, min(x1 - x0, y1 - y0) // 40)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    tw, th = _text_size(draw, MARK, font)
    pad = max(2, size // 4)
    x, y = x1 - tw - 3 * pad, y1 - th - 3 * pad
    left, top, right, bottom = draw.textbbox((x, y), MARK, font=font)
    draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=(20, 20, 20, 255))
    draw.text((x, y), MARK, font=font, fill=(255, 214, 0, 255))


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int, int]:
    r, g, b = (int(v) for v in rng.integers(low, high, size=3))
    return (r, g, b, 255)


def paint_scene(
    prompt: str, width: int, height: int, *, index: int, transparent: bool, texts: list[str]
) -> Image.Image:
    """A generated picture: a gradient sky, hills, a sun and blocks, then the quoted ``texts``.

    With ``transparent`` the background pixels have alpha 0 and only the shapes are opaque.
    """
    rng = np.random.default_rng(seed_of("scene", prompt, index))
    top, bottom = np.array(_colour(rng)[:3]), np.array(_colour(rng)[:3])
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    sky = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    pixels = np.empty((height, width, 4), dtype=np.uint8)
    pixels[..., :3] = np.broadcast_to(sky, (height, width, 3))
    pixels[..., 3] = 0 if transparent else 255
    image = Image.fromarray(pixels, "RGBA")
    draw = ImageDraw.Draw(image)
    radius = int(min(width, height) * rng.uniform(0.06, 0.14))
    cx, cy = int(width * rng.uniform(0.15, 0.85)), int(height * rng.uniform(0.1, 0.35))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=_colour(rng, 180))
    for layer in range(3):
        base = height * (0.55 + 0.12 * layer)
        xs = np.linspace(0, width, 9)
        ys = base - rng.uniform(0, height * 0.18, size=xs.size)
        points = [
            (0.0, float(height)),
            *zip(xs.tolist(), ys.tolist(), strict=True),
            (float(width), float(height)),
        ]
        draw.polygon(points, fill=_colour(rng, 20, 200))
    for _ in range(int(rng.integers(3, 7))):
        w, h = int(width * rng.uniform(0.04, 0.12)), int(height * rng.uniform(0.08, 0.3))
        x, y = int(rng.uniform(0, width - w)), int(height - h - rng.uniform(0, height * 0.1))
        draw.rectangle((x, y, x + w, y + h), fill=_colour(rng, 40, 230))
    _draw_lines(image, texts, (0, 0, width, height))
    _draw_mark(image, (0, 0, width, height))
    return image


def _transform(
    rgb: npt.NDArray[np.uint8], seed: int, tint: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """A visible, deterministic restyle: hue rotation, posterisation and diagonal stripes."""
    rng = np.random.default_rng(seed)
    rotated = np.roll(rgb, shift=int(rng.integers(1, 3)), axis=2)
    out = (rotated // 64) * 64 + 32
    height, width = rgb.shape[:2]
    stripe = max(4, min(width, height) // 24)
    yy, xx = np.ogrid[:height, :width]
    band = ((xx + yy) // stripe) % 2 == 0
    blended = (out.astype(np.uint16) * 3 + tint.astype(np.uint16) * 2) // 5
    out = np.where(band[..., None], blended, out)
    return out.astype(np.uint8)


def paint_edit(
    source: Image.Image,
    editable: BoolArray | None,
    *,
    prompt: str,
    references: list[Image.Image],
    texts: list[str],
    keep_alpha: bool,
) -> Image.Image:
    """Edit ``source`` (RGBA) inside ``editable`` only; everywhere when ``editable`` is None.

    The edited area gets a restyle tinted by the mean colour of the other input images, the
    quoted ``texts`` in its bounding box and the corner mark. Pixels outside it are untouched.
    """
    base = np.asarray(source.convert("RGBA"))
    height, width = base.shape[:2]
    area = np.ones((height, width), dtype=bool) if editable is None else editable
    if not area.any():
        return Image.fromarray(base.copy(), "RGBA")
    ys, xs = np.nonzero(area)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    if references:
        tint = np.mean(
            [
                np.asarray(r.convert("RGB").resize((8, 8))).reshape(-1, 3).mean(0)
                for r in references
            ],
            axis=0,
        )
    else:
        tint = np.array(_colour(np.random.default_rng(seed_of("tint", prompt)))[:3])
    painted = base.copy()
    painted[..., :3] = _transform(base[..., :3], seed_of("edit", prompt), tint.astype(np.uint8))
    if not keep_alpha:
        painted[..., 3] = 255
    layer = Image.fromarray(painted, "RGBA")
    _draw_lines(layer, texts, box)
    _draw_mark(layer, box)
    out = np.where(area[..., None], np.asarray(layer), base)
    return Image.fromarray(out.astype(np.uint8), "RGBA")


def leak(
    image: Image.Image, protected: BoolArray, *, fraction: float, delta: int, seed: int
) -> Image.Image:
    """Change a ``fraction`` of the ``protected`` pixels' RGB by exactly ``delta`` (drift)."""
    pixels = np.array(image.convert("RGBA"))
    ys, xs = np.nonzero(protected)
    count = round(fraction * ys.size)
    if count == 0:
        return image
    rng = np.random.default_rng(seed)
    pick = rng.choice(ys.size, size=count, replace=False)
    rgb = pixels[ys[pick], xs[pick], :3].astype(np.int16)
    # Move down where moving up would clip, so every picked pixel really changes by delta.
    moved = np.where(rgb + delta > 255, rgb - delta, rgb + delta)
    pixels[ys[pick], xs[pick], :3] = moved.astype(np.uint8)
    return Image.fromarray(pixels, "RGBA")


def partial(image: Image.Image, index: int, total: int) -> Image.Image:
    """The ``index``-th of ``total`` partial previews: pixelated, sharper as ``index`` grows."""
    block = 2 ** (total - index + 2)
    width, height = image.size
    small = image.resize((max(1, width // block), max(1, height // block)), Image.Resampling.BOX)
    return small.resize((width, height), Image.Resampling.NEAREST)


def encode(image: Image.Image, fmt: str, compression: int | None, *, transparent: bool) -> bytes:
    """Encode for the wire: PNG (lossless), JPEG or WebP (``compression`` 0..100 = quality)."""
    buffer = io.BytesIO()
    if fmt == "jpeg" or not transparent:
        image = _flatten(image)
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=1)
    elif fmt == "jpeg":
        image.save(buffer, "JPEG", quality=95 if compression is None else max(1, compression))
    else:
        image.save(buffer, "WEBP", quality=90 if compression is None else compression)
    return buffer.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode != "RGBA":
        return image.convert("RGB")
    alpha = np.asarray(image)[..., 3]
    if alpha.min() == 255:
        return image.convert("RGB")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")
