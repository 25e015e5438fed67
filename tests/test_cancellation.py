"""Cancellation is a fault too: cancel calls and streams at random points, over a real socket.

What a user would notice: after cancelling, the client still works, the budget counts every
call that may have been billed (never forgets one, never keeps a reservation hanging), and no
task or connection is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

import imagewright
from imagewright.sandbox import SandboxServer

PROMPT = 'a sign that says "OPEN"'


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    # Every answer takes 0.15 s, so a cancel at 0..0.2 s lands before, during or after it.
    with SandboxServer(latency=0.15) as srv:
        yield srv


def _estimate(client: Any) -> float:
    return float(client.estimate(PROMPT, quality="low").high_usd)


def _established(port: int) -> int:
    conns = psutil.Process().net_connections(kind="tcp")
    return sum(1 for c in conns if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED")


def _busy_connections(client: imagewright.AsyncClient | imagewright.Client) -> int:
    shards = client.http._transport.shards  # type: ignore[union-attr]
    conns = [c for shard in shards for c in shard._pool.connections]
    return sum(1 for c in conns if not (c.is_idle() or c.is_closed()))


async def test_cancelled_calls_leave_the_pool_usable_and_the_budget_honest(
    server: SandboxServer,
) -> None:
    rng = random.Random(13)
    client = imagewright.AsyncClient("k", base_url=server.url, budget=100.0, max_retries=0)
    each = _estimate(client)
    cancelled = 0
    for _ in range(12):
        task = asyncio.create_task(client.generate(PROMPT, quality="low"))
        await asyncio.sleep(rng.uniform(0.0, 0.2))
        if task.cancel():
            cancelled += 1
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert cancelled > 3  # the random points really cut calls short
    # The pool still works, and nothing is left running.
    result = await client.generate(PROMPT, quality="low")
    assert result.outputs
    assert _busy_connections(client) == 0
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    budget = client.budget
    assert budget is not None
    assert budget.pending_usd == 0.0  # no reservation left hanging
    # Every request the server received was either answered (settled at its real cost) or
    # counted at its estimate: the budget is never below what the server may have billed.
    answered = 12 - cancelled + 1
    maybe_billed = server.sandbox.requests - answered
    assert budget.spent_usd >= maybe_billed * each - 1e-9
    await client.aclose()
    await asyncio.sleep(0.05)
    assert _established(server.port) == 0


async def test_a_cancelled_stream_counts_as_spent_and_frees_its_connection(
    server: SandboxServer,
) -> None:
    client = imagewright.AsyncClient("k", base_url=server.url, budget=100.0, max_retries=0)
    each = _estimate(client)
    seen: list[Any] = []

    async def consume() -> None:
        async for event in client.stream_generate(PROMPT, quality="low", partial_images=3):
            seen.append(event)

    task = asyncio.create_task(consume())
    while not seen:  # cancel right after the first partial image
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(seen[0], imagewright.PartialImage)
    budget = client.budget
    assert budget is not None
    assert budget.pending_usd == 0.0
    assert budget.spent_usd >= each  # the image was being made: counted (with its partials)
    assert _busy_connections(client) == 0
    again = await client.generate(PROMPT, quality="low")
    assert again.outputs
    await client.aclose()


async def test_an_abandoned_async_stream_is_closed_cleanly(server: SandboxServer) -> None:
    client = imagewright.AsyncClient("k", base_url=server.url, budget=100.0, max_retries=0)
    stream = client.stream_generate(PROMPT, quality="low", partial_images=2)
    first = await stream.__anext__()
    assert isinstance(first, imagewright.PartialImage)
    await stream.aclose()  # type: ignore[attr-defined]
    assert _busy_connections(client) == 0
    assert client.budget is not None
    assert client.budget.pending_usd == 0.0
    assert client.budget.spent_usd > 0
    await client.aclose()


def test_a_sync_stream_left_by_break_frees_its_connection(server: SandboxServer) -> None:
    with imagewright.Client("k", base_url=server.url, budget=100.0, max_retries=0) as client:
        for event in client.stream_generate(PROMPT, quality="low", partial_images=2):
            assert isinstance(event, imagewright.PartialImage)
            break
        assert _busy_connections(client) == 0
        assert client.budget is not None
        assert client.budget.pending_usd == 0.0
        assert client.generate(PROMPT, quality="low").outputs
    assert _established(server.port) == 0


async def test_cancel_during_retry_wait_sends_nothing_more(server: SandboxServer) -> None:
    """A call cancelled while it waits to retry a 429 does not send again later."""
    client = imagewright.AsyncClient("k", base_url=server.url, budget=100.0, max_retries=3)
    server.sandbox.configure(faults=["429", "429", "429", None], retry_after=5.0, latency=0.0)
    task = asyncio.create_task(client.generate(PROMPT, quality="low"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)
    assert server.sandbox.requests == 1
    assert server.sandbox.billed_images == 0
    assert client.budget is not None
    assert client.budget.pending_usd == 0.0
    await client.aclose()
