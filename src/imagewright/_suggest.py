"""Near-miss suggestions for error messages: the value the user probably meant.

Used by the compiler (sizes, enumerated options, model names, option names) so that an error
says what to type instead, before anything is sent.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["close_model", "did_you_mean", "nearest_size"]


def did_you_mean(value: Any, allowed: Sequence[str]) -> str:
    """``"; did you mean 'high'?"`` for a near miss of ``allowed`` (case ignored), else ``""``."""
    if not isinstance(value, str) or not allowed:
        return ""
    folded = {a.lower(): a for a in allowed}
    if value.lower() in folded:
        return f"; did you mean {folded[value.lower()]!r}? (values are lower case)"
    near = difflib.get_close_matches(value.lower(), list(folded), n=1, cutoff=0.75)
    return f"; did you mean {folded[near[0]]!r}?" if near else ""


def _squash(name: str) -> str:
    return re.sub(r"[\s._-]+", "", name.lower())


def close_model(name: str) -> tuple[bool, str | None]:
    """``(is_typo, known_name)`` for an unknown model name.

    ``is_typo`` is True when only case or punctuation differ from an available model
    (``gpt-image2``, ``GPT-Image-2``); otherwise ``known_name`` is a similar name, or ``None``.
    A similar name alone is only a hint: it may be a model newer than imagewright's table.
    """
    from .models import MODELS

    available = [n for n, spec in MODELS.items() if spec.available]
    squashed = {_squash(n): n for n in available}
    if _squash(name) in squashed:
        return True, squashed[_squash(name)]
    near = difflib.get_close_matches(name.lower(), available, n=1, cutoff=0.85)
    return False, near[0] if near else None


def nearest_size(size: str, model: str) -> str:
    """``"; nearest accepted size: '1008x1008' ..."`` for a ``WxH`` the model refuses, else ``""``."""
    from .errors import ValidationError
    from .sizing import plan_size

    try:
        plan = plan_size(size, model=model)
    except (ValidationError, ValueError):
        return ""
    if plan.api_size == size:
        return ""
    return (
        f"; nearest accepted size: {plan.api_size!r} (or plan_size({size!r}, model={model!r}), "
        f"or a Layout, to request it and crop the output to exactly {size})"
    )
