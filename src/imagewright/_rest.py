"""Plain REST calls (Files, Batches, fetching a URL) written once for both clients.

A multi-step job (upload the inputs, then the JSONL, then create the batches; or poll until
done) is written as a generator that *yields* what it needs (:class:`Req` or :class:`Sleep`)
and receives the answer. :func:`run` drives it with a sync client, :func:`arun` with an async
one, so the sync and async APIs cannot drift apart. The retry rules are the transport's:
GET and DELETE are always safe to retry; a POST that may have reached the server is retried
only with ``retry_ambiguous`` (a duplicated batch would run and bill twice), and each POST
carries one ``Idempotency-Key`` over its attempts. As for an image's call, the wait for an
answer's head (and for a JSON body) is bounded by the read timeout as a whole, and an error
body is read up to ``MAX_ERROR_BODY``, so a trickling or endless answer cannot hang a flow.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2

from . import _transport
from ._deadline import deadline
from .errors import APIResponseValidationError

if TYPE_CHECKING:
    from .client import AsyncClient, BaseClient, Client

__all__ = ["Flow", "Req", "Sleep", "arun", "run"]

T = TypeVar("T")


@dataclass(frozen=True)
class Req:
    """One HTTP request of a flow; the flow receives the parsed JSON (or bytes with ``raw``).

    ``url`` (an absolute URL) is fetched without the API's headers, since it is not the API,
    and without following redirects; the flow receives the ``httpx2.Response`` itself.
    """

    method: str
    path: str = ""
    json: Any = None
    files: list[Any] | None = None
    data: Mapping[str, Any] | None = None
    params: Mapping[str, Any] | None = None
    raw: bool = False
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    parse: Callable[[Any], Any] | None = None
    """Turns the answer into what the flow receives; a ``ValueError``, ``TypeError``,
    ``KeyError`` or ``AttributeError`` there means the answer is not the shape the API
    promises, raised as :class:`~imagewright.errors.APIResponseValidationError`."""
    retry_ambiguous: bool | None = None
    """Overrides the client's ``retry_ambiguous`` for this request (``None``: the client's)."""


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds (``asyncio.sleep`` on the async client)."""

    seconds: float


Flow = Generator[Req | Sleep, Any, T]


def _build(client: BaseClient, req: Req, key: str, attempt: int) -> httpx2.Request:
    http = client.http  # type: ignore[attr-defined]
    if req.url is not None:
        return http.build_request(req.method, req.url)  # type: ignore[no-any-return]
    url, query = client.settings.url_for(req.path, None)
    headers = client.settings.headers()
    headers["X-Imagewright-Retry-Count"] = str(attempt)
    if req.method == "POST":
        headers["Idempotency-Key"] = key
    headers.update(req.headers)
    request = http.build_request(
        req.method,
        url,
        params={**query, **(req.params or {})},
        headers=headers,
        json=req.json,
        files=req.files,
        data=req.data,
        timeout=client.settings.timeout,
    )
    request.stream = _transport._TrackedBody(request.stream)
    return request  # type: ignore[no-any-return]


def _options(client: BaseClient, req: Req) -> _transport.SendOptions:
    safe = req.method in ("GET", "DELETE") or req.path == "/files"
    chosen = client.settings.retry_ambiguous if req.retry_ambiguous is None else req.retry_ambiguous
    return _transport.SendOptions(
        timeout=client.settings.timeout,
        max_retries=client.settings.max_retries,
        retry_ambiguous=safe or chosen,
    )


def _parse(req: Req, response: httpx2.Response, content: bytes) -> Any:
    where = f"{req.method} {req.path or 'the URL'}"
    value: Any = content
    if not req.raw:
        try:
            value = json.loads(content)
        except ValueError as exc:
            raise APIResponseValidationError(
                f"the answer to {where} is not JSON", response=response
            ) from exc
    if req.parse is None:
        return value
    try:
        return req.parse(value)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise APIResponseValidationError(
            f"the answer to {where} is not the shape the API promises ({reason})",
            response=response,
            body=None if req.raw else value,
        ) from exc


def _is_error(req: Req, response: httpx2.Response) -> bool:
    """An API error answer, whose body is read only up to ``MAX_ERROR_BODY``."""
    return req.url is None and response.status_code >= 400


def _body_deadline(req: Req, opts: _transport.SendOptions) -> float | None:
    """The wall-clock bound on reading a body: the read timeout, as for an image's answer.

    A file's content (``raw``) can be a batch's whole output, hundreds of MB: only each read
    is bounded there, so a slow but moving download is not cut off."""
    return None if req.raw else opts.timeout.read


def _answer(
    req: Req, response: httpx2.Response, content: bytes, opts: _transport.SendOptions
) -> Any:
    """What the flow receives: the parsed answer, or (a URL, not the API) the response itself,
    whose status and redirects the flow reads; an API error status raises (or retries)."""
    if req.url is not None:
        return response
    if response.status_code >= 400:
        raise _transport._classify_status(response, content, opts)
    return _parse(req, response, content)


def send(client: Client, req: Req) -> Any:
    """Send one request on a sync client, with the transport's retry rules."""
    import tenacity

    opts = _options(client, req)
    key = f"imagewright-{uuid.uuid4()}"
    attempts = 0

    def attempt() -> Any:
        nonlocal attempts
        request = _build(client, req, key, attempts)
        attempts += 1
        try:
            with deadline(opts.timeout.read):
                response = client.http.send(request, stream=True, follow_redirects=req.url is None)
            try:
                if _is_error(req, response):
                    content = _transport._read_capped(response)
                else:
                    with deadline(_body_deadline(req, opts)):
                        content = response.read()
            except httpx2.RequestError:
                if not _is_error(req, response):
                    raise
                content = b""  # the status says enough
            finally:
                response.close()
        except httpx2.RequestError as exc:
            raise _transport._classify_transport(exc, request, opts) from exc
        finally:
            _transport._scrub(request)
        _transport._scrub_response(response)
        return _answer(req, response, content, opts)

    try:
        return tenacity.Retrying(**_transport._retrying_kwargs(opts.max_retries))(attempt)
    except _transport._Retry as final:
        raise final.error from final.__cause__


async def asend(client: AsyncClient, req: Req) -> Any:
    """Send one request on an async client, with the transport's retry rules."""
    import tenacity

    opts = _options(client, req)
    key = f"imagewright-{uuid.uuid4()}"
    attempts = 0

    async def attempt() -> Any:
        nonlocal attempts
        request = _build(client, req, key, attempts)
        attempts += 1
        try:
            with deadline(opts.timeout.read):
                response = await client.http.send(
                    request, stream=True, follow_redirects=req.url is None
                )
            try:
                if _is_error(req, response):
                    content = await _transport._aread_capped(response)
                else:
                    with deadline(_body_deadline(req, opts)):
                        content = await response.aread()
            except httpx2.RequestError:
                if not _is_error(req, response):
                    raise
                content = b""  # the status says enough
            finally:
                await response.aclose()
        except httpx2.RequestError as exc:
            raise _transport._classify_transport(exc, request, opts) from exc
        finally:
            _transport._scrub(request)
        _transport._scrub_response(response)
        return _answer(req, response, content, opts)

    try:
        return await tenacity.AsyncRetrying(**_transport._retrying_kwargs(opts.max_retries))(
            attempt
        )
    except _transport._Retry as final:
        raise final.error from final.__cause__


def run(client: Client, flow: Flow[T]) -> T:
    """Drive a flow with a sync client; a failed request is raised inside the flow."""
    try:
        step = next(flow)
        while True:
            try:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    answer = None
                else:
                    answer = send(client, step)
            except Exception as exc:
                step = flow.throw(exc)
                continue
            step = flow.send(answer)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


async def arun(client: AsyncClient, flow: Flow[T]) -> T:
    """Drive a flow with an async client; a failed request is raised inside the flow."""
    import anyio

    try:
        step = next(flow)
        while True:
            try:
                if isinstance(step, Sleep):
                    await anyio.sleep(step.seconds)
                    answer = None
                else:
                    answer = await asend(client, step)
            except Exception as exc:
                step = flow.throw(exc)
                continue
            step = flow.send(answer)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()
