"""A connection pool in shards, so that many calls in flight stay cheap.

httpcore2's pool walks every connection it holds each time a request starts or ends (it asks
each idle one whether its socket is still readable). With 64 or 256 calls in flight that walk
is most of the client's CPU: at 256 in flight the bare httpx2 client spends 2.0 ms of CPU per
call against 0.9 ms when the same connections are split into pools of 16 (bench/bench_client.py).

:class:`ShardedTransport` therefore holds several ordinary httpx2 transports of ``shard_size``
connections each and sends every request through the first one with a free connection
(filling shards in order, so a program making one call at a time keeps using one keep-alive
connection). When all are full, the least busy one queues it. Shards are made on first use and
share one SSL context (loading the CA bundle once). Everything else (TLS, keep-alive, proxies
from the environment, which httpx2 mounts beside the transport) is httpx2's own behaviour.
"""

from __future__ import annotations

import math
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Generic, TypeVar

import httpx2

__all__ = ["SHARD_SIZE", "AsyncShardedTransport", "ShardedTransport"]

SHARD_SIZE = 16
"""Connections per shard: measured best between 8 and 32 (docs/performance.md)."""

T = TypeVar("T", httpx2.HTTPTransport, httpx2.AsyncHTTPTransport)


def _nothing() -> None:
    pass


def _nothing_with(_: object) -> None:
    pass


class _Shards(Generic[T]):
    """The shards and their in-flight counts; picking and releasing are thread-safe."""

    def __init__(
        self,
        factory: Callable[..., T],
        limits: httpx2.Limits,
        shard_size: int,
        prepare: Callable[[T], object],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        total = limits.max_connections or 1000
        self.size = max(1, min(shard_size, total))
        count = max(1, math.ceil(total / self.size))
        self.limits = httpx2.Limits(
            max_connections=self.size,
            max_keepalive_connections=self.size,
            keepalive_expiry=limits.keepalive_expiry,
        )
        self.factory: Callable[..., T] = factory
        self.prepare: Callable[[T], object] = prepare
        self.made: list[T | None] = [None] * count
        self.busy = [0] * count
        self.lock = threading.Lock()
        self.ssl_context = ssl_context

    def acquire(self) -> tuple[int, T]:
        with self.lock:
            busy, size = self.busy, self.size
            # The first shard with a free connection; when all are full, the least busy.
            free = next((i for i, n in enumerate(busy) if n < size), None)
            i = min(range(len(busy)), key=busy.__getitem__) if free is None else free
            busy[i] += 1
            shard = self.made[i]
            if shard is None:
                shard = self.made[i] = self._make()
            return i, shard

    def release(self, i: int) -> None:
        with self.lock:
            self.busy[i] -= 1

    def _make(self) -> T:
        # One SSL context for all shards: creating one loads the CA bundle (tens of ms).
        if self.ssl_context is None:
            first = next((s for s in self.made if s is not None), None)
            self.ssl_context = getattr(getattr(first, "_pool", None), "_ssl_context", None)
        ctx = self.ssl_context
        shard: T = self.factory(limits=self.limits, **({"verify": ctx} if ctx else {}))
        self.prepare(shard)
        return shard

    def live(self) -> list[T]:
        return [s for s in self.made if s is not None]


class _Releasing(httpx2.SyncByteStream):
    """A response body that gives its shard's slot back when closed (once)."""

    def __init__(self, inner: httpx2.SyncByteStream, release: Callable[[], None]) -> None:
        self._inner, self._release = inner, release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        release, self._release = self._release, _nothing
        try:
            self._inner.close()
        finally:
            release()


class _AsyncReleasing(httpx2.AsyncByteStream):
    """The async twin of :class:`_Releasing`."""

    def __init__(self, inner: httpx2.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner, self._release = inner, release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        release, self._release = self._release, _nothing
        try:
            await self._inner.aclose()
        finally:
            release()


class _Sharded(Generic[T]):
    """What both transports share: the shards, made by ``factory``."""

    _factory: Callable[..., T]

    def __init__(
        self,
        *,
        limits: httpx2.Limits,
        shard_size: int = SHARD_SIZE,
        prepare: Callable[[T], object] = _nothing_with,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._shards: _Shards[T] = _Shards(self._factory, limits, shard_size, prepare, ssl_context)

    @property
    def shards(self) -> list[T]:
        """The shards made so far (the first one serves one call at a time)."""
        return self._shards.live()


class ShardedTransport(_Sharded[httpx2.HTTPTransport], httpx2.BaseTransport):
    """An ``httpx2.HTTPTransport`` split into pools of ``shard_size`` connections."""

    _factory = httpx2.HTTPTransport

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        i, shard = self._shards.acquire()
        try:
            response = shard.handle_request(request)
        except BaseException:
            self._shards.release(i)
            raise
        assert isinstance(response.stream, httpx2.SyncByteStream)
        response.stream = _Releasing(response.stream, lambda: self._shards.release(i))
        return response

    def close(self) -> None:
        for shard in self._shards.live():
            shard.close()


class AsyncShardedTransport(_Sharded[httpx2.AsyncHTTPTransport], httpx2.AsyncBaseTransport):
    """The async twin of :class:`ShardedTransport`."""

    _factory = httpx2.AsyncHTTPTransport

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        i, shard = self._shards.acquire()
        try:
            response = await shard.handle_async_request(request)
        except BaseException:
            self._shards.release(i)
            raise
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _AsyncReleasing(response.stream, lambda: self._shards.release(i))
        return response

    async def aclose(self) -> None:
        for shard in self._shards.live():
            await shard.aclose()
