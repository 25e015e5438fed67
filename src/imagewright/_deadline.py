"""A wall-clock deadline on waiting for an answer, on top of httpx2's per-read timeout.

httpx2's read timeout bounds each *single* read. A server that trickles its status line and
headers a byte at a time (or an endless header block) never trips it, and the call would wait
for hours. The client's own connection pool therefore reads through :class:`DeadlineBackend`:
while a :func:`deadline` block is active, every read may wait at most what is left of that
block's budget, and a read that finds the budget spent raises ``httpcore2.ReadTimeout`` (which
reaches the caller as imagewright's ``APITimeoutError``). The budget starts at the first read,
so a long upload does not eat into it.

The budget lives in a context variable, so it follows the calling thread (sync) or task
(async) and a reused keep-alive connection obeys the call that is using it now.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore2

__all__ = ["AsyncDeadlineBackend", "DeadlineBackend", "deadline", "install", "install_on"]


class _Budget:
    __slots__ = ("ends", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends: float | None = None

    def clamp(self, timeout: float | None) -> float | None:
        """The timeout for the next read: ``timeout`` or what is left, whichever is shorter."""
        now = time.monotonic()
        if self.ends is None:
            self.ends = now + self.seconds
        left = self.ends - now
        if left <= 0:
            raise httpcore2.ReadTimeout(
                f"the answer did not arrive within {self.seconds:g} s (read timeout)"
            )
        return left if timeout is None else min(timeout, left)


_CURRENT: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "imagewright_deadline", default=None
)


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound the total time spent reading inside the block (``None``: no bound)."""
    token = _CURRENT.set(None if seconds is None else _Budget(seconds))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _clamp(timeout: float | None) -> float | None:
    budget = _CURRENT.get()
    return timeout if budget is None else budget.clamp(timeout)


class _Stream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore2.NetworkStream:
        return _Stream(self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncStream(httpcore2.AsyncNetworkStream):
    def __init__(self, inner: httpcore2.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _clamp(timeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore2.AsyncNetworkStream:
        return _AsyncStream(await self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore2.NetworkBackend):
    """A sync network backend whose streams obey the active :func:`deadline`."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore2.NetworkStream:
        return _Stream(self._inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore2.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncDeadlineBackend(httpcore2.AsyncNetworkBackend):
    """The async twin of :class:`DeadlineBackend`."""

    def __init__(self, inner: httpcore2.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore2.AsyncNetworkStream:
        return _AsyncStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore2.AsyncNetworkStream:
        return _AsyncStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def install(http: Any) -> Any:
    """Put the deadline backend under every pool of an httpx2 client it created; returns it.

    Only the client's own default transports are changed (``_pool._network_backend`` is read
    when a connection is made); an injected ``http_client`` is left alone.
    """
    transports: Iterable[Any] = [getattr(http, "_transport", None)]
    transports = [*transports, *getattr(http, "_mounts", {}).values()]
    for transport in transports:
        install_on(transport)
    return http


def install_on(transport: Any) -> None:
    """Put the deadline backend under one httpx2 transport's pool (a no-op when it has one)."""
    pool: Any = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, (DeadlineBackend, AsyncDeadlineBackend)) or backend is None:
        return
    wrapper = (
        AsyncDeadlineBackend(backend)
        if isinstance(backend, httpcore2.AsyncNetworkBackend)
        else DeadlineBackend(backend)
    )
    pool._network_backend = wrapper
