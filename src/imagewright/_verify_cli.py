"""``imagewright verify IMAGE --text "..." [--layout layout.json]``: check an image's text.

Prints one row per expected string (found, CER, NED, where, the best match) and the image's
word accuracy and NED; exits 1 when a string fails, 2 on bad input.

A layout file is JSON: ``{"canvas": "1080x1350", "regions": [{"text": "SALE", "box":
[0.1, 0.05, 0.8, 0.2], "role": "headline"}, ...]}``. Regions with ``text`` become
:class:`~imagewright.regions.TextBlock` (same fields); their boxes scale to the image. Other
regions are ignored: only text is checked.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from .errors import Problem, ValidationError

__all__ = ["add_verify_command", "load_layout"]

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1


def load_layout(path: str | Path) -> Any:
    """A :class:`~imagewright.layout.Layout` of text blocks from a JSON file (see module doc).

    Raises:
        ValidationError: The file is missing, not JSON, or not a layout (names the field).
    """
    from .layout import Layout
    from .regions import TextBlock

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(Problem("--layout", str(path), f"cannot read it: {exc}")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("regions"), list):
        raise ValidationError(
            Problem("--layout", str(path), "not a layout", '{"canvas": ..., "regions": [...]}')
        )
    known = {f.name for f in fields(TextBlock)}
    blocks = []
    for i, region in enumerate(data["regions"]):
        if not isinstance(region, dict) or "text" not in region:
            continue
        unknown = sorted(set(region) - known)
        if unknown:
            raise ValidationError(
                Problem(
                    f"regions[{i}]", unknown, "unknown TextBlock fields", ", ".join(sorted(known))
                )
            )
        blocks.append(TextBlock(**{**region, "box": tuple(region.get("box", ()))}))
    return Layout(data.get("canvas", "1024x1024"), blocks)


def _expected(args: argparse.Namespace, size: tuple[int, int]) -> list[Any]:
    from .text import ExpectedText, layout_texts

    out = layout_texts(load_layout(args.layout), size) if args.layout else []
    out += [ExpectedText(t) for t in args.text]
    if not out:
        raise ValidationError(
            Problem("--text", [], "nothing to check", "--text STRING (repeatable) or --layout")
        )
    return out


def _verify(args: argparse.Namespace) -> int:
    from .images import load_image
    from .text import Normalization, check_image

    image = load_image(args.image, param="IMAGE").to_pil()
    norm = Normalization(
        case="exact" if args.exact_case else "ignore",
        punctuation="exact" if args.exact_punctuation else "ignore",
    )
    report = check_image(
        image,
        _expected(args, image.size),
        normalization=norm,
        tolerance=args.tolerance,
        require_box=args.require_box,
    )
    rows = [("", "string", "CER", "NED", "where", "read as")]
    for s in report.strings:
        mark = "ok" if s.passed else "FAIL"
        where = "-" if s.where is None else ",".join(map(str, s.where))
        if s.in_box is False:
            where += " (outside its box)"
        rows.append(
            (mark, repr(s.expected), f"{s.cer:.2f}", f"{s.ned:.2f}", where, repr(s.match or ""))
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    print(report.summary())
    for line in report.extra:
        print(f"extra text: {line.text!r} at {','.join(map(str, line.box))}")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    return EXIT_OK if report.passed else EXIT_CHECKS_FAILED


def add_verify_command(sub: Any) -> None:
    """Add ``verify`` to the CLI's subparsers."""
    p = sub.add_parser("verify", help="check the text in an image with OCR (imagewright[ocr])")
    p.add_argument("image", help="the image to read")
    p.add_argument(
        "--text", action="append", default=[], help="a string that must appear; repeatable"
    )
    p.add_argument("--layout", help="a layout JSON file: its text blocks, read in their boxes")
    p.add_argument("--exact-case", action="store_true", help="compare case (default: ignore)")
    p.add_argument(
        "--exact-punctuation", action="store_true", help="compare punctuation (default: ignore)"
    )
    p.add_argument(
        "--tolerance", type=float, default=0.0, help="highest CER counted as found (default 0)"
    )
    p.add_argument(
        "--require-box", action="store_true", help="fail text found outside its layout box"
    )
    p.add_argument("--json", help="also write the full report to this JSON file")
    p.set_defaults(func=_verify)
