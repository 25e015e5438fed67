"""``client.map``: many requests with bounded, adaptive concurrency, a ledger and a budget.

``client.map(requests, ...)`` (and ``async_client.map(...)``) returns a run that yields one
outcome per request: a :class:`~imagewright.results.Result`, or a :class:`Failure` that keeps
the request and says whether it may have been billed. After the last outcome,
``run.summary`` (a :class:`MapSummary`) gives the counts, the cost and the wall time.

Both clients run the same engine (:mod:`imagewright._map_engine`): an asyncio loop that
bounds the requests in flight, halves that bound when the API answers 429 and raises it again
step by step once they stop. The sync client runs the engine on a private event-loop thread
and sends each request with its own (sync) HTTP client from a thread pool.

With ``ledger=path`` every request is recorded by fingerprint in a
:class:`~imagewright.ledger.Ledger`: re-running a batch returns the results already paid for
from disk, never resends a request that may have been billed (unless ``retry_ambiguous``),
and processes sharing one ledger never send the same request twice.

Example:
    >>> import imagewright
    >>> with imagewright.Client.sandbox() as client:
    ...     run = client.map(["a red fox", "a blue whale"], size="1024x1024", progress=False)
    ...     outcomes = list(run)
    >>> [type(o).__name__ for o in outcomes], run.summary.succeeded
    (['Result', 'Result'], 2)
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .results import Result

if TYPE_CHECKING:
    from ._map_engine import Engine

__all__ = ["AsyncMapRun", "Failure", "MapRun", "MapSummary", "Outcome"]


@dataclass(frozen=True)
class Failure:
    """A request of a batch that produced no result; nothing about it is swallowed.

    Attributes:
        index: Its position in the batch.
        key: The caller's key for it, if any.
        request: The request exactly as given.
        error: What went wrong (an :class:`~imagewright.errors.ImagewrightError`, or another
            exception the request raised).
        may_have_been_billed: True when the request may have reached the API and been charged
            (the answer was lost after the body was sent, or a ledger says so).
        status: ``"failed"`` (certainly not billed), ``"ambiguous"`` (may have been billed; a
            ledger will not resend it without ``retry_ambiguous``) or ``"not_sent"`` (the
            budget stopped the batch before it was sent).
        fingerprint: The compiled call's fingerprint, when it compiled.
    """

    index: int
    key: str | None
    request: Any = field(repr=False)
    error: BaseException
    may_have_been_billed: bool
    status: Literal["failed", "ambiguous", "not_sent"]
    fingerprint: str | None = None


Outcome = Result | Failure
"""What ``map`` yields for each request."""


@dataclass(frozen=True)
class MapSummary:
    """What a finished ``map`` did.

    Attributes:
        requests: Requests the run took up: the whole batch, unless it was stopped early.
            Each has exactly one outcome, so ``requests == succeeded + reused + failed +
            ambiguous + len(not_sent) + stopped``.
        sent: Requests sent to the API by this run.
        succeeded: Results produced by this run's sends.
        reused: Results returned from the ledger (paid for by an earlier run), not sent.
        failed: Failures that were certainly not billed.
        ambiguous: Failures that may have been billed.
        not_sent: Indices of the requests the budget stopped (in input order).
        cost_usd: What this run's results cost, priced from their usage.
        wall_s: Seconds from the first request to the last outcome.
        throttled: 429 answers seen (each one was retried after its ``retry-after``).
        min_concurrency: The lowest bound on requests in flight (less than the start after
            429s).
        stopped: Requests taken up but not sent because the run was stopped early (the
            caller left the loop, or Ctrl-C).
    """

    requests: int
    sent: int
    succeeded: int
    reused: int
    failed: int
    ambiguous: int
    not_sent: tuple[int, ...]
    cost_usd: float
    wall_s: float
    throttled: int
    min_concurrency: int
    stopped: int = 0

    def __str__(self) -> str:
        lines = [
            f"{self.requests} requests in {self.wall_s:.1f} s: {self.succeeded} done, "
            f"{self.reused} from the ledger, {self.failed} failed, {self.ambiguous} ambiguous, "
            f"{len(self.not_sent)} not sent",
            f"cost ${self.cost_usd:.4f} for {self.sent} requests sent",
        ]
        if self.throttled:
            lines.append(
                f"{self.throttled} rate limits (429): concurrency went down to "
                f"{self.min_concurrency}"
            )
        if self.not_sent:
            shown = ", ".join(map(str, self.not_sent[:10]))
            more = ", ..." if len(self.not_sent) > 10 else ""
            lines.append(f"not sent (budget): requests {shown}{more}")
        if self.stopped:
            lines.append(f"stopped early: {self.stopped} requests taken up were not sent")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython and Jupyter show the summary's text, not the dataclass."""
        printer.text(str(self))


class _Run:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._started = False
        # The running generator, weakly: a loop left early must still let Python close it.
        self._gen: weakref.ref[Any] | None = None

    @property
    def summary(self) -> MapSummary:
        """Counts, cost and wall time; complete once every outcome was read."""
        return self._engine.summary()

    def _start(self) -> None:
        if self._started:
            raise RuntimeError("a map run can be iterated once; call map() again to re-run")
        self._started = True

    def _live(self) -> Any:
        """The run's generator if it is still open, else ``None``."""
        return self._gen() if self._gen is not None else None


class MapRun(_Run):
    """What :meth:`Client.map <imagewright.Client.map>` returns: iterate it for the outcomes.

    The batch starts on the first ``next()``; leaving the loop early (``break``, an
    exception, Ctrl-C) stops sending, lets the requests in flight finish and records them.
    """

    def __iter__(self) -> Iterator[Outcome]:
        self._start()
        gen = self._drive()
        self._gen = weakref.ref(gen)
        return gen

    def close(self) -> None:
        """Stop the run now: nothing more is sent, the requests in flight finish and are
        recorded, and :attr:`summary` is complete. ``with client.map(...) as run:`` does this
        on leaving the block; a ``break`` out of a ``for`` loop does it too."""
        gen = self._live()
        if gen is not None:
            gen.close()

    def __enter__(self) -> MapRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drive(self) -> Generator[Outcome, None, None]:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="imagewright-map", daemon=True)
        thread.start()
        outcomes = self._engine.run()
        future = None
        try:
            while True:
                future = asyncio.run_coroutine_threadsafe(_next(outcomes), loop)
                try:
                    item = future.result()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            # Interrupted while waiting for an outcome (Ctrl-C): cancel that wait; the run
            # then stops sending and lets the requests in flight finish, as on a break.
            if future is not None and not future.done():
                future.cancel()
            asyncio.run_coroutine_threadsafe(_close(outcomes), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            self._engine.close()


async def _next(outcomes: AsyncGenerator[Outcome, None]) -> Outcome:
    return await outcomes.__anext__()


async def _close(outcomes: AsyncGenerator[Outcome, None]) -> None:
    """Close the run once a cancelled wait for its next outcome has finished cleaning up."""
    while getattr(outcomes, "ag_running", False):  # its finally is still running
        await asyncio.sleep(0.01)
    await outcomes.aclose()


class AsyncMapRun(_Run):
    """What :meth:`AsyncClient.map <imagewright.AsyncClient.map>` returns.

    ``async for outcome in run`` streams the outcomes; ``await run`` collects them in a list.
    Leaving an ``async for`` loop early does not stop the run at once (Python closes an async
    generator later, on the event loop): use ``async with client.map(...) as run:``, or
    ``await run.aclose()``, to stop it there and then.
    """

    def __aiter__(self) -> AsyncIterator[Outcome]:
        self._start()
        gen = self._drive()
        self._gen = weakref.ref(gen)
        self._finished = asyncio.Event()
        return gen

    async def aclose(self) -> None:
        """Stop the run now: nothing more is sent, the requests in flight finish and are
        recorded, and :attr:`summary` is complete."""
        gen = self._live()
        if gen is not None:
            await gen.aclose()
        if self._engine.started:  # already being closed by Python: wait for it to end
            await self._finished.wait()

    async def __aenter__(self) -> AsyncMapRun:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _drive(self) -> AsyncGenerator[Outcome, None]:
        outcomes = self._engine.run()
        try:
            async for item in outcomes:
                yield item
        finally:
            await outcomes.aclose()
            self._engine.close()
            self._finished.set()

    def __await__(self) -> Generator[Any, None, list[Outcome]]:
        return self._collect().__await__()

    async def _collect(self) -> list[Outcome]:
        return [item async for item in self]
