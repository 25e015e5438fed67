"""What a call costs: a versioned price table, costs from usage, pre-flight estimates, budgets.

Prices are USD per 1M tokens, per model (``PRICES``, version ``PRICES_VERSION``). The ``usage``
object the API returns is the billing truth: :func:`cost_from_usage` prices it. Before a call,
:func:`estimate` (or :func:`estimate_call` for a compiled call) predicts the tokens and the cost
as a low / expected / high range, and a :class:`Budget` can refuse a call whose estimate would
exceed it, before anything is sent.

How tokens are estimated (every number here is advisory; the guide is quoted in
``shared/reference/images-api.md`` section 8):

* **Output**, per image: the guide's 1024x1024 figures for gpt-image-2 (low 196, medium 1,756,
  high 7,024 tokens) are the anchor. The guide also gives 1024x1536 / 1536x1024 at 0.78125x
  the square figure (high 5,488), so the tokens per pixel fall as the image gets longer. The
  estimate is ``anchor[quality] x (W x H / 1024²) x shape(aspect)`` where ``shape`` is 1 at 1:1,
  0.78125 / 1.5 at 3:2 and beyond, linear in between. ``xhigh`` and ``max`` (2.5 models) are
  taken as 1.5x and 2x ``high``. ``quality="auto"`` is estimated as medium, with the range
  spanning low to high. ``size="auto"`` is 1024x1024 for a generation; for an edit it is the
  first input's own size brought within the model's pixel limits (the range also covers the
  input's exact size and its aspect at about 1024x1024).
  The gpt-image-1 family uses the guide's published table for its three sizes.
* **Partial images** (streaming only) add about 100 output tokens each, per image.
* **Input text**: about four characters per token.
* **Input images**: the vision tile rule (fit in 2048x2048, short side at most 768 px, 170
  tokens per 512-px tile plus 85). GPT Image models do not publish theirs, so the range is wide.

The range is narrow (±10 %) where the guide publishes the figure and wider where the estimate
extrapolates (±35 %). An unknown model is priced as gpt-image-2 and says so
(``known_model=False``).

Examples:
    >>> e = estimate("gpt-image-2", size="1024x1024", quality="high")
    >>> round(e.expected_usd, 3)
    0.211
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ._tokens import (
    EXTRA_QUALITY,
    GPT1_FAMILIES,
    GPT2_SQUARE,
    PARTIAL_IMAGE_TOKENS,
    family,
    image_input_tokens,
    output_tokens,
    text_tokens,
)
from .errors import BudgetExceededError
from .models import ARBITRARY_SIZE, image_params, parse_size

__all__ = [
    "PARTIAL_IMAGE_TOKENS",
    "PRICES",
    "PRICES_VERSION",
    "Budget",
    "Cost",
    "CostEstimate",
    "ModelPrices",
    "Reservation",
    "TokenRange",
    "cost_from_usage",
    "estimate",
    "estimate_call",
    "image_input_tokens",
    "output_tokens",
    "prices_for",
    "text_tokens",
]

PRICES_VERSION = "2026-11-30"
"""When the price table was last checked. ``usage`` is the billing truth; prices change."""

_MILLION = 1_000_000


@dataclass(frozen=True)
class ModelPrices:
    """USD per 1M tokens for one model.

    Attributes:
        model: The model (or family) these prices are for.
        text_input: Prompt text tokens.
        cached_text_input: Prompt text tokens served from cache.
        image_input: Input image tokens (edits).
        cached_image_input: Input image tokens served from cache.
        image_output: Generated image tokens (partial images included).
        source: Where the figures come from.
        documented: ``False`` when the figures are an assumption (no published prices).
    """

    model: str
    text_input: float
    cached_text_input: float
    image_input: float
    cached_image_input: float
    image_output: float
    source: str
    documented: bool = True


_GUIDE = "OpenAI guide, as quoted in shared/reference/images-api.md section 8"
_PAGE = "OpenAI pricing page (recalled, not in the shared reference: verify)"
_ASSUMED = "not published: assumed equal to gpt-image-2"
_GPT_IMAGE_2 = ModelPrices("gpt-image-2", 5.00, 1.25, 8.00, 2.00, 30.00, _GUIDE)


def _assumed(model: str) -> ModelPrices:
    return ModelPrices(model, 5.00, 1.25, 8.00, 2.00, 30.00, _ASSUMED, documented=False)


PRICES: Mapping[str, ModelPrices] = {
    "gpt-image-2": _GPT_IMAGE_2,
    "gpt-image-2.5-sunburst": _assumed("gpt-image-2.5-sunburst"),
    "gpt-image-2.5-flare": _assumed("gpt-image-2.5-flare"),
    "gpt-image-2.6-sunburst": _assumed("gpt-image-2.6-sunburst"),
    "gpt-image-2.6-flare": _assumed("gpt-image-2.6-flare"),
    "gpt-image-1.5": ModelPrices("gpt-image-1.5", 5.00, 1.25, 8.00, 2.00, 32.00, _PAGE),
    "gpt-image-1-mini": ModelPrices("gpt-image-1-mini", 2.00, 0.20, 2.50, 0.25, 8.00, _PAGE),
    "chatgpt-image-latest": ModelPrices(
        "chatgpt-image-latest",
        5.00,
        1.25,
        8.00,
        2.00,
        32.00,
        "assumed equal to gpt-image-1.5",
        False,
    ),
    "gpt-image-1": ModelPrices("gpt-image-1", 5.00, 1.25, 10.00, 2.50, 40.00, _PAGE),
}
"""Prices by model family; snapshots (``gpt-image-2-2026-04-21``) use their family's entry."""


def prices_for(model: str | None) -> tuple[ModelPrices, bool]:
    """The prices for ``model`` and whether the model is known (unknown → gpt-image-2's)."""
    entry = PRICES.get(family(model or ""))
    return (entry, True) if entry is not None else (_GPT_IMAGE_2, False)


# ------------------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class Cost:
    """What a call cost, from the usage the API reported.

    Attributes:
        model: The model the call named.
        text_input_usd: Prompt text tokens (cached ones at the cached price).
        image_input_usd: Input image tokens (cached ones at the cached price).
        image_output_usd: Output tokens (images and partial images).
        total_usd: The sum.
        priced_as: The price-table entry used.
        prices_version: ``PRICES_VERSION`` at the time.
        known_model: ``False`` when the model was unknown and priced as gpt-image-2.
        documented: ``False`` when the prices used are an assumption.
    """

    model: str | None
    text_input_usd: float
    image_input_usd: float
    image_output_usd: float
    total_usd: float
    priced_as: str
    prices_version: str = PRICES_VERSION
    known_model: bool = True
    documented: bool = True

    def __str__(self) -> str:
        return f"${self.total_usd:.4f}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for receipts)."""
        return dict(self.__dict__)


def _get(obj: Any, name: str, default: Any = 0) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def cost_from_usage(model: str | None, usage: Any) -> Cost:
    """Price the ``usage`` the API reported for a call to ``model``.

    ``usage`` is a :class:`~imagewright.results.Usage`, the wire dict, or any object with
    ``input_tokens``, ``input_tokens_details.{text_tokens,image_tokens}`` and ``output_tokens``.
    Cached tokens are priced at the cached rates when the details carry
    ``cached_text_tokens`` / ``cached_image_tokens``. Without an input split, every input
    token is priced as text.

    Examples:
        >>> usage = {"input_tokens": 50, "input_tokens_details": {"text_tokens": 50,
        ...          "image_tokens": 0}, "output_tokens": 7024, "total_tokens": 7074}
        >>> str(cost_from_usage("gpt-image-2", usage))
        '$0.2110'
    """
    prices, known = prices_for(model)
    details = _get(usage, "input_tokens_details", None)
    input_tokens = int(_get(usage, "input_tokens") or 0)
    if details is None:
        text, image = input_tokens, 0
    else:
        text, image = (
            int(_get(details, "text_tokens") or 0),
            int(_get(details, "image_tokens") or 0),
        )
    cached_text = min(text, int(_get(details, "cached_text_tokens") or 0))
    cached_image = min(image, int(_get(details, "cached_image_tokens") or 0))
    text_usd = (
        (text - cached_text) * prices.text_input + cached_text * prices.cached_text_input
    ) / _MILLION
    image_usd = (
        (image - cached_image) * prices.image_input + cached_image * prices.cached_image_input
    ) / _MILLION
    out_usd = int(_get(usage, "output_tokens") or 0) * prices.image_output / _MILLION
    return Cost(
        model=model,
        text_input_usd=text_usd,
        image_input_usd=image_usd,
        image_output_usd=out_usd,
        total_usd=text_usd + image_usd + out_usd,
        priced_as=prices.model,
        known_model=known,
        documented=prices.documented,
    )


# ---------------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class TokenRange:
    """A token count as low / expected / high."""

    low: int
    expected: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high

    def __add__(self, other: TokenRange) -> TokenRange:
        return TokenRange(
            self.low + other.low, self.expected + other.expected, self.high + other.high
        )


def _band(expected: float, spread: float, *extra: float) -> TokenRange:
    """``expected`` ± ``spread``, widened to include every value in ``extra``."""
    low = min([expected * (1 - spread), *extra])
    high = max([expected * (1 + spread), *extra])
    return TokenRange(math.floor(low), round(expected), math.ceil(high))


@dataclass(frozen=True)
class CostEstimate:
    """A pre-flight cost estimate: tokens and USD as low / expected / high.

    Attributes:
        model: The model the call names.
        priced_as: The price-table entry used.
        text_tokens: Input text tokens.
        image_input_tokens: Input image tokens (0 for generations).
        output_tokens: Output tokens for all ``n`` images, partial images included.
        low_usd: Cost if every count lands at its low end.
        expected_usd: The best guess.
        high_usd: Cost if every count lands at its high end; budgets check this by default.
        assumptions: What the estimate had to assume, in words.
        known_model: ``False`` when the model is unknown and priced as gpt-image-2.
        prices_version: ``PRICES_VERSION``.
    """

    model: str | None
    priced_as: str
    text_tokens: TokenRange
    image_input_tokens: TokenRange
    output_tokens: TokenRange
    low_usd: float
    expected_usd: float
    high_usd: float
    assumptions: tuple[str, ...] = ()
    known_model: bool = True
    prices_version: str = PRICES_VERSION

    def covers(self, usage: Any) -> bool:
        """True when every token count of ``usage`` falls within this estimate's range."""
        details = _get(usage, "input_tokens_details", None)
        return (
            int(_get(details, "text_tokens")) in self.text_tokens
            and int(_get(details, "image_tokens")) in self.image_input_tokens
            and int(_get(usage, "output_tokens")) in self.output_tokens
        )

    def __str__(self) -> str:
        return f"${self.expected_usd:.4f} (${self.low_usd:.4f}..${self.high_usd:.4f})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for receipts and the CLI)."""
        d = dict(self.__dict__)
        for name in ("text_tokens", "image_input_tokens", "output_tokens"):
            d[name] = dict(getattr(self, name).__dict__)
        d["assumptions"] = list(self.assumptions)
        return d


def _size_for(
    model: str | None, size: str, input_sizes: Sequence[tuple[int, int]], notes: list[str]
) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The size to estimate at, and other plausible sizes the range must cover."""
    parsed = parse_size(size) if size != "auto" else None
    if parsed is not None:
        return parsed, []
    if size != "auto":
        notes.append(f"size {size!r} not understood; estimated as 1024x1024")
        return (1024, 1024), []
    if not input_sizes:
        notes.append("size 'auto' estimated as 1024x1024")
        return (1024, 1024), []
    w, h = input_sizes[0]
    if family(model or "") in GPT1_FAMILIES:
        guess = (1024, 1024) if 0.8 < w / h < 1.25 else ((1536, 1024) if w > h else (1024, 1536))
        notes.append(f"size 'auto' estimated as {guess[0]}x{guess[1]} from the input's aspect")
        return guess, []
    # Arbitrary-size models: the input's own size, snapped to 16 px and brought within the
    # pixel limits (the guide's floor is 655,360 px); the range also covers the input's exact
    # size and its aspect at about 1024x1024.
    limits = ARBITRARY_SIZE
    area = min(max(w * h, limits.min_pixels), limits.max_pixels)
    scale = min(math.sqrt(area / (w * h)), limits.max_edge / max(w, h))
    guess = (max(16, round(w * scale / 16) * 16), max(16, round(h * scale / 16) * 16))
    one_mp = math.sqrt(1024 * 1024 / (w * h))
    around = (max(16, round(w * one_mp / 16) * 16), max(16, round(h * one_mp / 16) * 16))
    notes.append(
        f"size 'auto' estimated as {guess[0]}x{guess[1]} (the input's size within the model's "
        f"limits); the range covers {w}x{h} and {around[0]}x{around[1]}"
    )
    return guess, [(w, h), around]


def estimate(
    model: str | None,
    *,
    size: str = "auto",
    quality: str = "auto",
    n: int = 1,
    input_sizes: Sequence[tuple[int, int]] = (),
    partial_images: int = 0,
    prompt: str | int = "",
) -> CostEstimate:
    """Estimate the tokens and cost of one call from its facts, before sending it.

    Args:
        model: The model (unknown models are priced as gpt-image-2).
        size: ``"WxH"`` or ``"auto"``.
        quality: ``low``, ``medium``, ``high``, ``xhigh``, ``max`` or ``auto``.
        n: Number of images.
        input_sizes: ``(width, height)`` of each input image of an edit (first one first).
        partial_images: Partial images requested when streaming.
        prompt: The prompt text, or its length in characters.

    Examples:
        >>> e = estimate("gpt-image-2", size="1024x1024", quality="low", n=4)
        >>> e.output_tokens.expected, round(e.expected_usd, 3)
        (784, 0.024)
    """
    notes: list[str] = []
    prices, known = prices_for(model)
    if not known:
        notes.append(f"model {model!r} is not in the price table; priced as gpt-image-2")
    elif not prices.documented:
        notes.append(f"no published prices for {prices.model}; gpt-image-2's are assumed")
    (w, h), alternatives = _size_for(model, size, input_sizes, notes)
    q = "medium" if quality in ("auto", "", None) else quality
    published = quality in GPT2_SQUARE and (
        family(model or "") in GPT1_FAMILIES or _is_anchor(w, h)
    )
    per_image = output_tokens(model, w, h, q)
    extra = [float(output_tokens(model, aw, ah, q)) for aw, ah in alternatives]
    if quality == "auto":
        notes.append("quality 'auto' estimated as medium; the range spans low to high")
        extra += [
            float(output_tokens(model, w, h, "low")),
            float(output_tokens(model, w, h, "high")),
        ]
        extra += [
            float(output_tokens(model, aw, ah, qq))
            for aw, ah in alternatives
            for qq in ("low", "high")
        ]
    elif quality in EXTRA_QUALITY:
        notes.append(
            f"quality {quality!r} taken as {EXTRA_QUALITY[quality]:g}x high (not published)"
        )
    out = _band(per_image, 0.10 if published else 0.35, *extra)
    partial = PARTIAL_IMAGE_TOKENS * max(0, partial_images)
    per = TokenRange(out.low + partial, out.expected + partial, out.high + partial)
    outputs = TokenRange(per.low * n, per.expected * n, per.high * n)
    text = _band(text_tokens(prompt), 0.25)
    image_expected = sum(image_input_tokens(iw, ih) for iw, ih in input_sizes)
    images = _band(image_expected, 0.0, image_expected * 0.5, image_expected * 2.0)
    if input_sizes:
        notes.append("input image tokens follow the vision tile rule (not published for GPT Image)")

    def usd(t: int, i: int, o: int) -> float:
        return (t * prices.text_input + i * prices.image_input + o * prices.image_output) / _MILLION

    return CostEstimate(
        model=model,
        priced_as=prices.model,
        text_tokens=text,
        image_input_tokens=images,
        output_tokens=outputs,
        low_usd=usd(text.low, images.low, outputs.low),
        expected_usd=usd(text.expected, images.expected, outputs.expected),
        high_usd=usd(text.high, images.high, outputs.high),
        assumptions=tuple(notes),
        known_model=known,
    )


def _is_anchor(w: int, h: int) -> bool:
    return (w, h) in ((1024, 1024), (1024, 1536), (1536, 1024))


class CompiledCall(Protocol):
    """What :func:`estimate_call` reads from a compiled call (``imagewright.calls.ApiCall``)."""

    @property
    def model(self) -> str | None: ...
    @property
    def prompt(self) -> str: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def images(self) -> Sequence[Any]: ...


def estimate_call(call: CompiledCall) -> CostEstimate:
    """Estimate a compiled call (an ``ApiCall``) from the fields it will send.

    Partial images count only when the call streams.
    """
    params = image_params(call.params)
    n = params.get("n", 1)
    partial = params.get("partial_images") or 0
    return estimate(
        call.model,
        size=str(params.get("size") or "auto"),
        quality=str(params.get("quality") or "auto"),
        n=n if isinstance(n, int) else 1,
        input_sizes=[(im.width, im.height) for im in call.images],
        partial_images=partial if params.get("stream") and isinstance(partial, int) else 0,
        prompt=call.prompt,
    )


# ------------------------------------------------------------------------------------ budget


def _usd(amount: CostEstimate | Cost | float, basis: str) -> float:
    if isinstance(amount, CostEstimate):
        return float(getattr(amount, f"{basis}_usd"))
    if isinstance(amount, Cost):
        return amount.total_usd
    return float(amount)


class Budget:
    """A spending limit that refuses calls before they are sent; safe to share between threads.

    ``check`` compares a call's estimate (its ``high`` end by default, so the limit is never
    overrun by an estimate that was too low) with what is left. ``reserve`` does the same and
    holds the amount until the call settles, so concurrent calls cannot all pass the same
    check; ``record`` adds an actual cost.

    Examples:
        >>> budget = Budget(0.25)
        >>> budget.check(estimate("gpt-image-2", size="1024x1024", quality="high"))
        >>> budget.record(0.2)
        >>> budget.check(estimate("gpt-image-2", size="1024x1024", quality="high"))
        Traceback (most recent call last):
        ...
        imagewright.errors.BudgetExceededError: estimated $0.2318 would exceed the budget: $0.2000 of $0.2500 already spent; nothing was sent
    """

    def __init__(
        self,
        limit_usd: float,
        *,
        spent_usd: float = 0.0,
        basis: Literal["low", "expected", "high"] = "high",
    ) -> None:
        if not limit_usd >= 0:
            raise ValueError(f"limit_usd={limit_usd!r}: must be a number >= 0")
        self.limit_usd = float(limit_usd)
        self.basis = basis
        self._spent = float(spent_usd)
        self._pending = 0.0
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        """What has been recorded as spent."""
        with self._lock:
            return self._spent

    @property
    def pending_usd(self) -> float:
        """What reserved, unsettled calls may still spend."""
        with self._lock:
            return self._pending

    @property
    def remaining_usd(self) -> float:
        """The limit minus what is spent and reserved."""
        with self._lock:
            return self.limit_usd - self._spent - self._pending

    def _check_locked(self, amount: float) -> None:
        committed = self._spent + self._pending
        if committed + amount > self.limit_usd + 1e-12:
            held = f" (+${self._pending:.4f} reserved)" if self._pending else ""
            raise BudgetExceededError(
                f"estimated ${amount:.4f} would exceed the budget: ${self._spent:.4f}{held} of "
                f"${self.limit_usd:.4f} already spent; nothing was sent",
                estimate_usd=amount,
                budget_usd=self.limit_usd,
                spent_usd=self._spent,
            )

    def check(self, estimate: CostEstimate | float) -> None:
        """Raise :class:`~imagewright.errors.BudgetExceededError` if the call would not fit."""
        amount = _usd(estimate, self.basis)
        with self._lock:
            self._check_locked(amount)

    def reserve(self, estimate: CostEstimate | float) -> Reservation:
        """Check and hold the estimate until the returned reservation is settled or released."""
        amount = _usd(estimate, self.basis)
        with self._lock:
            self._check_locked(amount)
            self._pending += amount
        return Reservation(self, amount)

    def record(self, cost: Cost | float) -> None:
        """Add an actual cost (from the call's usage) to what is spent."""
        amount = _usd(cost, "expected")
        with self._lock:
            self._spent += amount

    def _settle(self, held: float, cost: Cost | float | None) -> None:
        amount = 0.0 if cost is None else _usd(cost, "expected")
        with self._lock:
            self._pending = max(0.0, self._pending - held)
            self._spent += amount

    def __repr__(self) -> str:
        return (
            f"Budget(limit=${self.limit_usd:.4f}, spent=${self.spent_usd:.4f}, "
            f"reserved=${self.pending_usd:.4f}, basis={self.basis!r})"
        )


@dataclass
class Reservation:
    """Money held for one call by :meth:`Budget.reserve`.

    Settle it with the actual cost once the answer arrives, or release it if nothing was
    billed. As a context manager it releases itself on exit if it was not settled.
    """

    budget: Budget
    amount_usd: float
    done: bool = field(default=False, init=False)

    def settle(self, cost: Cost | float | None) -> None:
        """Replace the held amount by the actual cost (``None`` = nothing was billed)."""
        if not self.done:
            self.done = True
            self.budget._settle(self.amount_usd, cost)

    def release(self) -> None:
        """Give the held amount back; nothing was billed."""
        self.settle(None)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
