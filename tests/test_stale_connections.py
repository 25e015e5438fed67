"""Stale keep-alive connections, on a real loopback socket (sync and async clients).

A server may close a kept-alive connection just as the next request goes out on it. What the
transport can tell apart (see docs/client.md, "Retries"):

- the connection broke *before the whole request was written*: the server never had a
  complete request, so nothing was generated; retried on a fresh connection;
- the whole request was written, then the connection dropped without an answer: the image may
  exist and be billed; not retried (unless ``retry_ambiguous=True``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import imagewright

from ._capture import images_response

BIG = 12 * 2**20  # far beyond loopback socket buffers: a write to a reset socket must fail


class StaleServer:
    """HTTP/1.1 on a raw socket; each request is handled by the next scripted behaviour.

    ``ok`` answers and keeps the connection alive; ``drop_before_body`` reads the headers only
    and resets the connection; ``drop_after_body`` reads the whole request, then closes
    without an answer.
    """

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.seen: list[tuple[int, str, int]] = []  # (connection number, behaviour, body bytes)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> StaleServer:
        self.accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for t in self.threads:
            t.join(timeout=5)

    def _accept(self) -> None:
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            n += 1
            t = threading.Thread(target=self._serve, args=(conn, n), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                with self.lock:
                    action = self.script.pop(0) if self.script else "ok"
                if action == "drop_before_body":
                    self.seen.append((number, action, len(buf)))
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # closing with linger 0 sends a reset
                while len(buf) < length:
                    chunk = conn.recv(1 << 20)
                    if not chunk:
                        return
                    buf += chunk
                buf = buf[length:]
                self.seen.append((number, action, length))
                if action == "drop_after_body":
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
                    return
                body = json.dumps(images_response()).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PNG of noise, about 12 MB: uncompressible, so the upload is really that big."""
    side = int((BIG / 3) ** 0.5)
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    path = tmp_path_factory.mktemp("big") / "noise.png"
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=0)
    path.write_bytes(buf.getvalue())
    return path


@contextlib.contextmanager
def stale(script: list[str]) -> Iterator[StaleServer]:
    with StaleServer(script) as server:
        yield server


async def test_a_request_never_fully_written_is_retried_on_a_fresh_connection(
    make_client: Any, big_png: Path
) -> None:
    with stale(["ok", "drop_before_body", "ok"]) as server:
        client = make_client(api_key="k", base_url=server.url, default_model="gpt-image-2")
        await client.generate("warm the keep-alive connection up", quality="low")
        result = await client.edit(big_png, "x", quality="low")
        await client.close()
    assert result.timings.attempts == 2
    # The first attempt went out on the kept-alive connection and broke mid-upload; the
    # retry used a new connection and delivered the whole body.
    (c1, _, _), (c2, _, partial), (c3, _, full) = server.seen
    assert c1 == c2 != c3
    assert partial < full


async def test_a_request_written_then_dropped_is_ambiguous_and_not_retried(
    make_client: Any,
) -> None:
    with stale(["ok", "drop_after_body", "ok"]) as server:
        client = make_client(api_key="k", base_url=server.url, default_model="gpt-image-2")
        await client.generate("warm up", quality="low")
        with pytest.raises(imagewright.APIConnectionError) as info:
            await client.generate("x", quality="low")
        await client.close()
    assert info.value.may_have_been_billed
    assert info.value.attempts == 1
    assert "may already have been generated and billed" in str(info.value)
    assert [action for _, action, _ in server.seen] == ["ok", "drop_after_body"]


async def test_the_unsent_failure_is_not_billed_when_retries_are_off(
    make_client: Any, big_png: Path
) -> None:
    with stale(["ok", "drop_before_body"]) as server:
        client = make_client(api_key="k", base_url=server.url, default_model="gpt-image-2")
        await client.generate("warm up", quality="low")
        with pytest.raises(imagewright.APIConnectionError) as info:
            await client.edit(big_png, "x", quality="low", max_retries=0)
        await client.close()
    assert not info.value.may_have_been_billed
    assert "before the request was fully sent" in str(info.value)
