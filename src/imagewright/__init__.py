"""imagewright: directed image generation and editing on OpenAI's GPT Image models."""

from __future__ import annotations

from . import errors, models
from ._compile import ApiCall, ExperimentalSizeWarning, Part, PreviewFeatureWarning
from ._version import __version__
from .client import AsyncClient, Client, EditOptions, GenerateOptions, StreamEvent
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
from .models import UnknownModelWarning
from .results import OutputImage, PartialImage, Result, Timings, Usage

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
    "BudgetExceededError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "EditOptions",
    "EditRequest",
    "EncodedImage",
    "ExperimentalSizeWarning",
    "GenerateOptions",
    "ImageInputError",
    "ImagewrightError",
    "InternalServerError",
    "MaskError",
    "NotFoundError",
    "OutputImage",
    "Part",
    "PartialImage",
    "PermissionDeniedError",
    "PreviewFeatureWarning",
    "RateLimitError",
    "Result",
    "StreamError",
    "StreamEvent",
    "Timings",
    "UnknownModelWarning",
    "UnprocessableEntityError",
    "Usage",
    "ValidationError",
    "__version__",
    "errors",
    "models",
]
