"""Sending an :class:`ApiCall`: requests, the retry policy, SSE decoding and error mapping.

Everything here is pure except the two small send loops at the bottom (one sync, one async),
which share the request builder, the retry rules and the response parsing. The transport
sends, retries and parses, nothing else: local finishing of outputs (a layout's crop or text
overlay) is applied by the client to the parsed result (:func:`imagewright.results.finish_result`).

The retry rules, in order (each logs its decision at debug level):

1. ``retry-after-ms`` / ``retry-after`` over 120 s: give up at once (even with
   ``x-should-retry: true``).
2. ``x-should-retry: true`` retries, ``false`` never does.
3. 408, 409, 429 and 5xx retry; other statuses raise.
4. A failure while connecting or writing the request (connection refused, connect timeout,
   write error) retries: the server cannot have started a generation from a partial request.
   That includes a connection that broke before the last byte of the body was handed to it
   (a stale keep-alive connection the server had closed), whatever exception httpcore2
   reports: the body stream is tracked (``_TrackedBody``) because httpcore2 turns a write
   error into "Server disconnected without sending a response".
5. A read timeout or a dropped connection *after* the body was sent is ambiguous: the image may
   already be generated and billed. It is not retried unless ``retry_ambiguous=True``.

The wait is the server's ``retry-after-ms``/``retry-after`` when it is in (0, 120] s, else
``min(0.5 * 2**k, 8) * (1 - 0.25 * U)`` seconds after ``k`` retries, as the official SDK does.
Every attempt of one call carries the same ``Idempotency-Key``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import json
import logging
import math
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2

from ._deadline import deadline
from ._magic import complete, sniff_format
from .calls import ApiCall
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    StreamError,
    status_error_class,
)
from .results import ImagesResponse, OutputImage, PartialImage, Result, Timings, Usage
from .settings import Settings

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Executor

    import tenacity

log = logging.getLogger("imagewright")

MAX_RETRY_AFTER = 120.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
RETRY_STATUSES = frozenset({408, 409, 429})
MAX_MESSAGE = 500
MAX_ERROR_BODY = 1 << 20
"""Bytes of an error answer that are read (and kept on the exception); the rest is dropped
with the connection, so a 100 MB error page costs neither the memory nor the time."""


# --------------------------------------------------------------------------------------------
# Building the request


# Failures that happen before the request is completely written: the server cannot have started
# a generation from them, so they are always safe to retry. Every other transport failure
# (read errors, timeouts waiting for the answer, a connection dropped after the upload) is
# ambiguous: the image may exist and be billed.
_BEFORE_SEND = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.WriteError,
    httpx2.WriteTimeout,
    httpx2.UnsupportedProtocol,
)


@dataclass
class SendOptions:
    """Per-call transport options."""

    timeout: httpx2.Timeout
    max_retries: int
    retry_ambiguous: bool
    idempotency_key: str = field(default_factory=lambda: f"imagewright-{uuid.uuid4()}")
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    on_status: Callable[[int, float | None], None] | None = None
    """Told of every error status (and its ``retry-after`` seconds), before any retry: how
    ``map`` sees 429s to adapt its concurrency."""
    read_gate: asyncio.Semaphore | None = None
    """Async client: held while an answer's body is read and decoded. How ``map`` keeps few
    answers half-read at once."""
    read_pool: Executor | None = None
    """Sync client: the threads that read and decode an answer's body (the sending thread
    waits). ``map`` gives a few: few answers are half-read at once, and their megabyte buffers
    come from few threads, so from few of the C allocator's per-thread arenas, which keep
    what they freed (1,000 edits of 2048x2048 at concurrency 64: 64 sending threads reading
    their own answers peaked at 580 MB RSS; 8 reading threads at 320 MB, 4 at 240 MB)."""


def build_request(
    http: httpx2.Client | httpx2.AsyncClient,
    settings: Settings,
    call: ApiCall,
    opts: SendOptions,
    attempt: int,
) -> httpx2.Request:
    """The HTTP request for one attempt of ``call``."""
    url, query = settings.url_for(call.endpoint, call.model)
    headers = settings.headers()
    headers["Idempotency-Key"] = opts.idempotency_key
    headers["X-Imagewright-Retry-Count"] = str(attempt)
    headers["X-Imagewright-Read-Timeout"] = (
        f"{opts.timeout.read:g}" if opts.timeout.read else "none"
    )
    headers.update(opts.extra_headers)
    request = http.build_request(
        "POST",
        url,
        params=query,
        headers=headers,
        timeout=opts.timeout,
        **call.to_httpx(),
    )
    request.stream = _TrackedBody(request.stream)
    return request


class _TrackedBody(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """The request body, noting whether its last byte was handed to the connection.

    httpcore2 hides a write error behind the read that follows it ("Server disconnected
    without sending a response"), so the exception alone cannot say whether the server got
    the whole request. This flag can: it is set only after the connection accepted the last
    chunk, so a failure while it is unset happened before the request was complete.
    ``started`` tells that apart from a transport that never reads the stream at all (an
    in-process or mock transport reads ``request.content``): then nothing is known.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.started = False
        self.complete = False

    def __iter__(self) -> Iterator[bytes]:
        self.started = True
        yield from self._inner
        self.complete = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self._inner:
            yield chunk
        self.complete = True


def body_was_sent(request: httpx2.Request) -> bool:
    """False only when the body was being written and its last byte never went out.

    Unknown counts as sent: a transport that never read the body stream, or a connection
    that failed while writing the headers (httpcore2 then reads without writing the body).
    """
    stream = request.stream
    return not (isinstance(stream, _TrackedBody) and stream.started and not stream.complete)


# --------------------------------------------------------------------------------------------
# Retry rules (pure)


def retry_after_seconds(headers: httpx2.Headers, now: float | None = None) -> float | None:
    """The server's requested wait: ``retry-after-ms``, else ``retry-after`` (seconds or date)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            seconds = float(ms) / 1000.0
            if not math.isnan(seconds):
                return seconds
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
        return None if math.isnan(seconds) else seconds
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # a header we cannot read: fall back to backoff rather than fail the call
    return parsed.timestamp() - (time.time() if now is None else now)


def should_retry_response(response: httpx2.Response) -> tuple[bool, str]:
    """Whether an error response may be retried, and why."""
    after = retry_after_seconds(response.headers)
    if after is not None and (not math.isfinite(after) or after > MAX_RETRY_AFTER):
        return False, f"retry-after of {after:g} s exceeds the {MAX_RETRY_AFTER:g} s maximum"
    flag = response.headers.get("x-should-retry")
    if flag == "true":
        return True, "x-should-retry: true"
    if flag == "false":
        return False, "x-should-retry: false"
    if response.status_code in RETRY_STATUSES or response.status_code >= 500:
        return True, f"status {response.status_code}"
    return False, f"status {response.status_code} is not retryable"


def retry_delay(headers: httpx2.Headers | None, retries_taken: int) -> float:
    """Seconds to wait before the next attempt."""
    if headers is not None:
        after = retry_after_seconds(headers)
        if after is not None and 0 < after <= MAX_RETRY_AFTER:
            # If the API asks us to wait a reasonable time, just do what it says.
            return after
    base = min(INITIAL_BACKOFF * 2.0**retries_taken, MAX_BACKOFF)
    return base * (1.0 - 0.25 * random.random())


class _Retry(Exception):
    """Internal: an attempt failed in a way the rules allow to retry."""

    def __init__(self, error: APIError, headers: httpx2.Headers | None, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.headers = headers
        self.reason = reason


def _wait(state: tenacity.RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    headers = exc.headers if isinstance(exc, _Retry) else None
    delay = retry_delay(headers, state.attempt_number - 1)
    reason = exc.reason if isinstance(exc, _Retry) else "?"
    log.debug("retrying after attempt %d (%s) in %.3f s", state.attempt_number, reason, delay)
    return delay


def _retrying_kwargs(max_retries: int) -> dict[str, Any]:
    import tenacity  # loaded with the first send, not with ``import imagewright``

    return {
        "stop": tenacity.stop_after_attempt(max_retries + 1),
        "retry": tenacity.retry_if_exception_type(_Retry),
        "wait": _wait,
        "reraise": True,
    }


def transport_error(
    exc: httpx2.RequestError, request: httpx2.Request, retry_ambiguous: bool
) -> tuple[APIConnectionError, bool, str]:
    """Translate an httpx2 failure; also say whether it may be retried, and why."""
    if isinstance(exc, httpx2.TooManyRedirects):
        # Every answer was a redirect: no server generated anything.
        message = f"Connection error: the API kept redirecting ({exc}); check base_url."
        return APIConnectionError(message, request, may_have_been_billed=False), False, "redirects"
    timeout = isinstance(exc, httpx2.TimeoutException)
    unsent = not isinstance(exc, _BEFORE_SEND) and not body_was_sent(request)
    ambiguous = not isinstance(exc, _BEFORE_SEND) and not unsent
    if unsent:
        message = (
            f"Connection error: the connection closed before the request was fully sent "
            f"({type(exc).__name__}: {exc}); nothing can have been generated."
        )
    elif ambiguous:
        what = "timed out" if timeout else f"failed ({type(exc).__name__})"
        message = (
            f"The request {what} after its body was sent, so the image may already have been "
            "generated and billed; not retried"
            + ("" if retry_ambiguous else " (pass retry_ambiguous=True to retry such failures)")
            + "."
        )
    else:
        message = "Request timed out." if timeout else f"Connection error: {exc}."
    cls = APITimeoutError if timeout else APIConnectionError
    error = cls(message, request, may_have_been_billed=ambiguous)
    if ambiguous and not retry_ambiguous:
        return error, False, "ambiguous failure after the body was sent"
    when = "ambiguous" if ambiguous else "before the request was fully sent"
    return error, True, f"{type(exc).__name__} ({when})"


# --------------------------------------------------------------------------------------------
# Parsing answers (pure)


def status_error(response: httpx2.Response, content: bytes) -> APIStatusError:
    """The typed exception for an error response."""
    body: object
    try:
        parsed = json.loads(content)
        body = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    except ValueError:
        body = content.decode("utf-8", "replace") or None
    message = body.get("message") if isinstance(body, dict) else body
    if not message:
        message = response.reason_phrase or "error"
    if isinstance(message, str) and len(message) > MAX_MESSAGE:
        # An HTML error page or a runaway body: the exception keeps it whole in ``body``.
        message = f"{message[:MAX_MESSAGE]}... ({len(content):,} bytes, not an API error object)"
    text = f"Error code: {response.status_code} - {message}"
    code = body.get("code") if isinstance(body, dict) else None
    cls = status_error_class(response.status_code, None if code is None else str(code))
    return cls(text, response=response, body=body)


def build_result(
    call: ApiCall,
    payload: Mapping[str, Any],
    *,
    response: httpx2.Response,
    started: float,
    attempts: int,
    partials: tuple[PartialImage, ...] = (),
) -> Result:
    """Turn a parsed ``ImagesResponse`` into a :class:`Result`; raise if it holds no image.

    ``payload`` may be an :class:`~imagewright._answer.Answer`, whose base64 images were left in
    the answer's bytes (its ``b64_json`` values are ``""``)."""
    from ._answer import Answer

    cut = payload if isinstance(payload, Answer) else None
    body = cut.full if cut is not None else lambda: dict(payload)
    try:
        parsed = ImagesResponse.model_validate(payload)
    except Exception as exc:
        raise APIResponseValidationError(
            f"the answer is not an ImagesResponse: {exc}", response=response, body=body()
        ) from exc
    fmt = parsed.output_format or call.option("output_format") or "png"
    outputs: list[OutputImage] = []
    taken = 0
    for i, item in enumerate(parsed.data or []):
        lifted = cut is not None and item.b64_json == ""
        if not item.b64_json and not lifted:
            raise APIResponseValidationError(
                f"image {i} of the answer has no b64_json", response=response, body=body()
            )
        try:
            if cut is not None and lifted:
                output = OutputImage(cut.image(taken), fmt, i)
                taken += 1
            else:
                output = OutputImage.from_b64(item.b64_json or "", fmt, i)
        except (binascii.Error, ValueError) as exc:
            raise APIResponseValidationError(
                f"image {i} is not valid base64", response=response, body=body()
            ) from exc
        problem = image_problem(output.data, fmt)
        if problem:
            # The body (with the base64 exactly as sent) stays on the error: nothing is lost.
            raise APIResponseValidationError(
                f"image {i} of the answer {problem}", response=response, body=body()
            )
        outputs.append(output)
    if not outputs:
        raise APIResponseValidationError(
            "the API answered without any image", response=response, body=body()
        )
    return Result(
        call=call,
        outputs=tuple(outputs),
        usage=parsed.usage,
        model=call.model,
        size=parsed.size or call.option("size"),
        quality=parsed.quality or call.option("quality"),
        background=parsed.background or call.option("background"),
        output_format=fmt,
        created=parsed.created,
        request_id=response.headers.get("x-request-id"),
        timings=Timings(started_at=started, elapsed_s=time.time() - started, attempts=attempts),
        partial_images=partials,
        response=_without_images(parsed),
    )


def _without_images(parsed: ImagesResponse) -> ImagesResponse:
    """The answer without its base64 images, which ``outputs`` hold decoded: a 2048x2048 PNG
    would otherwise be held twice (6.4 MB of base64 beside 4.8 MB of bytes)."""
    if not parsed.data:
        return parsed
    data = [item.model_copy(update={"b64_json": None}) for item in parsed.data]
    return parsed.model_copy(update={"data": data})


def image_problem(data: bytes, fmt: str) -> str | None:
    """Why ``data`` is not a complete ``fmt`` image (``None`` when it is); no pixel is decoded."""
    if fmt == "svg":
        ok = data.lstrip()[:5] in (b"<svg ", b"<svg>", b"<?xml")
        return None if ok else f"is not an SVG document (starts with {data[:8]!r})"
    found = sniff_format(data)
    if found is None:
        return f"is not an image ({len(data):,} bytes starting with {data[:8]!r})"
    wanted = "jpeg" if fmt == "jpg" else fmt
    if found != wanted:
        return f"is a {found} file but the answer says output_format {fmt!r}"
    if found in ("png", "jpeg", "webp") and not complete(data, found):
        return f"is a {found} file cut short ({len(data):,} bytes)"
    return None


def parse_json(response: httpx2.Response, content: bytes) -> Mapping[str, Any]:
    """The JSON body of a 2xx answer, or :class:`APIResponseValidationError`."""
    from ._answer import parse_answer

    try:
        payload = parse_answer(content)
    except ValueError as exc:
        raise APIResponseValidationError(
            "the answer is not valid JSON",
            response=response,
            body=content[:200].decode("utf-8", "replace"),
        ) from exc
    if not isinstance(payload, dict):
        raise APIResponseValidationError("the answer is not a JSON object", response=response)
    return payload


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder: feed lines, get ``(event, data)`` pairs."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str | None, str] | None:
        """Feed one line (without its newline); returns a complete event at a blank line."""
        if not line:
            if not self._data and self._event is None:
                return None
            out = (self._event, "\n".join(self._data))
            self._event, self._data = None, []
            return out
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def flush(self) -> tuple[str | None, str] | None:
        """The last event when the stream ended without a blank line."""
        return self.feed("")


class StreamAssembler:
    """Turns decoded SSE events into partial images and, at the end, one :class:`Result`."""

    def __init__(self, call: ApiCall, response: httpx2.Response, started: float, attempts: int):
        self.call = call
        self.response = response
        self.started = started
        self.attempts = attempts
        self.partials: list[PartialImage] = []
        self.completed: list[dict[str, Any]] = []
        self.done = False
        self._decoder = SSEDecoder()

    def feed(self, line: str) -> PartialImage | None:
        """Feed one SSE line; returns a partial image when one is complete."""
        event = self._decoder.feed(line)
        return None if event is None else self.handle(*event)

    def flush(self) -> PartialImage | None:
        """Handle a last event that was not followed by a blank line."""
        event = self._decoder.flush()
        return None if event is None else self.handle(*event)

    def handle(self, event: str | None, data: str) -> PartialImage | None:
        """Process one event; returns a partial image to yield, if it was one."""
        obj = self._event_object(data)
        if obj is None:
            return None
        if obj.get("error"):
            raise self._stream_error(obj["error"], obj)
        kind = str(obj.get("type", event or ""))
        if kind.endswith(".partial_image"):
            return self._partial(obj, obj.get("b64_json"))
        if kind.endswith(".completed"):
            self.completed.append(obj)
        else:
            log.debug("ignoring stream event of type %r", kind)
        return None

    def _event_object(self, data: str) -> dict[str, Any] | None:
        """An event's JSON object; ``None`` for ``[DONE]`` (which ends the stream)."""
        if data.strip() == "[DONE]":
            self.done = True
            return None
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise self._broken(f"malformed event data: {data[:80]!r}") from exc
        if not isinstance(obj, dict):
            raise self._broken("event data is not a JSON object")
        return obj

    def _stream_error(self, err: object, event: Mapping[str, Any]) -> StreamError:
        """The error for an ``error`` event, keeping the partial images already received."""
        message = err.get("message") if isinstance(err, dict) else None
        error = StreamError(
            str(message or "An error occurred during streaming"),
            self.response.request,
            body=err if isinstance(err, dict) else dict(event),
        )
        error.partial_images = list(self.partials)
        return error

    def _partial(self, event: dict[str, Any], b64: object) -> PartialImage:
        """Decode and keep one partial image event."""
        try:
            image_bytes = base64.b64decode(str(b64 or ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self._broken("a partial image is not valid base64") from exc
        partial = PartialImage(
            index=int(event.get("partial_image_index", len(self.partials))),
            data=image_bytes,
            format=str(event.get("output_format") or "png"),
            size=event.get("size"),
            raw_event=event,
        )
        self.partials.append(partial)
        return partial

    def _broken(self, why: str) -> APIResponseValidationError:
        err = APIResponseValidationError(f"broken stream: {why}", response=self.response)
        err.partial_images = list(self.partials)
        return err

    def result(self) -> Result:
        """The final result; raises when the stream ended before any ``completed`` event."""
        if not self.completed:
            raise self._broken(
                f"the stream ended before the completed event ({len(self.partials)} partial "
                "images received; a partial image is never taken for the final one)"
            )
        first = self.completed[0]
        usage: Usage | None = None
        for ev in self.completed:
            if ev.get("usage"):
                u = Usage.model_validate(ev["usage"])
                usage = u if usage is None else usage + u
        payload = {
            "created": first.get("created_at") or int(time.time()),
            "data": [{"b64_json": ev.get("b64_json")} for ev in self.completed],
            "background": first.get("background"),
            "output_format": first.get("output_format"),
            "quality": first.get("quality"),
            "size": first.get("size"),
            "usage": usage.model_dump() if usage else None,
        }
        return build_result(
            self.call,
            payload,
            response=self.response,
            started=self.started,
            attempts=self.attempts,
            partials=tuple(self.partials),
        )


ResultBuilder = Callable[..., Result]
"""``(call, payload, *, response, started, attempts) -> Result`` for a 2xx JSON answer."""

READERS: dict[str, tuple[ResultBuilder, type[StreamAssembler]]] = {}
"""How to read the answers of endpoints other than the Images API's, by endpoint: a result
builder and a stream assembler. :mod:`imagewright._responses` registers ``/responses``."""


def _reader(call: ApiCall) -> tuple[ResultBuilder, type[StreamAssembler]]:
    return READERS.get(call.endpoint, (build_result, StreamAssembler))


# --------------------------------------------------------------------------------------------
# The two send loops: the only I/O.


def _stamp(error: APIError, attempts: int) -> APIError:
    error.attempts = attempts
    return error


def send(
    http: httpx2.Client, settings: Settings, call: ApiCall, opts: SendOptions
) -> Result | Iterator[PartialImage | Result]:
    """Send ``call`` on a sync client, retrying by the rules; a stream yields events."""
    started = time.time()
    attempts = 0

    def attempt() -> httpx2.Response:
        nonlocal attempts
        request = build_request(http, settings, call, opts, attempts)
        attempts += 1
        try:
            with deadline(opts.timeout.read):
                response = http.send(request, stream=True)
        except httpx2.RequestError as exc:
            raise _classify_transport(exc, request, opts) from exc
        finally:
            _scrub(request)
        _scrub_response(response)
        if response.status_code >= 400:
            try:
                content = _read_capped(response)
            except httpx2.RequestError:
                content = b""
            finally:
                response.close()
            raise _classify_status(response, content, opts)
        return response

    try:
        import tenacity

        response = tenacity.Retrying(**_retrying_kwargs(opts.max_retries))(attempt)
    except _Retry as final:
        raise _stamp(final.error, attempts) from final.__cause__
    except APIError as exc:
        _stamp(exc, attempts)
        raise
    if call.stream:
        return _iter_stream(response, call, started, attempts)

    def finish() -> Result:
        try:
            with deadline(opts.timeout.read):
                content = response.read()
        except httpx2.RequestError as exc:
            raise _stamp(_body_read_error(exc, response, opts), attempts) from exc
        finally:
            response.close()
        return _built(call, response, content, started, attempts)

    if opts.read_pool is None:
        return finish()
    try:
        reading = opts.read_pool.submit(finish)
    except RuntimeError:  # the pool was shut down (its map ended): read here, lose nothing
        return finish()
    return reading.result()


def _built(
    call: ApiCall, response: httpx2.Response, content: bytes, started: float, attempts: int
) -> Result:
    """The ``Result`` of a whole answer (its body read)."""
    build, _ = _reader(call)
    return build(
        call, parse_json(response, content), response=response, started=started, attempts=attempts
    )


def _iter_stream(
    response: httpx2.Response, call: ApiCall, started: float, attempts: int
) -> Iterator[PartialImage | Result]:
    assembler = _reader(call)[1](call, response, started, attempts)
    try:
        for line in response.iter_lines():
            if (partial := assembler.feed(line)) is not None:
                yield partial
            if assembler.done:
                break
        if (partial := assembler.flush()) is not None:
            yield partial
    except httpx2.RequestError as exc:
        raise _stream_transport_error(exc, response, assembler) from exc
    finally:
        response.close()
    yield assembler.result()


async def asend(
    http: httpx2.AsyncClient, settings: Settings, call: ApiCall, opts: SendOptions
) -> Result | AsyncIterator[PartialImage | Result]:
    """Send ``call`` on an async client, retrying by the rules; a stream yields events."""
    started = time.time()
    attempts = 0

    async def attempt() -> httpx2.Response:
        nonlocal attempts
        request = build_request(http, settings, call, opts, attempts)
        attempts += 1
        try:
            with deadline(opts.timeout.read):
                response = await http.send(request, stream=True)
        except httpx2.RequestError as exc:
            raise _classify_transport(exc, request, opts) from exc
        finally:
            _scrub(request)
        _scrub_response(response)
        if response.status_code >= 400:
            try:
                content = await _aread_capped(response)
            except httpx2.RequestError:
                content = b""
            finally:
                await response.aclose()
            raise _classify_status(response, content, opts)
        return response

    import tenacity

    retrying = tenacity.AsyncRetrying(**_retrying_kwargs(opts.max_retries))
    try:
        response: httpx2.Response = await retrying(attempt)
    except _Retry as final:
        raise _stamp(final.error, attempts) from final.__cause__
    except APIError as exc:
        _stamp(exc, attempts)
        raise
    if call.stream:
        return _aiter_stream(response, call, started, attempts)
    gate = opts.read_gate
    async with gate if gate is not None else contextlib.nullcontext():
        try:
            with deadline(opts.timeout.read):
                content = await response.aread()
        except httpx2.RequestError as exc:
            raise _stamp(_body_read_error(exc, response, opts), attempts) from exc
        finally:
            await response.aclose()
        return _built(call, response, content, started, attempts)


async def _aiter_stream(
    response: httpx2.Response, call: ApiCall, started: float, attempts: int
) -> AsyncIterator[PartialImage | Result]:
    assembler = _reader(call)[1](call, response, started, attempts)
    try:
        async for line in response.aiter_lines():
            if (partial := assembler.feed(line)) is not None:
                yield partial
            if assembler.done:
                break
        if (partial := assembler.flush()) is not None:
            yield partial
    except httpx2.RequestError as exc:
        raise _stream_transport_error(exc, response, assembler) from exc
    finally:
        await response.aclose()
    yield assembler.result()


_CREDENTIAL_HEADERS = ("authorization", "api-key")


def _scrub(request: httpx2.Request) -> None:
    """Remove the credential from a request once it is sent: errors and responses keep the
    request (for its method and URL), and it must never carry the key."""
    for name in _CREDENTIAL_HEADERS:
        if name in request.headers:
            del request.headers[name]


def _scrub_response(response: httpx2.Response) -> None:
    """Scrub the requests a followed redirect made: httpx2 re-sends the credential to the same
    origin, and the final response (kept on results and errors) holds that request."""
    for earlier in response.history:
        _scrub(earlier.request)
    _scrub(response.request)


def _read_capped(response: httpx2.Response) -> bytes:
    """At most :data:`MAX_ERROR_BODY` bytes of an error answer."""
    content = bytearray()
    for chunk in response.iter_bytes():
        content += chunk
        if len(content) >= MAX_ERROR_BODY:
            break
    return bytes(content[:MAX_ERROR_BODY])


async def _aread_capped(response: httpx2.Response) -> bytes:
    content = bytearray()
    async for chunk in response.aiter_bytes():
        content += chunk
        if len(content) >= MAX_ERROR_BODY:
            break
    return bytes(content[:MAX_ERROR_BODY])


def _classify_transport(
    exc: httpx2.RequestError, request: httpx2.Request, opts: SendOptions
) -> Exception:
    error, retryable, reason = transport_error(exc, request, opts.retry_ambiguous)
    if not retryable:
        log.debug("not retrying: %s", reason)
        return error
    return _Retry(error, None, reason)


def _body_read_error(
    exc: httpx2.RequestError, response: httpx2.Response, opts: SendOptions
) -> APIError:
    """The answer's headers arrived but its body did not: the image was made, never retried."""
    error, _, _ = transport_error(exc, response.request, False)
    return error


def _classify_status(response: httpx2.Response, content: bytes, opts: SendOptions) -> Exception:
    if opts.on_status is not None:
        opts.on_status(response.status_code, retry_after_seconds(response.headers))
    error = status_error(response, content)
    retry, reason = should_retry_response(response)
    if not retry:
        log.debug("not retrying: %s", reason)
        return error
    return _Retry(error, response.headers, reason)


def _stream_transport_error(
    exc: httpx2.RequestError, response: httpx2.Response, assembler: StreamAssembler
) -> APIConnectionError:
    cls = APITimeoutError if isinstance(exc, httpx2.TimeoutException) else APIConnectionError
    error = cls(
        f"the stream broke after {len(assembler.partials)} partial images ({type(exc).__name__}); "
        "the image may have been billed; not retried",
        response.request,
        may_have_been_billed=True,
    )
    error.partial_images = list(assembler.partials)
    return error
