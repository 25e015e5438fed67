"""imagewright: directed image generation and editing on OpenAI's GPT Image models.

Every public name is importable from here (``from imagewright import Client``), but nothing
heavy loads with ``import imagewright``: each name's module is imported on first use, so a
script that only compiles calls never loads numpy, and the sandbox loads only when used.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from ._version import __version__

# The exception tree is light (no third-party import) and is what callers catch: loaded now.
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigurationError,
    ConflictError,
    ContentPolicyError,
    ContrastWarning,
    ExperimentalSizeWarning,
    FinishWarning,
    GlyphError,
    ImageInputError,
    ImagewrightError,
    ImagewrightWarning,
    InternalServerError,
    MaskError,
    MaskWarning,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    PreviewFeatureWarning,
    RateLimitError,
    StreamError,
    TextFitError,
    UnknownModelWarning,
    UnprocessableEntityError,
    ValidationError,
)

if _typing.TYPE_CHECKING:
    from . import (
        conversation,
        diff,
        errors,
        images,
        layout,
        masks,
        models,
        pricing,
        prompt,
        regions,
        repair,
        sandbox,
        sizing,
        text,
        typography,
        verify,
    )
    from .calls import ApiCall, Part
    from .client import AsyncClient, Client, EditOptions, GenerateOptions, StreamEvent
    from .conversation import (
        AsyncConversation,
        Conversation,
        ImageOptions,
        TextUsage,
        TurnResult,
    )
    from .diff import Diff, compute_diff
    from .edit import EditRequest
    from .images import EncodedImage
    from .layout import ImageSlot, Keep, Layout, Shape, TextBlock
    from .masks import Mask, MaskFinding
    from .pricing import Budget, Cost, CostEstimate
    from .prompt import Prompt, Text
    from .repair import TextRepair
    from .results import OutputImage, PartialImage, Result, Timings, Usage, results_grid
    from .sizing import SizePlan, plan_size
    from .text import ExpectedText, Normalization, OcrEngine, OcrLine, StringCheck, TextCheck
    from .verify import Check

# Where each public name lives; ``__getattr__`` imports it on first access (PEP 562).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "calls": ("ApiCall", "Part"),
    "client": ("AsyncClient", "Client", "EditOptions", "GenerateOptions", "StreamEvent"),
    "conversation": (
        "AsyncConversation",
        "Conversation",
        "ImageOptions",
        "TextUsage",
        "TurnResult",
    ),
    "diff": ("Diff", "compute_diff"),
    "edit": ("EditRequest",),
    "images": ("EncodedImage",),
    "layout": ("ImageSlot", "Keep", "Layout", "Shape", "TextBlock"),
    "masks": ("Mask", "MaskFinding"),
    "pricing": ("Budget", "Cost", "CostEstimate"),
    "prompt": ("Prompt", "Text"),
    "repair": ("TextRepair",),
    "results": ("OutputImage", "PartialImage", "Result", "Timings", "Usage", "results_grid"),
    "sizing": ("SizePlan", "plan_size"),
    "text": ("ExpectedText", "Normalization", "OcrEngine", "OcrLine", "StringCheck", "TextCheck"),
    "verify": ("Check",),
}
_SUBMODULES = (
    "conversation",
    "diff",
    "errors",
    "images",
    "layout",
    "masks",
    "models",
    "pricing",
    "prompt",
    "regions",
    "repair",
    "sandbox",
    "sizing",
    "text",
    "typography",
    "verify",
)
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> _typing.Any:
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'imagewright' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ApiCall",
    "AsyncClient",
    "AsyncConversation",
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "BudgetExceededError",
    "Check",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "ContrastWarning",
    "Conversation",
    "Cost",
    "CostEstimate",
    "Diff",
    "EditOptions",
    "EditRequest",
    "EncodedImage",
    "ExpectedText",
    "ExperimentalSizeWarning",
    "FinishWarning",
    "GenerateOptions",
    "GlyphError",
    "ImageInputError",
    "ImageOptions",
    "ImageSlot",
    "ImagewrightError",
    "ImagewrightWarning",
    "InternalServerError",
    "Keep",
    "Layout",
    "Mask",
    "MaskError",
    "MaskFinding",
    "MaskWarning",
    "MissingExtraError",
    "Normalization",
    "NotFoundError",
    "OcrEngine",
    "OcrLine",
    "OutputImage",
    "Part",
    "PartialImage",
    "PermissionDeniedError",
    "PreviewFeatureWarning",
    "Prompt",
    "RateLimitError",
    "Result",
    "Shape",
    "SizePlan",
    "StreamError",
    "StreamEvent",
    "StringCheck",
    "Text",
    "TextBlock",
    "TextCheck",
    "TextFitError",
    "TextRepair",
    "TextUsage",
    "Timings",
    "TurnResult",
    "UnknownModelWarning",
    "UnprocessableEntityError",
    "Usage",
    "ValidationError",
    "__version__",
    "compute_diff",
    "conversation",
    "diff",
    "errors",
    "images",
    "layout",
    "masks",
    "models",
    "plan_size",
    "pricing",
    "prompt",
    "regions",
    "repair",
    "results_grid",
    "sandbox",
    "sizing",
    "text",
    "typography",
    "verify",
]
