"""imagewright: directed image generation and editing on OpenAI's GPT Image models."""

from __future__ import annotations

from . import errors, models
from ._version import __version__
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

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "ImageInputError",
    "ImagewrightError",
    "InternalServerError",
    "MaskError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamError",
    "UnprocessableEntityError",
    "ValidationError",
    "__version__",
    "errors",
    "models",
]
