"""The sandbox as a real HTTP server on 127.0.0.1: the same answers as in process, and faults
that act on the socket the way a broken network does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from imagewright.sandbox import Sandbox, SandboxServer, SandboxTransport

AUTH = {"Authorization": "Bearer test-key"}
BODY = {"model": "gpt-image-2", "prompt": 'a sign saying "OPEN"', "quality": "low"}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(clock=lambda: 1_800_000_000) as running:
        yield running


def post(
    server: SandboxServer, fault: str = "none", *, timeout: float = 5.0, **body: Any
) -> httpx2.Response:
    with httpx2.Client(base_url=server.url, timeout=timeout) as http:
        return http.post(
            "/images/generations", json={**BODY, **body}, headers={**AUTH, "X-Sandbox-Fault": fault}
        )


def test_server_binds_loopback_and_answers_like_the_transport(server: SandboxServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/v1"
    over_http = post(server)
    in_process = httpx2.Client(
        transport=SandboxTransport(Sandbox(clock=lambda: 1_800_000_000))
    ).post("http://x/v1/images/generations", json=BODY, headers=AUTH)
    assert over_http.status_code == 200
    assert over_http.headers["x-imagewright-sandbox"] == "1"
    assert over_http.json()["data"] == in_process.json()["data"]
    assert over_http.json()["usage"] == in_process.json()["usage"]


def test_keep_alive_serves_several_requests_on_one_connection(server: SandboxServer) -> None:
    with httpx2.Client(base_url=server.url) as http:
        statuses = [
            http.post("/images/generations", json={**BODY, "n": 0}, headers=AUTH).status_code
            for _ in range(3)
        ]
        ok = http.post("/images/generations", json=BODY, headers=AUTH)
    assert statuses == [400, 400, 400]
    assert ok.status_code == 200


def test_streaming_is_chunked_sse(server: SandboxServer) -> None:
    with (
        httpx2.Client(base_url=server.url) as http,
        http.stream(
            "POST",
            "/images/generations",
            json={**BODY, "stream": True, "partial_images": 1},
            headers=AUTH,
        ) as response,
    ):
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert response.headers["transfer-encoding"] == "chunked"
    types = [json.loads(line[6:])["type"] for line in lines]
    assert types == ["image_generation.partial_image", "image_generation.completed"]


def test_reset_before_body_drops_the_connection(server: SandboxServer) -> None:
    before = server.sandbox.billed_images
    with pytest.raises(httpx2.TransportError):
        post(server, "reset_before")
    assert server.sandbox.billed_images == before


def test_reset_after_body_bills_then_drops(server: SandboxServer) -> None:
    before = server.sandbox.billed_images
    with pytest.raises(httpx2.RemoteProtocolError):
        post(server, "reset_after")
    assert server.sandbox.billed_images == before + 1


def test_stall_is_a_read_timeout(server: SandboxServer) -> None:
    started = time.perf_counter()
    with pytest.raises(httpx2.ReadTimeout):
        post(server, "stall", timeout=0.2)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("stream", [False, True])
def test_truncate_closes_mid_body(server: SandboxServer, stream: bool) -> None:
    extra: dict[str, Any] = {"stream": True, "partial_images": 2} if stream else {}
    with pytest.raises(httpx2.RemoteProtocolError):
        post(server, "truncate", **extra)


def test_latency_and_429_headers(server: SandboxServer) -> None:
    with httpx2.Client(base_url=server.url) as http:
        started = time.perf_counter()
        slow = http.post(
            "/images/generations", json=BODY, headers={**AUTH, "X-Sandbox-Latency": "0.3"}
        )
        elapsed = time.perf_counter() - started
        limited = http.post(
            "/images/generations",
            json=BODY,
            headers={**AUTH, "X-Sandbox-Fault": "429", "X-Sandbox-Retry-After": "0.5"},
        )
    assert slow.status_code == 200
    assert elapsed >= 0.3
    assert (limited.status_code, limited.headers["retry-after-ms"]) == (429, "500")


def test_stop_wakes_a_stalled_request() -> None:
    server = SandboxServer(stall=60).start()
    errors: list[BaseException] = []

    def stalled() -> None:
        try:
            post(server, "stall", timeout=30)
        except httpx2.TransportError as exc:
            errors.append(exc)

    thread = threading.Thread(target=stalled)
    thread.start()
    time.sleep(0.3)
    started = time.perf_counter()
    server.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert time.perf_counter() - started < 3
    assert errors


def test_serve_prints_its_url_and_stops_on_ctrl_c() -> None:
    code = "from imagewright.sandbox import serve; serve(port=0, verbose=True)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "NOT a model" in first
        url = first.split("listening on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        response = httpx2.post(url + "/images/generations", json=BODY, headers=AUTH, timeout=10)
        assert response.status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "stopped" in out
    assert "POST /v1/images/generations" in err
    assert "test-key" not in err
