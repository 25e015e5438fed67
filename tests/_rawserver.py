"""A raw-socket server for the faults an HTTP server library will not produce.

Each accepted connection is handed to ``handler(conn, request)`` after the request head and
body were read (``request`` is ``None`` for modes that answer nothing, such as a stalled TLS
handshake, where reading is skipped). Helpers build the broken answers: half-written status
lines, endless or trickled headers, huge bodies. ``server.requests`` counts the requests that
arrived complete (what a real server could have billed).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._capture import images_response, stream_events, tiny_png


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def wants_stream(self) -> bool:
        try:
            return bool(json.loads(self.body).get("stream"))
        except ValueError:
            return b'name="stream"\r\n\r\ntrue' in self.body


Handler = Callable[[socket.socket, "RawRequest | None", "RawServer"], None]


def _read_request(conn: socket.socket) -> RawRequest | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return RawRequest(method, path, headers, body)


class RawServer:
    """``with RawServer(handler) as srv:``; ``srv.url`` is ``http://127.0.0.1:<port>/v1``."""

    def __init__(self, handler: Handler, *, read_request: bool = True) -> None:
        self.handler = handler
        self.read_request = read_request
        self.requests: list[RawRequest] = []
        self.stopping = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.02)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._accept.join()
        for t in self._threads:
            t.join(timeout=2)
        self.sock.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._one, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                while not self.stopping.is_set():
                    request = _read_request(conn) if self.read_request else None
                    if self.read_request and request is None:
                        return
                    if request is not None:
                        self.requests.append(request)
                    self.handler(conn, request, self)
                    if not self.read_request:
                        return
            except OSError:
                pass

    def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops first; False when it stopped."""
        return not self.stopping.wait(seconds)


# ---------------------------------------------------------------------------- answers


def http_bytes(status: int, headers: dict[str, str], body: bytes) -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


def ok_bytes(request: RawRequest | None, image: bytes | None = None, fmt: str = "png") -> bytes:
    """A correct answer to ``request``: an ImagesResponse, or an SSE stream when it asked."""
    b64 = base64.b64encode(image if image is not None else tiny_png()).decode()
    if request is not None and request.wants_stream():
        events = b"".join(stream_events("image_generation", partials=1))
        events = events.replace(base64.b64encode(tiny_png()), b64.encode())
        events = events.replace(b'"output_format": "png"', f'"output_format": "{fmt}"'.encode())
        return http_bytes(200, {"content-type": "text/event-stream"}, events)
    body = images_response()
    body["data"] = [{"b64_json": b64}]
    body["output_format"] = fmt
    return http_bytes(200, {"content-type": "application/json"}, json.dumps(body).encode())


def answer(data: bytes) -> Handler:
    """Send ``data`` for every request (the connection stays open for the next one)."""

    def handle(conn: socket.socket, request: RawRequest | None, srv: RawServer) -> None:
        conn.sendall(data)

    return handle


def answer_ok(image: bytes | None = None, fmt: str = "png") -> Handler:
    def handle(conn: socket.socket, request: RawRequest | None, srv: RawServer) -> None:
        conn.sendall(ok_bytes(request, image, fmt))

    return handle


def half_status(*, hold: bool) -> Handler:
    """``HTTP/1.1 20`` and nothing more; then close, or hold the connection open."""

    def handle(conn: socket.socket, request: RawRequest | None, srv: RawServer) -> None:
        conn.sendall(b"HTTP/1.1 20")
        if hold:
            srv.pause(30)
        conn.shutdown(socket.SHUT_RDWR)
        raise OSError("done")

    return handle


def trickled(gap: float, *, endless: bool) -> Handler:
    """The answer's head one line every ``gap`` s; ``endless``: header lines that never end."""

    def handle(conn: socket.socket, request: RawRequest | None, srv: RawServer) -> None:
        if endless:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            k = 0
            while srv.pause(gap):
                conn.sendall(f"x-more-{k}: {'y' * 10}\r\n".encode())
                k += 1
            raise OSError("stopped")
        data = ok_bytes(request)
        head, _, body = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if not srv.pause(gap):
                raise OSError("stopped")
            conn.sendall(line + b"\r\n")
        conn.sendall(b"\r\n" + body)

    return handle


def huge_error(status: int, nbytes: int) -> Handler:
    """An error status with an ``nbytes`` non-JSON body (sent until the client hangs up)."""

    def handle(conn: socket.socket, request: RawRequest | None, srv: RawServer) -> None:
        conn.sendall(
            f"HTTP/1.1 {status} X\r\ncontent-type: text/html\r\n"
            f"content-length: {nbytes}\r\n\r\n".encode()
        )
        block = b"<p>oops</p>" * 6000
        sent = 0
        while sent < nbytes:
            piece = block[: nbytes - sent]
            conn.sendall(piece)
            sent += len(piece)

    return handle


def redirect(status: int, location: str | Callable[[RawServer], str], then: Handler) -> Handler:
    """Answer the first request on ``/v1/images/...`` with a redirect; the target with ``then``."""

    def handle(conn: socket.socket, request: RawRequest | None, srv: RawServer) -> None:
        assert request is not None
        if request.path.startswith("/v1/"):
            where = location if isinstance(location, str) else location(srv)
            conn.sendall(http_bytes(status, {"location": where}, b""))
        else:
            then(conn, request, srv)

    return handle


def silent(conn: socket.socket, request: RawRequest | None, srv: RawServer) -> None:
    """Accept and never say a word (a TLS handshake that stalls)."""
    srv.pause(30)


def any_json(obj: Any, status: int = 200) -> Handler:
    return answer(
        http_bytes(status, {"content-type": "application/json"}, json.dumps(obj).encode())
    )
