"""The sandbox as a real HTTP server (standard library only), for any client incl. the openai SDK.

Faults act on the real socket: ``reset_before`` closes it with the body unread (the peer
sees a connection reset), ``reset_after`` reads the body then closes without answering,
``stall`` holds the connection then closes it, and ``truncate`` stops mid-body.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ._engine import Sandbox
from ._protocol import Refusal, Reply, json_bytes

__all__ = ["SandboxServer", "serve"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: at concurrency 128 (bench/soak.py) the
    # accept queue overflowed and clients saw resets after sending their request.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox
        self.verbose = verbose
        self.stopping = threading.Event()

    def pause(self, seconds: float) -> bool:
        """Sleep, waking early on shutdown; True when the full time passed."""
        return seconds <= 0 or not self.stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imagewright-sandbox"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        # Headers and body are separate writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive answer (and stall SSE events).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def do_POST(self) -> None:
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        # Only the request line and status are logged: never headers, so never a key.
        if self.server.verbose:
            sys.stderr.write(f"sandbox: {format % args}\n")

    def _drop(self, *, hard: bool) -> None:
        self.close_connection = True
        if hard:
            # Linger 0 turns close() into a TCP reset, as a crashed proxy would produce.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            pieces: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(pieces)
                pieces.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _handle(self) -> None:
        sandbox = self.server.sandbox
        plan = sandbox.plan(self.command, self.path, dict(self.headers.items()))
        if plan.fault == "reset_before":
            self._drop(hard=True)
            return
        body = self._read_body()
        try:
            reply = sandbox.answer(plan, body)
        except Exception:
            traceback.print_exc()
            error = Refusal(
                500,
                "The sandbox failed while answering (a bug; see the server log).",
                type="server_error",
            )
            payload = json_bytes({"error": error.body()})
            reply = Reply(
                500,
                (("content-type", "application/json"), ("content-length", str(len(payload)))),
                (payload,),
            )
        head, gaps = reply.pacing(plan.latency)
        if not self.server.pause(head):
            self._drop(hard=False)
            return
        if reply.action == "stall":
            self.server.pause(reply.stall)
        if reply.action != "send":
            self._drop(hard=False)
            return
        self._send(reply, gaps)

    def _send(self, reply: Reply, gaps: tuple[float, ...] = ()) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.streaming:
            self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        left = len(reply.body) if reply.cut is None else reply.cut
        for k, chunk in enumerate(reply.chunks):
            if k < len(gaps) and gaps[k] > 0:
                self.wfile.flush()  # the events so far reach the client before the pause
                if not self.server.pause(gaps[k]):
                    self._drop(hard=False)
                    return
            piece = chunk[: max(0, left)]
            left -= len(chunk)
            if reply.streaming:
                # The chunk header announces the whole event even when we cut it short.
                self.wfile.write(
                    f"{len(chunk):X}\r\n".encode()
                    + piece
                    + (b"\r\n" if len(piece) == len(chunk) else b"")
                )
            else:
                self.wfile.write(piece)
            if left <= 0:
                break
        if reply.cut is not None:
            self._drop(hard=False)
        elif reply.streaming:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class SandboxServer:
    """The sandbox on a real socket, in a background thread; use it as a context manager.

    Args:
        host: Interface to bind; loopback by default so nothing outside the machine can reach it.
        port: TCP port; 0 picks a free one (read it back from :attr:`port` or :attr:`url`).
        sandbox: An existing engine to serve; a new ``Sandbox(**behaviour)`` when omitted.
        verbose: Log one line per request (method, path, status) to stderr.
        **behaviour: :class:`Behaviour` fields for the new sandbox.

    Examples:
        >>> import httpx2
        >>> with SandboxServer() as server:
        ...     r = httpx2.post(server.url + "/images/generations", json={"model": "gpt-image-2",
        ...                    "prompt": "a fox"}, headers={"Authorization": "Bearer x"})
        >>> r.status_code, server.sandbox.billed_images
        (200, 1)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sandbox: Sandbox | None = None,
        verbose: bool = False,
        **behaviour: Any,
    ) -> None:
        if sandbox is not None and behaviour:
            raise TypeError("pass either a Sandbox or behaviour keywords, not both")
        self.sandbox = sandbox if sandbox is not None else Sandbox(**behaviour)
        self._httpd = _Server((host, port), self.sandbox, verbose)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """The bound interface."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:8089/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> SandboxServer:
        """Serve in a background daemon thread; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="imagewright-sandbox", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` or Ctrl-C."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.stopping.set()
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving, wake stalled requests and close the socket."""
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1", port: int = 8089, *, verbose: bool = True, **behaviour: Any
) -> None:
    """Run the sandbox server in the foreground, printing its URL, until Ctrl-C.

    Examples:
        ``imagewright serve --port 8089`` calls ``serve(port=8089)``; then point any client at
        ``http://127.0.0.1:8089/v1`` with any API key.
    """
    server = SandboxServer(host, port, verbose=verbose, **behaviour)
    if not _is_loopback(server.host):
        print(
            f"WARNING: the sandbox is bound to {server.host}, not 127.0.0.1: other machines on "
            "the network can reach it and read every prompt and image sent to it. "
            "Use --host 127.0.0.1 unless you mean it.",
            file=sys.stderr,
            flush=True,
        )
    print(
        f"imagewright sandbox (offline, deterministic, NOT a model) listening on {server.url}\n"
        f"  use base_url={server.url!r} with any API key; Ctrl-C to stop",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    print("imagewright sandbox stopped", flush=True)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
