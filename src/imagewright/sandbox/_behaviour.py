"""How the sandbox misbehaves on purpose: latency, mask leakage, wrong text and faults.

A :class:`Behaviour` is set per sandbox (constructor keywords) and can be overridden per
request with ``X-Sandbox-*`` headers (see :data:`HEADERS`), so one running server can serve a
well-behaved client and a fault test at the same time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ..errors import Problem, ValidationError

__all__ = ["FAULTS", "HEADERS", "Behaviour", "FaultName", "parse_overrides"]

FaultName = Literal[
    "429",
    "500",
    "503",
    "reset_before",
    "reset_after",
    "stall",
    "truncate",
    "malformed_json",
    "malformed_sse",
    "stream_error",
    "moderation",
]
"""Every fault the sandbox can inject (see ``docs/sandbox.md`` for what each one does)."""

FAULTS: tuple[str, ...] = get_args(FaultName)

HEADERS: dict[str, str] = {
    "x-sandbox-fault": "fault",
    "x-sandbox-latency": "latency",
    "x-sandbox-leakage": "leakage",
    "x-sandbox-leakage-delta": "leakage_delta",
    "x-sandbox-wrong-text": "wrong_text",
    "x-sandbox-retry-after": "retry_after",
    "x-sandbox-stall": "stall",
}
"""Request headers that override the sandbox's behaviour for one request, by field name."""


@dataclass(frozen=True)
class Behaviour:
    """What the sandbox does besides answering correctly; the default is a perfect server.

    Attributes:
        seed: Seeds every random choice (fault draws, latency ranges), so runs repeat.
        latency: Seconds to wait before answering, or a ``(low, high)`` range drawn per request.
        leakage: Fraction (0..1) of the pixels *outside* a mask's editable area that an edit
            changes anyway, the way real models drift.
        leakage_delta: How much (1..255) each leaked pixel's RGB channels move.
        wrong_text: Fraction (0..1) of the letters of every quoted string that are drawn with a
            typo (at least one typo per string when above 0).
        faults: A script consumed one entry per request, in order: a fault name, or ``None``
            for a normal answer. ``["429", "500", None]`` fails twice then succeeds.
        fault_rates: After the script is used up, each request draws these faults with these
            probabilities, e.g. ``{"429": 0.2}``.
        retry_after: Seconds advertised by ``retry-after`` / ``retry-after-ms`` on a 429.
        stall: Seconds a ``stall`` fault holds the connection before dropping it.
        api_key: When set, only this bearer key is accepted; otherwise any non-empty key is.

    Examples:
        >>> Behaviour(faults=("429", None), retry_after=0.01).faults
        ('429', None)
    """

    seed: int = 0
    latency: float | tuple[float, float] = 0.0
    leakage: float = 0.0
    leakage_delta: int = 24
    wrong_text: float = 0.0
    faults: Sequence[FaultName | None] = ()
    fault_rates: Mapping[FaultName, float] = field(default_factory=dict)
    retry_after: float = 1.0
    stall: float = 30.0
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Normalise lists given by callers into tuples so the object stays immutable.
        object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "fault_rates", dict(self.fault_rates))
        if isinstance(self.latency, Sequence):
            object.__setattr__(self, "latency", tuple(float(x) for x in self.latency))
        problems = _check(self)
        if problems:
            raise ValidationError(problems)

    def replace(self, **changes: Any) -> Behaviour:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)


def _fraction(name: str, value: float) -> list[Problem]:
    if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
        return [Problem(name, value, "must be a fraction", allowed="0.0..1.0")]
    return []


def _seconds(name: str, value: object) -> list[Problem]:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        return [Problem(name, value, "must be a number of seconds", allowed=">= 0")]
    return []


def _check(b: Behaviour) -> list[Problem]:
    problems = _fraction("leakage", b.leakage) + _fraction("wrong_text", b.wrong_text)
    problems += _seconds("retry_after", b.retry_after) + _seconds("stall", b.stall)
    if isinstance(b.latency, tuple):
        if len(b.latency) != 2 or b.latency[0] > b.latency[1]:
            problems.append(Problem("latency", b.latency, "a range must be (low, high)"))
        for value in b.latency:
            problems += _seconds("latency", value)
    else:
        problems += _seconds("latency", b.latency)
    if not (isinstance(b.leakage_delta, int) and 1 <= b.leakage_delta <= 255):
        problems.append(Problem("leakage_delta", b.leakage_delta, "out of range", "1..255"))
    allowed = ", ".join(FAULTS)
    for fault in b.faults:
        if fault is not None and fault not in FAULTS:
            problems.append(Problem("faults", fault, "unknown fault", allowed=allowed + ", None"))
    for fault, rate in b.fault_rates.items():
        if fault not in FAULTS:
            problems.append(Problem("fault_rates", fault, "unknown fault", allowed=allowed))
        problems += _fraction(f"fault_rates[{fault!r}]", rate)
    if sum(b.fault_rates.values()) > 1.0 + 1e-9:
        problems.append(Problem("fault_rates", b.fault_rates, "rates must add up to at most 1"))
    if b.api_key is not None and not b.api_key:
        problems.append(Problem("api_key", b.api_key, "must be non-empty or None"))
    return problems


def _parse_latency(text: str) -> float | tuple[float, float]:
    if "-" in text.strip("-"):
        low, high = text.split("-", 1)
        return (float(low), float(high))
    return float(text)


_PARSERS: dict[str, Any] = {
    "latency": _parse_latency,
    "leakage": float,
    "leakage_delta": int,
    "wrong_text": float,
    "retry_after": float,
    "stall": float,
}


def parse_overrides(
    headers: Mapping[str, str], base: Behaviour
) -> tuple[Behaviour, FaultName | None, bool]:
    """Apply ``X-Sandbox-*`` request headers to ``base``.

    Returns:
        The effective behaviour, the fault forced by ``X-Sandbox-Fault`` (``None`` for
        ``none``), and whether that header was present at all.

    Raises:
        ValidationError: A header has a value the sandbox does not understand.
    """
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    for header, name in HEADERS.items():
        raw = headers.get(header)
        if raw is None or name == "fault":
            continue
        try:
            changes[name] = _PARSERS[name](raw.strip())
        except ValueError:
            problems.append(Problem(header, raw, f"not a valid {name}"))
    forced: FaultName | None = None
    raw_fault = headers.get("x-sandbox-fault")
    if raw_fault is not None:
        value = raw_fault.strip().lower()
        if value not in ("none", *FAULTS):
            problems.append(
                Problem("x-sandbox-fault", raw_fault, "unknown fault", "none, " + ", ".join(FAULTS))
            )
        elif value != "none":
            forced = value  # type: ignore[assignment]
    if problems:
        raise ValidationError(problems)
    return (base.replace(**changes) if changes else base), forced, raw_fault is not None
