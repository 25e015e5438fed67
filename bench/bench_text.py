"""How far to trust a text check: the OCR's own accuracy and speed, on pictures with known text.

Renders test images locally (real fonts: the DejaVu family when installed, else Pillow's
bundled default font at sizes), varying font, size, colour, rotation (up to 15 degrees),
background and length, with known ground truth. Then it measures, with imagewright's default
engine (RapidOCR, the ``ocr`` extra):

* quality: CVTG-2K word accuracy and NED of the OCR on correct pictures, the share of correct
  strings the check wrongly fails (false alarms), and the share of misspelt strings (one letter
  changed) it catches, overall and by condition;
* speed: the first call (model load + first read, in a fresh process), a read of a 1024x1024
  image, a read of one known text box; the memory the engine adds.

Run: python bench/bench_text.py [--count 240] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import string
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from imagewright.text import ExpectedText, check_image, default_engine

WORDS = [
    "grand",
    "opening",
    "sale",
    "summer",
    "winter",
    "autumn",
    "spring",
    "coffee",
    "bakery",
    "fresh",
    "daily",
    "open",
    "closed",
    "tickets",
    "free",
    "entry",
    "live",
    "music",
    "jazz",
    "night",
    "market",
    "organic",
    "garden",
    "studio",
    "gallery",
    "weekend",
    "special",
    "offer",
    "limited",
    "edition",
    "premium",
    "quality",
    "handmade",
    "local",
    "craft",
    "beer",
    "wine",
    "pizza",
    "burger",
    "noodles",
    "tea",
    "books",
    "vintage",
    "records",
    "cinema",
    "theatre",
    "festival",
    "concert",
    "yoga",
    "fitness",
    "library",
    "museum",
    "harbour",
    "station",
    "platform",
    "exit",
    "north",
    "south",
    "east",
    "west",
    "street",
    "avenue",
]
EXTRAS = ("10am", "24/7", "$19.99", "50%", "2026", "No. 7", "Tel 555-0142", "8:30pm")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_files() -> list[str]:
    """Real TrueType fonts to render with: the DejaVu family when installed."""
    root = Path("/usr/share/fonts/truetype/dejavu")
    names = (
        "DejaVuSans.ttf",
        "DejaVuSans-Bold.ttf",
        "DejaVuSerif.ttf",
        "DejaVuSerif-Bold.ttf",
        "DejaVuSansMono.ttf",
        "DejaVuSansCondensed.ttf",
        "DejaVuSans-Oblique.ttf",
    )
    return [str(root / n) for n in names if (root / n).exists()]


def load_font(path: str | None, size: int) -> Font:
    if path is None:
        return ImageFont.load_default(size=size)  # Pillow's bundled font (no system fonts)
    return ImageFont.truetype(path, size)


def phrase(rng: random.Random) -> str:
    n = rng.choice((1, 1, 2, 2, 3, 4, 6))
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.25:
        words.append(rng.choice(EXTRAS))
    style = rng.random()
    text = " ".join(words)
    return text.upper() if style < 0.4 else (text.title() if style < 0.7 else text)


def misspell(text: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    i = rng.choice(letters)
    options = [c for c in string.ascii_letters if c.lower() != text[i].lower()]
    return text[:i] + rng.choice(options) + text[i + 1 :]


def background(size: tuple[int, int], kind: str, rng: random.Random) -> Image.Image:
    w, h = size
    if kind == "solid":
        return Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    if kind == "gradient":
        a = [rng.randrange(256) for _ in range(3)]
        b = [rng.randrange(256) for _ in range(3)]
        im = Image.linear_gradient("L").resize(size)
        return Image.merge(
            "RGB",
            [
                im.point(lambda v, x=x, y=y: x + (y - x) * v // 255)
                for x, y in zip(a, b, strict=False)
            ],
        )
    # "texture": coloured noise, blurred, like a busy photo behind the text.
    noise = Image.effect_noise((w // 8, h // 8), 80).convert("RGB")
    tint = Image.new("RGB", noise.size, tuple(rng.randrange(256) for _ in range(3)))
    return Image.blend(noise, tint, 0.5).resize(size).filter(ImageFilter.GaussianBlur(3))


def contrast_colour(back: Image.Image, box: tuple[int, int, int, int], rng: random.Random) -> tuple:
    mean = float(np.asarray(back.crop(box).convert("L")).mean())
    base = rng.randrange(0, 70) if mean > 128 else rng.randrange(190, 256)
    hue = [base + rng.randrange(-40, 40) for _ in range(3)]
    return tuple(max(0, min(255, v)) for v in hue)


@dataclass
class Sample:
    image: Image.Image
    drawn: list[str]  # what is really in the picture
    expected: list[str]  # what the check is told to look for
    boxes: list[tuple[int, int, int, int]]
    tags: dict[str, str]


def render_simple(rng: random.Random, fonts: list[str | None], *, typo: bool) -> Sample:
    """One picture: 1..3 strings, each in its own band; with ``typo`` the first is misspelt."""
    size = rng.choice(((640, 640), (768, 512), (512, 768)))
    bg_kind = rng.choice(("solid", "gradient", "texture"))
    image = background(size, bg_kind, rng)
    font_path = rng.choice(fonts)
    angle = rng.uniform(-15, 15) if rng.random() < 0.6 else 0.0
    px = rng.choice((14, 18, 24, 32, 48, 64, 96))
    n_lines = 1 if typo else rng.choice((1, 1, 2, 3))
    drawn: list[str] = []
    expected: list[str] = []
    boxes: list[tuple[int, int, int, int]] = []
    band = size[1] // n_lines
    for k in range(n_lines):
        text = phrase(rng)
        shown = misspell(text, rng) if typo else text
        size_px = px
        font = load_font(font_path, size_px)
        while font.getbbox(shown)[2] > 0.8 * size[0] and size_px > 12:
            size_px = int(size_px * 0.85)
            font = load_font(font_path, size_px)
        left, top, right, bottom = font.getbbox(shown)
        tw, th = right - left + 8, bottom - top + 8
        layer = Image.new("RGBA", (tw, th), (0, 0, 0, 0))
        if angle:
            rad = math.radians(abs(angle))
            rw = int(tw * math.cos(rad) + th * math.sin(rad)) + 2
            rh = int(tw * math.sin(rad) + th * math.cos(rad)) + 2
        else:
            rw, rh = tw, th
        x = rng.randrange(0, max(1, size[0] - rw))
        y = k * band + rng.randrange(0, max(1, band - rh))
        colour = contrast_colour(image, (x, y, x + rw, y + rh), rng)
        ImageDraw.Draw(layer).text((4 - left, 4 - top), shown, font=font, fill=(*colour, 255))
        if angle:
            layer = layer.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
        image.paste(layer, (x, y), layer)
        drawn.append(shown)
        expected.append(text)
        boxes.append((x, y, x + layer.width, y + layer.height))
        px = size_px
    tags = {
        "rotation": "none"
        if not angle
        else ("up to 7.5 deg" if abs(angle) <= 7.5 else "7.5-15 deg"),
        "text height": "12-18 px" if px <= 18 else ("24-32 px" if px <= 32 else "48-96 px"),
        "background": bg_kind,
        "font": Path(font_path).stem if font_path else "Pillow default",
        "length": "1 word" if len(expected[0].split()) == 1 else "2+ words",
    }
    return Sample(image, drawn, expected, boxes, tags)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (all threads) of ``fn``, in seconds."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


FIRST_CALL = """
import time, json
from PIL import Image, ImageDraw, ImageFont
im = Image.new("RGB", (1024, 1024), "white")
ImageDraw.Draw(im).text((100, 400), "FIRST CALL", fill="black", font=ImageFont.load_default(size=72))
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
import imagewright
before = rss()
t0 = time.perf_counter()
from imagewright.text import default_engine
engine = default_engine()
t1 = time.perf_counter()
engine.read(im)
t2 = time.perf_counter()
after = rss()
engine.read(im)
t3 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "first_read": t2 - t1, "second_read": t3 - t2,
                  "rss_before": before, "rss_after": after, "rss_peak": rss()}))
"""


def speed() -> list[tuple[str, str]]:
    import json

    out = subprocess.run(
        [sys.executable, "-c", FIRST_CALL], capture_output=True, text=True, check=True
    )
    first = json.loads(out.stdout.strip().splitlines()[-1])
    engine = default_engine()
    page = Image.new("RGB", (1024, 1024), (240, 236, 228))
    draw = ImageDraw.Draw(page)
    font = load_font((font_files() or [None])[0], 56)
    for k, line in enumerate(("GRAND OPENING", "Saturday 10am", "Free coffee all day")):
        draw.text((80, 200 + 200 * k), line, fill=(20, 20, 20), font=font)
    box = (60, 180, 700, 290)
    full = timed(lambda: engine.read(page), 7)
    crop = timed(lambda: engine.read(page.crop(box)), 15)
    check = timed(
        lambda: check_image(page, [ExpectedText("GRAND OPENING", box)], find_extra=False), 7
    )

    def ms(pair: tuple[float, float]) -> str:
        return f"{pair[0] * 1000:.0f} ms (CPU {pair[1] * 1000:.0f} ms)"

    load = os.getloadavg()[0]
    return [
        ("machine load average (1 min) while measuring", f"{load:.1f} on {os.cpu_count()} cores"),
        ("engine load (fresh process)", f"{first['load'] * 1000:.0f} ms"),
        ("first read after load, 1024x1024", f"{first['first_read'] * 1000:.0f} ms"),
        ("read 1024x1024 (median of 7)", ms(full)),
        ("read one known text box 640x110 (median of 15)", ms(crop)),
        ("check_image, one string in its box, no extra scan", ms(check)),
        (
            "memory added by the engine (RSS after first read)",
            f"{first['rss_after'] - first['rss_before']:.0f} MB",
        ),
    ]


def quality(count: int, seed: int) -> None:
    rng = random.Random(seed)
    fonts: list[str | None] = [*font_files(), None]
    n_typo = max(50, count // 4)
    correct = [render_simple(rng, fonts, typo=False) for _ in range(count)]
    typos = [render_simple(rng, fonts, typo=True) for _ in range(n_typo)]
    by: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    all_rows: list[tuple[float, float, float]] = []
    t0 = time.perf_counter()
    for sample in correct:
        report = check_image(sample.image, sample.expected, find_extra=False)
        strings_ok = sum(s.passed for s in report.strings) / len(report.strings)
        row = (report.word_accuracy, report.ned, 1 - strings_ok)
        all_rows.append(row)
        for key, value in sample.tags.items():
            by[(key, value)].append(row)
    caught = 0
    for sample in typos:
        report = check_image(sample.image, sample.expected, find_extra=False)
        caught += not report.strings[0].passed
    elapsed = time.perf_counter() - t0

    def line(label: str, rows: list[tuple[float, float, float]]) -> str:
        acc = statistics.mean(r[0] for r in rows)
        ned = statistics.mean(r[1] for r in rows)
        false = statistics.mean(r[2] for r in rows)
        return f"| {label} | {len(rows)} | {acc:.4f} | {ned:.4f} | {false:.1%} |"

    print(
        f"\n{count} correct pictures + {n_typo} misspelt, seed {seed}, "
        f"fonts: {', '.join(Path(f).stem if f else 'Pillow default' for f in fonts)}; "
        f"{elapsed:.0f} s\n"
    )
    print("| pictures | n | word accuracy | NED | strings wrongly failed |")
    print("|---|---|---|---|---|")
    print(line("all correct pictures", all_rows))
    for (key, value), rows in sorted(by.items()):
        print(line(f"{key}: {value}", rows))
    print(
        f"\nmisspelt strings (one letter changed) caught: {caught}/{n_typo} = {caught / n_typo:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=240, help="correct pictures (>= 200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-speed", action="store_true", help="skip the speed table")
    parser.add_argument("--speed-only", action="store_true", help="only the speed table")
    args = parser.parse_args()
    if not args.no_speed:
        print("| measure | value |\n|---|---|")
        for label, value in speed():
            print(f"| {label} | {value} |")
    if not args.speed_only:
        quality(args.count, args.seed)


if __name__ == "__main__":
    main()
