"""Token usage the sandbox reports: plausible numbers with the shape and scale of the real API.

The formulas are documented in ``docs/sandbox.md``; they follow the gpt-image-2 guide figures
at 1024x1024 and scale with pixel area. They are for exercising cost code, not for billing.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "OUTPUT_TOKENS_1024",
    "PARTIAL_IMAGE_TOKENS",
    "image_input_tokens",
    "output_tokens",
    "text_tokens",
    "usage_object",
]

OUTPUT_TOKENS_1024: dict[str, int] = {
    "low": 196,
    "medium": 1756,
    "high": 7024,
    "xhigh": 10536,
    "max": 14048,
}
"""Output image tokens for one 1024x1024 image, by effective quality."""

PARTIAL_IMAGE_TOKENS = 100
"""Extra output tokens billed for each streamed partial image."""

_TILE = 512
_TILE_TOKENS = 170
_BASE_IMAGE_TOKENS = 85


def output_tokens(width: int, height: int, quality: str) -> int:
    """Output tokens for one image: the 1024x1024 figure scaled by pixel area."""
    return max(1, round(OUTPUT_TOKENS_1024[quality] * width * height / (1024 * 1024)))


def text_tokens(prompt: str) -> int:
    """Input text tokens: about four characters per token, at least one."""
    return max(1, math.ceil(len(prompt) / 4))


def image_input_tokens(width: int, height: int) -> int:
    """Input tokens for one input image, counted in 512-px tiles as vision models do.

    The image is first scaled to fit in 2048x2048, then so that its short side is at most
    768 px; each 512-px tile costs 170 tokens, plus 85 per image.
    """
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    tiles = math.ceil(w / _TILE) * math.ceil(h / _TILE)
    return _BASE_IMAGE_TOKENS + _TILE_TOKENS * tiles


def usage_object(
    *, text: int, image: int, output: int, with_output_details: bool
) -> dict[str, Any]:
    """The ``usage`` object in the exact wire shape."""
    usage: dict[str, Any] = {
        "input_tokens": text + image,
        "input_tokens_details": {"image_tokens": image, "text_tokens": text},
        "output_tokens": output,
        "total_tokens": text + image + output,
    }
    if with_output_details:
        usage["output_tokens_details"] = {"image_tokens": output, "text_tokens": 0}
    return usage
