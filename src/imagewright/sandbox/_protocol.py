"""The wire pieces the sandbox speaks: replies, error bodies, SSE events, multipart parsing."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "SANDBOX_HEADER",
    "Part",
    "Refusal",
    "Reply",
    "error_body",
    "json_bytes",
    "parse_multipart",
    "sse_event",
]

SANDBOX_HEADER = "x-imagewright-sandbox"
"""Response header present on every sandbox answer (value ``1``): this is not a model."""

Action = Literal["send", "reset", "stall"]


@dataclass(frozen=True)
class Reply:
    """One answer, ready for a transport or a socket to deliver.

    Attributes:
        status: HTTP status code.
        headers: Response headers (lower-case names).
        chunks: The body; for SSE, one chunk per event.
        streaming: True for ``text/event-stream`` answers (sent chunked, no length).
        cut: Deliver only this many body bytes, then drop the connection (truncation faults).
        action: ``send`` the answer, ``reset`` the connection instead, or ``stall`` then drop.
        stall: Seconds a ``stall`` action holds the connection.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[bytes, ...]
    streaming: bool = False
    cut: int | None = None
    action: Action = "send"
    stall: float = 0.0

    @property
    def body(self) -> bytes:
        """The whole body as it would be sent without faults."""
        return b"".join(self.chunks)

    def pacing(self, latency: float) -> tuple[float, tuple[float, ...]]:
        """How to spend ``latency``: the wait before the headers, and before each chunk.

        A plain answer waits all of it before the headers. A stream spreads it evenly over its
        events (the first partial image after one share, each later event one share after the
        previous), so a progressive UI can be rehearsed offline; the total stays ``latency``.
        """
        chunks = len(self.chunks)
        if not self.streaming or chunks < 2 or latency <= 0:
            return latency, (0.0,) * chunks
        share = latency / chunks
        return share, (0.0,) + (share,) * (chunks - 1)

    def delivered(self) -> list[bytes]:
        """The chunks actually sent: all of them, or the first ``cut`` bytes."""
        if self.cut is None:
            return list(self.chunks)
        out: list[bytes] = []
        left = self.cut
        for chunk in self.chunks:
            if left <= 0:
                break
            out.append(chunk[:left])
            left -= len(chunk)
        return out


class Refusal(Exception):
    """An error answer, raised inside the engine and turned into a :class:`Reply`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The inner ``error`` object."""
        return error_body(self.message, type=self.type, param=self.param, code=self.code)


def error_body(
    message: str, *, type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """``{"message", "type", "param", "code"}`` in the API's order."""
    return {"message": message, "type": type, "param": param, "code": code}


def json_bytes(obj: Any) -> bytes:
    """Compact, deterministic JSON."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def sse_event(event: str, data: Mapping[str, Any] | bytes) -> bytes:
    """One server-sent event: an ``event:`` line, a ``data:`` line, a blank line."""
    payload = data if isinstance(data, bytes) else json_bytes(data)
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


@dataclass(frozen=True)
class Part:
    """One multipart part: its field name, filename (files only), content type and bytes."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


def _params(value: str) -> dict[str, str]:
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3).strip()
        for m in _PARAM.finditer(value)
    }


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a ``multipart/form-data`` content type."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    return _params(content_type).get("boundary") or None


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """Split a ``multipart/form-data`` body into parts (RFC 7578).

    Raises:
        Refusal: The body is not well-formed multipart.
    """
    delimiter = b"--" + boundary.encode("latin-1")
    sections = body.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise Refusal(400, "Could not parse multipart form: missing or unterminated boundary.")
    parts: list[Part] = []
    for section in sections[1:-1]:
        if not section.startswith(b"\r\n"):
            raise Refusal(400, "Could not parse multipart form: malformed part.")
        head, sep, content = section[2:].partition(b"\r\n\r\n")
        if not sep or not content.endswith(b"\r\n"):
            raise Refusal(400, "Could not parse multipart form: malformed part.")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _params(";" + headers.get("content-disposition", "").partition(";")[2])
        if "name" not in disposition:
            raise Refusal(400, "Could not parse multipart form: a part has no name.")
        parts.append(
            Part(
                name=disposition["name"],
                data=content[:-2],
                filename=disposition.get("filename"),
                content_type=headers.get("content-type"),
                headers=headers,
            )
        )
    return parts
