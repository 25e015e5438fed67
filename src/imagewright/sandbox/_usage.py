"""Token usage the sandbox reports: plausible numbers with the shape and scale of the real API.

The formulas are documented in ``docs/sandbox.md``; they are :mod:`imagewright.pricing`'s token
model (the gpt-image-2 guide figures), shared so there is one definition of it. They are for
exercising cost code, not for billing.
"""

from __future__ import annotations

from typing import Any

from .. import pricing

__all__ = [
    "OUTPUT_TOKENS_1024",
    "PARTIAL_IMAGE_TOKENS",
    "image_input_tokens",
    "output_tokens",
    "text_tokens",
    "usage_object",
]

OUTPUT_TOKENS_1024: dict[str, int] = {
    q: pricing.output_tokens("gpt-image-2", 1024, 1024, q)
    for q in ("low", "medium", "high", "xhigh", "max")
}
"""Output image tokens for one 1024x1024 image, by effective quality."""

PARTIAL_IMAGE_TOKENS = 100
"""Extra output tokens billed for each streamed partial image."""


def output_tokens(width: int, height: int, quality: str) -> int:
    """Output tokens for one image, by the guide's gpt-image-2 figures (see ``imagewright.pricing``).

    The sandbox bills with the same token model imagewright estimates with, so cost code can be
    checked end to end; the numbers are plausible, not a price list.
    """
    return pricing.output_tokens("gpt-image-2", width, height, quality)


text_tokens = pricing.text_tokens
image_input_tokens = pricing.image_input_tokens


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
