"""The sandbox's Batch API: ``/v1/batches`` create, retrieve, cancel and list.

A batch runs its lines through the same validation and painting as direct calls, and bills
them on the same counters. Time is simulated: with ``delay`` seconds, a batch of N lines has
``N * elapsed / delay`` lines done, so a test can watch it progress, cancel it midway or let it
expire. Settings come from :meth:`BatchStore.configure` or, per batch, from the headers
``X-Sandbox-Batch-Delay`` and ``X-Sandbox-Batch-Expire-After`` of the create request.

Lines fail on cue: a line whose prompt contains ``sandbox:fail`` comes back in the error file
with ``error: {"code": "server_error", ...}``; a line the API would refuse comes back there with
its 400 answer. Output lines are written in reverse order, since the API promises no order.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._files import FileStore
from ._protocol import Refusal

__all__ = ["FAIL_CUE", "BatchStore"]

FAIL_CUE = "sandbox:fail"
ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")
MAX_LINES = 50_000
MAX_INPUT_BYTES = 200 * 1024 * 1024

LineRunner = Callable[[str, Mapping[str, Any]], tuple[int, dict[str, Any], dict[str, int]]]
"""Runs one line (endpoint name, body): HTTP status, response body, usage counts."""


@dataclass
class _Batch:
    id: str
    endpoint: str
    input_file_id: str
    created_at: float
    metadata: dict[str, str] | None
    lines: list[dict[str, Any]]
    delay: float
    expire_after: int | None
    status: str = "in_progress"
    done: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    stamps: dict[str, int] = field(default_factory=dict)
    usage: dict[str, int] = field(
        default_factory=lambda: {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    )

    @property
    def processed(self) -> int:
        return len(self.done) + len(self.failed)


class BatchStore:
    """Batches, thread safe; settings apply to batches created after they change.

    Attributes:
        delay: Seconds from create to the last line done (0: done at the first look).
        expire_after: When set, a batch stops after this many lines and expires.
    """

    def __init__(self, files: FileStore, run_line: LineRunner, clock: Callable[[], float]) -> None:
        self._files = files
        self._run = run_line
        self._clock = clock
        self._lock = threading.RLock()
        self._batches: dict[str, _Batch] = {}
        self.delay = 0.0
        self.expire_after: int | None = None

    def configure(self, *, delay: float | None = None, expire_after: int | None = -1) -> None:
        """Set the completion delay (seconds) and/or the expiry point (lines; ``None``: never)."""
        if delay is not None:
            self.delay = float(delay)
        if expire_after != -1:
            self.expire_after = expire_after

    # -- HTTP -----------------------------------------------------------------------------

    def handle(
        self, method: str, route: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Answer one ``/batches...`` request."""
        parts = route.split("?", 1)[0].strip("/").split("/")
        if method == "POST" and len(parts) == 1:
            return 200, self._create(headers, body)
        if method == "GET" and len(parts) == 1:
            return 200, self._list(route)
        batch = self._get(parts[1]) if len(parts) >= 2 else None
        if batch is not None and method == "GET" and len(parts) == 2:
            return 200, self._view(batch)
        if batch is not None and method == "POST" and parts[2:] == ["cancel"]:
            with self._lock:
                self._advance(batch)
                if batch.status in ("validating", "in_progress", "finalizing"):
                    batch.status = "cancelling"
                    batch.stamps["cancelling_at"] = int(self._clock())
                return 200, self._to_json(batch)
        raise Refusal(404, f"Invalid URL ({method} /v1{route.split('?', 1)[0]})")

    def _get(self, batch_id: str) -> _Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            raise Refusal(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return batch

    def _view(self, batch: _Batch) -> dict[str, Any]:
        with self._lock:
            self._advance(batch)
            return self._to_json(batch)

    def _list(self, route: str) -> dict[str, Any]:
        _, _, qs = route.partition("?")
        query = dict(kv.split("=", 1) for kv in qs.split("&") if "=" in kv)
        limit = int(query.get("limit", "20"))
        with self._lock:
            batches = sorted(self._batches.values(), key=lambda b: b.created_at, reverse=True)
            if "after" in query:
                ids = [b.id for b in batches]
                batches = batches[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
            page = [self._view(b) for b in batches[:limit]]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(batches) > limit,
        }

    # -- create ---------------------------------------------------------------------------

    def _create(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        try:
            values = json.loads(body)
        except ValueError:
            raise Refusal(400, "We could not parse the JSON body of your request.") from None
        if not isinstance(values, dict):
            raise Refusal(400, "The request body must be a JSON object.")
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(values.get(name), str):
                raise Refusal(
                    400,
                    f"Missing required parameter: '{name}'.",
                    param=name,
                    code="missing_required_parameter",
                )
        if values["completion_window"] != "24h":
            raise Refusal(
                400,
                f"Invalid value: '{values['completion_window']}'. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        endpoint = values["endpoint"]
        if endpoint not in ENDPOINTS:
            raise Refusal(
                400,
                f"Invalid value: '{endpoint}'. The sandbox batches {', '.join(ENDPOINTS)}.",
                param="endpoint",
                code="invalid_value",
            )
        source = self._files.get(values["input_file_id"])
        if source.purpose != "batch":
            raise Refusal(
                400,
                f"The input file must have purpose 'batch', not '{source.purpose}'.",
                param="input_file_id",
            )
        lines, errors = _parse_lines(source.data, endpoint)
        delay = float(headers.get("x-sandbox-batch-delay", self.delay))
        expire = headers.get("x-sandbox-batch-expire-after")
        batch = _Batch(
            "batch_" + secrets.token_hex(12),
            endpoint,
            source.id,
            self._clock(),
            values.get("metadata"),
            lines,
            delay,
            int(expire) if expire is not None else self.expire_after,
        )
        batch.stamps["in_progress_at"] = int(batch.created_at)
        if errors:
            batch.status, batch.errors = "failed", errors
            batch.stamps["failed_at"] = int(batch.created_at)
        with self._lock:
            self._batches[batch.id] = batch
            return self._to_json(batch)

    # -- progress -------------------------------------------------------------------------

    def _due(self, batch: _Batch) -> int:
        total = len(batch.lines)
        if batch.delay <= 0:
            return total
        elapsed = self._clock() - batch.created_at
        return min(total, int(total * elapsed / batch.delay))

    def _advance(self, batch: _Batch) -> None:
        """Run the lines due by now; finish the batch when it is done, cancelled or expired."""
        if batch.status not in ("in_progress", "cancelling"):
            return
        due = self._due(batch)
        if batch.expire_after is not None:
            due = min(due, batch.expire_after)
        if batch.status == "in_progress":
            for line in batch.lines[batch.processed : due]:
                self._run_one(batch, line)
        now = int(self._clock())
        if batch.status == "cancelling":
            self._finish(batch, "cancelled", now)
        elif batch.processed == len(batch.lines):
            self._finish(batch, "completed", now)
        elif (
            batch.expire_after is not None
            and batch.processed >= batch.expire_after
            and self._clock() - batch.created_at >= batch.delay
        ):
            for line in batch.lines[batch.processed :]:
                batch.failed.append(_error_line(line, "batch_expired", "This request expired."))
            self._finish(batch, "expired", now)

    def _run_one(self, batch: _Batch, line: dict[str, Any]) -> None:
        name = "edits" if batch.endpoint.endswith("/edits") else "generations"
        body = line["body"]
        if FAIL_CUE in str(body.get("prompt", "")):
            message = f"The line failed on cue ({FAIL_CUE!r} in its prompt)."
            batch.failed.append(_error_line(line, "server_error", message))
            return
        status, answer, usage = self._run(name, body)
        out = {
            "id": "batch_req_" + secrets.token_hex(12),
            "custom_id": line["custom_id"],
            "response": {
                "status_code": status,
                "request_id": "req_" + secrets.token_hex(12),
                "body": answer,
            },
            "error": None,
        }
        (batch.done if status == 200 else batch.failed).append(out)
        for key in batch.usage:
            batch.usage[key] += usage.get(key, 0)

    def _finish(self, batch: _Batch, status: str, now: int) -> None:
        batch.status = status
        batch.stamps[f"{status}_at"] = now
        if status == "completed":
            batch.stamps["finalizing_at"] = now
        for kind, lines in (("output", batch.done), ("error", batch.failed)):
            if lines:
                data = "".join(json.dumps(x) + "\n" for x in reversed(lines)).encode()
                stored = self._files.add(data, f"{batch.id}_{kind}.jsonl", f"batch_{kind}")
                setattr(batch, f"{kind}_file_id", stored.id)

    def _to_json(self, batch: _Batch) -> dict[str, Any]:
        stamps = {
            f"{s}_at": batch.stamps.get(f"{s}_at")
            for s in (
                "cancelled",
                "cancelling",
                "completed",
                "expired",
                "failed",
                "finalizing",
                "in_progress",
            )
        }
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": int(batch.created_at),
            "expires_at": int(batch.created_at) + 86_400,
            **stamps,
            "request_counts": {
                "total": len(batch.lines),
                "completed": len(batch.done),
                "failed": len(batch.failed),
            },
            "metadata": batch.metadata,
            "usage": {
                **batch.usage,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }


def _error_line(line: Mapping[str, Any], code: str, message: str) -> dict[str, Any]:
    return {
        "id": "batch_req_" + secrets.token_hex(12),
        "custom_id": line["custom_id"],
        "response": None,
        "error": {"code": code, "message": message},
    }


def _parse_lines(data: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The lines of a batch input file, and every problem found (as the batch's ``errors``)."""
    errors: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()

    def bad(number: int, code: str, message: str) -> None:
        errors.append({"code": code, "line": number, "message": message, "param": None})

    if len(data) > MAX_INPUT_BYTES:
        bad(0, "file_too_large", f"The input file is over {MAX_INPUT_BYTES:,} bytes.")
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            bad(number, "invalid_json_line", "This line is not valid JSON.")
            continue
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
            bad(number, "missing_body", "Each line needs a 'body' object.")
            continue
        if line.get("method") != "POST":
            bad(number, "invalid_method", "Only POST lines are supported.")
        if line.get("url") != endpoint:
            bad(number, "mismatched_url", f"The line's url must be the batch endpoint {endpoint}.")
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or custom_id in seen:
            bad(number, "duplicate_custom_id", "Each line needs a unique custom_id.")
        seen.add(str(custom_id))
        lines.append(line)
    if len(lines) > MAX_LINES:
        bad(0, "too_many_lines", f"A batch takes at most {MAX_LINES:,} lines.")
    if not lines and not errors:
        bad(0, "empty_file", "The input file has no lines.")
    return lines, errors
