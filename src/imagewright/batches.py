"""The Batch API (``client.batches``): half the price, up to 24 hours, the same proof.

``client.batches.submit(requests)`` compiles every request (all problems reported before
anything is uploaded), uploads the input images of edits once each (through the client's
upload cache) and turns those edits into edits by reference, writes one JSONL line per
request, splits the lines over the API's limits (50,000 lines or 200 MB per file, one endpoint
per batch), uploads the files and creates the batches. It returns a :class:`BatchJob`:
``status()``, ``wait()``, ``cancel()``, ``results()`` (one :class:`~imagewright.results.Result`
or :class:`BatchLineError` per request, in the order given), and ``save(path)`` /
``BatchJob.load(path)`` so another process can collect it.

Examples:
    >>> import imagewright
    >>> with imagewright.Client.sandbox() as client:
    ...     job = client.batches.submit(['a poster that says "ONE"', 'a poster that says "TWO"'],
    ...                                 quality="low", size="1024x1024")
    ...     job.wait(progress=False, poll=0.01).status
    ...     [r.output.size for r in job.results()]
    'completed'
    [(1024, 1024), (1024, 1024)]
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2

from . import _transport
from ._batch_lines import (
    BATCH_DISCOUNT,
    MAX_FILE_BYTES,
    MAX_LINES,
    BatchLineError,
    Line,
    by_reference,
    compile_requests,
    line_failure,
    read_jsonl,
    split_lines,
)
from ._files import atomic_write, sha256
from ._rest import Flow, Req, Sleep, arun, run
from ._version import __version__
from .calls import ApiCall
from .edit import EditRequest
from .errors import (
    APIConnectionError,
    APIError,
    BatchNotFinishedError,
    BudgetExceededError,
    ImagewrightError,
    IntegrityError,
)
from .files import upload_flow
from .results import Result, finish_result

if TYPE_CHECKING:
    from .client import AsyncClient, BaseClient, Client

__all__ = ["AsyncBatchJob", "AsyncBatches", "BatchJob", "BatchLineError", "BatchStatus", "Batches"]

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
SCHEMA = "imagewright.batch/2"
_UNHASHED = "imagewright.batch/1"  # written by 0.1.0, before handles carried their sha256


@dataclass(frozen=True)
class BatchStatus:
    """Where a job stands, over all its batches.

    Attributes:
        status: ``completed`` when every batch completed; otherwise the least advanced state
            (``validating``, ``in_progress``, ``finalizing``, ``cancelling``) while one runs,
            then ``failed``, ``expired`` or ``cancelled`` if any batch ended that way.
        total: Requests in the job.
        completed: Requests that succeeded so far.
        failed: Requests that failed so far.
        batches: The API's batch objects, as last read.
    """

    status: str
    total: int
    completed: int
    failed: int
    batches: tuple[Mapping[str, Any], ...] = field(repr=False)

    @property
    def done(self) -> bool:
        """True when every batch has ended (completed, failed, expired or cancelled)."""
        return all(b.get("status") in TERMINAL for b in self.batches)


def _combined(batches: list[Mapping[str, Any]]) -> BatchStatus:
    states = [str(b.get("status")) for b in batches]
    order = ("validating", "in_progress", "finalizing", "cancelling")
    running = [s for s in order if s in states]
    ended = [s for s in ("failed", "expired", "cancelled") if s in states]
    status = running[0] if running else ended[0] if ended else "completed"
    counts = [b.get("request_counts") or {} for b in batches]
    return BatchStatus(
        status,
        sum(int(c.get("total", 0)) for c in counts),
        sum(int(c.get("completed", 0)) for c in counts),
        sum(int(c.get("failed", 0)) for c in counts),
        tuple(batches),
    )


# ---- the job's state (pure, saved and loaded) ---------------------------------------------


@dataclass
class _Job:
    batches: list[tuple[str, str, list[str]]]  # (batch id, endpoint, custom ids)
    lines: dict[str, Line]
    estimate_usd: float
    metadata: dict[str, str]
    sources: dict[str, bytes] = field(default_factory=dict)  # file_id -> bytes, fetched once

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "imagewright": __version__,
            "batches": [{"id": b, "endpoint": e, "custom_ids": ids} for b, e, ids in self.batches],
            "estimate_usd": self.estimate_usd,
            "metadata": self.metadata,
            "lines": [
                {
                    "custom_id": line.custom_id,
                    "endpoint": line.call.endpoint,
                    "model": line.call.model,
                    "prompt": line.call.prompt,
                    "params": dict(line.call.params),
                }
                for line in self.lines.values()
            ],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> _Job:
        schema = doc.get("schema") if isinstance(doc, Mapping) else None
        if schema not in (SCHEMA, _UNHASHED):
            raise ImagewrightError(f"not a saved batch job (schema {schema!r})")
        if schema == SCHEMA:
            recorded = doc.get("sha256")
            if not isinstance(recorded, str):
                raise IntegrityError("the batch handle has no sha256 (edited or corrupt)")
            if recorded != _digest(doc):
                raise IntegrityError(
                    "the batch handle does not match its sha256 (edited or corrupt)"
                )
        try:
            return cls._parse(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"a malformed batch handle ({type(exc).__name__}: {exc})") from exc

    @classmethod
    def _parse(cls, doc: Mapping[str, Any]) -> _Job:
        lines = {
            d["custom_id"]: Line(
                d["custom_id"],
                ApiCall(
                    d["endpoint"],
                    d["model"],
                    d["prompt"],
                    d["params"],
                    by_reference=d["endpoint"] == "/images/edits",
                ),
            )
            for d in doc["lines"]
        }
        batches = [(b["id"], b["endpoint"], list(b["custom_ids"])) for b in doc["batches"]]
        return cls(batches, lines, float(doc["estimate_usd"]), dict(doc["metadata"]))


def _digest(doc: Mapping[str, Any]) -> str:
    """The sha256 of a handle: of its canonical JSON, without the ``sha256`` field itself."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256(text.encode("utf-8"))


# ---- flows (written once for both clients) ------------------------------------------------


def _submit(
    client: BaseClient,
    requests: Iterable[Any],
    *,
    model: str | None,
    metadata: Mapping[str, str] | None,
    budget: float | None,
    max_lines: int,
    max_bytes: int,
    options: Mapping[str, Any],
) -> Flow[_Job]:
    def compile_one(item: Any) -> ApiCall:
        if isinstance(item, EditRequest):
            return client.compile_edit(item, model=model, **options)
        return client.compile_generate(item, model=model, **options)

    from .pricing import estimate_call

    lines = compile_requests(requests, compile_one)
    estimate = sum(estimate_call(line.call).high_usd for line in lines) * BATCH_DISCOUNT
    if budget is not None and estimate > budget:
        raise BudgetExceededError(
            f"the batch is estimated at up to ${estimate:.4f} (Batch price) over its budget of "
            f"${budget:.4f}; nothing was uploaded",
            estimate_usd=estimate,
            budget_usd=budget,
            spent_usd=0.0,
        )
    cache = client.upload_cache
    ready: list[Line] = []
    for line in lines:
        call = line.call
        if call.is_edit and not call.by_reference:
            ids = []
            for image in call.images:
                ids.append((yield from upload_flow(image, "vision", cache)).id)
            mask_id = (yield from upload_flow(call.mask, "vision", cache)).id if call.mask else None
            call = by_reference(call, ids, mask_id)
        ready.append(Line(line.custom_id, call))
    parts = split_lines(ready, max_lines=max_lines, max_bytes=max_bytes)
    job = _Job([], {line.custom_id: line for line in ready}, estimate, dict(metadata or {}))
    for i, (endpoint, group, blob) in enumerate(parts):
        meta = {"imagewright": __version__, "part": f"{i + 1}/{len(parts)}", **job.metadata}
        try:
            file = yield from upload_flow(blob, "batch", None, f"imagewright-batch-{i + 1}.jsonl")
            body = {
                "input_file_id": file.id,
                "endpoint": "/v1" + endpoint,
                "completion_window": "24h",
                "metadata": meta,
            }
            batch = yield from _create(body, client.settings)
        except APIError as exc:
            # Batches created so far will run and bill: hand them back with the error.
            exc.partial_job = job  # type: ignore[attr-defined]
            raise
        job.batches.append((batch["id"], endpoint, [line.custom_id for line in group]))
    return job


def _batch_object(answer: Any) -> dict[str, Any]:
    """The API's batch object, checked for the fields imagewright reads."""
    if not isinstance(answer, dict):
        raise TypeError(f"a batch is a JSON object, not {type(answer).__name__}")
    for name in ("id", "status"):
        if not isinstance(answer.get(name), str):
            raise ValueError(f"a batch object without a string {name!r}")
    return answer


def _batch_list(answer: Any) -> list[dict[str, Any]]:
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise ValueError("a list of batches has a 'data' array")
    return [b for b in answer["data"] if isinstance(b, dict)]


_LOOKUP = 100  # batches read back after a lost create answer (the API lists newest first)


def _create(body: dict[str, Any], settings: Any) -> Flow[dict[str, Any]]:
    """Create one batch, and never two: a batch runs and bills every line it holds.

    When the answer is lost after the request was sent, the batch may exist. The newest
    batches are read back and the one made from this input file (each upload has its own
    id) is kept. Only when none is found, and the client allows ``retry_ambiguous``, is the
    create sent again (under the same ``Idempotency-Key``); otherwise the error is raised.
    """
    import uuid

    headers = {"Idempotency-Key": f"imagewright-{uuid.uuid4()}"}
    attempt = 0
    while True:
        try:
            batch: dict[str, Any] = yield Req(
                "POST",
                "/batches",
                json=body,
                headers=headers,
                parse=_batch_object,
                retry_ambiguous=False,  # decided here, after looking for the batch
            )
            return batch
        except APIConnectionError as exc:
            if not exc.may_have_been_billed:
                raise
            lost = exc
        try:
            recent = yield Req("GET", "/batches", params={"limit": _LOOKUP}, parse=_batch_list)
        except APIError:
            # Cannot tell whether it was made: the ambiguous error, with its own cause.
            raise lost  # noqa: B904
        made = [b for b in recent if b.get("input_file_id") == body["input_file_id"]]
        if made:
            return _batch_object(made[0])
        attempt += 1
        if not settings.retry_ambiguous or attempt > settings.max_retries:
            raise lost


def _status(job: _Job) -> Flow[BatchStatus]:
    batches = []
    for batch_id, _, _ in job.batches:
        batches.append((yield Req("GET", f"/batches/{batch_id}", parse=_batch_object)))
    return _combined(batches)


def _wait(
    job: _Job, progress: bool, poll: float, max_poll: float, timeout: float | None
) -> Flow[BatchStatus]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(job.lines), desc="batch", unit="req")
    started = time.monotonic()
    delay = poll
    try:
        while True:
            status = yield from _status(job)
            if bar is not None:
                bar.n = status.completed + status.failed
                bar.set_postfix_str(status.status)
                bar.refresh()
            if status.done:
                return status
            if timeout is not None and time.monotonic() - started + delay > timeout:
                return status
            yield Sleep(delay)
            delay = min(delay * 1.5, max_poll)  # back off: a batch can take hours
    finally:
        if bar is not None:
            bar.close()


def _cancel(job: _Job) -> Flow[BatchStatus]:
    batches = []
    for batch_id, _, _ in job.batches:
        batch = yield Req("GET", f"/batches/{batch_id}", parse=_batch_object)
        if batch.get("status") not in TERMINAL:
            batch = yield Req("POST", f"/batches/{batch_id}/cancel", parse=_batch_object)
        batches.append(batch)
    return _combined(batches)


def _results(job: _Job, partial: bool, sources: bool) -> Flow[list[Result | BatchLineError]]:
    status = yield from _status(job)
    if not status.done and not partial:
        raise BatchNotFinishedError(
            f"the job is still {status.status} ({status.completed + status.failed}/"
            f"{status.total} requests done): call job.wait() first, or "
            "job.results(partial=True) for the batches that already ended"
        )
    found: dict[str, Result | BatchLineError] = {}
    for batch, (_, _, custom_ids) in zip(status.batches, job.batches, strict=True):
        state = str(batch.get("status"))
        if state not in TERMINAL:
            continue  # the API writes a batch's output only when it ends
        answers: dict[str, dict[str, Any]] = {}
        for key in ("error_file_id", "output_file_id"):
            if batch.get(key):
                answers.update(
                    (yield Req("GET", f"/files/{batch[key]}/content", raw=True, parse=read_jsonl))
                )
        for custom_id in custom_ids:
            line = job.lines[custom_id]
            if sources:
                line = Line(custom_id, (yield from _with_sources(job, line.call)))
            found[custom_id] = _line_result(line, answers.get(custom_id), state, batch)
    return [found[c] for c in job.lines if c in found]  # in the order the requests were given


def _with_sources(job: _Job, call: ApiCall) -> Flow[ApiCall]:
    """The call with local copies of its file_id inputs (downloaded once per job)."""
    if not call.by_reference or call.images:
        return call
    from .images import EncodedImage, load_image

    def ids() -> list[str | None]:
        refs = [*(call.params.get("images") or []), call.params.get("mask")]
        return [r.get("file_id") if isinstance(r, Mapping) else None for r in refs]

    for file_id in ids():
        if file_id and file_id not in job.sources:
            job.sources[file_id] = yield Req("GET", f"/files/{file_id}/content", raw=True)
    *image_ids, mask_id = ids()
    if not image_ids or None in image_ids:
        return call  # an ImageURL input: use client.fetch_source(result)
    images = [load_image(job.sources[i], param="image") for i in image_ids if i]
    mask: EncodedImage | None = None
    if mask_id:
        mask = load_image(job.sources[mask_id], param="mask", filename="mask.png")
    return call.with_sources(images, mask)


def _line_result(
    line: Line, doc: dict[str, Any] | None, state: str, batch: Mapping[str, Any]
) -> Result | BatchLineError:
    response = (doc or {}).get("response") or {}
    if doc is None or doc.get("error") or response.get("status_code") != 200:
        return line_failure(line, doc, state)
    headers = {"x-request-id": str(response.get("request_id") or "")}
    try:
        result = _transport.build_result(
            line.call,
            response.get("body") or {},
            response=httpx2.Response(200, headers=headers),
            started=float(batch.get("created_at") or 0),
            attempts=1,
        )
    except APIError as exc:
        return BatchLineError(line.custom_id, line.call, "invalid_answer", str(exc), 200, doc)
    return finish_result(result)


# ---- the handles ---------------------------------------------------------------------------


class _JobBase:
    def __init__(self, client: Any, job: _Job) -> None:
        self._client = client
        self._job = job

    @property
    def ids(self) -> list[str]:
        """The ids of the job's batches (one per endpoint and per file of at most 50,000 lines)."""
        return [b for b, _, _ in self._job.batches]

    @property
    def custom_ids(self) -> list[str]:
        """The requests' ``custom_id``, in the order they were given."""
        return list(self._job.lines)

    @property
    def estimate_usd(self) -> float:
        """The pre-flight estimate at the Batch price (the high end of the range)."""
        return self._job.estimate_usd

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the handle as JSON, so a later process (or machine) can collect the job.

        The handle carries the sha256 of its content: :meth:`BatchJob.load` refuses one that
        was edited or damaged (``IntegrityError``)."""
        target = Path(path)
        doc = self._job.to_json()
        doc["sha256"] = _digest(doc)
        # Temporary file, fsync, rename: a crash leaves the old handle or the new, never half.
        atomic_write(target, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
        return target

    def __len__(self) -> int:
        return len(self._job.lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batches={self.ids}, requests={len(self)})"


def _read(path: str | os.PathLike[str]) -> _Job:
    try:
        doc = json.loads(Path(path).read_bytes())
    except ValueError as exc:
        raise IntegrityError(f"{path} is not JSON (edited or corrupt): {exc}") from exc
    return _Job.from_json(doc)


class BatchJob(_JobBase):
    """A submitted Batch API job on the sync client."""

    _client: Client

    @classmethod
    def load(cls, path: str | os.PathLike[str], client: Client | None = None) -> BatchJob:
        """A job saved with :meth:`save`, bound to ``client`` (default: ``Client()`` from the
        environment).

        Raises:
            IntegrityError: The handle does not match its sha256, or its sha256 was removed.
            ImagewrightError: The file is not a saved batch job.
        """
        from .client import Client

        return cls(client if client is not None else Client(), _read(path))

    def status(self) -> BatchStatus:
        """Read every batch's state once."""
        return run(self._client, _status(self._job))

    def wait(
        self,
        *,
        progress: bool = True,
        poll: float = 5.0,
        max_poll: float = 60.0,
        timeout: float | None = None,
    ) -> BatchStatus:
        """Poll until every batch has ended (or ``timeout`` seconds passed); the wait between
        polls starts at ``poll`` and grows by half each time up to ``max_poll``."""
        return run(self._client, _wait(self._job, progress, poll, max_poll, timeout))

    def cancel(self) -> BatchStatus:
        """Cancel every batch still running (lines already done keep their results)."""
        return run(self._client, _cancel(self._job))

    def results(
        self, *, partial: bool = False, sources: bool = True
    ) -> list[Result | BatchLineError]:
        """One :class:`Result` or :class:`BatchLineError` per request, in the order given.

        Args:
            partial: Allowed while the job runs: the requests of the batches that already ended
                (the API writes a batch's output only when it ends).
            sources: Download the inputs of edits made by reference when they are not known
                locally (a job loaded from disk), so that ``result.diff`` works.

        Raises:
            BatchNotFinishedError: The job still runs and ``partial`` is False.
        """
        return run(self._client, _results(self._job, partial, sources))


class AsyncBatchJob(_JobBase):
    """A submitted Batch API job on the async client."""

    _client: AsyncClient

    @classmethod
    def load(cls, path: str | os.PathLike[str], client: AsyncClient | None = None) -> AsyncBatchJob:
        """A job saved with :meth:`save`, bound to ``client`` (default: ``AsyncClient()``)."""
        from .client import AsyncClient

        return cls(client if client is not None else AsyncClient(), _read(path))

    async def status(self) -> BatchStatus:
        """Read every batch's state once."""
        return await arun(self._client, _status(self._job))

    async def wait(
        self,
        *,
        progress: bool = True,
        poll: float = 5.0,
        max_poll: float = 60.0,
        timeout: float | None = None,
    ) -> BatchStatus:
        """Poll until every batch has ended; see :meth:`BatchJob.wait`."""
        return await arun(self._client, _wait(self._job, progress, poll, max_poll, timeout))

    async def cancel(self) -> BatchStatus:
        """Cancel every batch still running."""
        return await arun(self._client, _cancel(self._job))

    async def results(
        self, *, partial: bool = False, sources: bool = True
    ) -> list[Result | BatchLineError]:
        """One Result or BatchLineError per request; see :meth:`BatchJob.results`."""
        return await arun(self._client, _results(self._job, partial, sources))


@dataclass(frozen=True)
class _SubmitArgs:
    model: str | None
    metadata: Mapping[str, str] | None
    budget: float | None
    max_lines: int
    max_bytes: int
    options: Mapping[str, Any]


class _BatchesBase:
    def __init__(self, client: Any) -> None:
        self._client = client

    def _flow(self, requests: Iterable[Any], args: _SubmitArgs) -> Flow[_Job]:
        return _submit(
            self._client,
            requests,
            model=args.model,
            metadata=args.metadata,
            budget=args.budget,
            max_lines=args.max_lines,
            max_bytes=args.max_bytes,
            options=args.options,
        )


class Batches(_BatchesBase):
    """``client.batches`` on the sync client."""

    _client: Client

    def submit(
        self,
        requests: Iterable[Any],
        *,
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
        budget: float | None = None,
        max_lines: int = MAX_LINES,
        max_bytes: int = MAX_FILE_BYTES,
        **options: Any,
    ) -> BatchJob:
        """Submit requests to the Batch API (half price, results within 24 h).

        Args:
            requests: Prompts (text, ``Prompt``, ``Layout``), ``EditRequest`` objects, compiled
                ``ApiCall`` objects, or ``(custom_id, request)`` pairs.
            model: The model for every request (default: the client's).
            metadata: Up to 16 string pairs stored on each batch.
            budget: Refuse (``BudgetExceededError``, nothing uploaded) when the estimate at
                the Batch price exceeds this many USD.
            max_lines: Lines per batch (the API's limit is 50,000).
            max_bytes: Bytes per input file (the API's limit is 200 MB).
            **options: Body fields for every request (``quality``, ``size``...).

        Raises:
            ValidationError: Any request would be refused (every problem, nothing uploaded).
        """
        args = _SubmitArgs(model, metadata, budget, max_lines, max_bytes, options)
        return BatchJob(self._client, run(self._client, self._flow(requests, args)))

    def load(self, path: str | os.PathLike[str]) -> BatchJob:
        """A job saved with :meth:`BatchJob.save`, bound to this client."""
        return BatchJob.load(path, self._client)

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The API's batch object for one batch id."""
        answer: dict[str, Any] = run(
            self._client, _one(Req("GET", f"/batches/{batch_id}", parse=_batch_object))
        )
        return answer


class AsyncBatches(_BatchesBase):
    """``client.batches`` on the async client."""

    _client: AsyncClient

    async def submit(
        self,
        requests: Iterable[Any],
        *,
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
        budget: float | None = None,
        max_lines: int = MAX_LINES,
        max_bytes: int = MAX_FILE_BYTES,
        **options: Any,
    ) -> AsyncBatchJob:
        """Submit requests to the Batch API; see :meth:`Batches.submit`."""
        args = _SubmitArgs(model, metadata, budget, max_lines, max_bytes, options)
        return AsyncBatchJob(self._client, await arun(self._client, self._flow(requests, args)))

    def load(self, path: str | os.PathLike[str]) -> AsyncBatchJob:
        """A job saved with :meth:`BatchJob.save`, bound to this client."""
        return AsyncBatchJob.load(path, self._client)

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The API's batch object for one batch id."""
        answer: dict[str, Any] = await arun(
            self._client, _one(Req("GET", f"/batches/{batch_id}", parse=_batch_object))
        )
        return answer


def _one(req: Req) -> Flow[Any]:
    return (yield req)
