"""httpx2 transports that answer from a :class:`Sandbox` in process: no sockets, no threads.

Faults become what a real network would hand httpx2: a refused connection is
``httpx2.ConnectError``, a dropped connection after the upload is ``httpx2.RemoteProtocolError``,
a stall is ``httpx2.ReadTimeout`` after the request's own read timeout, and a truncated body
raises ``httpx2.RemoteProtocolError`` while it is being read.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx2

from ._engine import Plan, Sandbox
from ._protocol import Reply

__all__ = ["SandboxTransport"]


def _read_timeout(request: httpx2.Request) -> float | None:
    timeout = request.extensions.get("timeout", {}).get("read")
    return None if timeout is None else float(timeout)


def _wait(
    seconds: float, request: httpx2.Request, what: str, spent: float = 0.0
) -> tuple[float, bool]:
    """How long to wait for data, and whether the read timeout fires first (as on a socket,
    where ``spent`` seconds of making the answer already count against it)."""
    timeout = _read_timeout(request)
    if timeout is not None and timeout < spent + seconds:
        return max(0.0, timeout - spent), True
    return seconds, False


def _timed_out(request: httpx2.Request, what: str) -> httpx2.ReadTimeout:
    return httpx2.ReadTimeout(f"The read operation timed out (sandbox: {what})", request=request)


class _ReplyStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """The body of a reply, paced like the server sends it; raises like a dropped connection
    when the reply is cut short, and like a socket read timeout when a gap exceeds it."""

    def __init__(self, reply: Reply, request: httpx2.Request, gaps: tuple[float, ...]) -> None:
        self._chunks = reply.delivered()
        self._gaps = gaps
        self._cut = reply.cut is not None
        self._request = request

    def _broken(self) -> httpx2.RemoteProtocolError:
        return httpx2.RemoteProtocolError(
            "peer closed connection without sending complete message body (incomplete chunked read)",
            request=self._request,
        )

    def __iter__(self) -> Iterator[bytes]:
        for chunk, gap in zip(self._chunks, self._gaps, strict=False):
            wait, timed_out = _wait(gap, self._request, "latency")
            time.sleep(wait)
            if timed_out:
                raise _timed_out(self._request, "latency")
            yield chunk
        if self._cut:
            raise self._broken()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk, gap in zip(self._chunks, self._gaps, strict=False):
            wait, timed_out = _wait(gap, self._request, "latency")
            await anyio.sleep(wait)
            if timed_out:
                raise _timed_out(self._request, "latency")
            yield chunk
        if self._cut:
            raise self._broken()


class SandboxTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """An httpx2 transport (sync and async) backed by a :class:`Sandbox`.

    Args:
        sandbox: The engine to answer from; a new ``Sandbox(**behaviour)`` when omitted.
        **behaviour: :class:`Behaviour` fields for the new sandbox.

    Examples:
        >>> import httpx2
        >>> from imagewright.sandbox import SandboxTransport
        >>> transport = SandboxTransport()
        >>> with httpx2.Client(transport=transport, base_url="http://sandbox/v1") as http:
        ...     r = http.post("/images/generations", json={"model": "gpt-image-2", "prompt": "a fox",
        ...                   "quality": "low"}, headers={"Authorization": "Bearer sandbox"})
        >>> r.status_code, r.headers["x-imagewright-sandbox"], transport.sandbox.billed_images
        (200, '1', 1)
    """

    def __init__(self, sandbox: Sandbox | None = None, **behaviour: Any) -> None:
        if sandbox is not None and behaviour:
            raise TypeError("pass either a Sandbox or behaviour keywords, not both")
        self.sandbox = sandbox if sandbox is not None else Sandbox(**behaviour)

    def _plan(self, request: httpx2.Request) -> Plan:
        plan = self.sandbox.plan(
            request.method, request.url.raw_path.decode("ascii"), request.headers
        )
        if plan.fault == "reset_before":
            raise httpx2.ConnectError(
                "[Errno 104] Connection reset by peer (sandbox: reset_before)", request=request
            )
        return plan

    @staticmethod
    def _waits(
        reply: Reply, plan: Plan, request: httpx2.Request, spent: float
    ) -> tuple[float, str | None]:
        """How long to wait before the headers, and what timed out (``None``: nothing).

        The read timeout covers the latency before the headers exactly as on a socket: a call
        with ``timeout=0.2`` on a sandbox with ``latency=1.0`` fails after 0.2 s.
        """
        head, _gaps = reply.pacing(plan.latency)
        wait, timed_out = _wait(head, request, "latency", spent)
        if timed_out:
            return wait, "latency"
        if reply.action == "stall":
            stall, stalled = _wait(reply.stall, request, "stall")
            return wait + stall, "stall" if stalled else None
        return wait, None

    @staticmethod
    def _deliver(
        reply: Reply, plan: Plan, request: httpx2.Request, timed_out: str | None
    ) -> httpx2.Response:
        if timed_out is not None:
            raise _timed_out(request, timed_out)
        if reply.action != "send":
            raise httpx2.RemoteProtocolError(
                f"Server disconnected without sending a response. (sandbox: {reply.action})",
                request=request,
            )
        _head, gaps = reply.pacing(plan.latency)
        return httpx2.Response(
            reply.status, headers=list(reply.headers), stream=_ReplyStream(reply, request, gaps)
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request synchronously (sleeps for latency and stalls)."""
        plan = self._plan(request)
        body = request.read()
        started = time.perf_counter()
        reply = self.sandbox.answer(plan, body)
        wait, timed_out = self._waits(reply, plan, request, time.perf_counter() - started)
        time.sleep(wait)
        return self._deliver(reply, plan, request, timed_out)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request without blocking the event loop (pictures are made in a thread)."""
        plan = self._plan(request)
        body = await request.aread()
        started = time.perf_counter()
        reply = await anyio.to_thread.run_sync(self.sandbox.answer, plan, body)
        wait, timed_out = self._waits(reply, plan, request, time.perf_counter() - started)
        await anyio.sleep(wait)
        return self._deliver(reply, plan, request, timed_out)
