"""``dask_map``: ``client.map`` over the workers of a Dask cluster, sharing one ledger.

Each Dask task runs :meth:`imagewright.Client.map` over a chunk of the requests in a worker,
with a client built *in that worker* (clients hold connection pools and threads: they are not
shared across processes) and the same :class:`~imagewright.ledger.Ledger` file for every
worker. The ledger's claim protocol makes sure two workers never send the same request, and a
task that Dask re-runs (its worker crashed, or the whole job was started again) finds what was
already paid for on disk instead of paying twice.

A worker killed while a request is in flight leaves that request *ambiguous*: the server may
have made and billed the image. Every request carries an ``Idempotency-Key`` derived from the
ledger and the request, the same on every attempt and in every worker, so with
``retry_ambiguous=True`` the re-run sends it again under the same key and a server that honours
keys (the sandbox does; the live Images API does not document it) answers with the stored
image instead of billing again. Without it (the default) an ambiguous request is reported, not
resent: never billed twice, but its image is not recovered.

Needs the ``dask`` extra (``pip install 'imagewright[dask]'``). The ledger (and ``save_to``)
must be on a filesystem every worker sees; SQLite wants a local disk, not NFS. Each worker
reads its API key from its own ``OPENAI_API_KEY``: the key never travels in the task graph.

Examples:
    >>> from imagewright.distributed import ClientSpec
    >>> ClientSpec(base_url="http://127.0.0.1:8089/v1", default_model="gpt-image-2")
    ClientSpec(base_url='http://127.0.0.1:8089/v1', default_model='gpt-image-2', max_retries=None, timeout=None)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import MissingExtraError

if TYPE_CHECKING:
    from .client import Client
    from .results import Result

__all__ = ["ClientSpec", "WorkerOutcome", "dask_map"]


@dataclass(frozen=True)
class ClientSpec:
    """How each worker builds its own :class:`~imagewright.Client` (picklable; no key).

    The key comes from the worker's ``OPENAI_API_KEY``; ``None`` fields fall back to the
    worker's environment and the client's defaults, as ``Client()`` does.
    """

    base_url: str | None = None
    default_model: str | None = None
    max_retries: int | None = None
    timeout: float | None = None

    def build(self) -> Client:
        """A new client for this process."""
        from .client import Client

        return Client(
            base_url=self.base_url,
            default_model=self.default_model,
            max_retries=self.max_retries,
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class WorkerOutcome:
    """What happened to one request, small enough to travel back from a worker.

    Attributes:
        index: The request's position in the list given to :func:`dask_map`.
        ok: True when its result is saved in ``folder``.
        status: ``"done"``, or the failure's status (``failed``, ``ambiguous``, ``not_sent``).
        folder: The result folder (``Result.load(folder)``), when ``ok``.
        error: What went wrong, when not ``ok``.
        fingerprint: The compiled call's fingerprint.
        worker: The Dask worker that reported it.
    """

    index: int
    ok: bool
    status: str
    folder: str | None
    error: str | None
    fingerprint: str | None
    worker: str | None = None

    def result(self) -> Result:
        """Load the saved :class:`~imagewright.results.Result` (only when ``ok``)."""
        from .results import Result

        if self.folder is None:
            raise ValueError(f"request {self.index} has no result: {self.status}: {self.error}")
        return Result.load(self.folder)


def _idempotency_key(ledger: Path, fingerprint: str) -> str:
    digest = hashlib.sha256(f"{ledger}\0{fingerprint}".encode()).hexdigest()
    return f"imagewright-{digest[:40]}"


def _run_chunk(
    spec: ClientSpec,
    chunk: list[tuple[int, Any, dict[str, Any]]],
    ledger: str,
    save_to: str | None,
    concurrency: int,
    retry_ambiguous: bool,
) -> list[WorkerOutcome]:
    """One Dask task: ``client.map`` over a chunk, in this worker, on the shared ledger."""
    from .ledger import Ledger
    from .mapping import Failure
    from .results import Result

    try:
        from distributed import get_worker

        worker: str | None = get_worker().address
    except (ImportError, ValueError):
        worker = None
    out: list[WorkerOutcome] = []
    with spec.build() as client, Ledger(ledger) as book:
        requests = [(target, options) for _, target, options in chunk]
        run = client.map(
            requests,
            ledger=book,
            save_to=save_to,
            concurrency=concurrency,
            ordered=True,
            progress=False,
            retry_ambiguous=retry_ambiguous,
        )
        for (index, _, _), outcome in zip(chunk, run, strict=True):
            if isinstance(outcome, Result):
                entry = book.get(outcome.call.fingerprint)
                folder = entry.folder if entry is not None else None
                fp = outcome.call.fingerprint
                out.append(WorkerOutcome(index, True, "done", folder, None, fp, worker))
            else:
                assert isinstance(outcome, Failure)
                error = f"{type(outcome.error).__name__}: {outcome.error}"
                out.append(
                    WorkerOutcome(
                        index, False, outcome.status, None, error, outcome.fingerprint, worker
                    )
                )
    return out


def dask_map(
    requests: Iterable[Any],
    *,
    ledger: str | os.PathLike[str],
    dask_client: Any = None,
    client: ClientSpec | None = None,
    save_to: str | os.PathLike[str] | None = None,
    chunk_size: int = 10,
    concurrency: int = 4,
    retry_ambiguous: bool = False,
    **options: Any,
) -> list[WorkerOutcome]:
    """Run the requests over a Dask cluster's workers; one outcome per request, in order.

    Every request is compiled here first, so bad input raises ``ValidationError`` before any
    task is sent. The requests are split into chunks of ``chunk_size``; each chunk is one Dask
    task running ``client.map(..., ledger=ledger)`` in a worker.

    Args:
        requests: As for :meth:`imagewright.Client.map` (prompts, ``EditRequest`` objects,
            ``(request, {options})`` tuples or dicts). Paths must be readable by every worker.
        ledger: The shared ledger file (on a disk every worker sees).
        dask_client: A ``distributed.Client``; default: the current one (``get_client()``).
        client: How workers build their client (base URL, model...); the key comes from each
            worker's ``OPENAI_API_KEY``.
        save_to: A folder for the result folders (default: next to the ledger).
        chunk_size: Requests per Dask task.
        concurrency: Requests in flight per task.
        retry_ambiguous: Resend requests whose earlier attempt may have been billed, under the
            same ``Idempotency-Key`` (exactly once on servers that honour keys).
        **options: Body options shared by every request (``quality``, ``size``...).

    Raises:
        MissingExtraError: Dask is not installed (``pip install 'imagewright[dask]'``).
        ValidationError: A request would be refused; nothing was sent.

    Examples:
        >>> from distributed import Client as DaskClient, LocalCluster  # doctest: +SKIP
        >>> with LocalCluster(n_workers=2) as cluster, DaskClient(cluster) as dc:  # doctest: +SKIP
        ...     outcomes = dask_map(prompts, ledger="/shared/run.ledger", dask_client=dc)
    """
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError("Dask workers (dask_map)", "dask") from exc
    from ._map_items import compile_item, parse_item

    spec = client or ClientSpec()
    book = Path(ledger).resolve()
    items: list[tuple[int, Any, dict[str, Any]]] = []
    with spec.build() as local:  # compiles only: no key needed, no I/O
        for i, request in enumerate(requests):
            item = parse_item(i, request)
            fingerprint = compile_item(local, item, options).fingerprint
            own: dict[str, Any] = {**options, **item.options}
            own.setdefault("idempotency_key", _idempotency_key(book, fingerprint))
            if item.key is not None:
                own["key"] = item.key
            items.append((i, item.target, own))
    dc = dask_client if dask_client is not None else distributed.get_client()
    chunks = [items[k : k + max(1, chunk_size)] for k in range(0, len(items), max(1, chunk_size))]
    target = str(save_to) if save_to is not None else None
    futures = [
        dc.submit(
            _run_chunk, spec, chunk, str(book), target, concurrency, retry_ambiguous, pure=False
        )
        for chunk in chunks
    ]
    outcomes = [o for part in dc.gather(futures) for o in part]
    return sorted(outcomes, key=lambda o: o.index)
