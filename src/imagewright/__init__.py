"""imagewright: directed image generation and editing on OpenAI's GPT Image models."""

from __future__ import annotations

from . import (
    diff,
    errors,
    images,
    layout,
    masks,
    models,
    pricing,
    prompt,
    regions,
    sandbox,
    sizing,
    typography,
    verify,
)
from ._compile import ExperimentalSizeWarning, PreviewFeatureWarning
from ._version import __version__
from .calls import ApiCall, Part
from .client import AsyncClient, Client, EditOptions, GenerateOptions, StreamEvent
from .diff import Diff, compute_diff
from .edit import EditRequest
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
    ImageInputError,
    ImagewrightError,
    InternalServerError,
    MaskError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
    ValidationError,
)
from .images import EncodedImage
from .layout import ImageSlot, Keep, Layout, Shape, TextBlock
from .masks import Mask, MaskFinding, MaskWarning
from .models import UnknownModelWarning
from .pricing import Budget, Cost, CostEstimate
from .prompt import Prompt, Text
from .results import OutputImage, PartialImage, Result, Timings, Usage, results_grid
from .sizing import SizePlan, plan_size
from .typography import GlyphError, TextFitError
from .verify import Check

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ApiCall",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "BudgetExceededError",
    "Check",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "Cost",
    "CostEstimate",
    "Diff",
    "EditOptions",
    "EditRequest",
    "EncodedImage",
    "ExperimentalSizeWarning",
    "GenerateOptions",
    "GlyphError",
    "ImageInputError",
    "ImageSlot",
    "ImagewrightError",
    "InternalServerError",
    "Keep",
    "Layout",
    "Mask",
    "MaskError",
    "MaskFinding",
    "MaskWarning",
    "NotFoundError",
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
    "Text",
    "TextBlock",
    "TextFitError",
    "Timings",
    "UnknownModelWarning",
    "UnprocessableEntityError",
    "Usage",
    "ValidationError",
    "__version__",
    "compute_diff",
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
    "results_grid",
    "sandbox",
    "sizing",
    "typography",
    "verify",
]
