"""The fault matrix: every fault mode x every path x both clients, over real loopback sockets.

A *path* is how a user makes the call (``single``: ``generate``; ``stream``:
``stream_generate``); more paths (``map``, ``session``, ``batch``) plug into :data:`PATHS`.
A *mode* is one way the network or the server can fail (:data:`MODES`). Every case must end,
within its deadline, in either a correct result or the typed imagewright error the mode calls
for, never a hang, a raw httpx/PIL/JSON exception or a silent wrong answer. Where the server is
the sandbox, its billed counter proves nobody paid twice.

Retry waits are shortened (``INITIAL_BACKOFF``) so storms without ``retry-after`` stay fast;
the rules that decide *whether* to retry are unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

import imagewright
from imagewright import _transport
from imagewright.sandbox import SandboxServer

from . import _rawserver as raw
from ._capture import tiny_png

KEY = "sk-matrix-SECRET-0123456789"
PROMPT = 'a sign that says "OPEN"'


# ------------------------------------------------------------------------------ environments


@dataclass
class Env:
    """Where a case sends its call and how to read the server's counters afterwards."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    billed: Callable[[], int] | None = None
    requests: Callable[[], int] = lambda: 0


_SHARED: list[SandboxServer] = []


@pytest.fixture(scope="module", autouse=True)
def _shared_sandbox() -> Iterator[None]:
    """One sandbox server for the module (starting one per case costs half a second)."""
    with SandboxServer() as server:
        _SHARED.append(server)
        yield
        _SHARED.clear()


@contextlib.contextmanager
def sandbox_env(headers: dict[str, str] | None = None, **behaviour: Any) -> Iterator[Env]:
    server = _SHARED[0]
    sb = server.sandbox
    sb.configure(**{"faults": (), "stall": 30.0, **behaviour})
    sb.reset_counters()
    try:
        yield Env(server.url, dict(headers or {}), lambda: sb.billed_images, lambda: sb.requests)
    finally:
        sb.configure(faults=())


@contextlib.contextmanager
def raw_env(handler: raw.Handler, *, https: bool = False, read: bool = True) -> Iterator[Env]:
    with raw.RawServer(handler, read_request=read) as server:
        url = server.url.replace("http://", "https://") if https else server.url
        yield Env(url, requests=lambda: len(server.requests))


@contextlib.contextmanager
def refused_env() -> Iterator[Env]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    yield Env(f"http://127.0.0.1:{port}/v1")


@contextlib.contextmanager
def dns_env() -> Iterator[Env]:
    real = socket.getaddrinfo

    def fail(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "api.nowhere.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", fail)
        yield Env("http://api.nowhere.test/v1")


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buf, format="JPEG")
    return buf.getvalue()


def _images_response(b64: str) -> dict[str, Any]:
    return {"created": 1, "data": [{"b64_json": b64}], "output_format": "png", "usage": None}


# ------------------------------------------------------------------------------ the modes


@dataclass(frozen=True)
class Mode:
    """One fault: how to set it up and how it must end.

    ``expect``: ``None`` for a success, else the imagewright error class (or one per path).
    ``billed``: images the sandbox must have billed (``None``: not a sandbox). ``requests``:
    requests the server must have seen. ``may_have_been_billed``: what a connection error
    must say. ``within``: the call's wall-clock deadline in seconds.
    """

    env: Callable[[], contextlib.AbstractContextManager[Env]]
    expect: type[Exception] | dict[str, type[Exception] | None] | None
    billed: int | None = None
    requests: int | None = None
    may_have_been_billed: bool | None = None
    within: float = 5.0
    client: dict[str, Any] = field(default_factory=dict)
    call: dict[str, Any] = field(default_factory=dict)


_REDIRECT_TARGET = raw.answer_ok()
_STORM = {"X-Sandbox-Retry-After": "0.01"}

MODES: dict[str, Mode] = {
    "connection_refused": Mode(
        refused_env, imagewright.APIConnectionError, may_have_been_billed=False
    ),
    "dns_failure": Mode(dns_env, imagewright.APIConnectionError, may_have_been_billed=False),
    # Over TCP the client cannot tell a reset before the server read the body from one after:
    # the whole (small) body was handed to the kernel, so the failure is ambiguous and not
    # retried. The sandbox proves nothing was billed; in process (no socket) it is retried.
    "reset_before_body": Mode(
        lambda: sandbox_env(faults=["reset_before", None]),
        imagewright.APIConnectionError,
        billed=0,
        requests=1,
        may_have_been_billed=True,
    ),
    "reset_before_body_retry_ambiguous": Mode(
        lambda: sandbox_env(faults=["reset_before", None]),
        None,
        billed=1,
        requests=2,
        client={"retry_ambiguous": True},
    ),
    "reset_after_body": Mode(
        lambda: sandbox_env(faults=["reset_after", None]),
        imagewright.APIConnectionError,
        billed=1,
        requests=1,
        may_have_been_billed=True,
    ),
    "reset_after_body_retry_ambiguous": Mode(
        lambda: sandbox_env(faults=["reset_after", None]),
        None,
        billed=1,  # the retry carries the same Idempotency-Key: replayed, not paid again
        requests=2,
        client={"retry_ambiguous": True},
    ),
    "slow_headers": Mode(
        lambda: raw_env(raw.trickled(0.05, endless=False)), None, requests=1, within=4.0
    ),
    "headers_never_end": Mode(
        lambda: raw_env(raw.trickled(0.05, endless=True)),
        imagewright.APITimeoutError,
        requests=1,
        may_have_been_billed=True,
        within=3.0,
        client={"timeout": 0.4},
    ),
    "half_status_line_then_close": Mode(
        lambda: raw_env(raw.half_status(hold=False)),
        imagewright.APIConnectionError,
        requests=1,
        may_have_been_billed=True,
    ),
    "half_status_line_then_stall": Mode(
        lambda: raw_env(raw.half_status(hold=True)),
        imagewright.APITimeoutError,
        requests=1,
        may_have_been_billed=True,
        within=3.0,
        client={"timeout": 0.3},
    ),
    "tls_handshake_stalls": Mode(
        lambda: raw_env(raw.silent, https=True, read=False),
        imagewright.APITimeoutError,
        may_have_been_billed=False,
        within=4.0,
        client={"timeout": 0.2},
    ),
    "body_stalls_past_read_timeout": Mode(
        lambda: sandbox_env({"X-Sandbox-Fault": "stall"}, stall=5.0),
        imagewright.APITimeoutError,
        billed=1,
        requests=1,
        may_have_been_billed=True,
        within=3.0,
        client={"timeout": 0.3},
    ),
    "429_storm_retry_after": Mode(
        lambda: sandbox_env({"X-Sandbox-Fault": "429", **_STORM}),
        imagewright.RateLimitError,
        billed=0,
        requests=3,
    ),
    "429_storm_no_retry_after": Mode(
        lambda: raw_env(raw.any_json({"error": {"message": "slow down"}}, status=429)),
        imagewright.RateLimitError,
        requests=3,
    ),
    "500_storm": Mode(
        lambda: sandbox_env({"X-Sandbox-Fault": "500"}),
        imagewright.InternalServerError,
        billed=0,
        requests=3,
    ),
    "503_storm_retry_after": Mode(
        lambda: raw_env(
            raw.answer(raw.http_bytes(503, {"retry-after-ms": "10"}, b'{"error": {}}'))
        ),
        imagewright.InternalServerError,
        requests=3,
    ),
    "503_then_success": Mode(lambda: sandbox_env(faults=["503", None]), None, billed=1, requests=2),
    "truncated_body": Mode(
        lambda: sandbox_env({"X-Sandbox-Fault": "truncate"}),
        imagewright.APIConnectionError,
        billed=1,
        requests=1,
        may_have_been_billed=True,
    ),
    "malformed_json_or_sse": Mode(
        lambda: sandbox_env({"X-Sandbox-Fault": "malformed_sse"}),
        imagewright.APIResponseValidationError,
        billed=1,
        requests=1,
    ),
    "error_event_in_stream": Mode(
        lambda: sandbox_env({"X-Sandbox-Fault": "stream_error"}),
        {"single": imagewright.InternalServerError, "stream": imagewright.StreamError},
        billed=0,
    ),
    "non_json_error_body": Mode(
        lambda: raw_env(raw.answer(raw.http_bytes(502, {}, b"<html>Bad Gateway</html>"))),
        imagewright.InternalServerError,
        requests=3,
    ),
    "huge_error_body_100MB": Mode(
        lambda: raw_env(raw.huge_error(500, 100 * 1024 * 1024)),
        imagewright.InternalServerError,
        requests=3,
        within=5.0,
    ),
    "200_empty_image": Mode(
        lambda: raw_env(raw.answer_ok(b"")), imagewright.APIResponseValidationError, requests=1
    ),
    "200_undecodable_image": Mode(
        lambda: raw_env(raw.answer_ok(b"this is not an image at all")),
        imagewright.APIResponseValidationError,
        requests=1,
    ),
    "200_wrong_format_image": Mode(
        lambda: raw_env(raw.answer_ok(_jpeg(), fmt="png")),
        imagewright.APIResponseValidationError,
        requests=1,
    ),
    "200_truncated_png": Mode(
        lambda: raw_env(raw.answer_ok(tiny_png()[:-20])),
        imagewright.APIResponseValidationError,
        requests=1,
    ),
    "redirect_307_same_origin": Mode(
        lambda: raw_env(raw.redirect(307, "/moved/images/generations", _REDIRECT_TARGET)),
        None,
        requests=2,
    ),
    "redirect_302_to_get": Mode(
        lambda: raw_env(
            raw.redirect(
                302,
                "/moved/images/generations",
                raw.any_json({"error": {"message": "method not allowed"}}, status=405),
            )
        ),
        imagewright.APIStatusError,
        requests=2,
    ),
    "redirect_loop": Mode(
        lambda: raw_env(raw.redirect(307, "/v1/images/generations", _REDIRECT_TARGET)),
        imagewright.APIConnectionError,
        may_have_been_billed=False,
    ),
}


# ------------------------------------------------------------------------------ the paths


async def _single(client: Any, **kw: Any) -> imagewright.Result:
    return await client.generate(PROMPT, quality="low", **kw)


async def _stream(client: Any, **kw: Any) -> imagewright.Result:
    events = await client.stream("stream_generate", PROMPT, quality="low", partial_images=1, **kw)
    assert sum(isinstance(e, imagewright.Result) for e in events) == 1
    assert isinstance(events[-1], imagewright.Result)
    return events[-1]


PATHS: dict[str, Callable[..., Any]] = {"single": _single, "stream": _stream}
"""How a user makes the call; each takes an ``AnyClient`` and returns the final Result."""


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transport, "INITIAL_BACKOFF", 0.01)


async def run_bounded(client: Any, path: str, within: float, **kw: Any) -> Any:
    """Run one call of ``path``; a sync client runs in a worker thread so a hang is caught."""
    coro_fn = PATHS[path]
    if client.is_async:
        return await asyncio.wait_for(coro_fn(client, **kw), within)
    return await asyncio.wait_for(asyncio.to_thread(asyncio.run, coro_fn(client, **kw)), within)


def check_success(result: Any) -> None:
    """A success is a Result whose every image decodes: never a silent wrong answer."""
    assert isinstance(result, imagewright.Result)
    assert result.outputs
    for out in result.outputs:
        assert out.data.startswith(b"\x89PNG")
        Image.open(io.BytesIO(out.data)).load()


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("mode", sorted(MODES))
async def test_fault_ends_in_a_result_or_a_typed_error(
    make_client: Any, mode: str, path: str
) -> None:
    m = MODES[mode]
    expect = m.expect.get(path) if isinstance(m.expect, dict) else m.expect
    with m.env() as env:
        client = make_client(api_key=KEY, base_url=env.url, max_retries=2, **m.client)
        started = time.monotonic()
        try:
            outcome: Any = await run_bounded(
                client, path, m.within, extra_headers=env.headers, **m.call
            )
        except asyncio.TimeoutError:
            pytest.fail(f"{mode}/{path}: still running after {m.within} s (a hang)")
        except imagewright.ImagewrightError as exc:
            outcome = exc
        except Exception as exc:  # a raw httpx / PIL / json exception is a bug
            pytest.fail(f"{mode}/{path}: raw {type(exc).__module__}.{type(exc).__name__}: {exc}")
        elapsed = time.monotonic() - started
        await client.close()
        assert elapsed < m.within
        if mode == "reset_before_body" and not isinstance(outcome, BaseException):
            # Under load the reset can reach the client before it finished writing the body:
            # then the client knows nothing was read and retries (the documented rule). The
            # call must then succeed and be paid exactly once.
            check_success(outcome)
            assert env.billed is not None
            assert env.billed() == 1
            assert env.requests() == 2
            return
        if expect is None:
            check_success(outcome)
        else:
            assert isinstance(outcome, expect), f"{mode}/{path}: got {outcome!r}"
            assert KEY not in str(outcome)
            assert KEY not in repr(outcome)
            assert len(str(outcome)) < 2000  # a 100 MB error page is not the message
            if m.may_have_been_billed is not None:
                assert getattr(outcome, "may_have_been_billed", False) is m.may_have_been_billed
        if m.billed is not None:
            assert env.billed is not None
            assert env.billed() == m.billed
        if m.requests is not None:
            assert env.requests() == m.requests


def test_every_issue_fault_mode_is_in_the_matrix() -> None:
    named = {
        "connection_refused",
        "dns_failure",
        "reset_before_body",
        "reset_after_body",
        "slow_headers",
        "body_stalls_past_read_timeout",
        "429_storm_retry_after",
        "429_storm_no_retry_after",
        "500_storm",
        "503_storm_retry_after",
        "truncated_body",
        "malformed_json_or_sse",
        "non_json_error_body",
        "huge_error_body_100MB",
        "200_empty_image",
        "200_undecodable_image",
        "200_wrong_format_image",
        "redirect_307_same_origin",
        "half_status_line_then_close",
        "headers_never_end",
        "tls_handshake_stalls",
    }
    assert named <= set(MODES)


def test_the_b64_of_a_rejected_image_stays_on_the_error() -> None:
    """Nothing paid for is lost: an answer whose image fails the check keeps its body."""
    bad = base64.b64encode(_jpeg()).decode()

    with raw.RawServer(raw.any_json(_images_response(bad))) as server:
        client = imagewright.Client(KEY, base_url=server.url, max_retries=0)
        with pytest.raises(imagewright.APIResponseValidationError) as info:
            client.generate(PROMPT, quality="low")
        client.close()
    assert "is a jpeg file but the answer says output_format 'png'" in str(info.value)
    assert info.value.body["data"][0]["b64_json"] == bad  # type: ignore[index]
