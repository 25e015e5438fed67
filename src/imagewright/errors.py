"""Every exception imagewright raises, in one tree with one root.

::

    ImagewrightError
     ├─ ConfigurationError            missing API key, bad client settings
     ├─ MissingExtraError (ImportError) a feature needs an optional extra (``imagewright[ocr]``)
     ├─ ValidationError (ValueError)  a call that would be refused; lists *every* problem
     │   ├─ ImageInputError           an input image that cannot be sent (empty, corrupt, too big, ...)
     │   ├─ MaskError                 a mask that cannot be sent (wrong size, no editable pixel, ...)
     │   ├─ UnsafeURLError            a URL imagewright refuses to fetch (private address, bad scheme)
     │   ├─ TextFitError              a layout text that cannot fit its box at a readable size
     │   └─ GlyphError                a character the chosen font cannot draw
     ├─ BudgetExceededError           the estimated cost is over the client's budget; nothing was sent
     ├─ BatchNotFinishedError         a Batch API job's results were asked for before it ended
     ├─ NotResentError                a ledger says an earlier attempt may have been billed; not sent again
     ├─ ReplayError                   a session replay stopped at a failed step; the steps before it are kept
     ├─ IntegrityError (ValueError)   a saved file does not match the sha256 recorded for it (edited or corrupt)
     └─ APIError                      something went wrong talking to the API
         ├─ APIStatusError            the server answered with an error status
         │   ├─ BadRequestError            400
         │   │   └─ ContentPolicyError     400 moderation_blocked / content_policy_violation
         │   ├─ AuthenticationError        401
         │   ├─ PermissionDeniedError      403
         │   ├─ NotFoundError              404
         │   ├─ ConflictError              409
         │   ├─ UnprocessableEntityError   422
         │   ├─ RateLimitError             429
         │   └─ InternalServerError        5xx
         ├─ APIConnectionError        no usable answer arrived
         │   └─ APITimeoutError       the request timed out
         ├─ StreamError               the server sent an ``error`` event inside a stream
         └─ APIResponseValidationError the answer did not have the expected shape

Warnings, one tree with one root (``ImagewrightWarning`` is a ``UserWarning``, so
``warnings.simplefilter("error", ImagewrightWarning)`` turns every one of ours into an error)::

    ImagewrightWarning (UserWarning)
     ├─ UnknownModelWarning           a model name imagewright does not know; sent unchecked
     ├─ PreviewFeatureWarning         a feature the API marks as preview for this model
     ├─ ExperimentalSizeWarning       a size above 2560x1440 (accepted, called experimental)
     ├─ MaskWarning                   a mask that can be sent but probably misses the intent
     ├─ InsecureURLWarning            a key about to go over plain http to another machine
     ├─ ContrastWarning               overlay text below WCAG AA contrast
     └─ FinishWarning                 local finishing of a paid output failed; the API's image kept

Errors raised before a request is sent (``ValidationError``, ``BudgetExceededError``,
``ConfigurationError``) guarantee that nothing was billed. ``APIConnectionError`` carries
``may_have_been_billed``: ``True`` when the request body was fully sent before the failure,
so the image may already have been generated and charged.

Every class is also importable from the package root, and from the module that raises it
(``imagewright.masks.MaskWarning``, ``imagewright.typography.TextFitError``, ...). No exception ever contains the API key: messages never include request headers, and the
request kept on an error (``APIError.request``, ``APIStatusError.response.request``) has its
``Authorization`` / ``api-key`` header removed once it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchNotFinishedError",
    "BudgetExceededError",
    "ConfigurationError",
    "ConflictError",
    "ContentPolicyError",
    "ContrastWarning",
    "ExperimentalSizeWarning",
    "FinishWarning",
    "GlyphError",
    "ImageInputError",
    "ImagewrightError",
    "ImagewrightWarning",
    "InsecureURLWarning",
    "IntegrityError",
    "InternalServerError",
    "MaskError",
    "MaskWarning",
    "MissingExtraError",
    "NotFoundError",
    "NotResentError",
    "PermissionDeniedError",
    "PreviewFeatureWarning",
    "Problem",
    "RateLimitError",
    "ReplayError",
    "StreamError",
    "TextFitError",
    "UnknownModelWarning",
    "UnprocessableEntityError",
    "UnsafeURLError",
    "ValidationError",
]


class ImagewrightError(Exception):
    """The root of every exception imagewright raises."""


class ImagewrightWarning(UserWarning):
    """The root of every warning imagewright emits."""


class UnknownModelWarning(ImagewrightWarning):
    """A model name imagewright does not know; the call is sent unchecked for model rules."""


class PreviewFeatureWarning(ImagewrightWarning):
    """A feature the API marks as preview for this model (e.g. transparent backgrounds on
    gpt-image-2): accepted, but results may vary."""


class ExperimentalSizeWarning(ImagewrightWarning):
    """A size above 2560x1440, which the API accepts but calls experimental."""


class MaskWarning(ImagewrightWarning):
    """A mask that can be sent but probably does not do what was meant (full, tiny, resized)."""


class ContrastWarning(ImagewrightWarning):
    """Overlay text whose colour contrasts with the picture under it less than WCAG AA
    (4.5:1), so it may not be readable; raised by ``Layout.render_text`` / ``finish``."""


class FinishWarning(ImagewrightWarning):
    """Local finishing of a paid output (crop to deliverable, text overlay) failed; the API's
    image is returned as it came."""


class InsecureURLWarning(ImagewrightWarning):
    """The client sends its API key over plain ``http://`` to a host that is not this machine."""


class ConfigurationError(ImagewrightError):
    """The client is not configured well enough to make the call (for example, no API key)."""


@dataclass(frozen=True)
class Problem:
    """One reason a call would be refused.

    Attributes:
        param: The parameter at fault, e.g. ``"size"`` or ``"image[2]"``.
        value: The offending value (already shortened for display).
        message: What is wrong, in one sentence.
        allowed: What would be accepted, in words (``"1..10"``, ``"png, webp"``).
        model: The model the rule belongs to, when the rule is model-specific.
    """

    param: str
    value: Any
    message: str
    allowed: str | None = None
    model: str | None = None

    def __str__(self) -> str:
        text = f"{self.param}={_short(self.value)}: {self.message}"
        if self.model:
            text += f" (model {self.model})"
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        return text


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ValidationError(ImagewrightError, ValueError):
    """A call that the API would refuse, caught before anything was sent.

    ``problems`` lists every problem found, not just the first, so one round of fixes is enough.
    """

    def __init__(self, problems: Sequence[Problem] | Problem | str, *, param: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(param=param or "request", value=None, message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems with this call:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    @property
    def params(self) -> list[str]:
        """The names of the parameters at fault, in order."""
        return [p.param for p in self.problems]


class ImageInputError(ValidationError):
    """An input image that cannot be sent: empty, corrupt, unsupported, too large or too many."""


class MaskError(ValidationError):
    """A mask that cannot be sent: wrong size, wrong mode, nothing editable, or unreadable."""


class UnsafeURLError(ValidationError):
    """A URL imagewright will not fetch itself: a private, loopback or link-local address, or a
    scheme other than http(s). Pass ``allow_private_urls=True`` to fetch it anyway."""


class GlyphError(ValidationError):
    """The chosen font cannot draw some characters of a text; they would come out as boxes."""


class TextFitError(ValidationError):
    """A text does not fit its box at a readable size."""


class MissingExtraError(ImagewrightError, ImportError):
    """A feature needs an optional extra that is not installed; the message names it.

    Attributes:
        feature: What needed it, in words.
        extra: The extra to install (``pip install 'imagewright[<extra>]'``).
    """

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} need the optional extra {extra!r}: pip install 'imagewright[{extra}]'"
        )
        self.feature = feature
        self.extra = extra


class BudgetExceededError(ImagewrightError):
    """The call's estimated cost would exceed the client's budget. Nothing was sent.

    Attributes:
        estimate_usd: The estimated cost of the refused call.
        budget_usd: The budget in force.
        spent_usd: What the client had already spent when the call was refused.
    """

    def __init__(self, message: str, *, estimate_usd: float, budget_usd: float, spent_usd: float):
        super().__init__(message)
        self.estimate_usd = estimate_usd
        self.budget_usd = budget_usd
        self.spent_usd = spent_usd


class ReplayError(ImagewrightError):
    """A session's replay stopped at a step that failed (the failure is the ``__cause__``);
    the steps replayed before it, already paid for, are kept on :attr:`session`.

    Attributes:
        session: The new session, holding every step replayed before the failure.
        step: The number of the original step whose replay failed.
    """

    def __init__(self, session: Any, step: int, error: BaseException) -> None:
        super().__init__(
            f"replay stopped at step {step} ({type(error).__name__}: {error}); the "
            f"{len(session.steps)} step(s) replayed before it are kept on .session"
        )
        self.session = session
        self.step = step


class IntegrityError(ImagewrightError, ValueError):
    """A saved file does not match the sha256 recorded for it, or its hash was removed.

    Raised by :meth:`Result.load <imagewright.Result.load>`, :meth:`Session.load
    <imagewright.session.BaseSession.load>` and :meth:`BatchJob.load
    <imagewright.batches.BatchJob.load>` when a folder or handle was edited or is corrupt:
    nothing from it is used. A ``ValueError``, as before this class existed.
    """


class BatchNotFinishedError(ImagewrightError):
    """A batch job's results were asked for while it still runs: call ``job.wait()`` first, or
    ``job.results(partial=True)`` for the lines of the batches that already ended."""


class APIError(ImagewrightError):
    """Something went wrong while talking to the API.

    Attributes:
        message: A human readable explanation.
        request: The request that failed (only its method and URL are ever shown).
        body: The error object the API returned (the inner ``error`` object), or raw text.
        code: The API's machine-readable error code, e.g. ``"moderation_blocked"``.
        param: The parameter the API blamed, if any.
        type: The API's error type, e.g. ``"invalid_request_error"``.
    """

    def __init__(
        self,
        message: str,
        request: httpx2.Request | None = None,
        *,
        body: object | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body
        self.attempts = 1
        """How many HTTP attempts were made before this error was raised."""
        self.partial_images: list[Any] = []
        """Partial images already received (and paid for) when a stream failed."""
        inner = body if isinstance(body, dict) else {}
        code = inner.get("code")
        self.code: str | None = None if code is None else str(code)
        self.param: str | None = inner.get("param") if isinstance(inner.get("param"), str) else None
        self.type: str | None = inner.get("type") if isinstance(inner.get("type"), str) else None


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status.

    Attributes:
        response: The HTTP response.
        status_code: Its status code.
        request_id: The ``x-request-id`` header, quote it when you contact support.
    """

    def __init__(self, message: str, *, response: httpx2.Response, body: object | None) -> None:
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id: str | None = response.headers.get("x-request-id")


class BadRequestError(APIStatusError):
    """400: the API refused the request as malformed or not allowed."""


class ContentPolicyError(BadRequestError):
    """400: the safety system blocked the prompt or an input image. Never retried.

    Also raised for a Responses API turn whose ``image_generation_call`` failed with
    ``moderation_blocked`` (that answer is a 200: ``status_code`` then says so).

    Attributes:
        categories: The policy categories the API named (an open set), when it named any.
        moderation_stage: ``"input"``, ``"output"`` or ``"unknown"``, when reported.
    """

    def __init__(self, message: str, *, response: httpx2.Response, body: object | None) -> None:
        super().__init__(message, response=response, body=body)
        inner = body if isinstance(body, dict) else {}
        details = inner.get("moderation_details")
        details = details if isinstance(details, dict) else {}
        found = details.get("categories", inner.get("safety_violations"))
        self.categories: list[str] = (
            [str(c) for c in found] if isinstance(found, (list, tuple)) else []
        )
        stage = details.get("moderation_stage")
        self.moderation_stage: str | None = stage if isinstance(stage, str) else None


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model or feature (e.g. organisation not verified)."""


class NotFoundError(APIStatusError):
    """404: the endpoint or deployment does not exist."""


class ConflictError(APIStatusError):
    """409: a conflicting request is in progress."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests or tokens; retried automatically while the wait is reasonable."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class APIConnectionError(APIError):
    """No usable answer arrived: the connection failed, dropped or timed out.

    Attributes:
        may_have_been_billed: ``True`` when the request body had been fully sent before the
            failure, so the server may have generated (and charged for) the image.
        url: The URL that was tried (without its query), also named in the message.
        proxy: The proxy the request went through (``scheme://host:port``), if any.
    """

    def __init__(
        self,
        message: str = "Connection error.",
        request: httpx2.Request | None = None,
        *,
        may_have_been_billed: bool = False,
    ) -> None:
        super().__init__(message, request)
        self.may_have_been_billed = may_have_been_billed
        self.url: str | None = None
        self.proxy: str | None = None


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(
        self,
        message: str = "Request timed out.",
        request: httpx2.Request | None = None,
        *,
        may_have_been_billed: bool = False,
    ) -> None:
        super().__init__(message, request, may_have_been_billed=may_have_been_billed)


class StreamError(APIError):
    """The server sent an ``error`` object inside a streaming response."""


class APIResponseValidationError(APIError):
    """The server answered 2xx, but the body was not the shape the Images API promises."""

    def __init__(self, message: str, *, response: httpx2.Response, body: object | None = None):
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_CONTENT_POLICY_CODES = frozenset(
    {"moderation_blocked", "content_policy_violation", "image_content_policy_violation"}
)


def status_error_class(status_code: int, code: str | None) -> type[APIStatusError]:
    """The exception class for an error response with this status and API error code."""
    if status_code == 400 and code in _CONTENT_POLICY_CODES:
        return ContentPolicyError
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


class NotResentError(ImagewrightError):
    """A ledger records that an earlier attempt at this request may have been billed (it
    failed after its body was sent, or its process died while sending), so ``map`` did not
    send it again. Pass ``retry_ambiguous=True`` to send it anyway (it may be paid twice).

    Attributes:
        fingerprint: The request's fingerprint (its ledger row).
        reason: What the ledger recorded about the earlier attempt.
    """

    def __init__(self, fingerprint: str, reason: str | None) -> None:
        super().__init__(
            f"request {fingerprint[:12]} was not sent again: an earlier attempt may have been "
            f"billed ({reason or 'no reason recorded'}); pass retry_ambiguous=True to resend it"
        )
        self.fingerprint = fingerprint
        self.reason = reason
