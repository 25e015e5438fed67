"""Text verification: did the words come out right, measured as the benchmarks measure it.

:func:`check_image` reads a picture with an OCR engine and compares what it read with the
strings that should be there. Where a string's box is known (a :class:`~imagewright.layout.
Layout`'s :class:`~imagewright.regions.TextBlock`), that box is read first, which is fast and
precise; then the whole image is read for the strings without a box, the ones not found in
their box, and any text nobody asked for. ``Result.check_text()`` runs it on an output with the
strings taken from the call's layout or prompt.

Per string you get found or not, where, the best match, its CER and NED, and whether it is in
its box; per image, CVTG-2K's word accuracy and NED and the extra text found (definitions in
:mod:`imagewright._textmetrics` and ``docs/text.md``). The default engine needs
``pip install 'imagewright[ocr]'``; any object with ``read(image) -> [OcrLine]`` will do.

Examples:
    >>> from PIL import Image
    >>> from imagewright.text import ExpectedText, OcrLine, check_image
    >>> class Reads:  # a stand-in engine: always reads "HELL0"
    ...     name = "fixed"
    ...     def read(self, image):
    ...         return [OcrLine("HELL0", (10, 10, 90, 30))]
    >>> report = check_image(Image.new("RGB", (100, 40)), ["HELLO"], engine=Reads())
    >>> report.passed, report.strings[0].match, report.strings[0].cer
    (False, 'HELL0', 0.2)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image, ImageDraw

from ._ocr import OcrEngine, OcrLine, RapidOcrEngine, default_engine
from ._textmetrics import (
    Normalization,
    cer,
    edit_distance,
    ned,
    substring_distance,
    word_accuracy,
    words,
)
from .errors import Problem, ValidationError
from .verify import Check

if TYPE_CHECKING:
    from .layout import Layout
    from .results import Result

__all__ = [
    "ExpectedText",
    "Normalization",
    "OcrEngine",
    "OcrLine",
    "RapidOcrEngine",
    "StringCheck",
    "TextCheck",
    "cer",
    "check_image",
    "default_engine",
    "edit_distance",
    "expected_texts",
    "layout_texts",
    "ned",
    "outline_failures",
    "verify_outputs",
    "word_accuracy",
    "words",
]

BoxXYXY = tuple[int, int, int, int]


@dataclass(frozen=True)
class ExpectedText:
    """A string the image should show, and where when that is known.

    Attributes:
        text: The exact string.
        box: ``(left, top, right, bottom)`` in the checked image's pixels, or ``None``.
        name: The layout region's name, when it comes from one.
        lettering: The typography asked for, in words (used by the repair prompt).
    """

    text: str
    box: BoxXYXY | None = None
    name: str | None = None
    lettering: str | None = None


@dataclass(frozen=True)
class StringCheck:
    """What the OCR found for one expected string.

    Attributes:
        expected: The string that should be there, as given.
        found: True when the best match is within the tolerance (exact by default) after
            normalisation.
        match: The best matching text read (as read, before normalisation), or ``None``.
        where: ``(left, top, right, bottom)`` of the match in the image, or ``None``.
        cer: Character error rate of the match against the string (normalised); 1.0 when
            nothing was read.
        ned: CVTG-2K NED (normalised edit similarity, 1 = perfect) of the match.
        box: The box the string should be in, or ``None`` when no box was given.
        in_box: Whether the match's centre lies in ``box`` (``None`` without a box or a match).
        read: ``"box"`` when found by reading its box, ``"image"`` by reading the whole image.
        name: The layout region's name, when it comes from one.
        required_in_box: Whether the check fails when the text is outside its box.
    """

    expected: str
    found: bool
    match: str | None
    where: BoxXYXY | None
    cer: float
    ned: float
    box: BoxXYXY | None = None
    in_box: bool | None = None
    read: Literal["box", "image"] | None = None
    name: str | None = None
    required_in_box: bool = False

    @property
    def passed(self) -> bool:
        """Found (and in its box, when the check requires it)."""
        return self.found and not (self.required_in_box and self.in_box is False)

    def describe(self) -> str:
        """One sentence for tables and check details."""
        if self.match is None:
            return f"{self.expected!r} not found: no text read"
        place = (
            "" if self.in_box is None else (" in its box" if self.in_box else " OUTSIDE its box")
        )
        if self.found:
            return f"{self.expected!r} found{place} (CER {self.cer:.2f})"
        return (
            f"{self.expected!r} not found; best match {self.match!r}{place} "
            f"(CER {self.cer:.2f}, NED {self.ned:.2f})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for receipts)."""
        out = dict(self.__dict__)
        out["where"] = list(self.where) if self.where else None
        out["box"] = list(self.box) if self.box else None
        out["passed"] = self.passed
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StringCheck:
        """Rebuild from :meth:`to_dict`."""
        data = {k: v for k, v in data.items() if k != "passed"}
        for key in ("where", "box"):
            data[key] = tuple(data[key]) if data.get(key) else None
        return cls(**data)


@dataclass(frozen=True)
class TextCheck:
    """The text check of one image: every expected string, the benchmark numbers, the extras.

    Attributes:
        strings: One :class:`StringCheck` per expected string, in order.
        word_accuracy: CVTG-2K word accuracy: the share of expected words read exactly.
        ned: CVTG-2K NED of the text read for the expected strings against them (1 = perfect).
        extra: Lines read that match no expected string and lie in no expected box.
        engine: The OCR engine's name.
        normalization: The comparison rules used.
        index: Which output of a result was checked.
        elapsed_s: Seconds spent reading and matching.
    """

    strings: tuple[StringCheck, ...]
    word_accuracy: float
    ned: float
    extra: tuple[OcrLine, ...] = ()
    engine: str = ""
    normalization: Normalization = field(default_factory=Normalization)
    index: int = 0
    elapsed_s: float = field(default=0.0, compare=False)

    @property
    def passed(self) -> bool:
        """True when every expected string passed."""
        return all(s.passed for s in self.strings)

    @property
    def failed(self) -> tuple[StringCheck, ...]:
        """The strings that did not pass."""
        return tuple(s for s in self.strings if not s.passed)

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        """One line: strings passed, word accuracy, NED, extra text."""
        ok = len(self.strings) - len(self.failed)
        extra = f", {len(self.extra)} extra text" if self.extra else ""
        return (
            f"text {ok}/{len(self.strings)} ok, word accuracy {self.word_accuracy:.2f}, "
            f"NED {self.ned:.2f}{extra}"
        )

    def to_checks(self) -> list[Check]:
        """As :class:`~imagewright.verify.Check` objects, named ``text "<string>"[i]``."""
        i = self.index
        out = [Check(f'text "{s.expected}"[{i}]', s.passed, s.describe()) for s in self.strings]
        extra = "; extra text: " + ", ".join(repr(x.text) for x in self.extra) if self.extra else ""
        out.append(Check(f"text[{i}]", True, self.summary() + extra, "info"))
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for receipts)."""
        return {
            "index": self.index,
            "passed": self.passed,
            "word_accuracy": round(self.word_accuracy, 4),
            "ned": round(self.ned, 4),
            "strings": [s.to_dict() for s in self.strings],
            "extra": [x.to_dict() for x in self.extra],
            "engine": self.engine,
            "normalization": dict(self.normalization.__dict__),
            "elapsed_s": round(self.elapsed_s, 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextCheck:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            strings=tuple(StringCheck.from_dict(s) for s in data["strings"]),
            word_accuracy=float(data["word_accuracy"]),
            ned=float(data["ned"]),
            extra=tuple(
                OcrLine(x["text"], _box(x["box"]), float(x["score"])) for x in data["extra"]
            ),
            engine=str(data.get("engine", "")),
            normalization=Normalization(**data.get("normalization", {})),
            index=int(data.get("index", 0)),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
        )


def _box(values: Sequence[int]) -> BoxXYXY:
    left, top, right, bottom = (int(v) for v in values)
    return (left, top, right, bottom)


# ---- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    text: str  # normalised
    raw: str  # as read
    box: BoxXYXY


def _reading_order(lines: Iterable[OcrLine]) -> list[OcrLine]:
    ordered = sorted(lines, key=lambda ln: (ln.box[1], ln.box[0]))
    # Lines whose vertical centres are within half a line height read left to right.
    rows: list[list[OcrLine]] = []
    for line in ordered:
        centre = (line.box[1] + line.box[3]) / 2
        if rows:
            last = rows[-1][0]
            if abs(centre - (last.box[1] + last.box[3]) / 2) < (last.box[3] - last.box[1]) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def _tokens(lines: Sequence[OcrLine], norm: Normalization) -> list[_Token]:
    """Words of the lines in reading order, each with an estimated box (by character share)."""
    out: list[_Token] = []
    for line in _reading_order(lines):
        left, top, right, bottom = line.box
        share = (right - left) / max(1, len(line.text))
        parts = [line.text] if norm.whitespace == "ignore" else line.text.split(" ")
        pos = 0
        for raw in parts:
            text = norm.apply(raw)
            if text:
                x0 = left + round(pos * share)
                x1 = left + round((pos + len(raw)) * share)
                out.append(_Token(text, raw, (x0, top, max(x0 + 1, x1), bottom)))
            pos += len(raw) + 1
    return out


def _union(boxes: Iterable[BoxXYXY]) -> BoxXYXY:
    bs = list(boxes)
    return (
        min(b[0] for b in bs),
        min(b[1] for b in bs),
        max(b[2] for b in bs),
        max(b[3] for b in bs),
    )


@dataclass(frozen=True)
class _Match:
    text: str  # normalised
    raw: str
    where: BoxXYXY
    distance: int


def _best_match(target: str, lines: Sequence[OcrLine], norm: Normalization) -> _Match | None:
    """The closest text to ``target`` (normalised) in ``lines``, read in reading order."""
    if not lines:
        return None
    if norm.whitespace == "ignore":
        return _joined_match(target, _reading_order(lines), norm)
    tokens = _tokens(lines, norm)
    if not tokens:
        return None
    best: _Match | None = None
    n_words = max(1, len(target.split(" ")))
    for size in range(max(1, n_words - 1), n_words + 2):
        for start in range(0, max(1, len(tokens) - size + 1)):
            run = tokens[start : start + size]
            text = " ".join(t.text for t in run)
            d = edit_distance(text, target)
            if best is None or d < best.distance:
                raw = " ".join(t.raw for t in run)
                best = _Match(text, raw, _union(t.box for t in run), d)
    # Scripts without spaces (CJK): the string may sit inside a longer line.
    for line in lines:
        found = _joined_match(target, [line], norm)
        if found is not None and (best is None or found.distance < best.distance):
            best = found
    return best


def _joined_match(target: str, lines: Sequence[OcrLine], norm: Normalization) -> _Match | None:
    """The closest substring of all ``lines`` read as one text (no separator between lines)."""
    texts = [norm.apply(ln.text) for ln in lines]
    owner = [i for i, t in enumerate(texts) for _ in t]
    joined = "".join(texts)
    if not joined:
        return None
    d, a, b = substring_distance(target, joined)
    if b <= a:
        return _Match("", "", lines[0].box, d)
    first, last = owner[a], owner[b - 1]
    starts = [sum(len(t) for t in texts[:i]) for i in range(len(texts))]
    boxes, raws = [], []
    for i in range(first, last + 1):
        lo, hi = max(a, starts[i]) - starts[i], min(b, starts[i] + len(texts[i])) - starts[i]
        left, top, right, bottom = lines[i].box
        share = (right - left) / max(1, len(texts[i]))
        boxes.append(
            (left + round(lo * share), top, max(left + 1, left + round(hi * share)), bottom)
        )
        whole = lo == 0 and hi == len(texts[i])
        raws.append(lines[i].text.strip() if whole else texts[i][lo:hi])
    return _Match(joined[a:b], " ".join(raws), _union(boxes), d)


def _centre_in(where: BoxXYXY, box: BoxXYXY, pad: float = 0.1) -> bool:
    cx, cy = (where[0] + where[2]) / 2, (where[1] + where[3]) / 2
    px, py = (box[2] - box[0]) * pad, (box[3] - box[1]) * pad
    return box[0] - px <= cx <= box[2] + px and box[1] - py <= cy <= box[3] + py


def _grow(box: BoxXYXY, size: tuple[int, int], fraction: float = 0.15) -> BoxXYXY:
    pad = max(4, round(fraction * min(box[2] - box[0], box[3] - box[1])))
    return (
        max(0, box[0] - pad),
        max(0, box[1] - pad),
        min(size[0], box[2] + pad),
        min(size[1], box[3] + pad),
    )


def _read_box(engine: OcrEngine, image: Image.Image, box: BoxXYXY) -> list[OcrLine]:
    crop = _grow(box, image.size)
    lines = engine.read(image.crop(crop))
    dx, dy = crop[0], crop[1]
    return [
        OcrLine(ln.text, (ln.box[0] + dx, ln.box[1] + dy, ln.box[2] + dx, ln.box[3] + dy), ln.score)
        for ln in lines
    ]


def _overlaps(a: BoxXYXY, b: BoxXYXY) -> bool:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = max(1, (a[2] - a[0]) * (a[3] - a[1]))
    return w > 0 and h > 0 and w * h >= 0.3 * area


def _as_expected(items: Iterable[ExpectedText | str] | ExpectedText | str) -> list[ExpectedText]:
    if isinstance(items, (str, ExpectedText)):
        items = [items]  # one string, not its characters
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(ExpectedText(item))
        elif isinstance(item, ExpectedText):
            out.append(item)
        else:
            raise ValidationError(
                Problem(f"expected[{i}]", item, "not a string", "str or ExpectedText")
            )
    return out


def check_image(
    image: Image.Image,
    expected: Iterable[ExpectedText | str] | ExpectedText | str,
    *,
    engine: OcrEngine | None = None,
    normalization: Normalization | None = None,
    tolerance: float = 0.0,
    require_box: bool = False,
    find_extra: bool = True,
    index: int = 0,
) -> TextCheck:
    """Read ``image`` and check every expected string.

    Args:
        image: The picture to read.
        expected: The strings that should be there: ``str``, or :class:`ExpectedText` with a
            box to read first (one string alone is one string, not its characters).
        engine: The OCR engine (default: :func:`default_engine`, the ``ocr`` extra).
        normalization: Comparison rules; default: case, punctuation and extra whitespace
            ignored (:class:`Normalization`).
        tolerance: The highest CER still counted as found (0.0: exact after normalisation).
        require_box: Fail a string found outside its box (default: report it only).
        find_extra: Read the whole image even when every string was found in its box, to
            report text nobody asked for.
        index: The output index, for check names.

    Raises:
        ValidationError: A bad argument (names it, with what is allowed).
        MissingExtraError: No engine was given and the ``ocr`` extra is not installed.
    """
    norm = normalization or Normalization()
    items = _as_expected(expected)
    problems = [Problem(f"normalization.{p}", v, "unknown rule", a) for p, v, a in norm.problems()]
    if not 0 <= tolerance <= 1:
        problems.append(Problem("tolerance", tolerance, "out of range", "0.0..1.0 (a CER)"))
    if problems:
        raise ValidationError(problems)
    engine = engine or default_engine()
    started = time.perf_counter()
    rgb = image.convert("RGB")
    whole: list[OcrLine] | None = None
    box_lines: list[OcrLine] = []
    strings: list[StringCheck] = []
    for item in items:
        target = norm.apply(item.text)
        box = item.box
        match: _Match | None = None
        read: Literal["box", "image"] = "box"
        if box is not None:
            lines = _read_box(engine, rgb, box)
            box_lines += lines
            match = _best_match(target, lines, norm)
        if match is None or match.distance > tolerance * max(1, len(target)):
            if whole is None:
                whole = list(engine.read(rgb))
            other = _best_match(target, whole, norm)
            if other is not None and (match is None or other.distance < match.distance):
                match, read = other, "image"
        strings.append(_judge(item, target, match, read, tolerance, require_box))
    if whole is None and (find_extra or not items):
        whole = list(engine.read(rgb))
    read_lines = whole if whole is not None else box_lines
    # CVTG-2K scores words: whitespace is collapsed there, whatever the string rule says.
    wordy = replace(norm, whitespace="collapse")
    expected_words = [w for item in items for w in words(wordy.apply(item.text))]
    found_words = [w for ln in read_lines for w in words(wordy.apply(ln.text))]
    got = " ".join(wordy.apply(s.match or "") for s in strings)
    want = " ".join(wordy.apply(item.text) for item in items)
    regions = [b for s in strings for b in (s.where, s.box) if b is not None]
    extra = tuple(
        ln
        for ln in (whole or ())
        if norm.apply(ln.text).strip() and not any(_overlaps(ln.box, r) for r in regions)
    )
    return TextCheck(
        strings=tuple(strings),
        word_accuracy=round(word_accuracy(found_words, expected_words), 4),
        ned=round(ned(got, want), 4),
        extra=extra,
        engine=getattr(engine, "name", type(engine).__name__),
        normalization=norm,
        index=index,
        elapsed_s=time.perf_counter() - started,
    )


def _judge(
    item: ExpectedText,
    target: str,
    match: _Match | None,
    read: Literal["box", "image"],
    tolerance: float,
    require_box: bool,
) -> StringCheck:
    if match is None:
        return StringCheck(
            item.text, not target, None, None, cer("", target), ned("", target), item.box,
            None, None, item.name, require_box,
        )  # fmt: skip
    rate = cer(match.text, target)
    return StringCheck(
        expected=item.text,
        found=rate <= tolerance + 1e-12,
        match=match.raw,
        where=match.where,
        cer=round(rate, 4),
        ned=round(ned(match.text, target), 4),
        box=item.box,
        in_box=None if item.box is None else _centre_in(match.where, item.box),
        read=read,
        name=item.name,
        required_in_box=require_box,
    )


# ---- where the strings come from -----------------------------------------------------------


def expected_texts(result: Result, index: int = 0) -> list[ExpectedText]:
    """The strings an output should show: its layout's text blocks (with their boxes scaled to
    the output), then every other string the prompt quotes (without a box)."""
    from .layout import Layout

    layout = getattr(result.call.finish, "__self__", None)
    size = result.outputs[index].size
    out = layout_texts(layout, size) if isinstance(layout, Layout) else []
    known = {e.text for e in out}
    for text in quoted_strings(result.call.prompt):
        if text not in known:
            known.add(text)
            out.append(ExpectedText(text))
    return out


def layout_texts(layout: Layout, size: tuple[int, int]) -> list[ExpectedText]:
    """The layout's text blocks as :class:`ExpectedText`, boxes scaled to an image of ``size``."""
    from .regions import TextBlock

    out = []
    for name, region in zip(layout.names, layout.regions, strict=True):
        if isinstance(region, TextBlock):
            left, top, right, bottom = layout.box(region, size)
            out.append(
                ExpectedText(region.text, (left, top, right, bottom), name, region.lettering())
            )
    return out


def verify_outputs(result: Result) -> Result:
    """Run :meth:`Result.check_text` on every output that should show text (what
    ``verify_text=True`` does); layouts in ``text="overlay"`` mode are skipped, their type is
    set locally and exact."""
    layout = getattr(result.call.finish, "__self__", None)
    if getattr(layout, "text", None) == "overlay":
        return result
    for i in range(len(result.outputs)):
        if expected_texts(result, i):
            result.check_text(index=i)
    return result


def quoted_strings(prompt: str) -> list[str]:
    """Every string ``prompt`` puts in straight or curly double quotes, in order."""
    import re

    found = re.findall(r'"([^"\n]+)"|“([^”\n]+)”', prompt)
    return [a or b for a, b in found if (a or b).strip()]


def outline_failures(image: Image.Image, check: TextCheck) -> Image.Image:
    """A copy of ``image`` with each failed string outlined in red (its box, else its best
    match) and each passed one in green."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    width = max(2, round(min(out.size) / 200))
    for s in check.strings:
        box = s.box or s.where
        if box is None:
            continue
        colour = (40, 200, 90) if s.passed else (235, 40, 40)
        draw.rectangle(box, outline=colour, width=width)
        if not s.passed and s.where is not None and s.where != box:
            draw.rectangle(s.where, outline=(255, 160, 0), width=max(1, width // 2))
    return out
