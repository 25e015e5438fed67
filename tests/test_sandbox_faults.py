"""Every sandbox fault through the in-process transport, on a sync and an async httpx2 client:
each one must look to the client exactly like the network failure it stands for."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx2
import pytest

from imagewright.sandbox import FAULTS, Sandbox, SandboxTransport

from .test_sandbox_engine import AUTH, GEN, client, error_of, sse_events

# -- faults through both transports ---------------------------------------------------------------

Sender = Callable[..., httpx2.Response]


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Sender:
    """POST through the sandbox transport with a sync or an async httpx2 client."""

    def sync_send(
        sandbox: Sandbox, fault: str, *, timeout: float = 5.0, stream: bool = False, **headers: str
    ) -> httpx2.Response:
        body = {
            "model": "gpt-image-2",
            "prompt": "x",
            "quality": "low",
            **({"stream": True, "partial_images": 2} if stream else {}),
        }
        with client(sandbox, timeout=timeout) as http:
            response = http.post(
                GEN, json=body, headers={**AUTH, "X-Sandbox-Fault": fault, **headers}
            )
            return response

    async def async_post(
        sandbox: Sandbox, fault: str, timeout: float, stream: bool, headers: dict[str, str]
    ) -> httpx2.Response:
        body = {
            "model": "gpt-image-2",
            "prompt": "x",
            "quality": "low",
            **({"stream": True, "partial_images": 2} if stream else {}),
        }
        async with httpx2.AsyncClient(
            transport=SandboxTransport(sandbox), base_url="http://sandbox", timeout=timeout
        ) as http:
            return await http.post(
                GEN, json=body, headers={**AUTH, "X-Sandbox-Fault": fault, **headers}
            )

    def async_send(
        sandbox: Sandbox, fault: str, *, timeout: float = 5.0, stream: bool = False, **headers: str
    ) -> httpx2.Response:
        return asyncio.run(async_post(sandbox, fault, timeout, stream, headers))

    return sync_send if request.param == "sync" else async_send


def test_every_fault_is_tested() -> None:
    tested = {
        "429",
        "500",
        "503",
        "reset_before",
        "reset_after",
        "stall",
        "truncate",
        "malformed_json",
        "malformed_sse",
        "stream_error",
        "moderation",
    }
    assert tested == set(FAULTS)


def test_fault_429_advertises_retry_after(send: Sender) -> None:
    response = send(Sandbox(retry_after=0.25), "429")
    assert response.status_code == 429
    assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("0.25", "250")
    assert error_of(response)["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_error_faults(send: Sender, status: str) -> None:
    sandbox = Sandbox()
    response = send(sandbox, status)
    assert response.status_code == int(status)
    assert error_of(response)["type"] == "server_error"
    assert sandbox.billed_images == 0


def test_reset_before_body_is_a_connect_error_and_not_billed(send: Sender) -> None:
    sandbox = Sandbox()
    with pytest.raises(httpx2.ConnectError):
        send(sandbox, "reset_before")
    assert sandbox.billed_images == 0
    assert sandbox.history[-1].status is None


def test_reset_after_body_bills_and_a_keyed_retry_replays(send: Sender) -> None:
    sandbox = Sandbox()
    with pytest.raises(httpx2.RemoteProtocolError):
        send(sandbox, "reset_after", **{"Idempotency-Key": "k1"})
    assert sandbox.billed_images == 1
    retry = send(sandbox, "none", **{"Idempotency-Key": "k1"})
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert sandbox.billed_images == 1


def test_stall_ends_in_a_read_timeout_at_the_clients_timeout(send: Sender) -> None:
    started = time.perf_counter()
    with pytest.raises(httpx2.ReadTimeout):
        send(Sandbox(stall=30), "stall", timeout=0.1)
    assert time.perf_counter() - started < 2
    with pytest.raises(httpx2.RemoteProtocolError):
        send(Sandbox(), "stall", timeout=5, **{"X-Sandbox-Stall": "0.05"})


@pytest.mark.parametrize("stream", [False, True])
def test_truncate_breaks_the_body(send: Sender, stream: bool) -> None:
    with pytest.raises(httpx2.RemoteProtocolError):
        send(Sandbox(), "truncate", stream=stream)


def test_truncated_stream_delivers_the_partials_first() -> None:
    received: list[str] = []

    def read_all() -> None:
        body = {"model": "gpt-image-2", "prompt": "x", "stream": True, "partial_images": 2}
        headers = {**AUTH, "X-Sandbox-Fault": "truncate"}
        with (
            client(Sandbox()) as http,
            http.stream("POST", GEN, json=body, headers=headers) as response,
        ):
            received.extend(response.iter_lines())

    with pytest.raises(httpx2.RemoteProtocolError):
        read_all()
    assert sum(line == "event: image_generation.partial_image" for line in received) == 2
    assert "event: image_generation.completed" in received


def test_malformed_json_is_a_200_that_does_not_parse(send: Sender) -> None:
    response = send(Sandbox(), "malformed_json")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_malformed_sse_breaks_the_last_event(send: Sender) -> None:
    response = send(Sandbox(), "malformed_sse", stream=True)
    events = sse_events(response.text)
    assert [json.loads(d)["partial_image_index"] for _, d in events[:2]] == [0, 1]
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[-1][1])


def test_stream_error_sends_an_error_event_and_is_not_billed(send: Sender) -> None:
    sandbox = Sandbox()
    events = sse_events(send(sandbox, "stream_error", stream=True).text)
    name, data = events[-1]
    assert name == "error"
    assert json.loads(data)["error"]["code"] == "server_error"
    assert sandbox.billed_images == 0
    assert send(sandbox, "stream_error").status_code == 500


def test_moderation_fault_is_a_400_moderation_blocked(send: Sender) -> None:
    sandbox = Sandbox()
    response = send(sandbox, "moderation")
    assert response.status_code == 400
    assert error_of(response)["code"] == "moderation_blocked"
    assert sandbox.billed_images == 0


def test_latency_header_delays_the_answer(send: Sender) -> None:
    started = time.perf_counter()
    assert send(Sandbox(), "none", **{"X-Sandbox-Latency": "0.2"}).status_code == 200
    assert time.perf_counter() - started >= 0.2


async def test_async_transport_does_not_block_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """While four answers wait out their latency, the event loop keeps running other tasks:
    the async path never calls a blocking sleep."""
    import imagewright.sandbox._transport as transport_module

    def blocking_sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) would block the event loop")

    monkeypatch.setattr(transport_module.time, "sleep", blocking_sleep)
    sandbox = Sandbox(latency=0.3)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async with httpx2.AsyncClient(
        transport=SandboxTransport(sandbox), base_url="http://sandbox"
    ) as http:
        task = asyncio.create_task(ticker())
        body = {"model": "gpt-image-2", "prompt": "x", "quality": "low"}
        responses = await asyncio.gather(
            *(http.post(GEN, json=body, headers=AUTH) for _ in range(4))
        )
        done.set()
        await task
    assert [r.status_code for r in responses] == [200] * 4
    assert ticks >= 5
