"""Unit tests of the transport layer with respx (no sockets): request shape, failure
classification, SSE decoding and error mapping."""

from __future__ import annotations

import email.utils
import json
import time

import httpx2
import pytest
import respx

import imagewright
from imagewright import _transport

from ._capture import images_response

URL = "https://api.test/v1"


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(base_url=URL, assert_all_called=False) as router:
        yield router


def _client(**kw: object) -> imagewright.Client:
    return imagewright.Client("sk-unit", base_url=URL, **kw)  # type: ignore[arg-type]


def test_request_headers_and_body(mock: respx.MockRouter) -> None:
    route = mock.post("/images/generations").respond(200, json=images_response())
    with _client(organization="org-1", project="proj-1", default_headers={"X-Team": "a"}) as c:
        c.generate("a fox", model="gpt-image-2", quality="low", extra_headers={"X-Trace": "t1"})
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer sk-unit"
    assert request.headers["openai-organization"] == "org-1"
    assert request.headers["openai-project"] == "proj-1"
    assert request.headers["x-team"] == "a"
    assert request.headers["x-trace"] == "t1"
    assert request.headers["accept"] == "application/json"
    assert request.headers["idempotency-key"].startswith("imagewright-")
    assert json.loads(request.content) == {
        "prompt": "a fox",
        "model": "gpt-image-2",
        "quality": "low",
    }


def test_caller_idempotency_key_is_used_on_every_attempt(mock: respx.MockRouter) -> None:
    route = mock.post("/images/generations")
    route.side_effect = [
        httpx2.Response(503, headers={"retry-after-ms": "1"}, json={"error": {"message": "x"}}),
        httpx2.Response(200, json=images_response()),
    ]
    with _client() as c:
        c.generate("a fox", model="gpt-image-2", idempotency_key="job-7")
    assert [call.request.headers["idempotency-key"] for call in route.calls] == ["job-7", "job-7"]


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (httpx2.ConnectError("refused"), True),
        (httpx2.ConnectTimeout("slow connect"), True),
        (httpx2.WriteError("broken pipe"), True),
        (httpx2.ReadTimeout("slow answer"), False),
        (httpx2.RemoteProtocolError("server disconnected"), False),
        (httpx2.ReadError("reset"), False),
    ],
)
def test_failures_before_the_upload_retry_and_after_do_not(
    mock: respx.MockRouter, exc: Exception, retried: bool
) -> None:
    route = mock.post("/images/generations")
    route.side_effect = [exc, httpx2.Response(200, json=images_response())]
    with _client() as c:
        if retried:
            assert c.generate("x", model="gpt-image-2").timings.attempts == 2
        else:
            with pytest.raises(imagewright.APIConnectionError) as info:
                c.generate("x", model="gpt-image-2")
            assert info.value.may_have_been_billed
            assert isinstance(info.value, imagewright.APITimeoutError) == isinstance(
                exc, httpx2.TimeoutException
            )
    assert route.call_count == (2 if retried else 1)


async def test_async_client_classifies_the_same_way(mock: respx.MockRouter) -> None:
    route = mock.post("/images/generations")
    route.side_effect = [
        httpx2.ConnectError("refused"),
        httpx2.ReadTimeout("slow"),
        httpx2.Response(200),
    ]
    async with imagewright.AsyncClient("sk-unit", base_url=URL) as c:
        with pytest.raises(imagewright.APITimeoutError):
            await c.generate("x", model="gpt-image-2")
    assert route.call_count == 2


def test_non_json_error_body_keeps_its_text(mock: respx.MockRouter) -> None:
    mock.post("/images/generations").respond(502, text="<html>Bad gateway</html>")
    with _client(max_retries=0) as c, pytest.raises(imagewright.InternalServerError) as info:
        c.generate("x", model="gpt-image-2")
    assert info.value.body == "<html>Bad gateway</html>"
    assert info.value.code is None
    assert str(info.value).startswith("Error code: 502")


def test_retry_after_http_date_parses() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = _transport.retry_after_seconds(httpx2.Headers({"retry-after": when}))
    assert seconds is not None
    assert 28 <= seconds <= 31
    assert _transport.retry_after_seconds(httpx2.Headers({"retry-after": "soon"})) is None
    assert _transport.retry_after_seconds(httpx2.Headers({"retry-after-ms": "250"})) == 0.25


def test_sse_decoder_handles_comments_multiline_and_missing_final_blank_line() -> None:
    d = _transport.SSEDecoder()
    lines = [": keep-alive", "event: image_generation.partial_image", 'data: {"a":', "data: 1}", ""]
    events = [e for e in (d.feed(line) for line in lines) if e is not None]
    assert events == [("image_generation.partial_image", '{"a":\n1}')]
    assert d.feed('data: {"b": 2}') is None
    assert d.flush() == (None, '{"b": 2}')
    assert d.flush() is None


def test_stream_event_type_decides_not_the_event_line() -> None:
    response = httpx2.Response(200, request=httpx2.Request("POST", URL))
    call = imagewright.Client("k").compile_generate("x", model="gpt-image-2", stream=True)
    asm = _transport.StreamAssembler(call, response, time.time(), 1)
    b64 = "iVBORw0KGgo="
    partial = asm.handle(
        "message",
        json.dumps(
            {"type": "image_generation.partial_image", "b64_json": b64, "partial_image_index": 0}
        ),
    )
    assert partial is not None
    assert partial.index == 0
    assert (
        asm.handle(None, json.dumps({"type": "something.new"})) is None
    )  # unknown types are ignored
    with pytest.raises(imagewright.APIResponseValidationError, match="before the completed event"):
        asm.result()


def test_nan_retry_after_is_ignored() -> None:
    assert _transport.retry_after_seconds(httpx2.Headers({"retry-after": "nan"})) is None
    assert _transport.should_retry_response(httpx2.Response(503, headers={"retry-after": "nan"}))[0]
