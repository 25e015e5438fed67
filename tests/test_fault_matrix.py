"""The fault matrix: every fault mode x every path x both clients, over real loopback sockets.

A *path* is how a user makes the call (:data:`PATHS`): ``single`` (``generate``), ``stream``
(``stream_generate``), ``map`` (``client.map`` over three prompts), ``session``
(``client.session(source).edit``) and ``batch`` (the Batch API: upload, create, poll,
download). A *mode* is one way the network or the server can fail (:data:`MODES`). Every case
must end, within its deadline, in either a correct result or the typed imagewright error the
mode calls for, never a hang, a raw httpx/PIL/JSON/pydantic exception or a silent wrong answer.
Where the server is the sandbox, its billed counter proves nobody paid twice.

How a mode reaches a path (:func:`applies` and :func:`expected` hold the rules):

- A fault given as a header, or served by a raw server, hits every HTTP call of the path. A
  scripted fault (``Mode.once``) hits one call: the path's first *paid* call (for ``batch``,
  the create call ``POST /batches``, its second call; its others are free uploads and GETs,
  retried by rule and covered by the every-call modes).
- ``map`` yields one outcome per request: a Result, or a ``Failure`` carrying the mode's error
  and the same ``may_have_been_billed``; the billed counter is at most one image per request.
- ``session`` makes one call, so the mode's request and billed counts hold exactly, and the
  session gains a step exactly when the edit succeeded.
- ``batch`` talks to the Files and Batches APIs. A raw server's 2xx is an Images API body
  where a file object is due, so it must end in ``APIResponseValidationError``; every batch
  the sandbox holds is run to its end before counting, so a duplicated batch would show as a
  second payment.
- A mode that cannot reach a path is skipped with its reason (:data:`SKIPS`), never silently.

Retry waits are shortened (``INITIAL_BACKOFF``) so storms without ``retry-after`` stay fast;
the rules that decide *whether* to retry are unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import io
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
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
    sandbox: Any = None


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
        yield Env(
            server.url, dict(headers or {}), lambda: sb.billed_images, lambda: sb.requests, sb
        )
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

    ``expect``: ``None`` for a success, else the imagewright error class (or one per path;
    a path not named there takes the ``single`` entry). ``billed``: images the sandbox must
    have billed for one call (``None``: not a sandbox). ``requests``: requests the server must
    have seen for one call. ``may_have_been_billed``: what a connection error must say.
    ``within``: the case's wall-clock deadline in seconds. ``once``: a scripted fault that
    hits only the first request to arrive (the others are answered normally).
    """

    env: Callable[[], contextlib.AbstractContextManager[Env]]
    expect: type[Exception] | dict[str, type[Exception] | None] | None
    billed: int | None = None
    requests: int | None = None
    may_have_been_billed: bool | None = None
    within: float = 5.0
    client: dict[str, Any] = field(default_factory=dict)
    call: dict[str, Any] = field(default_factory=dict)
    once: bool = False


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
        once=True,
    ),
    "reset_before_body_retry_ambiguous": Mode(
        lambda: sandbox_env(faults=["reset_before", None]),
        None,
        billed=1,
        requests=2,
        client={"retry_ambiguous": True},
        once=True,
    ),
    "reset_after_body": Mode(
        lambda: sandbox_env(faults=["reset_after", None]),
        imagewright.APIConnectionError,
        billed=1,
        requests=1,
        may_have_been_billed=True,
        once=True,
    ),
    "reset_after_body_retry_ambiguous": Mode(
        lambda: sandbox_env(faults=["reset_after", None]),
        None,
        billed=1,  # the retry carries the same Idempotency-Key: replayed, not paid again
        requests=2,
        client={"retry_ambiguous": True},
        once=True,
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
    "503_then_success": Mode(
        lambda: sandbox_env(faults=["503", None]), None, billed=1, requests=2, once=True
    ),
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

N_MAP = 3
N_BATCH = 2
PROMPTS = [f'a sign that says "OPEN {i}"' for i in range(N_MAP)]


async def _await(value: Any) -> Any:
    """A sync client's answer as is, an async client's awaited (one body for both paths)."""
    return await value if inspect.isawaitable(value) else value


async def _single(client: Any, state: dict[str, Any]) -> imagewright.Result:
    return await client.generate(PROMPT, quality="low")


async def _stream(client: Any, state: dict[str, Any]) -> imagewright.Result:
    events = await client.stream("stream_generate", PROMPT, quality="low", partial_images=1)
    assert sum(isinstance(e, imagewright.Result) for e in events) == 1
    assert isinstance(events[-1], imagewright.Result)
    return events[-1]


async def _map(client: Any, state: dict[str, Any]) -> list[Any]:
    run = state["run"] = client.client.map(PROMPTS, quality="low", progress=False)
    if client.is_async:
        return [outcome async for outcome in run]
    return list(run)


async def _session(client: Any, state: dict[str, Any]) -> imagewright.Result:
    session = state["session"] = client.client.session(tiny_png((64, 64)), quality="low")
    result: imagewright.Result = await _await(session.edit("paint the wall blue"))
    return result


async def _batch(client: Any, state: dict[str, Any]) -> list[Any]:
    batches = client.client.batches
    job = state["job"] = await _await(batches.submit(PROMPTS[:N_BATCH], quality="low"))
    await _await(job.wait(progress=False, poll=0.01))
    results: list[Any] = await _await(job.results())
    return results


@dataclass(frozen=True)
class CallPath:
    """One way to make the call.

    ``run(client, state)`` returns the path's outcome (a Result, or a list with one outcome per
    request) and leaves what the checks need in ``state``. ``paid_call``: the index of the
    path's first HTTP call that can cost money, where a scripted (``once``) fault is placed.
    """

    run: Callable[[Any, dict[str, Any]], Awaitable[Any]]
    paid_call: int = 0


PATHS: dict[str, CallPath] = {
    "single": CallPath(_single),
    "stream": CallPath(_stream),
    "map": CallPath(_map),
    "session": CallPath(_session),
    "batch": CallPath(_batch, paid_call=1),  # POST /files, then POST /batches
}
"""How a user makes the call; each takes an ``AnyClient``."""

# The raw server answers every call with an Images API body: on the batch path (Files and
# Batches calls) a 2xx from it is the wrong shape and must be the typed validation error.
_RAW_IMAGES_SUCCESS = {"slow_headers", "redirect_307_same_origin"}

SKIPS: dict[tuple[str, str], str] = {
    ("error_event_in_stream", "batch"): (
        "an error event exists only inside an Images API answer; the batch path's calls are "
        "Files and Batches calls, which the sandbox answers normally under this fault"
    ),
}
"""(mode, path) pairs that cannot meet, with the reason; every other pair runs."""


def expected(mode: str, path: str) -> type[Exception] | None:
    """The error a case must end in (``None``: a success)."""
    m = MODES[mode]
    expect = m.expect.get(path, m.expect["single"]) if isinstance(m.expect, dict) else m.expect
    if path == "batch":
        if mode in _RAW_IMAGES_SUCCESS:
            return imagewright.APIResponseValidationError
        if mode == "reset_after_body":
            # The create call's answer was lost after the batch was made: the client finds
            # the batch by its input file and keeps it (paid once), instead of raising while
            # an unseen batch runs and bills.
            return None
    return expect


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transport, "INITIAL_BACKOFF", 0.01)


async def run_bounded(client: Any, path: str, within: float, state: dict[str, Any]) -> Any:
    """Run one call of ``path``; a sync client runs in a worker thread so a hang is caught."""
    fn = PATHS[path].run
    if client.is_async:
        return await asyncio.wait_for(fn(client, state), within)
    return await asyncio.wait_for(asyncio.to_thread(asyncio.run, fn(client, state)), within)


def check_success(result: Any) -> None:
    """A success is a Result whose every image decodes: never a silent wrong answer."""
    assert isinstance(result, imagewright.Result)
    assert result.outputs
    for out in result.outputs:
        assert out.data.startswith(b"\x89PNG")
        Image.open(io.BytesIO(out.data)).load()


def check_error(label: str, error: BaseException, expect: type[Exception], m: Mode) -> None:
    """The mode's typed error, readable, without the key, saying what the mode says it must."""
    assert isinstance(error, expect), f"{label}: got {error!r}"
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert len(str(error)) < 2000  # a 100 MB error page is not the message
    if m.may_have_been_billed is not None:
        assert getattr(error, "may_have_been_billed", False) is m.may_have_been_billed


def check_map(label: str, outcomes: Any, state: dict[str, Any], mode: str, env: Env) -> None:
    """One outcome per request; each a Result or a Failure that says if it may be billed."""
    m = MODES[mode]
    expect = expected(mode, "map")
    assert isinstance(outcomes, list)
    assert len(outcomes) == N_MAP, f"{label}: {len(outcomes)} outcomes for {N_MAP} requests"
    failures = [o for o in outcomes if isinstance(o, imagewright.Failure)]
    for outcome in outcomes:
        if not isinstance(outcome, imagewright.Failure):
            check_success(outcome)
    # Each request ends in exactly one outcome: a Result of its prompt, or its Failure.
    answered = [
        o.request if isinstance(o, imagewright.Failure) else o.call.prompt for o in outcomes
    ]
    assert sorted(answered) == sorted(PROMPTS)
    assert len({f.index for f in failures}) == len(failures)  # never two outcomes for one
    summary = state["run"].summary
    assert summary.requests == N_MAP
    assert summary.succeeded + summary.failed + summary.ambiguous == N_MAP
    assert summary.ambiguous == sum(f.may_have_been_billed for f in failures)
    for f in failures:
        assert expect is not None, f"{label}: request {f.index} failed: {f.error!r}"
        check_error(f"{label}[{f.index}]", f.error, expect, m)
        billed = getattr(f.error, "may_have_been_billed", not isinstance(f.error, _NOT_BILLED))
        assert f.may_have_been_billed is billed
        assert f.status == ("ambiguous" if billed else "failed")
    if expect is None:
        allowed = {0}
    elif not m.once:
        allowed = {N_MAP}
    else:  # only the first request to arrive meets the fault
        allowed = {0, 1} if mode == "reset_before_body" else {1}
    assert len(failures) in allowed, f"{label}: {len(failures)} failures: {failures}"
    # A fault on every request multiplies one call's counts; a scripted one adds the other
    # requests, answered normally (and the retry, when a reset before the body was retried).
    retried = 1 if mode == "reset_before_body" and not failures else 0
    if m.billed is not None:
        assert env.billed is not None
        billed_now = env.billed()
        assert len(outcomes) - len(failures) <= billed_now <= N_MAP  # never paid twice
        want = m.billed + N_MAP - 1 + retried if m.once else N_MAP * m.billed
        assert billed_now == want
    if m.requests is not None:
        want = m.requests + N_MAP - 1 + retried if m.once else N_MAP * m.requests
        assert env.requests() == want


_NOT_BILLED = (imagewright.APIStatusError,)


def settle_batches(env: Env) -> None:
    """Run every batch the sandbox holds to its end (listing them does), so that a batch
    created twice is billed twice before the counter is read."""
    if env.sandbox is not None:
        env.sandbox.batches.handle("GET", "/batches?limit=1000000", {}, b"")


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("mode", sorted(MODES))
async def test_fault_ends_in_a_result_or_a_typed_error(
    make_client: Any, mode: str, path: str
) -> None:
    if (mode, path) in SKIPS:
        pytest.skip(SKIPS[mode, path])
    m = MODES[mode]
    p = PATHS[path]
    expect = expected(mode, path)
    label = f"{mode}/{path}"
    state: dict[str, Any] = {}
    with m.env() as env:
        if m.once and p.paid_call and env.sandbox is not None:
            script = env.sandbox.fault_script_left
            env.sandbox.configure(faults=[None] * p.paid_call + list(script))
        client = make_client(
            api_key=KEY, base_url=env.url, max_retries=2, default_headers=env.headers, **m.client
        )
        started = time.monotonic()
        try:
            outcome: Any = await run_bounded(client, path, m.within, state)
        except asyncio.TimeoutError:
            pytest.fail(f"{label}: still running after {m.within} s (a hang)")
        except imagewright.ImagewrightError as exc:
            outcome = exc
        except Exception as exc:  # a raw httpx / PIL / json / pydantic exception is a bug
            pytest.fail(f"{label}: raw {type(exc).__module__}.{type(exc).__name__}: {exc}")
        elapsed = time.monotonic() - started
        await client.close()
        assert elapsed < m.within
        if path == "map":
            check_map(label, outcome, state, mode, env)
            return
        if path == "batch":
            check_batch(label, outcome, mode, env)
            return
        if "session" in state:
            # An edit that failed leaves the session as it was; one that succeeded is its step.
            steps = state["session"].steps
            assert len(steps) == (0 if isinstance(outcome, BaseException) else 1)
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
            check_error(label, outcome, expect, m)
        if m.billed is not None:
            assert env.billed is not None
            assert env.billed() == m.billed
        if m.requests is not None:
            assert env.requests() == m.requests


def check_batch(label: str, outcome: Any, mode: str, env: Env) -> None:
    """Every line a Result, or the typed error; the sandbox billed each line at most once."""
    m = MODES[mode]
    expect = expected(mode, "batch")
    settle_batches(env)
    billed = env.billed() if env.billed is not None else None
    if isinstance(outcome, BaseException):
        if mode == "reset_before_body":
            expect = imagewright.APIConnectionError
        assert expect is not None, f"{label}: failed: {outcome!r}"
        check_error(label, outcome, expect, m)
        if billed is not None:
            assert billed in (0, N_BATCH)  # a batch made (once) or not at all
        return
    assert expect is None or mode == "reset_before_body", f"{label}: succeeded, wanted {expect}"
    assert isinstance(outcome, list)
    assert len(outcome) == N_BATCH
    for line in outcome:
        check_success(line)
    assert [line.call.prompt for line in outcome] == PROMPTS[:N_BATCH]  # in the order given
    if billed is not None:
        assert billed == N_BATCH  # each line once, even when the create call was retried


async def test_a_lost_batch_create_that_cannot_be_looked_up_is_not_sent_again(
    make_client: Any,
) -> None:
    """The create's answer is lost and the look-up fails too: whether the batch exists is
    unknown, so even with ``retry_ambiguous`` it is not created again; the error says it may
    have been billed."""
    with sandbox_env(faults=[None, "reset_after", "500", "500", "500"]) as env:
        client = make_client(api_key=KEY, base_url=env.url, max_retries=2, retry_ambiguous=True)
        with pytest.raises(imagewright.APIConnectionError) as info:
            await _await(client.client.batches.submit(PROMPTS[:N_BATCH], quality="low"))
        await client.close()
        assert info.value.may_have_been_billed is True
        assert env.sandbox.fault_script_left == ()  # the look-up was tried, with its retries
        settle_batches(env)
        assert env.billed is not None
        assert env.billed() == N_BATCH  # the one batch made runs; no second one was made


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
