"""The pure half of the Batch API: requests to JSONL lines, splitting, and reading answers.

Nothing here does I/O. A batch line carries only JSON, so an edit of local images becomes an
edit by reference once its inputs are uploaded (:func:`by_reference`); the local copies stay
on the call, so the results can still show the source, the mask and the diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .calls import ApiCall
from .errors import Problem, ValidationError

__all__ = [
    "BATCH_DISCOUNT",
    "MAX_FILE_BYTES",
    "MAX_LINES",
    "BatchLineError",
    "Line",
    "by_reference",
    "compile_requests",
    "line_json",
    "split_lines",
]

MAX_LINES = 50_000
"""Lines per batch input file."""
MAX_FILE_BYTES = 200 * 1024 * 1024
"""Bytes per batch input file."""
BATCH_DISCOUNT = 0.5
"""The Batch API's price relative to direct calls."""


@dataclass(frozen=True)
class Line:
    """One request of a batch: its ``custom_id`` and the compiled call."""

    custom_id: str
    call: ApiCall


@dataclass(frozen=True)
class BatchLineError:
    """A request of a batch that produced no image, with the API's reason.

    Attributes:
        custom_id: The line's id.
        call: The call that was sent.
        code: The API's error code (``batch_expired``, ``server_error``, ``invalid_value``...),
            or ``not_run`` for a line of a cancelled batch that was never run.
        message: The API's message.
        status_code: The HTTP status of the line's answer, when it had one.
        body: The line's answer or error object, as the API wrote it.
    """

    custom_id: str
    call: ApiCall
    code: str | None
    message: str
    status_code: int | None = None
    body: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Always False (a :class:`~imagewright.results.Result` is the success case)."""
        return False

    def __str__(self) -> str:
        return f"{self.custom_id}: {self.code or 'error'}: {self.message}"


Compiler = Callable[[Any], ApiCall]


def compile_requests(requests: Iterable[Any], compile_one: Compiler) -> list[Line]:
    """Compile every request, naming each by its ``custom_id``; raise every problem at once.

    A request is an :class:`ApiCall`, an ``EditRequest``, a prompt, or a ``(custom_id,
    request)`` pair. Problems are prefixed with the request's position (``requests[3].size``).
    """
    lines: list[Line] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, item in enumerate(requests):
        custom_id = f"request-{i:05d}"
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            custom_id, item = item
        if custom_id in seen:
            problems.append(
                Problem(f"requests[{i}]", custom_id, "duplicate custom_id", "unique ids")
            )
            continue
        seen.add(custom_id)
        try:
            call = item if isinstance(item, ApiCall) else compile_one(item)
        except ValidationError as exc:
            problems += [
                Problem(f"requests[{i}].{p.param}", p.value, p.message, p.allowed, p.model)
                for p in exc.problems
            ]
            continue
        problems += _line_problems(i, call)
        lines.append(Line(custom_id, call))
    if not lines and not problems:
        problems.append(Problem("requests", [], "nothing to submit", "one request or more"))
    if problems:
        raise ValidationError(problems)
    return lines


def _line_problems(i: int, call: ApiCall) -> list[Problem]:
    out: list[Problem] = []
    if call.endpoint not in ("/images/generations", "/images/edits"):
        out.append(Problem(f"requests[{i}]", call.endpoint, "not a batchable endpoint", "images"))
    if call.stream:
        out.append(Problem(f"requests[{i}].stream", True, "a batch line cannot stream", "omit it"))
    if call.markup is not None and not call.by_reference:
        out.append(
            Problem(f"requests[{i}].markup", "markup", "markup cannot go in a batch", "omit it")
        )
    return out


def by_reference(call: ApiCall, image_ids: Sequence[str], mask_id: str | None) -> ApiCall:
    """The JSON form of an edit whose local inputs were uploaded as ``image_ids``/``mask_id``."""
    params = {k: v for k, v in call.params.items() if k != "prompt"}
    params["images"] = [{"file_id": f} for f in image_ids]
    if mask_id is not None:
        params["mask"] = {"file_id": mask_id}
    body = {"prompt": call.prompt, **{k: params[k] for k in sorted(params)}}
    return ApiCall(
        endpoint=call.endpoint,
        model=call.model,
        prompt=call.prompt,
        params=body,
        images=call.images,
        mask=call.mask,
        warnings=call.warnings,
        finish=call.finish,
        by_reference=True,
    )


def line_json(line: Line) -> bytes:
    """One JSONL line: ``{"custom_id", "method": "POST", "url": "/v1/images/...", "body"}``."""
    doc = {
        "custom_id": line.custom_id,
        "method": "POST",
        "url": "/v1" + line.call.endpoint,
        "body": line.call.json_body(),
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def split_lines(
    lines: Sequence[Line], *, max_lines: int = MAX_LINES, max_bytes: int = MAX_FILE_BYTES
) -> list[tuple[str, list[Line], bytes]]:
    """Group lines by endpoint, then into files within the limits: ``(endpoint, lines, jsonl)``."""
    out: list[tuple[str, list[Line], bytes]] = []
    for endpoint in ("/images/generations", "/images/edits"):
        group: list[Line] = []
        blob: list[bytes] = []
        size = 0
        for line in (x for x in lines if x.call.endpoint == endpoint):
            data = line_json(line)
            if len(data) > max_bytes:
                raise ValidationError(
                    Problem(line.custom_id, f"{len(data):,} bytes", "one line is over the limit")
                )
            if group and (len(group) >= max_lines or size + len(data) > max_bytes):
                out.append((endpoint, group, b"".join(blob)))
                group, blob, size = [], [], 0
            group.append(line)
            blob.append(data)
            size += len(data)
        if group:
            out.append((endpoint, group, b"".join(blob)))
    return out


def read_jsonl(data: bytes) -> dict[str, dict[str, Any]]:
    """The lines of an output or error file, by ``custom_id`` (they come in any order)."""
    out: dict[str, dict[str, Any]] = {}
    for raw in data.decode("utf-8").splitlines():
        if raw.strip():
            doc = json.loads(raw)
            out[str(doc.get("custom_id"))] = doc
    return out


def line_failure(line: Line, doc: Mapping[str, Any] | None, status: str) -> BatchLineError:
    """The typed failure for a line that has an error (or, with ``doc=None``, no answer)."""
    if doc is None:
        if status in ("cancelled", "cancelling"):
            return BatchLineError(line.custom_id, line.call, "not_run", "the batch was cancelled")
        return BatchLineError(line.custom_id, line.call, "missing", f"no answer (batch {status})")
    error = doc.get("error")
    response = doc.get("response") or {}
    if not error and isinstance(response.get("body"), Mapping):
        error = response["body"].get("error")
    error = error if isinstance(error, Mapping) else {}
    return BatchLineError(
        line.custom_id,
        line.call,
        error.get("code"),
        str(error.get("message") or "the line failed"),
        response.get("status_code"),
        doc,
    )
