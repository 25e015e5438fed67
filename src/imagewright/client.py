"""``Client`` and ``AsyncClient``: compile, send and wrap Images API calls.

Both share :class:`BaseClient`, which holds everything pure (configuration, compiling,
estimates). They differ only in the methods that do I/O.

Examples:
    >>> import imagewright
    >>> with imagewright.Client.sandbox() as client:
    ...     result = client.generate('A poster that says "HELLO"', size="1024x1024")
    >>> result.output.size
    (1024, 1024)
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

import httpx2

from . import _compile, _transport
from .calls import ApiCall
from .edit import EditRequest, PromptLike, as_edit_request
from .errors import (
    APIConnectionError,
    APIStatusError,
    BudgetExceededError,
    ConfigurationError,
    Problem,
    ValidationError,
)
from .pricing import Budget, CostEstimate, Reservation, cost_from_usage, estimate_call
from .results import PartialImage, Result, finish_result
from .settings import DEFAULT_TIMEOUT, AzureConfig, Settings, to_timeout, warn_if_insecure

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from .batches import AsyncBatches, Batches
    from .conversation import AsyncConversation, Conversation, ConversationOptions
    from .files import AsyncFiles, Files, UploadCache
    from .images import ImageSource
    from .ledger import Ledger
    from .mapping import AsyncMapRun, MapRun
    from .masks import Editable
    from .repair import RepairOptions, TextRepair
    from .sandbox import Sandbox
    from .session import AsyncSession, Session

__all__ = [
    "AsyncClient",
    "BaseClient",
    "Client",
    "EditOptions",
    "GenerateOptions",
    "StreamEvent",
]

log = logging.getLogger("imagewright")

SANDBOX_BASE_URL = "http://sandbox.imagewright.invalid/v1"

Quality = Literal["low", "medium", "high", "xhigh", "max", "auto"]
"""The qualities the model table knows. A value it does not know is still sent (with a warning
for an unknown model); type checkers need ``typing.cast(Quality, "...")`` for one."""
Background = Literal["transparent", "opaque", "auto"]
"""The backgrounds the API takes (``transparent`` is a preview on gpt-image-2)."""
OutputFormat = Literal["png", "jpeg", "webp", "gif", "svg"]
"""The output formats the model table knows."""

StreamEvent = PartialImage | Result
"""What a stream yields: partial images, then exactly one final :class:`Result`."""


class _ImageOptions(TypedDict, total=False):
    size: str
    """``"auto"``, a standard size, or ``"WxH"`` on arbitrary-size models."""
    quality: Quality
    """low, medium, high, auto (xhigh and max on gpt-image-2.5)."""
    background: Background
    """transparent, opaque or auto; transparent needs png or webp output."""
    output_format: OutputFormat
    """png (default), jpeg, webp; gif and svg need preview access."""
    output_compression: int
    """0..100, jpeg and webp only."""
    n: int
    """How many images, 1..10."""
    partial_images: int
    """Streaming only: how many previews (0..3) to send before the final image."""
    complexity: Literal["low", "medium", "high"]
    """Planning compute, independent of quality."""
    safety_identifier: str
    """A stable, hashed id of your end user."""
    user: str
    """Deprecated alias of ``safety_identifier``."""
    frame_count: int
    """GIF only: 2..16 frames."""
    frame_duration_ms: int
    """GIF only: milliseconds per frame."""
    svg: Mapping[str, Any]
    """SVG only: ``{"model": ..., "reasoning": {"effort": ...}}``."""
    extra_body: Mapping[str, Any]
    """Extra body fields, sent as given (for parameters newer than imagewright)."""
    # transport options
    timeout: float | httpx2.Timeout
    """Override the client's timeout for this call."""
    max_retries: int
    """Override the client's retry count for this call."""
    retry_ambiguous: bool
    """Retry even a failure after the body was sent (may pay twice)."""
    extra_headers: Mapping[str, str]
    """Extra request headers."""
    idempotency_key: str
    """Use this ``Idempotency-Key`` instead of a fresh one."""
    verify_text: bool
    """Read the outputs with OCR and check the prompt's or layout's text (``result.checks``);
    needs ``imagewright[ocr]``. Layouts with ``text="overlay"`` are skipped (exact already)."""
    proof: bool
    """Edits by reference (``FileRef``/``ImageURL``): download the inputs after the call so the
    result has a source and a diff (``client.fetch_source``)."""


class GenerateOptions(_ImageOptions, total=False):
    """Keyword options of ``generate`` and ``stream_generate``."""

    moderation: Literal["low", "auto"]
    """Moderation strictness (generations only)."""


class EditOptions(_ImageOptions, total=False):
    """Keyword options of ``edit`` and ``stream_edit``."""

    input_fidelity: Literal["high", "low"]
    """How closely to keep input details (gpt-image-1.5 high/low; 1-mini low; omit on 2.x)."""


_HTTP_LOCK = threading.Lock()
"""Guards the lazy creation of clients' HTTP pools (one pool per client, never two)."""

_TRANSPORT_KEYS = (
    "timeout",
    "max_retries",
    "retry_ambiguous",
    "extra_headers",
    "idempotency_key",
    "verify_text",
    "proof",
)


class BaseClient:
    """What both clients share: configuration, compiling, and per-call option handling."""

    _http: Any
    _http_class: type[httpx2.Client] | type[httpx2.AsyncClient]

    def __init__(
        self,
        api_key: str | Callable[[], str] | None = None,
        *,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: float | httpx2.Timeout | None = None,
        max_retries: int | None = None,
        http_client: Any = None,
        default_model: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        retry_ambiguous: bool = False,
        budget: float | Budget | None = None,
        _settings: Settings | None = None,
    ) -> None:
        self.settings = _settings or Settings.resolve(
            api_key=api_key,
            base_url=base_url,
            organization=organization,
            project=project,
            timeout=timeout,
            max_retries=max_retries,
            retry_ambiguous=retry_ambiguous,
            default_model=default_model,
            default_headers=default_headers,
        )
        warn_if_insecure(self.settings.base_url)
        if http_client is not None and not isinstance(http_client, self._http_class):
            raise ConfigurationError(_wrong_http_client(http_client, self._http_class))
        self._http = http_client
        self._owns_http = http_client is None
        self.sandbox_engine: Sandbox | None = None
        self.budget: Budget | None = Budget(budget) if isinstance(budget, (int, float)) else budget
        """The spending limit, shared by copies made with :meth:`with_options`."""

    # ---- configuration -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API base URL in use."""
        return self.settings.base_url

    @property
    def default_model(self) -> str:
        """The model used when a call names none (``default_model=``, else ``gpt-image-2``)."""
        return self.settings.default_model

    @property
    def upload_cache(self) -> UploadCache:
        """The content-addressed cache of ``files.upload`` and ``batches.submit``: the same
        bytes are uploaded once. Assign an ``UploadCache(path)`` to keep it on disk."""
        cache = self.__dict__.get("_upload_cache")
        if cache is None:
            from .files import UploadCache

            cache = self.__dict__["_upload_cache"] = UploadCache()
        return cache

    @upload_cache.setter
    def upload_cache(self, cache: UploadCache) -> None:
        self.__dict__["_upload_cache"] = cache

    def with_options(self, **changes: Any) -> Self:
        """A copy with some settings changed (``timeout``, ``max_retries``, ``default_model``...).

        The copy shares this client's HTTP connection pool and never closes it.
        """
        unknown = set(changes) - set(Settings.names())
        if unknown:
            raise TypeError(
                f"with_options() got unexpected options: {', '.join(sorted(unknown))}; "
                f"the settings are: {', '.join(Settings.names())}"
            )
        if "default_headers" in changes:
            changes["default_headers"] = {
                **self.settings.default_headers,
                **changes["default_headers"],
            }
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.settings = self.settings.copy(**changes)
        copy._owns_http = False
        if self._http is None:
            # Share the pool: make it now so both clients use the same one.
            copy._http = self._http = self._make_http()
            self._owns_http = True
        return copy

    def _first_http(self) -> Any:
        """Make the HTTP client once, even when threads ask for it at the same moment."""
        with _HTTP_LOCK:
            if self._http is None:
                self._http = self._make_http()
            return self._http

    def _make_http(self) -> Any:
        from ._deadline import install, install_on
        from ._pool import AsyncShardedTransport, ShardedTransport

        # Up to 1000 connections, as the official SDK, in shards of 16 so that many calls in
        # flight stay cheap (see ``_pool``: idle connections are kept alive for 5 s, up to the
        # number in use at the peak); the deadline backend bounds the whole wait for an answer
        # (see ``_deadline``).
        limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
        http: Any = self._http_class(timeout=DEFAULT_TIMEOUT, follow_redirects=True, limits=limits)
        # The sharded transport replaces the default one after construction: passed as
        # ``transport=``, it would turn off httpx2's proxies from the environment (HTTP_PROXY,
        # ...), which are mounted beside the default transport and must stay.
        ssl = getattr(getattr(http._transport, "_pool", None), "_ssl_context", None)
        sharded: Any = (
            AsyncShardedTransport if self._http_class is httpx2.AsyncClient else ShardedTransport
        )
        http._transport = sharded(limits=limits, prepare=install_on, ssl_context=ssl)
        return install(http)

    # ---- alternative constructors -----------------------------------------------------------

    @classmethod
    def sandbox(
        cls,
        sandbox: Sandbox | None = None,
        *,
        default_model: str | None = None,
        max_retries: int | None = None,
        timeout: float | httpx2.Timeout | None = None,
        retry_ambiguous: bool = False,
        budget: float | Budget | None = None,
        **behaviour: Any,
    ) -> Self:
        """A client wired in-process to the offline sandbox (no sockets, no key, no cost).

        ``behaviour`` configures the sandbox (latency, leakage, faults...); see
        :mod:`imagewright.sandbox`. The engine is at ``client.sandbox_engine``. The other
        arguments configure the client as in its constructor.
        """
        from .sandbox import Sandbox, SandboxTransport

        engine = sandbox if sandbox is not None else Sandbox(**behaviour)
        http = cls._http_class(transport=SandboxTransport(engine), timeout=DEFAULT_TIMEOUT)
        client = cls(
            "sandbox",
            base_url=SANDBOX_BASE_URL,
            http_client=http,
            default_model=default_model,
            max_retries=max_retries,
            timeout=timeout,
            retry_ambiguous=retry_ambiguous,
            budget=budget,
        )
        client._owns_http = True
        client.sandbox_engine = engine
        return client

    @classmethod
    def azure(
        cls,
        *,
        endpoint: str | None = None,
        api_version: str | None = None,
        deployment: str | None = None,
        api_key: str | None = None,
        azure_ad_token: str | Callable[[], str] | None = None,
        http_client: Any = None,
        budget: float | Budget | None = None,
        **kwargs: Any,
    ) -> Self:
        """A client for Azure OpenAI.

        The key comes from ``api_key`` or ``AZURE_OPENAI_API_KEY`` (sent as ``api-key``); an
        Entra ID token from ``azure_ad_token`` or ``AZURE_OPENAI_AD_TOKEN`` (sent as a bearer
        token, preferred when both exist). Calls go to
        ``{endpoint}/openai/deployments/{deployment or model}/images/...?api-version=...``.
        """
        import os

        endpoint = endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        api_version = api_version or os.environ.get("OPENAI_API_VERSION")
        if not endpoint:
            raise ConfigurationError("Azure needs endpoint= or the AZURE_OPENAI_ENDPOINT variable")
        if not api_version:
            raise ConfigurationError("Azure needs api_version= or the OPENAI_API_VERSION variable")
        token = azure_ad_token or (None if api_key else os.environ.get("AZURE_OPENAI_AD_TOKEN"))
        key_env = "AZURE_OPENAI_API_KEY"
        credential: str | Callable[[], str] | None = token or api_key or os.environ.get(key_env)
        settings = Settings.resolve(
            api_key=credential,
            base_url=endpoint.rstrip("/") + "/openai",
            azure=AzureConfig(api_version, deployment, use_bearer=token is not None),
            key_env=key_env,
            env={},
            **kwargs,
        )
        return cls(_settings=settings, http_client=http_client, budget=budget)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, default_model={self.default_model!r})"

    # ---- compile (pure) ------------------------------------------------------------------

    def compile_generate(
        self, prompt: PromptLike, *, model: str | None = None, **options: Unpack[GenerateOptions]
    ) -> ApiCall:
        """Compile a generation without sending it (raises ``ValidationError`` on bad input)."""
        body, _ = _split(options)
        return _compile.compile_generate(prompt, model=model or self.default_model, **body)

    @overload
    def compile_edit(
        self,
        request: EditRequest,
        /,
        *,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> ApiCall: ...
    @overload
    def compile_edit(
        self,
        images: ImageSource | Sequence[ImageSource],
        prompt: PromptLike,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> ApiCall: ...
    def compile_edit(
        self,
        images: EditRequest | ImageSource | Sequence[ImageSource],
        prompt: PromptLike | None = None,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Any,
    ) -> ApiCall:
        """Compile an edit without sending it (raises ``ValidationError`` on bad input).

        Takes an :class:`EditRequest`, or the image(s) and the prompt with ``mask=``,
        ``markup=`` and ``editable=`` as keywords, like :meth:`Client.edit`.
        """
        request = as_edit_request(
            images, prompt, mask=mask, markup=markup, editable=editable, verb="compile_edit"
        )
        body, _ = _split(options)
        return _compile.compile_edit(request, model=model or self.default_model, **body)

    def estimate(
        self,
        request: ApiCall | EditRequest | PromptLike,
        *,
        model: str | None = None,
        **options: Any,
    ) -> CostEstimate:
        """Estimate what a call would cost, without sending it.

        ``request`` is a compiled :class:`ApiCall`, an :class:`EditRequest`, or a prompt (text,
        ``Prompt``, ``Layout``) with the same options as :meth:`generate`.
        """
        if isinstance(request, ApiCall):
            call = request
        elif isinstance(request, EditRequest):
            call = self.compile_edit(request, model=model, **options)
        else:
            call = self.compile_generate(request, model=model, **options)
        return estimate_call(call)

    def _repair_steps(self, result: Result, settings: RepairOptions) -> Any:
        """The I/O-free repair loop (:func:`~imagewright.repair.repair_steps`), pricing each
        edit with this client's estimate."""
        from .repair import repair_steps

        def price(step: Any) -> float:
            return self.estimate(step.request, **step.options).high_usd

        return repair_steps(result, estimate=price, **settings)

    def _reserve(self, call: ApiCall) -> Reservation | None:
        """Hold the call's estimated cost against the budget, or refuse it (nothing sent)."""
        if self.budget is None:
            return None
        return self.budget.reserve(estimate_call(call))

    @contextmanager
    def _held(self, call: ApiCall) -> Iterator[Reservation | None]:
        """Reserve the call's estimate; give it back (or count it spent) if sending fails."""
        held = self._reserve(call)
        try:
            yield held
        except BaseException as exc:
            self._settle(held, error=exc)
            if isinstance(exc, APIConnectionError):
                from ._connection import locate

                locate(exc, self._http)  # name the URL tried, and the proxy
            raise

    @staticmethod
    def _settle(
        held: Reservation | None, result: Result | None = None, error: BaseException | None = None
    ) -> None:
        """Replace the held estimate by what was really billed."""
        if held is None:
            return
        if result is not None:
            held.settle(
                cost_from_usage(result.model, result.usage) if result.usage else held.amount_usd
            )
        elif _not_billed(error):
            held.release()
        else:
            # The request may have reached the server (an ambiguous failure, a stream the
            # caller abandoned, a cancelled task): count the image as paid for.
            held.settle(held.amount_usd)

    def _send_options(self, transport: Mapping[str, Any]) -> _transport.SendOptions:
        if transport.get("verify_text"):
            raise ValidationError(
                Problem(
                    "verify_text",
                    True,
                    "only generate() and edit() check text after the call",
                    "call result.check_text() on the final result",
                )
            )
        timeout = transport.get("timeout")
        max_retries = transport.get("max_retries", self.settings.max_retries)
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigurationError(
                f"max_retries must be a non-negative integer, got {max_retries!r}"
            )
        opts = _transport.SendOptions(
            timeout=to_timeout(timeout) if timeout is not None else self.settings.timeout,
            max_retries=max_retries,
            retry_ambiguous=bool(transport.get("retry_ambiguous", self.settings.retry_ambiguous)),
            extra_headers=dict(transport.get("extra_headers") or {}),
        )
        if transport.get("idempotency_key"):
            opts.idempotency_key = str(transport["idempotency_key"])
        # Fail before any I/O when there is no key.
        self.settings.auth_headers()
        return opts


def _wrong_http_client(given: object, wanted: type[Any]) -> str:
    """Why an injected HTTP client is refused, and what to pass instead."""
    kind = f"{type(given).__module__}.{type(given).__qualname__}"
    hint = ""
    if type(given).__module__.split(".")[0] == "httpx":
        hint = (
            " imagewright sends with httpx2 (the successor of httpx, same API): build the same "
            f"client with `import httpx2; httpx2.{wanted.__name__}(...)`."
        )
    return f"http_client must be an httpx2.{wanted.__name__}, got {kind}.{hint}"


def _not_billed(error: BaseException | None) -> bool:
    """True for failures that certainly made no image: refused before sending, or by the API."""
    if isinstance(error, APIConnectionError):
        return not error.may_have_been_billed
    return isinstance(
        error, (ValidationError, BudgetExceededError, ConfigurationError, APIStatusError)
    )


def _require_stream(call: ApiCall) -> None:
    if not call.stream:
        raise ValueError(
            "this call was not compiled for streaming; use stream_generate()/stream_edit(), "
            "or compile it with stream=True"
        )


def _map_args(given: dict[str, Any]) -> dict[str, Any]:
    """``map``'s own arguments, and the shared request options as ``options``."""
    return {k: v for k, v in given.items() if k not in ("self", "requests", "__class__")}


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate body options from transport options."""
    body = {k: v for k, v in options.items() if k not in _TRANSPORT_KEYS}
    transport = {k: v for k, v in options.items() if k in _TRANSPORT_KEYS}
    return body, transport


def _verified(result: Result, verify: bool) -> Result:
    """``verify_text=True``: the text check, recorded on the result (OCR is local, never paid)."""
    if not verify:
        return result
    from .text import verify_outputs

    return verify_outputs(result)


async def _averified(result: Result, verify: bool) -> Result:
    """:func:`_verified` in a worker thread, so OCR does not block the event loop."""
    if not verify:
        return result
    import asyncio

    return await asyncio.to_thread(_verified, result, verify)


def _stream_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {**options, "stream": True}


class Client(BaseClient):
    """The synchronous client.

    Args:
        api_key: Your API key; defaults to ``OPENAI_API_KEY``. Never shown in reprs, logs or errors.
        base_url: Defaults to ``OPENAI_BASE_URL``, then ``https://api.openai.com/v1``.
        organization: Sent as ``OpenAI-Organization``; defaults to ``OPENAI_ORG_ID``.
        project: Sent as ``OpenAI-Project``; defaults to ``OPENAI_PROJECT_ID``.
        timeout: Seconds, or an ``httpx2.Timeout``. Default: 600 s read, 5 s connect.
        max_retries: Retries of failures that are safe to retry (default 2).
        http_client: Your own ``httpx2.Client``; imagewright never closes it.
        default_model: The model used when a call names none; default ``"gpt-image-2"``
            (:data:`~imagewright.models.DEFAULT_MODEL`), the same live and on the sandbox.
        default_headers: Headers added to every call.
        retry_ambiguous: Also retry failures after the body was sent (may pay twice).
        budget: A spending limit in USD (or a shared :class:`~imagewright.pricing.Budget`): a
            call whose estimate would exceed what is left raises ``BudgetExceededError`` and
            nothing is sent. Actual costs (from ``usage``) are recorded as calls complete.
    """

    _http: httpx2.Client | None
    _http_class = httpx2.Client

    @property
    def http(self) -> httpx2.Client:
        """The underlying ``httpx2.Client`` (created on first use)."""
        http: httpx2.Client = self._http or self._first_http()
        return http

    @property
    def files(self) -> Files:
        """The Files API: ``upload`` (cached by content), ``retrieve``, ``content``, ``delete``."""
        from .files import Files

        return Files(self, self.upload_cache)

    @property
    def batches(self) -> Batches:
        """The Batch API: ``submit`` requests at half price, ``load`` a saved job."""
        from .batches import Batches

        return Batches(self)

    def fetch_source(self, result: Result, *, allow_private_urls: bool = False) -> Result:
        """``result`` with the inputs of its edit by reference downloaded, so its diff works.

        File ids are read from the Files API; URLs are fetched through the SSRF guard
        (private, loopback and link-local addresses are refused unless ``allow_private_urls``).
        A result that already has its source is returned unchanged.
        """
        from ._rest import run
        from ._sources import fetch_source_flow

        return run(self, fetch_source_flow(self, result, allow_private_urls))

    # ---- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client if imagewright created it."""
        if self._owns_http and self._http is not None:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- calls ---------------------------------------------------------------------------

    def send(self, call: ApiCall, **transport: Any) -> Result:
        """Send an already compiled call and wait for its :class:`Result`."""
        if call.stream:
            raise ValueError("this call streams; use send_stream()")
        return self._send(call, self._send_options(transport))

    def _send(self, call: ApiCall, opts: _transport.SendOptions) -> Result:
        with self._held(call) as held:
            out = _transport.send(self.http, self.settings, call, opts)
        assert isinstance(out, Result)
        self._settle(held, out)
        return finish_result(out)

    def send_stream(self, call: ApiCall, **transport: Any) -> Iterator[StreamEvent]:
        """Send a call compiled with ``stream=True``; yields partial images, then the Result.

        Nothing is reserved or sent until the first item is requested; stopping early closes
        the connection (and counts the image as paid for, since the server may have made it).
        """
        _require_stream(call)
        return self._stream(call, self._send_options(transport))

    def _stream(self, call: ApiCall, opts: _transport.SendOptions) -> Iterator[StreamEvent]:
        with self._held(call) as held:
            events = _transport.send(self.http, self.settings, call, opts)
            assert isinstance(events, Generator)
            try:
                for event in events:
                    if isinstance(event, Result):
                        self._settle(held, event)
                        event = finish_result(event)
                    yield event
            finally:
                events.close()

    def generate(
        self, prompt: PromptLike, *, model: str | None = None, **options: Unpack[GenerateOptions]
    ) -> Result:
        """Generate images from a prompt (text, ``Prompt`` or ``Layout``).

        Raises:
            ValidationError: The call would be refused; nothing was sent.
            APIError: The API or the connection failed (see :mod:`imagewright.errors`).
        """
        body, transport = _split(options)
        verify = transport.pop("verify_text", False)
        call = self.compile_generate(prompt, model=model, **body)
        return _verified(self.send(call, **transport), verify)

    @overload
    def edit(
        self,
        request: EditRequest,
        /,
        *,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> Result: ...
    @overload
    def edit(
        self,
        images: ImageSource | Sequence[ImageSource],
        prompt: PromptLike,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> Result: ...
    def edit(
        self,
        images: EditRequest | ImageSource | Sequence[ImageSource],
        prompt: PromptLike | None = None,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Any,
    ) -> Result:
        """Edit images: ``edit("photo.png", "make the sky red", mask=...)`` or ``edit(EditRequest(...))``.

        The first form takes one image or a list (paths, bytes, file objects, PIL images, numpy
        arrays), the prompt, and ``mask=``, ``markup=`` and ``editable=`` as in
        :class:`EditRequest`; every other keyword is a body or transport option.
        """
        request = as_edit_request(images, prompt, mask=mask, markup=markup, editable=editable)
        body, transport = _split(options)
        verify = transport.pop("verify_text", False)
        proof = transport.pop("proof", False)
        call = self.compile_edit(request, model=model, **body)
        result = self.send(call, **transport)
        return _verified(self.fetch_source(result) if proof else result, verify)

    def repair_text(self, result: Result, **settings: Unpack[RepairOptions]) -> TextRepair:
        """Fix the text of ``result`` that failed its check, one masked edit per failed string.

        Each edit covers just that string's region, asks for the exact quoted text in the
        layout's typography and is pasted back, so the rest stays byte-identical; the text is
        checked again after each attempt. Settings: :class:`~imagewright.repair.RepairOptions`
        (``strategy``, ``max_attempts``, ``budget``, ``expected``, ``edit_options``...).

        Returns:
            A :class:`~imagewright.repair.TextRepair`: the final result, every attempt, why it
            stopped and what it cost.
        """
        from .repair import EditStep, advance

        steps = self._repair_steps(result, settings)
        step = advance(steps, None)
        while isinstance(step, EditStep):
            try:
                edited: Result | Exception = self.edit(step.request, **step.options)
            except Exception as exc:  # handed to the loop, which keeps what was paid for
                edited = exc
            step = advance(steps, edited)
        return step

    def stream_generate(
        self, prompt: PromptLike, *, model: str | None = None, **options: Unpack[GenerateOptions]
    ) -> Iterator[StreamEvent]:
        """Generate with streaming: yields :class:`PartialImage` previews, then the :class:`Result`.

        The last item is always the final result; if the stream ends without one, or the
        server sends an error event, this raises instead.
        """
        body, transport = _split(options)
        call = self.compile_generate(prompt, model=model, **_stream_options(body))
        return self.send_stream(call, **transport)

    @overload
    def stream_edit(
        self,
        request: EditRequest,
        /,
        *,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> Iterator[StreamEvent]: ...
    @overload
    def stream_edit(
        self,
        images: ImageSource | Sequence[ImageSource],
        prompt: PromptLike,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> Iterator[StreamEvent]: ...
    def stream_edit(
        self,
        images: EditRequest | ImageSource | Sequence[ImageSource],
        prompt: PromptLike | None = None,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Any,
    ) -> Iterator[StreamEvent]:
        """Edit with streaming: yields previews, then the final :class:`Result`."""
        request = as_edit_request(
            images, prompt, mask=mask, markup=markup, editable=editable, verb="stream_edit"
        )
        body, transport = _split(options)
        call = self.compile_edit(request, model=model, **_stream_options(body))
        return self.send_stream(call, **transport)

    def conversation(self, model: str, **options: Unpack[ConversationOptions]) -> Conversation:
        """Start a multi-turn image conversation through the Responses API.

        ``model`` is the text model that runs each turn (e.g. ``"gpt-5"``); ``options`` are
        ``image=ImageOptions(...)``, ``store``, ``conversation``, ``instructions`` and
        ``force_tool``, as :class:`~imagewright.conversation.Conversation` documents them.
        """
        from .conversation import Conversation

        return Conversation(self, model, **options)

    def map(
        self,
        requests: Iterable[Any],
        *,
        concurrency: int = 8,
        ordered: bool = False,
        ledger: str | os.PathLike[str] | Ledger | None = None,
        budget: float | Budget | None = None,
        save_to: str | os.PathLike[str] | None = None,
        progress: bool = True,
        retry_ambiguous: bool = False,
        **options: Any,
    ) -> MapRun:
        """Send many requests with bounded, adaptive concurrency; iterate the run for outcomes.

        See :mod:`imagewright.mapping`. ``requests`` are prompts, ``EditRequest`` objects,
        ``(request, {options})`` tuples or dicts; ``options`` are shared by all of them. Each
        outcome is a :class:`Result` or a :class:`~imagewright.mapping.Failure`; ``ledger=``
        resumes and shares a batch, ``budget=`` stops sending at a spend, ``save_to=`` writes
        each result folder; ``run.summary`` tells what happened.

        Examples:
            >>> with Client.sandbox() as client:
            ...     run = client.map(["a fox", "an owl"], size="1024x1024", progress=False)
            ...     print(len(list(run)), run.summary.succeeded)
            2 2
        """
        args = _map_args(locals())
        from ._map_engine import Engine
        from .mapping import MapRun

        return MapRun(Engine(self, requests, threaded=True, **args))

    def session(
        self,
        source: ImageSource | Result,
        *,
        model: str | None = None,
        save_to: str | os.PathLike[str] | None = None,
        **options: Unpack[EditOptions],
    ) -> Session:
        """Start an iterative editing session on ``source`` (an image, or a Result's output).

        Each ``session.edit(...)`` edits the current image; the session keeps the history,
        undo, branches, replay and save/load (see :mod:`imagewright.session`). ``options``
        are every edit's defaults; ``save_to`` saves the session after each step.
        """
        from .session import Session

        return Session(self, source, model=model, save_to=save_to, **options)


class AsyncClient(BaseClient):
    """The asynchronous client: the same API as :class:`Client`, with ``await``."""

    _http: httpx2.AsyncClient | None
    _http_class = httpx2.AsyncClient

    @property
    def http(self) -> httpx2.AsyncClient:
        """The underlying ``httpx2.AsyncClient`` (created on first use)."""
        http: httpx2.AsyncClient = self._http or self._first_http()
        return http

    @property
    def files(self) -> AsyncFiles:
        """The Files API: ``upload`` (cached by content), ``retrieve``, ``content``, ``delete``."""
        from .files import AsyncFiles

        return AsyncFiles(self, self.upload_cache)

    @property
    def batches(self) -> AsyncBatches:
        """The Batch API: ``submit`` requests at half price, ``load`` a saved job."""
        from .batches import AsyncBatches

        return AsyncBatches(self)

    async def fetch_source(self, result: Result, *, allow_private_urls: bool = False) -> Result:
        """``result`` with the inputs of its edit by reference downloaded; see
        :meth:`Client.fetch_source`."""
        from ._rest import arun
        from ._sources import fetch_source_flow

        return await arun(self, fetch_source_flow(self, result, allow_private_urls))

    async def aclose(self) -> None:
        """Close the HTTP client if imagewright created it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(self, call: ApiCall, **transport: Any) -> Result:
        """Send an already compiled call and wait for its :class:`Result`."""
        if call.stream:
            raise ValueError("this call streams; use send_stream()")
        return await self._send(call, self._send_options(transport))

    async def _send(self, call: ApiCall, opts: _transport.SendOptions) -> Result:
        with self._held(call) as held:
            out = await _transport.asend(self.http, self.settings, call, opts)
        assert isinstance(out, Result)
        self._settle(held, out)
        return finish_result(out)

    def send_stream(self, call: ApiCall, **transport: Any) -> AsyncIterator[StreamEvent]:
        """Send a call compiled with ``stream=True``; ``async for`` partial images, then the
        Result. Nothing is reserved or sent until the first item is requested."""
        _require_stream(call)
        return self._stream(call, self._send_options(transport))

    async def _stream(
        self, call: ApiCall, opts: _transport.SendOptions
    ) -> AsyncIterator[StreamEvent]:
        with self._held(call) as held:
            events = await _transport.asend(self.http, self.settings, call, opts)
            assert isinstance(events, AsyncGenerator)
            try:
                async for event in events:
                    if isinstance(event, Result):
                        self._settle(held, event)
                        event = finish_result(event)
                    yield event
            finally:
                await events.aclose()

    async def generate(
        self, prompt: PromptLike, *, model: str | None = None, **options: Unpack[GenerateOptions]
    ) -> Result:
        """Generate images from a prompt (text, ``Prompt`` or ``Layout``)."""
        body, transport = _split(options)
        verify = transport.pop("verify_text", False)
        call = self.compile_generate(prompt, model=model, **body)
        return await _averified(await self.send(call, **transport), verify)

    @overload
    async def edit(
        self,
        request: EditRequest,
        /,
        *,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> Result: ...
    @overload
    async def edit(
        self,
        images: ImageSource | Sequence[ImageSource],
        prompt: PromptLike,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> Result: ...
    async def edit(
        self,
        images: EditRequest | ImageSource | Sequence[ImageSource],
        prompt: PromptLike | None = None,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Any,
    ) -> Result:
        """Edit images: ``edit("photo.png", "make the sky red", mask=...)`` or ``edit(EditRequest(...))``.

        The first form takes one image or a list (paths, bytes, file objects, PIL images, numpy
        arrays), the prompt, and ``mask=``, ``markup=`` and ``editable=`` as in
        :class:`EditRequest`; every other keyword is a body or transport option.
        """
        request = as_edit_request(images, prompt, mask=mask, markup=markup, editable=editable)
        body, transport = _split(options)
        verify = transport.pop("verify_text", False)
        proof = transport.pop("proof", False)
        call = self.compile_edit(request, model=model, **body)
        result = await self.send(call, **transport)
        return await _averified(await self.fetch_source(result) if proof else result, verify)

    async def repair_text(self, result: Result, **settings: Unpack[RepairOptions]) -> TextRepair:
        """Fix the text of ``result`` that failed its check (see :meth:`Client.repair_text`)."""
        import asyncio

        from .repair import EditStep, advance

        steps = self._repair_steps(result, settings)
        # OCR runs inside the loop: resume it in a worker thread, not on the event loop.
        step = await asyncio.to_thread(advance, steps, None)
        while isinstance(step, EditStep):
            try:
                edited: Result | Exception = await self.edit(step.request, **step.options)
            except Exception as exc:  # handed to the loop, which keeps what was paid for
                edited = exc
            step = await asyncio.to_thread(advance, steps, edited)
        return step

    def stream_generate(
        self, prompt: PromptLike, *, model: str | None = None, **options: Unpack[GenerateOptions]
    ) -> AsyncIterator[StreamEvent]:
        """Generate with streaming: ``async for`` previews, then the final :class:`Result`."""
        body, transport = _split(options)
        call = self.compile_generate(prompt, model=model, **_stream_options(body))
        return self.send_stream(call, **transport)

    @overload
    def stream_edit(
        self,
        request: EditRequest,
        /,
        *,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> AsyncIterator[StreamEvent]: ...
    @overload
    def stream_edit(
        self,
        images: ImageSource | Sequence[ImageSource],
        prompt: PromptLike,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Unpack[EditOptions],
    ) -> AsyncIterator[StreamEvent]: ...
    def stream_edit(
        self,
        images: EditRequest | ImageSource | Sequence[ImageSource],
        prompt: PromptLike | None = None,
        /,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        model: str | None = None,
        **options: Any,
    ) -> AsyncIterator[StreamEvent]:
        """Edit with streaming: ``async for`` previews, then the final :class:`Result`."""
        request = as_edit_request(
            images, prompt, mask=mask, markup=markup, editable=editable, verb="stream_edit"
        )
        body, transport = _split(options)
        call = self.compile_edit(request, model=model, **_stream_options(body))
        return self.send_stream(call, **transport)

    def conversation(self, model: str, **options: Unpack[ConversationOptions]) -> AsyncConversation:
        """Start a multi-turn image conversation through the Responses API.

        ``model`` is the text model that runs each turn (e.g. ``"gpt-5"``); ``options`` are
        ``image=ImageOptions(...)``, ``store``, ``conversation``, ``instructions`` and
        ``force_tool``, as :class:`~imagewright.conversation.AsyncConversation` documents them.
        """
        from .conversation import AsyncConversation

        return AsyncConversation(self, model, **options)

    def map(
        self,
        requests: Iterable[Any],
        *,
        concurrency: int = 8,
        ordered: bool = False,
        ledger: str | os.PathLike[str] | Ledger | None = None,
        budget: float | Budget | None = None,
        save_to: str | os.PathLike[str] | None = None,
        progress: bool = True,
        retry_ambiguous: bool = False,
        **options: Any,
    ) -> AsyncMapRun:
        """Send many requests (see :meth:`Client.map`): ``async for`` the outcomes, or
        ``await`` the run for the list of them."""
        args = _map_args(locals())
        from ._map_engine import Engine
        from .mapping import AsyncMapRun

        return AsyncMapRun(Engine(self, requests, threaded=False, **args))

    def session(
        self,
        source: ImageSource | Result,
        *,
        model: str | None = None,
        save_to: str | os.PathLike[str] | None = None,
        **options: Unpack[EditOptions],
    ) -> AsyncSession:
        """Start an iterative editing session on ``source``: ``await session.edit(...)``
        (see :meth:`Client.session`)."""
        from .session import AsyncSession

        return AsyncSession(self, source, model=model, save_to=save_to, **options)
