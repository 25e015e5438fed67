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
    BatchNotFinishedError,
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
    InsecureURLWarning,
    IntegrityError,
    InternalServerError,
    MaskError,
    MaskWarning,
    MissingExtraError,
    NotFoundError,
    NotResentError,
    PermissionDeniedError,
    PreviewFeatureWarning,
    RateLimitError,
    ReplayError,
    StreamError,
    TextFitError,
    UnknownModelWarning,
    UnprocessableEntityError,
    UnsafeURLError,
    ValidationError,
)

if _typing.TYPE_CHECKING:
    from . import (
        batches,
        conversation,
        diff,
        distributed,
        errors,
        files,
        images,
        layout,
        ledger,
        mapping,
        masks,
        models,
        pricing,
        prompt,
        refs,
        regions,
        repair,
        sandbox,
        session,
        sizing,
        text,
        typography,
        verify,
    )
    from .batches import AsyncBatchJob, BatchJob, BatchLineError, BatchStatus
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
    from .files import FileObject, UploadCache
    from .images import EncodedImage
    from .layout import ImageSlot, Keep, Layout, Shape, TextBlock
    from .ledger import Ledger
    from .mapping import AsyncMapRun, Failure, MapRun, MapSummary
    from .masks import Mask, MaskFinding
    from .pricing import Budget, Cost, CostEstimate
    from .prompt import Prompt, Text
    from .refs import FileRef, ImageURL
    from .repair import TextRepair
    from .results import OutputImage, PartialImage, Result, Timings, Usage, results_grid
    from .session import AsyncSession, Session, SessionStep
    from .sizing import SizePlan, plan_size
    from .text import ExpectedText, Normalization, OcrEngine, OcrLine, StringCheck, TextCheck
    from .verify import Check

# Where each public name lives; ``__getattr__`` imports it on first access (PEP 562).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "batches": ("AsyncBatchJob", "BatchJob", "BatchLineError", "BatchStatus"),
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
    "files": ("FileObject", "UploadCache"),
    "images": ("EncodedImage",),
    "layout": ("ImageSlot", "Keep", "Layout", "Shape", "TextBlock"),
    "ledger": ("Ledger",),
    "mapping": ("AsyncMapRun", "Failure", "MapRun", "MapSummary"),
    "masks": ("Mask", "MaskFinding"),
    "pricing": ("Budget", "Cost", "CostEstimate"),
    "prompt": ("Prompt", "Text"),
    "refs": ("FileRef", "ImageURL"),
    "repair": ("TextRepair",),
    "results": ("OutputImage", "PartialImage", "Result", "Timings", "Usage", "results_grid"),
    "session": ("AsyncSession", "Session", "SessionStep"),
    "sizing": ("SizePlan", "plan_size"),
    "text": ("ExpectedText", "Normalization", "OcrEngine", "OcrLine", "StringCheck", "TextCheck"),
    "verify": ("Check",),
}
_SUBMODULES = (
    "batches",
    "conversation",
    "diff",
    "distributed",
    "errors",
    "files",
    "images",
    "layout",
    "ledger",
    "mapping",
    "masks",
    "models",
    "pricing",
    "prompt",
    "refs",
    "regions",
    "repair",
    "sandbox",
    "session",
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
    "AsyncBatchJob",
    "AsyncClient",
    "AsyncConversation",
    "AsyncMapRun",
    "AsyncSession",
    "AuthenticationError",
    "BadRequestError",
    "BatchJob",
    "BatchLineError",
    "BatchNotFinishedError",
    "BatchStatus",
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
    "Failure",
    "FileObject",
    "FileRef",
    "FinishWarning",
    "GenerateOptions",
    "GlyphError",
    "ImageInputError",
    "ImageOptions",
    "ImageSlot",
    "ImageURL",
    "ImagewrightError",
    "ImagewrightWarning",
    "InsecureURLWarning",
    "IntegrityError",
    "InternalServerError",
    "Keep",
    "Layout",
    "Ledger",
    "MapRun",
    "MapSummary",
    "Mask",
    "MaskError",
    "MaskFinding",
    "MaskWarning",
    "MissingExtraError",
    "Normalization",
    "NotFoundError",
    "NotResentError",
    "OcrEngine",
    "OcrLine",
    "OutputImage",
    "Part",
    "PartialImage",
    "PermissionDeniedError",
    "PreviewFeatureWarning",
    "Prompt",
    "RateLimitError",
    "ReplayError",
    "Result",
    "Session",
    "SessionStep",
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
    "UnsafeURLError",
    "UploadCache",
    "Usage",
    "ValidationError",
    "__version__",
    "batches",
    "compute_diff",
    "conversation",
    "diff",
    "distributed",
    "errors",
    "files",
    "images",
    "layout",
    "ledger",
    "mapping",
    "masks",
    "models",
    "plan_size",
    "pricing",
    "prompt",
    "refs",
    "regions",
    "repair",
    "results_grid",
    "sandbox",
    "session",
    "sizing",
    "text",
    "typography",
    "verify",
]
