"""Retry behaviour on both clients against a scripted loopback server."""

from __future__ import annotations

import email.utils
import logging
import socket
import time
from typing import Any

import httpx2
import pytest

import imagewright
from imagewright import _transport

from ._capture import CaptureServer, Reply, error_body, images_response

OK = Reply(body=images_response())


def _client(make_client: Any, capture: CaptureServer, **kw: Any) -> Any:
    return make_client(api_key="sk-retry", base_url=capture.url, **kw)


async def test_429_retry_after_ms_is_honoured(
    make_client: Any, capture: CaptureServer, caplog: pytest.LogCaptureFixture
) -> None:
    capture.push(Reply(429, {"retry-after-ms": "150"}, error_body("slow down")), OK)
    client = _client(make_client, capture)
    with caplog.at_level(logging.DEBUG, logger="imagewright"):
        t0 = time.monotonic()
        result = await client.generate("x", model="gpt-image-2")
        elapsed = time.monotonic() - t0
    await client.close()
    assert result.timings.attempts == 2
    assert len(capture.requests) == 2
    assert elapsed >= 0.15
    assert any("in 0.150 s" in r.getMessage() for r in caplog.records)


def _record_waits(monkeypatch: pytest.MonkeyPatch, *, sleep: bool) -> list[float]:
    """Record every wait the retry policy chooses; ``sleep=False`` skips the sleeping itself."""
    waits: list[float] = []
    real = _transport._wait

    def wait(state: Any) -> float:
        waits.append(real(state))
        return waits[-1] if sleep else 0.0

    monkeypatch.setattr(_transport, "_wait", wait)
    return waits


async def test_retry_after_http_date_is_honoured(
    make_client: Any, capture: CaptureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An HTTP date has 1 s resolution: three seconds ahead is a wait of (2, 3] s less the
    # time the request took; the backoff it replaces would be 0.5 s at most.
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    capture.push(Reply(503, {"retry-after": when}, error_body("busy")), OK)
    waits = _record_waits(monkeypatch, sleep=True)
    client = _client(make_client, capture)
    t0 = time.monotonic()
    result = await client.generate("x", model="gpt-image-2")
    elapsed = time.monotonic() - t0
    await client.close()
    assert result.timings.attempts == 2
    assert len(capture.requests) == 2
    assert len(waits) == 1
    assert 1.0 < waits[0] <= 3.0  # the date, not the backoff
    assert elapsed >= waits[0]


@pytest.mark.parametrize(("after", "retried"), [("120", True), ("121", False)])
async def test_retry_after_of_120_s_is_waited_and_121_is_refused(
    make_client: Any,
    capture: CaptureServer,
    monkeypatch: pytest.MonkeyPatch,
    after: str,
    retried: bool,
) -> None:
    capture.push(Reply(429, {"retry-after": after}, error_body("slow down")), OK)
    waits = _record_waits(monkeypatch, sleep=False)  # do not really wait two minutes
    client = _client(make_client, capture)
    if retried:
        result = await client.generate("x", model="gpt-image-2")
        assert result.timings.attempts == 2
        assert waits == [120.0]
    else:
        with pytest.raises(imagewright.RateLimitError) as info:
            await client.generate("x", model="gpt-image-2")
        assert info.value.attempts == 1
        assert waits == []
    await client.close()
    assert len(capture.requests) == (2 if retried else 1)


async def test_retry_after_over_120_s_is_not_retried(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(
        Reply(429, {"retry-after": "300"}, error_body("quota", code="rate_limit_exceeded"))
    )
    client = _client(make_client, capture)
    with pytest.raises(imagewright.RateLimitError) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert len(capture.requests) == 1
    assert info.value.attempts == 1
    assert info.value.code == "rate_limit_exceeded"


async def test_500_then_success(make_client: Any, capture: CaptureServer) -> None:
    capture.push(Reply(500, {"retry-after-ms": "10"}, error_body("boom")), OK)
    client = _client(make_client, capture)
    result = await client.generate("x", model="gpt-image-2")
    await client.close()
    assert result.timings.attempts == 2
    assert result.output.size == (16, 16)


async def test_every_attempt_reuses_one_idempotency_key(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(
        Reply(500, {"retry-after-ms": "5"}, error_body("a")),
        Reply(502, {"retry-after-ms": "5"}, error_body("b")),
        OK,
    )
    client = _client(make_client, capture)
    await client.generate("x", model="gpt-image-2")
    await client.generate("y", model="gpt-image-2")
    await client.close()
    keys = [r.headers["idempotency-key"] for r in capture.requests]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]
    assert [r.headers["x-imagewright-retry-count"] for r in capture.requests] == [
        "0",
        "1",
        "2",
        "0",
    ]


async def test_retries_exhausted_raise_the_last_error(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(*[Reply(500, {"retry-after-ms": "5"}, error_body("boom"))] * 3)
    client = _client(make_client, capture, max_retries=2)
    with pytest.raises(imagewright.InternalServerError) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert info.value.attempts == 3
    assert info.value.status_code == 500
    assert len(capture.requests) == 3


async def test_x_should_retry_false_wins_over_5xx(make_client: Any, capture: CaptureServer) -> None:
    capture.push(Reply(503, {"x-should-retry": "false"}, error_body("no")))
    client = _client(make_client, capture)
    with pytest.raises(imagewright.InternalServerError):
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert len(capture.requests) == 1


async def test_x_should_retry_true_retries_a_400(make_client: Any, capture: CaptureServer) -> None:
    capture.push(
        Reply(400, {"x-should-retry": "true", "retry-after-ms": "5"}, error_body("flaky")), OK
    )
    client = _client(make_client, capture)
    result = await client.generate("x", model="gpt-image-2")
    await client.close()
    assert result.timings.attempts == 2


@pytest.mark.parametrize("status", [408, 409])
async def test_408_and_409_are_retried(
    make_client: Any, capture: CaptureServer, status: int
) -> None:
    capture.push(Reply(status, {"retry-after-ms": "5"}, error_body("again")), OK)
    client = _client(make_client, capture)
    result = await client.generate("x", model="gpt-image-2")
    await client.close()
    assert result.timings.attempts == 2


async def test_content_policy_is_never_retried(make_client: Any, capture: CaptureServer) -> None:
    capture.push(
        Reply(
            400,
            {"x-request-id": "req_mod"},
            error_body(
                "Your request was rejected by the safety system.", code="moderation_blocked"
            ),
        )
    )
    client = _client(make_client, capture)
    with pytest.raises(imagewright.ContentPolicyError) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert len(capture.requests) == 1
    err = info.value
    assert isinstance(err, imagewright.BadRequestError)
    assert err.code == "moderation_blocked"
    assert err.request_id == "req_mod"
    assert str(err) == "Error code: 400 - Your request was rejected by the safety system."


async def test_read_timeout_is_not_retried_by_default(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(Reply(action="stall", delay=1.0), OK)
    client = _client(make_client, capture, timeout=0.3)
    with pytest.raises(imagewright.APITimeoutError) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert len(capture.requests) == 1
    assert info.value.may_have_been_billed is True
    assert "retry_ambiguous=True" in str(info.value)


async def test_read_timeout_retried_when_opted_in(make_client: Any, capture: CaptureServer) -> None:
    capture.push(Reply(action="stall", delay=0.8), OK)
    client = _client(make_client, capture, timeout=0.3, retry_ambiguous=True)
    result = await client.generate("x", model="gpt-image-2")
    await client.close()
    assert result.timings.attempts == 2
    assert len(capture.requests) == 2


async def test_connection_dropped_after_body_is_not_retried(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(Reply(action="reset"), OK)
    client = _client(make_client, capture)
    with pytest.raises(imagewright.APIConnectionError) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert len(capture.requests) == 1
    assert info.value.may_have_been_billed is True


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


async def test_connection_refused_is_retried(make_client: Any) -> None:
    client = make_client(
        api_key="sk", base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=1
    )
    with pytest.raises(imagewright.APIConnectionError) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert info.value.attempts == 2
    assert info.value.may_have_been_billed is False
    assert not isinstance(info.value, imagewright.APITimeoutError)


async def test_per_call_max_retries_override(make_client: Any, capture: CaptureServer) -> None:
    capture.push(Reply(500, {"retry-after-ms": "5"}, error_body("boom")), OK)
    client = _client(make_client, capture)
    with pytest.raises(imagewright.InternalServerError):
        await client.generate("x", model="gpt-image-2", max_retries=0)
    await client.close()
    assert len(capture.requests) == 1


# ---- the pure rules --------------------------------------------------------------------------


def test_backoff_follows_the_official_schedule() -> None:
    for k, (lo, hi) in enumerate(
        [(0.375, 0.5), (0.75, 1.0), (1.5, 2.0), (3.0, 4.0), (6.0, 8.0), (6.0, 8.0)]
    ):
        delays = [_transport.retry_delay(None, k) for _ in range(200)]
        assert lo <= min(delays)
        assert max(delays) <= hi


def test_retry_after_rules() -> None:
    h = httpx2.Headers
    assert _transport.retry_delay(h({"retry-after-ms": "1500"}), 0) == 1.5
    assert _transport.retry_delay(h({"retry-after": "2"}), 3) == 2.0
    assert _transport.retry_delay(h({"retry-after": "120"}), 0) == 120.0
    # over the cap: not honoured as a delay (and the response is not retried at all)
    assert _transport.retry_delay(h({"retry-after": "121"}), 0) <= 0.5
    resp = httpx2.Response(429, headers={"retry-after": "121"})
    assert _transport.should_retry_response(resp)[0] is False
    resp = httpx2.Response(429, headers={"retry-after": "1e999", "x-should-retry": "true"})
    assert _transport.should_retry_response(resp)[0] is False
    assert _transport.should_retry_response(httpx2.Response(404))[0] is False
    assert _transport.should_retry_response(httpx2.Response(502))[0] is True
