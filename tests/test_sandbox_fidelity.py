"""Sandbox fidelity (issue 16): read timeouts, unique request ids, partials spread over latency."""

from __future__ import annotations

from typing import Any

import pytest

import imagewright
from imagewright.results import PartialImage
from imagewright.sandbox import SandboxServer
from imagewright.sandbox._protocol import Reply


async def test_in_process_latency_honours_the_read_timeout(make_client: Any) -> None:
    client = make_client.sandbox(latency=1.0)
    with pytest.raises(imagewright.APITimeoutError) as info:
        await client.generate("a fox", quality="low", timeout=0.2, max_retries=0)
    assert info.value.may_have_been_billed  # the body was sent, as over a socket
    await client.close()


async def test_over_a_socket_the_same_call_times_out_the_same_way(make_client: Any) -> None:
    with SandboxServer(latency=1.0) as server:
        client = make_client(api_key="k", base_url=server.url, max_retries=0)
        with pytest.raises(imagewright.APITimeoutError):
            await client.generate("a fox", quality="low", timeout=0.2)
        await client.close()


async def test_request_ids_are_unique_but_pictures_are_deterministic(make_client: Any) -> None:
    a, b = make_client.sandbox(), make_client.sandbox()
    ra = await a.generate("a fox", quality="low")
    rb = await b.generate("a fox", quality="low")
    ra2 = await a.generate("a fox", quality="low")
    ids = {ra.request_id, rb.request_id, ra2.request_id}
    assert len(ids) == 3
    assert all(i is not None and i.startswith("req_") for i in ids)
    assert ra.output.data == rb.output.data == ra2.output.data
    await a.close()
    await b.close()


def test_a_stream_spreads_the_latency_over_its_events() -> None:
    events = tuple(b"event" for _ in range(4))  # 3 partial images, then completed
    head, gaps = Reply(200, (), events, streaming=True).pacing(2.0)
    assert head == 0.5
    assert gaps == (0.0, 0.5, 0.5, 0.5)
    head, gaps = Reply(200, (), (b"{}",)).pacing(2.0)
    assert (head, gaps) == (2.0, (0.0,))


@pytest.mark.parametrize("where", ["in-process", "socket"])
async def test_partials_arrive_within_a_read_timeout_shorter_than_the_latency(
    make_client: Any, where: str
) -> None:
    """With latency 4 s and a 2 s read timeout, a plain call times out, while a stream of
    3 partial images (an event every 1 s) arrives: the partials are spread, not bunched."""
    server = SandboxServer(latency=4.0).start() if where == "socket" else None
    try:
        client = (
            make_client.sandbox(latency=4.0)
            if server is None
            else make_client(api_key="k", base_url=server.url)
        )
        with pytest.raises(imagewright.APITimeoutError):
            await client.generate("a fox", quality="low", timeout=2.0, max_retries=0)
        events = await client.stream(
            "stream_generate", "a fox", quality="low", partial_images=3, timeout=2.0
        )
        assert [type(e).__name__ for e in events] == ["PartialImage"] * 3 + ["Result"]
        assert all(isinstance(e, PartialImage) for e in events[:3])
        await client.close()
    finally:
        if server is not None:
            server.stop()
