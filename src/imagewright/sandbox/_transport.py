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


class _ReplyStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """The body of a reply; raises like a dropped connection when the reply is cut short."""

    def __init__(self, reply: Reply, request: httpx2.Request) -> None:
        self._chunks = reply.delivered()
        self._cut = reply.cut is not None
        self._request = request

    def _broken(self) -> httpx2.RemoteProtocolError:
        return httpx2.RemoteProtocolError(
            "peer closed connection without sending complete message body (incomplete chunked read)",
            request=self._request,
        )

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks
        if self._cut:
            raise self._broken()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._cut:
            raise self._broken()


class SandboxTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """An httpx2 transport (sync and async) backed by a :class:`Sandbox`.

    Args:
        sandbox: The engine to answer from; a new ``Sandbox(**behaviour)`` when omitted.
        **behaviour: :class:`Behaviour` fields for the new sandbox.

    Example:
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
    def _stall_time(reply: Reply, request: httpx2.Request) -> tuple[float, bool]:
        """How long to hang, and whether the client's read timeout fires first."""
        timeout = request.extensions.get("timeout", {}).get("read")
        if timeout is not None and timeout < reply.stall:
            return float(timeout), True
        return reply.stall, False

    @staticmethod
    def _deliver(reply: Reply, request: httpx2.Request, timed_out: bool) -> httpx2.Response:
        if reply.action == "stall" and timed_out:
            raise httpx2.ReadTimeout(
                "The read operation timed out (sandbox: stall)", request=request
            )
        if reply.action != "send":
            raise httpx2.RemoteProtocolError(
                f"Server disconnected without sending a response. (sandbox: {reply.action})",
                request=request,
            )
        return httpx2.Response(
            reply.status, headers=list(reply.headers), stream=_ReplyStream(reply, request)
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request synchronously (sleeps for latency and stalls)."""
        plan = self._plan(request)
        body = request.read()
        time.sleep(plan.latency)
        reply = self.sandbox.answer(plan, body)
        stall, timed_out = (
            self._stall_time(reply, request) if reply.action == "stall" else (0.0, False)
        )
        time.sleep(stall)
        return self._deliver(reply, request, timed_out)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request without blocking the event loop (pictures are made in a thread)."""
        plan = self._plan(request)
        body = await request.aread()
        await anyio.sleep(plan.latency)
        reply = await anyio.to_thread.run_sync(self.sandbox.answer, plan, body)
        stall, timed_out = (
            self._stall_time(reply, request) if reply.action == "stall" else (0.0, False)
        )
        await anyio.sleep(stall)
        return self._deliver(reply, request, timed_out)
