"""The sandbox engine: one deterministic, thread-safe Images API server, without the network.

Transports and the HTTP server drive it in two steps, because some faults must act before
the request body is read: :meth:`Sandbox.plan` (method, path, headers) decides the fault
and the latency, then :meth:`Sandbox.answer` (the body) makes the :class:`Reply`.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError
from ._batches import BatchStore
from ._behaviour import Behaviour, FaultName, parse_overrides
from ._files import FileStore
from ._protocol import SANDBOX_HEADER, Refusal, Reply, json_bytes, sse_event
from ._render import render, tokens
from ._responses import ResponsesJob, ResponsesState
from ._validate import Job, parse_request

__all__ = ["Plan", "RequestRecord", "Sandbox"]

_ENDPOINTS = {
    "/images/generations": "generations",
    "/images/edits": "edits",
    "/responses": "responses",
}
_IDEMPOTENCY_CAPACITY = 256
_IDEMPOTENCY_BYTES = 256 * 1024 * 1024
"""The store keeps at most 256 answers and 256 MB of them (the oldest go first): 256 answers
of 2048x2048 images would otherwise hold 1.4 GB. Retries come within seconds, long before an
answer is evicted."""
_HISTORY_CAPACITY = 1000


@dataclass(frozen=True)
class Plan:
    """What the sandbox decided from a request's method, path and headers alone."""

    request_id: str
    method: str
    path: str
    endpoint: str | None
    headers: Mapping[str, str] = field(repr=False)  # includes Authorization
    behaviour: Behaviour
    fault: FaultName | None
    latency: float
    refusal: Refusal | None = None


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it, for tests to inspect (``Sandbox.history``).

    Attributes:
        request_id: The ``x-request-id`` it answered with.
        method: HTTP method.
        path: Request path, e.g. ``/v1/images/edits``.
        status: HTTP status sent, or ``None`` when the connection was dropped instead.
        fault: The fault injected, if any.
        idempotency_key: The ``Idempotency-Key`` header, if any.
        replayed: True when the answer was a stored idempotent replay.
        billed_images: Images billed by this request (0 for errors and replays).
        headers: The request headers, without ``Authorization``.
    """

    request_id: str
    method: str
    path: str
    status: int | None
    fault: str | None
    idempotency_key: str | None
    replayed: bool
    billed_images: int
    headers: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class _Stored:
    fingerprint: str
    reply: Reply

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunk in self.reply.chunks)


class Sandbox:
    """A deterministic, offline implementation of the Images API server side; not a model.

    Thread safe: one instance can serve many concurrent requests (counters, the fault script
    and the idempotency store are guarded by a lock).

    Args:
        behaviour: A ready :class:`Behaviour`; keyword arguments override its fields.
        clock: Returns the Unix time used for ``created``; pass a constant for byte-identical JSON.
        **changes: Any :class:`Behaviour` field, e.g. ``faults=["429", None]``, ``leakage=0.1``.

    Examples:
        >>> sandbox = Sandbox(faults=["500", None], retry_after=0.01)
        >>> sandbox.billed_images
        0
    """

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        *,
        clock: Callable[[], float] = time.time,
        **changes: Any,
    ) -> None:
        base = behaviour or Behaviour()
        self._behaviour = base.replace(**changes) if changes else base
        self._clock = clock
        self._lock = threading.RLock()
        self._script: deque[FaultName | None] = deque(self._behaviour.faults)
        self._rng = random.Random(self._behaviour.seed)
        self._stored: OrderedDict[str, _Stored] = OrderedDict()
        self._stored_bytes = 0
        self._key_locks: dict[str, threading.Lock] = {}
        self.responses = ResponsesState(self._behaviour.seed)
        """``/responses`` state: stored responses, conversations (see ``_responses``)."""
        self.files = FileStore(clock)
        """``/files``: uploaded files; ``files.uploads`` counts accepted uploads."""
        self.batches = BatchStore(self.files, self._run_line, clock)
        """``/batches``: batch jobs; ``batches.configure(delay=..., expire_after=...)``."""
        self.reset_counters()

    # -- configuration and counters -------------------------------------------------------

    @property
    def behaviour(self) -> Behaviour:
        """The behaviour in force (per-request headers can still override it)."""
        return self._behaviour

    def configure(self, **changes: Any) -> None:
        """Change the behaviour; a new ``faults`` script restarts from its first entry.

        Examples:
            >>> sandbox = Sandbox()
            >>> sandbox.configure(faults=["429"], retry_after=0.01)
            >>> sandbox.behaviour.faults
            ('429',)
        """
        with self._lock:
            self._behaviour = self._behaviour.replace(**changes)
            if "faults" in changes:
                self._script = deque(self._behaviour.faults)
            if "seed" in changes:
                self._rng = random.Random(self._behaviour.seed)

    def reset_counters(self) -> None:
        """Zero every counter and forget the history (the idempotency store is kept)."""
        with self._lock:
            self.requests = 0
            """Requests received, including failed and replayed ones."""
            self.requests_by_endpoint: Counter[str] = Counter()
            """Requests per endpoint name (``generations``, ``edits``, ``other``)."""
            self.billed_images = 0
            """Images made and charged for; idempotent replays do not add to it."""
            self.billed_tokens = 0
            """Sum of ``total_tokens`` over billed requests."""
            self.replays = 0
            """Answers served from the idempotency store."""
            self.history: deque[RequestRecord] = deque(maxlen=_HISTORY_CAPACITY)
            """The most recent requests, oldest first."""

    def counters(self) -> dict[str, int]:
        """The counters, also served at ``GET /v1/sandbox/counters`` (for tests that run the
        sandbox in another process, e.g. ``imagewright serve``)."""
        with self._lock:
            return {
                "requests": self.requests,
                "billed_images": self.billed_images,
                "billed_tokens": self.billed_tokens,
                "replays": self.replays,
                "uploads": self.files.uploads,
            }

    @property
    def fault_script_left(self) -> tuple[FaultName | None, ...]:
        """The scripted faults not consumed yet."""
        with self._lock:
            return tuple(self._script)

    # -- step 1: before the body ------------------------------------------------------------

    def plan(self, method: str, path: str, headers: Mapping[str, str]) -> Plan:
        """Decide the fault and latency for a request from its method, path and headers."""
        lowered = {k.lower(): v for k, v in headers.items()}
        route = path.split("?", 1)[0].rstrip("/")
        route = route[3:] if route.startswith("/v1/") else route
        endpoint = _ENDPOINTS.get(route)
        if endpoint is None and route.split("/")[1:2] in (["files"], ["batches"]):
            endpoint = route.split("/")[1]
        if route == "/sandbox/counters":
            endpoint = "counters"
        refusal: Refusal | None = None
        with self._lock:
            self.requests += 1
            self.requests_by_endpoint[endpoint or "other"] += 1
            # Unique per call, across sandboxes and processes, like the API's; the pictures do
            # not depend on it, so they stay deterministic.
            request_id = "req_" + secrets.token_hex(12)
            try:
                behaviour, forced, has_header = parse_overrides(lowered, self._behaviour)
            except ValidationError as exc:
                behaviour, forced, has_header = self._behaviour, None, True
                refusal = Refusal(
                    400,
                    f"Invalid sandbox header: {exc}",
                    param=exc.problems[0].param,
                    code="invalid_sandbox_header",
                )
            fault = forced if has_header else self._draw_fault()
            low, high = (
                behaviour.latency
                if isinstance(behaviour.latency, tuple)
                else (behaviour.latency,) * 2
            )
            latency = low if low == high else self._rng.uniform(low, high)
        plan = Plan(
            request_id, method.upper(), path, endpoint, lowered, behaviour, fault, latency, refusal
        )
        if fault == "reset_before":
            self._record(plan, None, replayed=False, billed=0)
        return plan

    def _draw_fault(self) -> FaultName | None:
        if self._script:
            return self._script.popleft()
        rates = self._behaviour.fault_rates
        if not rates:
            return None
        draw = self._rng.random()
        for fault, rate in rates.items():
            if draw < rate:
                return fault
            draw -= rate
        return None

    # -- step 2: the body -------------------------------------------------------------------

    def answer(self, plan: Plan, body: bytes) -> Reply:
        """Answer a planned request whose body has been read (latency is the caller's job)."""
        started = time.perf_counter()
        replayed = False
        billed = 0
        try:
            self._precheck(plan)
            assert plan.endpoint is not None
            content_type = plan.headers.get("content-type", "")
            job: Job | ResponsesJob
            if plan.endpoint in ("files", "batches", "counters"):
                reply = self._with_headers(self._store_reply(plan, body), plan, started, False)
                if plan.endpoint != "counters" and reply.status == 200:
                    # A Files or Batches answer meets the same faults as an image's: the
                    # batch is made (or the file stored), then its answer is lost or damaged.
                    reply = _apply_fault(reply, plan)
                status = None if reply.action != "send" else reply.status
                self._record(plan, status, replayed=False, billed=0)
                return reply
            if plan.endpoint == "responses":
                job = self.responses.parse(content_type, body)
            else:
                job = parse_request(plan.endpoint, content_type, body, self.files.resolve)
            if plan.fault == "stream_error" and not job.stream:
                raise _server_error(500)
            if plan.fault == "moderation" and plan.endpoint != "responses":
                raise Refusal(
                    400,
                    "Your request was rejected by the safety system. (imagewright sandbox: injected moderation_blocked)",
                    param=None,
                    code="moderation_blocked",
                )
            reply, replayed, billed = self._idempotent(plan, job)
        except Refusal as refusal:
            reply = self._error_reply(plan, refusal)
        reply = self._with_headers(reply, plan, started, replayed)
        reply = _apply_fault(reply, plan) if reply.status == 200 else reply
        self._record(
            plan, None if reply.action != "send" else reply.status, replayed=replayed, billed=billed
        )
        return reply

    def _precheck(self, plan: Plan) -> None:
        if plan.refusal is not None:
            raise plan.refusal
        auth = plan.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Refusal(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        expected = plan.behaviour.api_key
        if expected is not None and key.strip() != expected:
            # Never echo the key: the real API shows only a masked tail, we show nothing.
            raise Refusal(401, "Incorrect API key provided.", code="invalid_api_key")
        if plan.endpoint is None:
            retired = plan.path.split("?")[0].rstrip("/").endswith("/images/variations")
            message = (
                "The variations endpoint no longer accepts requests; use /images/edits with a GPT Image model."
                if retired
                else f"Invalid URL ({plan.method} {plan.path.split('?')[0]})"
            )
            raise Refusal(404, message)
        if plan.method != "POST" and plan.endpoint not in ("files", "batches", "counters"):
            raise Refusal(405, f"Invalid method for URL ({plan.method} {plan.path.split('?')[0]})")
        if plan.fault == "429":
            seconds = plan.behaviour.retry_after
            raise Refusal(
                429,
                "Rate limit reached for images per minute. (imagewright sandbox: injected 429)",
                type="requests",
                code="rate_limit_exceeded",
                headers={
                    "retry-after": f"{seconds:g}",
                    "retry-after-ms": str(round(seconds * 1000)),
                    "x-ratelimit-remaining-requests": "0",
                },
            )
        if plan.fault in ("500", "503"):
            raise _server_error(int(plan.fault))

    def _idempotent(self, plan: Plan, job: Job | ResponsesJob) -> tuple[Reply, bool, int]:
        key = plan.headers.get("idempotency-key")
        if not key:
            reply, billed = self._bill(plan, job)
            return reply, False, billed
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # One request per key at a time: a concurrent retry waits for the first to finish.
        with key_lock:
            with self._lock:
                stored = self._stored.get(key)
                if stored is not None:
                    self._stored.move_to_end(key)
            if stored is not None:
                if stored.fingerprint != job.fingerprint:
                    raise Refusal(
                        400,
                        "This Idempotency-Key was already used with a different request body.",
                        param=None,
                        code="idempotency_key_reused",
                    )
                with self._lock:
                    self.replays += 1
                return stored.reply, True, 0
            reply, billed = self._bill(plan, job)
            if not billed:
                return reply, False, 0
            with self._lock:
                entry = self._stored[key] = _Stored(job.fingerprint, reply)
                self._stored_bytes += entry.size
                while len(self._stored) > 1 and (
                    len(self._stored) > _IDEMPOTENCY_CAPACITY
                    or self._stored_bytes > _IDEMPOTENCY_BYTES
                ):
                    old, gone = self._stored.popitem(last=False)
                    self._stored_bytes -= gone.size
                    self._key_locks.pop(old, None)
            return reply, False, billed

    def _bill(self, plan: Plan, job: Job | ResponsesJob) -> tuple[Reply, int]:
        if isinstance(job, ResponsesJob):
            # A moderation block on cue is a 200 whose image call failed: nothing is billed.
            blocked = plan.fault == "moderation"
            reply = self.responses.run(job, plan.behaviour, int(self._clock()), blocked)
            if blocked or (job.stream and plan.fault == "stream_error"):
                return reply, 0
            job = job.image
            with self._lock:
                self.billed_images += 1
                self.billed_tokens += tokens(job)["total_tokens"]
            return reply, 1
        reply = render(job, plan.behaviour, int(self._clock()))
        if job.stream and plan.fault == "stream_error":
            return reply, 0  # the stream will break before "completed": nothing is charged
        usage = tokens(job)
        with self._lock:
            self.billed_images += job.n
            self.billed_tokens += usage["total_tokens"]
        return reply, job.n

    # -- files and batches ------------------------------------------------------------------

    def _store_reply(self, plan: Plan, body: bytes) -> Reply:
        route = plan.path[3:] if plan.path.startswith("/v1/") else plan.path
        content_type = plan.headers.get("content-type", "")
        answer: dict[str, Any] | bytes
        if plan.endpoint == "counters":
            status, answer = 200, self.counters()
        elif plan.endpoint == "files":
            status, answer = self.files.handle(
                plan.method, route.split("?", 1)[0], content_type, body
            )
        else:
            status, answer = self.batches.handle(plan.method, route, plan.headers, body)
        if isinstance(answer, bytes):
            return Reply(status, (("content-type", "application/octet-stream"),), (answer,))
        return Reply(status, (("content-type", "application/json"),), (json_bytes(answer),))

    def _run_line(
        self, endpoint: str, body: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, int]]:
        """One Batch API line, validated, painted and billed like a direct call."""
        import json

        try:
            if body.get("stream"):
                raise Refusal(400, "Streaming is not supported in batches.", param="stream")
            job = parse_request(endpoint, "application/json", json_bytes(body), self.files.resolve)
        except Refusal as refusal:
            return refusal.status, {"error": refusal.body()}, {}
        reply = render(job, self._behaviour, int(self._clock()))
        usage = tokens(job)
        with self._lock:
            self.billed_images += job.n
            self.billed_tokens += usage["total_tokens"]
        return 200, json.loads(reply.body), usage

    # -- making pictures and bodies ---------------------------------------------------------

    def _error_reply(self, plan: Plan, refusal: Refusal) -> Reply:
        headers = (("content-type", "application/json"), *refusal.headers.items())
        return Reply(refusal.status, headers, (json_bytes({"error": refusal.body()}),))

    def _with_headers(self, reply: Reply, plan: Plan, started: float, replayed: bool) -> Reply:
        extra = [
            ("x-request-id", plan.request_id),
            (SANDBOX_HEADER, "1"),
            ("openai-processing-ms", str(round((time.perf_counter() - started) * 1000))),
        ]
        if replayed:
            extra.append(("idempotent-replayed", "true"))
        if not reply.streaming:
            extra.append(("content-length", str(len(reply.body))))
        kept = tuple(
            h
            for h in reply.headers
            if h[0] not in ("x-request-id", "openai-processing-ms", "idempotent-replayed")
        )
        return Reply(reply.status, kept + tuple(extra), reply.chunks, reply.streaming)

    def _record(self, plan: Plan, status: int | None, *, replayed: bool, billed: int) -> None:
        headers = {k: v for k, v in plan.headers.items() if k != "authorization"}
        record = RequestRecord(
            plan.request_id,
            plan.method,
            plan.path,
            status,
            plan.fault,
            plan.headers.get("idempotency-key"),
            replayed,
            billed,
            headers,
        )
        with self._lock:
            self.history.append(record)


def _server_error(status: int) -> Refusal:
    message = (
        "The server is overloaded or not ready yet."
        if status == 503
        else "The server had an error while processing your request. Sorry about that!"
    )
    return Refusal(
        status,
        f"{message} (imagewright sandbox: injected {status})",
        type="server_error",
        code="server_error",
    )


def _apply_fault(reply: Reply, plan: Plan) -> Reply:
    """Damage a successful (already billed) answer the way the planned fault says."""
    fault = plan.fault
    if fault == "reset_after":
        return Reply(reply.status, reply.headers, reply.chunks, reply.streaming, action="reset")
    if fault == "stall":
        return Reply(
            reply.status,
            reply.headers,
            reply.chunks,
            reply.streaming,
            action="stall",
            stall=plan.behaviour.stall,
        )
    if fault == "truncate":
        body = reply.body
        cut = len(body) - len(reply.chunks[-1]) // 2 if reply.streaming else len(body) // 2
        return Reply(reply.status, reply.headers, reply.chunks, reply.streaming, cut=cut)
    if fault in ("malformed_json", "malformed_sse"):
        last = reply.chunks[-1]
        if reply.streaming:
            broken = last[: last.index(b"\ndata: ") + 7 + 60] + b"\n\n"
            return Reply(reply.status, reply.headers, (*reply.chunks[:-1], broken), True)
        broken = last[: len(last) // 3]
        headers = tuple(
            (k, str(len(broken)) if k == "content-length" else v) for k, v in reply.headers
        )
        return Reply(reply.status, headers, (broken,))
    if fault == "stream_error" and reply.streaming:
        error = {
            "type": "error",
            "error": {
                "message": "The image could not be completed. (imagewright sandbox: injected stream_error)",
                "type": "server_error",
                "param": None,
                "code": "server_error",
            },
        }
        return Reply(
            reply.status, reply.headers, (*reply.chunks[:-1], sse_event("error", error)), True
        )
    return reply
