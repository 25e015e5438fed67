"""A loopback HTTP server for tests: records every request and answers from a script.

It speaks just enough of the Images API to satisfy both imagewright and the official SDK:
by default every POST gets a valid ``ImagesResponse`` (or an SSE stream when the request asked
for one). A script of :class:`Reply` objects overrides the answers in order, to exercise
retries, faults and errors.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def tiny_png(size: tuple[int, int] = (16, 16), color: tuple[int, ...] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"image_tokens": 40, "text_tokens": 10},
    "output_tokens": 196,
    "total_tokens": 246,
}


@dataclass
class Reply:
    """One scripted answer.

    ``action``: ``"respond"`` (status/headers/body), ``"reset"`` (close the socket without an
    answer, after reading the body), ``"stall"`` (read the body, sleep ``delay`` s, then close),
    ``"sse"`` (stream ``events`` as SSE, optionally cutting the connection mid-way).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | dict[str, Any] | None = None
    action: str = "respond"
    delay: float = 0.0
    events: list[bytes] | None = None


@dataclass
class Captured:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)

    def parts(self) -> list[dict[str, Any]]:
        """The multipart parts in order: name, filename, content_type, content."""
        ctype = self.headers["content-type"]
        boundary = ctype.split("boundary=", 1)[1].strip().strip('"').encode()
        out = []
        for chunk in self.body.split(b"--" + boundary)[1:]:
            if chunk.startswith(b"--"):
                break
            head, _, content = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
            content = content[:-2] if content.endswith(b"\r\n") else content
            info: dict[str, Any] = {"filename": None, "content_type": None}
            for line in head.decode().split("\r\n"):
                key, _, value = line.partition(":")
                if key.lower() == "content-disposition":
                    for item in value.split(";")[1:]:
                        k, _, v = item.strip().partition("=")
                        info[k] = v.strip('"')
                elif key.lower() == "content-type":
                    info["content_type"] = value.strip()
            info["content"] = content
            out.append(info)
        return out

    def wants_stream(self) -> bool:
        if self.content_type == "application/json":
            return bool(self.json().get("stream"))
        if self.content_type == "multipart/form-data":
            return any(p["name"] == "stream" and p["content"] == b"true" for p in self.parts())
        return False


def images_response(n: int = 1, size: tuple[int, int] = (16, 16)) -> dict[str, Any]:
    b64 = base64.b64encode(tiny_png(size)).decode()
    return {
        "created": 1_760_000_000,
        "data": [{"b64_json": b64} for _ in range(n)],
        "background": "opaque",
        "output_format": "png",
        "quality": "low",
        "size": f"{size[0]}x{size[1]}",
        "usage": USAGE,
    }


def sse(obj: dict[str, Any]) -> bytes:
    return f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n".encode()


def stream_events(prefix: str, partials: int = 2) -> list[bytes]:
    b64 = base64.b64encode(tiny_png()).decode()
    common = {
        "background": "opaque",
        "created_at": 1_760_000_000,
        "output_format": "png",
        "quality": "low",
        "size": "16x16",
    }
    events = [
        sse(
            {"type": f"{prefix}.partial_image", "b64_json": b64, "partial_image_index": i, **common}
        )
        for i in range(partials)
    ]
    events.append(sse({"type": f"{prefix}.completed", "b64_json": b64, "usage": USAGE, **common}))
    return events


class CaptureServer:
    """Run with ``with CaptureServer() as srv:``; ``srv.url`` is the base URL (``.../v1``)."""

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self.script: deque[Reply] = deque()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                split = urlsplit(self.path)
                cap = Captured(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with server.lock:
                    server.requests.append(cap)
                    reply = server.script.popleft() if server.script else None
                server._answer(self, cap, reply)

            do_GET = do_DELETE = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CaptureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, *replies: Reply) -> None:
        with self.lock:
            self.script.extend(replies)

    def _answer(self, h: BaseHTTPRequestHandler, cap: Captured, reply: Reply | None) -> None:
        if reply is None:
            if cap.wants_stream():
                prefix = "image_edit" if cap.path.endswith("/edits") else "image_generation"
                reply = Reply(action="sse", events=stream_events(prefix))
            else:
                reply = Reply(body=images_response())
        if reply.action == "reset":
            _hard_close(h.connection)
            return
        if reply.action == "stall":
            time.sleep(reply.delay)
            _hard_close(h.connection)
            return
        if reply.action == "sse":
            h.send_response(reply.status)
            h.send_header("content-type", "text/event-stream")
            h.send_header("x-request-id", "req_stream")
            h.send_header("connection", "close")
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.end_headers()
            for event in reply.events or []:
                h.wfile.write(event)
                h.wfile.flush()
            h.close_connection = True
            return
        body = reply.body
        data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
        h.send_response(reply.status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        if "x-request-id" not in reply.headers:
            h.send_header("x-request-id", f"req_{len(self.requests)}")
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


def _hard_close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def error_body(message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }
