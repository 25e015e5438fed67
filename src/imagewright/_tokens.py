"""The token model behind imagewright's estimates (and the sandbox's usage): output tokens by
size and quality, input text and image tokens. Formulas and sources: see
:mod:`imagewright.pricing`, which re-exports the public names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .models import lookup

__all__ = [
    "EXTRA_QUALITY",
    "GPT1_FAMILIES",
    "GPT2_SQUARE",
    "PARTIAL_IMAGE_TOKENS",
    "family",
    "image_input_tokens",
    "output_tokens",
    "text_tokens",
]


def family(model: str) -> str:
    """The model family a name belongs to (snapshots map to their family; unknown names to
    themselves)."""
    spec = lookup(model)
    if spec is not None and spec.family:
        return spec.family
    return model


GPT2_SQUARE: Mapping[str, int] = {"low": 196, "medium": 1756, "high": 7024}
EXTRA_QUALITY: Mapping[str, float] = {"xhigh": 1.5, "max": 2.0}
_LONG_RATIO = 0.78125  # 5488 / 7024: the guide's 1024x1536 high figure over the square one
_GPT1_TABLE: Mapping[str, tuple[int, int, int]] = {  # square, portrait, landscape
    "low": (272, 408, 400),
    "medium": (1056, 1584, 1568),
    "high": (4160, 6240, 6208),
}
GPT1_FAMILIES = frozenset(
    {"gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"}
)
PARTIAL_IMAGE_TOKENS = 100
"""Extra output tokens per streamed partial image, per image."""


def _quality_anchor(quality: str) -> tuple[float, bool]:
    """Tokens of one 1024x1024 gpt-image-2 image and whether the guide publishes the figure."""
    if quality in GPT2_SQUARE:
        return float(GPT2_SQUARE[quality]), True
    if quality in EXTRA_QUALITY:
        return GPT2_SQUARE["high"] * EXTRA_QUALITY[quality], False
    return float(GPT2_SQUARE["medium"]), False


def output_tokens(model: str | None, width: int, height: int, quality: str) -> int:
    """Estimated output tokens for one image of ``width`` x ``height`` at ``quality``.

    See the module doc for the formula. ``quality`` is an effective value (``low``,
    ``medium``, ``high``, ``xhigh``, ``max``); anything else is estimated as ``medium``.

    Examples:
        >>> output_tokens("gpt-image-2", 1024, 1024, "high"), output_tokens("gpt-image-2", 1536, 1024, "high")
        (7024, 5488)
    """
    if family(model or "") in GPT1_FAMILIES:
        row = _GPT1_TABLE.get(quality, _GPT1_TABLE["medium"])
        shape = 0 if width == height else (1 if height > width else 2)
        return round(row[shape] * width * height / _STANDARD_AREA[shape])
    anchor, _ = _quality_anchor(quality)
    aspect = max(width, height) / max(1, min(width, height))
    factor = 1 - (1 - _LONG_RATIO / 1.5) * min(1.0, (aspect - 1) / 0.5)
    return max(1, round(anchor * width * height / (1024 * 1024) * factor))


_STANDARD_AREA = (1024 * 1024, 1024 * 1536, 1536 * 1024)


def text_tokens(prompt: str | int) -> int:
    """Estimated input text tokens for a prompt (or a prompt length): four characters a token."""
    chars = prompt if isinstance(prompt, int) else len(prompt)
    return max(1, math.ceil(chars / 4))


def image_input_tokens(width: int, height: int) -> int:
    """Estimated input tokens for one input image, by the vision tile rule (see module doc).

    Examples:
        >>> image_input_tokens(1024, 1024)
        765
    """
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)
