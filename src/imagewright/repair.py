"""Repairing text that came out wrong: ``client.repair_text(result)``.

The default strategy (``"edit"``) sends, for each failed string, a masked edit of just that
string's region (its layout box, else where the OCR found its best match, grown a little)
asking for the exact text, quoted, in the layout's typography. The edit's output is pasted back
onto the previous image outside the mask, so the rest of the picture stays byte-identical, and
its preservation check proves it. ``strategy="overlay"`` sets the type locally instead, with the
layout renderer, on a plate of the region's own background colour: exact and free, but flat.

The loop is written once, free of I/O (:func:`repair_steps` yields the edits to send and
receives their results); ``Client`` and ``AsyncClient`` only drive it.

Examples:
    >>> fixed = client.repair_text(result, max_attempts=2)  # doctest: +SKIP
    >>> fixed.passed, len(fixed.attempts), fixed.spent_usd  # doctest: +SKIP
"""

from __future__ import annotations

import io
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np

from .edit import EditRequest
from .errors import Problem, ValidationError
from .text import ExpectedText, TextCheck

if TYPE_CHECKING:
    from .results import Result
    from .text import Normalization, OcrEngine

__all__ = ["EditStep", "RepairOptions", "RepairStrategy", "TextRepair", "advance", "repair_steps"]

RepairStrategy = Literal["edit", "overlay"]
Stopped = Literal["passed", "max_attempts", "budget", "no_region", "error"]
BoxXYXY = tuple[int, int, int, int]


class RepairOptions(TypedDict, total=False):
    """Keyword settings of ``client.repair_text``."""

    expected: Sequence[ExpectedText | str] | ExpectedText | str | None
    """The strings to check (default: the layout's text blocks and the prompt's quotes)."""
    strategy: RepairStrategy
    """``"edit"`` (default: masked edits, paid) or ``"overlay"`` (set the type locally)."""
    max_attempts: int
    """At most this many attempts, i.e. paid edits for ``"edit"`` (default 3)."""
    budget: float | None
    """Stop before an edit whose estimate (high end) would take the spend over this (USD)."""
    grow: float
    """How far to grow each region, as a share of the text's height (default 0.25)."""
    engine: OcrEngine | None
    """The OCR engine (default: the ``ocr`` extra's RapidOCR)."""
    normalization: Normalization | None
    """Comparison rules for the text checks (default :class:`~imagewright.text.Normalization`)."""
    edit_options: dict[str, Any]
    """Options for each edit: ``quality``, ``model``, ``timeout``... (as ``client.edit``)."""


@dataclass(frozen=True)
class TextRepair:
    """What ``repair_text`` did.

    Attributes:
        result: The final result: the last attempt, or the original when nothing was tried.
        attempts: Every attempt in order, each a normal :class:`~imagewright.results.Result`
            with its cost and its text check (``attempt.text_check()``).
        passed: Whether the final result's text check passed.
        stopped: Why the loop ended: ``"passed"``, ``"max_attempts"``, ``"budget"`` (the next
            edit's estimate would exceed it), or ``"no_region"`` (a string was neither in a
            known box nor read anywhere, so there was nothing to target), or ``"error"`` (an
            edit failed after earlier attempts were paid for: they are kept, and the failure is
            in ``error``; a failure before any attempt raises).
        spent_usd: What the attempts cost, from their usage (0 for overlay attempts).
        error: The exception that stopped the loop, when ``stopped == "error"``.
    """

    result: Result
    attempts: tuple[Result, ...]
    passed: bool
    stopped: Stopped
    spent_usd: float
    error: BaseException | None = None

    @property
    def check(self) -> TextCheck | None:
        """The final result's text check."""
        return self.result.text_check(0)

    def __repr__(self) -> str:
        return (
            f"TextRepair(passed={self.passed}, attempts={len(self.attempts)}, "
            f"stopped={self.stopped!r}, spent_usd={self.spent_usd:.4f})"
        )


@dataclass(frozen=True)
class EditStep:
    """One masked edit the loop wants sent (the drivers send it with ``client.edit``)."""

    request: EditRequest
    options: dict[str, Any]
    region: BoxXYXY


def _grow(box: BoxXYXY, size: tuple[int, int], grow: float) -> BoxXYXY:
    pad = max(8, round(grow * (box[3] - box[1])))
    return (
        max(0, box[0] - pad),
        max(0, box[1] - pad),
        min(size[0], box[2] + pad),
        min(size[1], box[3] + pad),
    )


def _repair_prompt(item: ExpectedText) -> str:
    typography = f", set in {item.lettering}" if item.lettering else ""
    return (
        f'Redraw the text in the masked area so it reads exactly "{item.text}", spelled letter '
        f"for letter{typography}, matching the size, colour and style of the surrounding "
        "design. Change nothing outside the mask."
    )


def _png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _overlay(image: Any, item: ExpectedText, region: BoxXYXY) -> Any:
    """``image`` with ``item`` set locally in ``region`` on a plate of its border colour."""
    from .layout import Layout
    from .regions import TextBlock

    out = image.convert("RGBA")
    x0, y0, x1, y1 = region
    pixels = np.asarray(out)
    border = np.concatenate(
        [pixels[y0, x0:x1], pixels[y1 - 1, x0:x1], pixels[y0:y1, x0], pixels[y0:y1, x1 - 1]]
    )
    plate = tuple(int(v) for v in np.median(border, axis=0))
    out.paste(plate, (x0, y0, x1, y1))
    block = TextBlock(item.text, (x0, y0, x1 - x0, y1 - y0), role="text", color="#111111")
    if sum(plate[:3]) < 3 * 110:
        block = replace(block, color="#f5f5f5")
    layout = Layout(f"{out.width}x{out.height}", [block], text="overlay")
    return layout.render_text(out)


def _validate(strategy: str, max_attempts: int, budget: float | None, grow: float) -> None:
    problems = []
    if strategy not in ("edit", "overlay"):
        problems.append(Problem("strategy", strategy, "unknown strategy", "'edit', 'overlay'"))
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
        problems.append(Problem("max_attempts", max_attempts, "must be a whole number", ">= 1"))
    if budget is not None and not budget >= 0:
        problems.append(Problem("budget", budget, "must be a non-negative amount", "USD >= 0"))
    if not 0 <= grow <= 2:
        problems.append(Problem("grow", grow, "out of range", "0.0..2.0 (share of text height)"))
    if problems:
        raise ValidationError(problems)


def repair_steps(
    result: Result,
    *,
    expected: Sequence[ExpectedText | str] | ExpectedText | str | None = None,
    strategy: RepairStrategy = "edit",
    max_attempts: int = 3,
    budget: float | None = None,
    grow: float = 0.25,
    engine: OcrEngine | None = None,
    normalization: Normalization | None = None,
    edit_options: dict[str, Any] | None = None,
    estimate: Any = None,
) -> Generator[EditStep, Result, TextRepair]:
    """The repair loop, free of I/O: yields each :class:`EditStep`, receives its result.

    ``estimate(step) -> float`` prices a step before it is sent (for ``budget``). See
    ``Client.repair_text`` for the arguments.
    """
    from .text import _as_expected, expected_texts

    _validate(strategy, max_attempts, budget, grow)
    check_args: dict[str, Any] = {"engine": engine, "normalization": normalization}
    items = expected_texts(result) if expected is None else _as_expected(expected)
    report = result.text_check(0)
    if report is None or expected is not None:
        report = result.check_text(items, **check_args)
    current, spent = result, 0.0
    attempts: list[Result] = []
    stopped: Stopped = "passed"
    error: BaseException | None = None
    while not report.passed:
        if len(attempts) >= max_attempts:
            stopped = "max_attempts"
            break
        failed = next(s for s in report.strings if not s.passed)
        k = report.strings.index(failed)
        where = failed.box or failed.where
        if where is None:
            stopped = "no_region"
            break
        image = current.output.image
        region = _grow(where, image.size, grow)
        # Later checks read the repaired region first.
        items[k] = replace(items[k], box=items[k].box or region)
        if strategy == "overlay":
            fixed = _overlay(image, items[k], region)
            raw = current.output.raw or current.output.data
            out = replace(current.output, data=_png(fixed), format="png", raw=raw)
            attempt = replace(current, outputs=(out, *current.outputs[1:]), text_checks=())
        else:
            step = _edit_step(current, items[k], region, edit_options or {})
            cost = float(estimate(step)) if estimate is not None else 0.0
            if budget is not None and spent + cost > budget:
                stopped = "budget"
                break
            try:
                edited = yield step
            except Exception as exc:
                if not attempts:
                    raise
                # Earlier attempts are paid for: return them with the failure.
                error, stopped = exc, "error"
                break
            spent += edited.cost.total_usd if edited.cost is not None else cost
            # Outside the mask, keep the previous picture exactly (the API may drift a little).
            attempt = edited.paste_back() if edited.mask is not None else edited
        attempts.append(attempt)
        report = attempt.check_text(items, **check_args)
        current = attempt
    passed = report.passed and error is None
    return TextRepair(current, tuple(attempts), passed, stopped, round(spent, 6), error)


def _edit_step(
    current: Result, item: ExpectedText, region: BoxXYXY, options: dict[str, Any]
) -> EditStep:
    from .masks import Mask
    from .models import parse_size

    image = current.output.image
    opts: dict[str, Any] = {"model": current.model, **options}
    size = current.size
    if "size" not in opts and size and parse_size(size) == image.size:
        opts["size"] = size
    request = EditRequest(_png(image), _repair_prompt(item), mask=Mask.box(image.size, region))
    return EditStep(request, opts, region)


def advance(
    steps: Generator[EditStep, Result, TextRepair], sent: Result | BaseException | None
) -> EditStep | TextRepair:
    """Resume the loop with the last edit's result, or the exception it raised (``None`` to
    start): the next step, or the outcome. (A plain function, so the async client can run it
    in a worker thread.)"""
    try:
        if sent is None:
            return next(steps)
        if isinstance(sent, BaseException):
            return steps.throw(sent)
        return steps.send(sent)
    except StopIteration as done:
        outcome: TextRepair = done.value
        return outcome
