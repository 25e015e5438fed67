"""The sandbox: an offline, deterministic Images API server for demos, tests and CI. Not a model.

It speaks the wire protocol of ``POST /v1/images/generations`` and ``POST /v1/images/edits``
exactly (JSON and multipart requests, JSON and SSE answers, the API's error shape), validates
requests the way the API does, paints deterministic pictures (quoted prompt text is drawn
legibly; edits change only the mask's editable area), reports realistic token usage, and can
misbehave on purpose (latency, mask leakage, wrong text, faults). Every answer carries the
``x-imagewright-sandbox: 1`` header and every image a small ``SANDBOX`` corner mark.

Run it in process with :class:`SandboxTransport` (an httpx2 transport, sync and async), or as
a real HTTP server on 127.0.0.1 with :class:`SandboxServer` / :func:`serve`.

Examples:
    >>> from imagewright.sandbox import SandboxServer
    >>> with SandboxServer(faults=["429", None], retry_after=0.01) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True

See ``docs/sandbox.md`` for the behaviour options, the headers and the usage formulas.
"""

from __future__ import annotations

from ._behaviour import FAULTS, HEADERS, Behaviour, FaultName
from ._engine import RequestRecord, Sandbox
from ._paint import MARK
from ._protocol import SANDBOX_HEADER
from ._server import SandboxServer, serve
from ._transport import SandboxTransport

__all__ = [
    "FAULTS",
    "HEADERS",
    "MARK",
    "SANDBOX_HEADER",
    "Behaviour",
    "FaultName",
    "RequestRecord",
    "Sandbox",
    "SandboxServer",
    "SandboxTransport",
    "serve",
]
