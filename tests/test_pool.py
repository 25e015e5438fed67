"""The sharded connection pool: one connection for one call at a time, shards for many.

These run over real loopback sockets against the sandbox server, on both clients, and look at
what a user would notice: how many TCP connections the server saw, and that the pool keeps
working after errors and cancellations.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

import imagewright
from imagewright._pool import SHARD_SIZE, AsyncShardedTransport, ShardedTransport
from imagewright.sandbox import SandboxServer

PROMPT = "a red fox"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


def _connections(client: Any) -> list[Any]:
    return [c for shard in client.http._transport.shards for c in shard._pool.connections]


def test_calls_one_at_a_time_reuse_one_connection(server: SandboxServer) -> None:
    with imagewright.Client("k", base_url=server.url) as client:
        for _ in range(5):
            client.generate(PROMPT, quality="low")
        assert len(client.http._transport.shards) == 1  # type: ignore[attr-defined]
        assert len(_connections(client)) == 1


async def test_async_calls_one_at_a_time_reuse_one_connection(server: SandboxServer) -> None:
    async with imagewright.AsyncClient("k", base_url=server.url) as client:
        for _ in range(5):
            await client.generate(PROMPT, quality="low")
        assert len(client.http._transport.shards) == 1  # type: ignore[attr-defined]
        assert len(_connections(client)) == 1


async def test_many_in_flight_fill_shards_in_order(server: SandboxServer) -> None:
    server.sandbox.configure(latency=0.3)
    try:
        async with imagewright.AsyncClient("k", base_url=server.url) as client:
            n = SHARD_SIZE * 2 + 3
            results = await asyncio.gather(
                *(client.generate(PROMPT, quality="low") for _ in range(n))
            )
            assert len(results) == n
            shards = client.http._transport.shards  # type: ignore[attr-defined]
            sizes = [len(s._pool.connections) for s in shards]
            # 35 at once: two full shards and a third with the rest, none above its size.
            assert len(shards) == 3
            assert sizes[:2] == [SHARD_SIZE, SHARD_SIZE]
            assert 1 <= sizes[2] <= SHARD_SIZE
            # Every slot was given back when its answer was read.
            assert client.http._transport._shards.busy == [0] * len(  # type: ignore[attr-defined]
                client.http._transport._shards.busy  # type: ignore[attr-defined]
            )
            # The next call goes back to the first shard's kept-alive connections.
            await client.generate(PROMPT, quality="low")
            assert len(shards[0]._pool.connections) == SHARD_SIZE
    finally:
        server.sandbox.configure(latency=0.0)


def test_threads_share_the_shards_without_losing_slots(server: SandboxServer) -> None:
    server.sandbox.configure(latency=0.2)
    errors: list[BaseException] = []
    try:
        with imagewright.Client("k", base_url=server.url) as client:

            def work() -> None:
                try:
                    client.generate(PROMPT, quality="low")
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work) for _ in range(SHARD_SIZE + 4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert errors == []
            assert len(client.http._transport.shards) == 2  # type: ignore[attr-defined]
            assert sum(client.http._transport._shards.busy) == 0  # type: ignore[attr-defined]
    finally:
        server.sandbox.configure(latency=0.0)


@pytest.mark.parametrize("cls", [ShardedTransport, AsyncShardedTransport])
def test_a_failed_request_gives_its_slot_back(cls: type[Any]) -> None:
    limits = httpx2.Limits(max_connections=1000)
    transport = cls(limits=limits)
    # Nothing listens on port 9 (discard) of loopback in the test container: refused.
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/images/generations", content=b"{}")
    send = (
        transport.handle_request
        if cls is ShardedTransport
        else lambda r: asyncio.run(transport.handle_async_request(r))
    )
    with pytest.raises(httpx2.ConnectError):
        send(request)
    assert transport._shards.busy[0] == 0


def test_shards_share_one_ssl_context_and_split_the_limit() -> None:
    transport = ShardedTransport(limits=httpx2.Limits(max_connections=40), shard_size=16)
    first = [transport._shards.acquire() for _ in range(17)]
    shards = transport.shards
    assert len(shards) == 2
    assert shards[0]._pool._ssl_context is shards[1]._pool._ssl_context
    assert len(transport._shards.busy) == 3  # 40 connections in shards of 16: 16 + 16 + 8
    assert [i for i, _ in first] == [0] * 16 + [1]
    transport.close()


async def test_the_deadline_backend_covers_every_shard(server: SandboxServer) -> None:
    from imagewright._deadline import AsyncDeadlineBackend

    server.sandbox.configure(latency=0.2)
    try:
        async with imagewright.AsyncClient("k", base_url=server.url) as client:
            await asyncio.gather(
                *(client.generate(PROMPT, quality="low") for _ in range(SHARD_SIZE + 1))
            )
            shards = client.http._transport.shards  # type: ignore[attr-defined]
            assert len(shards) == 2
            assert all(isinstance(s._pool._network_backend, AsyncDeadlineBackend) for s in shards)
    finally:
        server.sandbox.configure(latency=0.0)
