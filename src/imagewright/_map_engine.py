"""The one engine behind ``Client.map`` and ``AsyncClient.map`` (see :mod:`imagewright.mapping`).

An asyncio loop drives every request: parse and compile it (in a worker thread), claim it in
the ledger, reserve its estimate against the budget, send it, save the result and record it.
Only sending differs between the clients: the async client awaits its own ``_send``; the sync
client runs its ``_send`` in a thread pool sized to the concurrency.
"""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import time
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._files import Seen
from ._map_items import Item, compile_item, located, parse_item, transport_options
from .errors import (
    BudgetExceededError,
    ConfigurationError,
    ImagewrightWarning,
    NotResentError,
    Problem,
    ValidationError,
)
from .ledger import Ledger
from .mapping import Failure, MapSummary, Outcome
from .pricing import Budget, estimate_call
from .results import Result

if TYPE_CHECKING:
    from ._transport import SendOptions
    from .calls import ApiCall
    from .client import BaseClient

__all__ = ["READS", "Engine", "Limiter", "read_gate"]

T = TypeVar("T")
Sender = Callable[["ApiCall", "SendOptions"], Awaitable[Result]]

_POLL_S = 0.2  # how often to look again at a request another process is sending
READS = 4
"""At most this many answers are read (and decoded) at once; the others wait, still in the
kernel's socket buffers. Answers that all arrive together (a batch sent at once to a server
that takes as long for each) would otherwise be read side by side, each growing its own
multi-megabyte buffer: at concurrency 64 and 2048x2048 images, 64 x 6.4 MB half-read at the
peak. Reading them a few at a time takes the same CPU, so the same time. (The sync client
reads on this many threads of its own: see ``SendOptions.read_pool``.)"""
_END = object()


class Limiter:
    """A bound on requests in flight: halved on a 429 (once per wave), then raised by one per
    success once no 429 came for twice the last ``retry-after``."""

    def __init__(self, limit: int) -> None:
        self.ceiling = self.limit = self.lowest = limit
        self.active = 0
        self.throttled = 0
        self._cond = asyncio.Condition()
        self._cut_at = -math.inf
        self._last_429 = -math.inf
        self._hold = 1.0

    async def acquire(self) -> None:
        """Wait for a free slot and take it."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.active < self.limit)
            self.active += 1

    async def release(self) -> None:
        """Give a slot back."""
        async with self._cond:
            self.active -= 1
            self._cond.notify_all()

    def on_status(self, status: int, retry_after: float | None) -> None:
        """The transport saw an error status (runs on the loop's thread)."""
        if status != 429:
            return
        now = time.monotonic()
        self.throttled += 1
        self._last_429 = now
        self._hold = max(retry_after if retry_after is not None else 1.0, 0.05)
        # The 429s of one wave arrive together: cut once for them, not once each.
        if now - self._cut_at >= self._hold:
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
            self._cut_at = now

    def on_success(self) -> None:
        """A request succeeded: recover one step when the 429s have stopped."""
        if self.limit < self.ceiling and time.monotonic() - self._last_429 >= 2 * self._hold:
            self.limit += 1


class Engine:
    """One batch: validated arguments, counters, and the coroutine that runs it."""

    def __init__(
        self,
        client: BaseClient,
        requests: Iterable[Any],
        *,
        threaded: bool,
        concurrency: int,
        ordered: bool,
        ledger: str | os.PathLike[str] | Ledger | None,
        budget: float | Budget | None,
        save_to: str | os.PathLike[str] | None,
        progress: bool,
        retry_ambiguous: bool,
        options: dict[str, Any],
    ) -> None:
        _check_args(concurrency, ordered, progress, retry_ambiguous, budget, save_to, ledger)
        if options.get("idempotency_key") is not None:
            raise ValidationError(
                Problem(
                    "idempotency_key",
                    options["idempotency_key"],
                    "one key shared by every request of a batch makes each of them a replay of "
                    "the first (the API answers a repeated key with the first answer)",
                    "no key (map gives each request its own, kept across its retries), or "
                    "one per request in its (request, {options}) tuple or dict",
                )
            )
        if isinstance(requests, (str, bytes)) or not isinstance(requests, Iterable):
            raise ValidationError(
                Problem(
                    "requests",
                    requests,
                    "map() takes an iterable of requests",
                    "a list of prompts, EditRequests, (request, {options}) tuples or dicts",
                )
            )
        self.client = client
        self.threaded = threaded
        self.concurrency = concurrency
        self.ordered = ordered
        self.retry_ambiguous = retry_ambiguous
        self.progress = progress
        self.options = options
        self.budget = Budget(budget) if isinstance(budget, (int, float)) else budget
        self.save_to = Path(save_to) if save_to is not None else None
        self._owns_ledger = ledger is not None and not isinstance(ledger, Ledger)
        self.ledger: Ledger | None = (
            ledger if isinstance(ledger, Ledger) or ledger is None else _open_ledger(ledger)
        )
        client._send_options(transport_options(_EMPTY, options))  # no key, bad retries: now
        self.total = len(requests) if isinstance(requests, Sequence) else None
        # A list is checked whole (cheap: no image is read); its first request is compiled,
        # so a mistake shared by every request is raised before anything is sent.
        self._requests = requests
        first = None
        if isinstance(requests, Sequence):
            parsed = [parse_item(i, r) for i, r in enumerate(requests)]
            for item in parsed:
                if item.options:
                    self._checked_options(item)  # a request's bad timeout: now, not later
            first = parsed[0] if parsed else None
        self._first = (0, compile_item(client, first, options)) if first is not None else None
        self.sent = self.succeeded = self.reused = self.failed = self.ambiguous = 0
        self.not_sent: list[int] = []
        self.stopped = 0
        self.cost_usd = 0.0
        self.requests = 0
        self._t0 = self._t1 = time.monotonic()
        self.started = False  # run() began: its finally will run
        self._stopped = False
        self._closing = False
        self.limiter: Limiter | None = None

    # ---- summary -------------------------------------------------------------------------

    def summary(self) -> MapSummary:
        """The counters as a :class:`MapSummary`."""
        limiter = self.limiter
        return MapSummary(
            requests=self.requests,
            sent=self.sent,
            succeeded=self.succeeded,
            reused=self.reused,
            failed=self.failed,
            ambiguous=self.ambiguous,
            not_sent=tuple(sorted(self.not_sent)),
            stopped=self.stopped,
            cost_usd=self.cost_usd,
            wall_s=(self._t1 if self._closing else time.monotonic()) - self._t0,
            throttled=limiter.throttled if limiter else 0,
            min_concurrency=limiter.lowest if limiter else self.concurrency,
        )

    def close(self) -> None:
        """Close the ledger if this batch opened it."""
        if self._owns_ledger and self.ledger is not None:
            self.ledger.close()

    # ---- the run -------------------------------------------------------------------------

    async def run(self) -> AsyncGenerator[Outcome, None]:
        """Yield one outcome per request (as they complete, or in order)."""
        from ._map_progress import Progress

        loop = asyncio.get_running_loop()
        self.started = True
        self.limiter = Limiter(self.concurrency)
        self._work = ThreadPoolExecutor(4, thread_name_prefix="imagewright-map-io")
        # Saves write megabytes and fsync them: their own threads, so that compiling and
        # claiming the next requests never waits behind a disk.
        self._saves = ThreadPoolExecutor(4, thread_name_prefix="imagewright-map-save")
        self._seen = Seen()  # inputs saved by this run (hard-linked when seen again)
        self._sender = self._make_sender(loop)
        self._reads = read_gate(self.threaded, min(self.concurrency, READS))
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=self.concurrency)
        self._emitted = 0
        self._sending: set[int] = set()  # requests that reached the API (may be billed)
        self._window = asyncio.Condition()
        self.bar = Progress(self, self.total, enabled=self.progress)
        self._t0 = time.monotonic()
        tasks: set[asyncio.Task[None]] = set()
        dispatcher = asyncio.create_task(self._dispatch(tasks))
        beat = asyncio.create_task(self._heartbeat()) if self.ledger is not None else None
        tick = asyncio.create_task(self.bar.ticking()) if self.bar.bar is not None else None
        buffer: dict[int, Outcome] = {}
        try:
            while (got := await self._queue.get()) is not _END:
                index, outcome = got
                self.bar.done(outcome)
                if not self.ordered:
                    yield outcome
                    continue
                buffer[index] = outcome
                while self._emitted in buffer:
                    out = buffer.pop(self._emitted)
                    async with self._window:
                        self._emitted += 1
                        self._window.notify_all()
                    yield out
        finally:
            self._closing = True
            dispatcher.cancel()
            # Requests in flight finish and are recorded; their outcomes are not yielded.
            while tasks or not dispatcher.done():
                while not self._queue.empty():
                    self._queue.get_nowait()
                await asyncio.wait([*tasks, dispatcher], timeout=0.05)
            for task in (beat, tick):
                if task is not None:
                    task.cancel()
            self._t1 = time.monotonic()
            self.bar.close()
            self._work.shutdown(wait=False)
            self._saves.shutdown(wait=False)
            if self._pool is not None:
                self._pool.shutdown(wait=False)
            if isinstance(self._reads, ThreadPoolExecutor):
                self._reads.shutdown(wait=False)

    def _make_sender(self, loop: asyncio.AbstractEventLoop) -> Sender:
        client: Any = self.client
        self._pool: ThreadPoolExecutor | None = None
        if not self.threaded:
            send: Sender = client._send
            return send
        # Make the lazily created HTTP client now: threads racing to create it would each
        # make one, and all but the last would leak their connections.
        client.http  # noqa: B018
        pool = self._pool = ThreadPoolExecutor(
            self.concurrency, thread_name_prefix="imagewright-map"
        )

        def threaded(call: ApiCall, opts: SendOptions) -> Awaitable[Result]:
            return loop.run_in_executor(pool, client._send, call, opts)

        return threaded

    async def _io(
        self, fn: Callable[..., T], *args: Any, pool: ThreadPoolExecutor | None = None, **kw: Any
    ) -> T:
        """Run blocking work (compile, disk, ledger) off the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool or self._work, lambda: fn(*args, **kw))

    async def _heartbeat(self) -> None:
        assert self.ledger is not None
        while True:
            await asyncio.sleep(self.ledger.lease / 3)
            await self._io(self.ledger.heartbeat)

    async def _dispatch(self, tasks: set[asyncio.Task[None]]) -> None:
        assert self.limiter is not None
        try:
            for index, request in enumerate(self._requests):
                try:
                    item: Item | Failure = parse_item(index, request)
                except ValidationError as exc:  # a generator's bad request: its own outcome
                    item = Failure(index, None, request, exc, False, "failed")
                if self.ordered:
                    await self._wait_window(index)
                await self.limiter.acquire()
                self.requests += 1  # taken up: it will have exactly one outcome
                task = asyncio.create_task(self._one(index, item))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            while tasks:
                await asyncio.wait(set(tasks))
        finally:
            if not self._closing:
                await self._queue.put(_END)

    async def _wait_window(self, index: int) -> None:
        """Ordered output: stay at most two concurrencies ahead of what was yielded, so the
        results waiting for a slow earlier one stay few."""
        async with self._window:
            await self._window.wait_for(lambda: index < self._emitted + 2 * self.concurrency)

    def _checked_options(self, item: Item) -> SendOptions:
        """The request's transport options (timeout, max_retries...), checked: a
        ``ValidationError`` naming ``requests[i]`` when one is refused."""
        try:
            return self.client._send_options(transport_options(item, self.options))
        except ValidationError as exc:
            raise located(exc, item, self.options) from exc
        except ConfigurationError as exc:
            own = transport_options(item, {})
            raise ValidationError(Problem(f"requests[{item.index}]", own, str(exc))) from exc

    async def _one(self, index: int, item: Item | Failure) -> None:
        assert self.limiter is not None
        try:
            try:
                outcome = item if isinstance(item, Failure) else await self._process(item)
            except Exception as exc:  # never a missing outcome: what went wrong is its failure
                billed = index in self._sending
                status: Any = "ambiguous" if billed else "failed"
                outcome = Failure(index, item.key, item.request, exc, billed, status)
            if isinstance(outcome, Failure):
                self._count_failure(outcome)
            if not self._closing:
                await self._queue.put((index, outcome))
        finally:
            self._sending.discard(index)
            await self.limiter.release()

    def _count_failure(self, failure: Failure) -> None:
        if failure.status == "not_sent":
            if isinstance(failure.error, BudgetExceededError):
                self.not_sent.append(failure.index)
            else:  # the run was stopped early (the caller left the loop, or Ctrl-C)
                self.stopped += 1
        elif failure.status == "ambiguous":
            self.ambiguous += 1
        else:
            self.failed += 1

    async def _process(self, item: Item) -> Outcome:
        def fail(exc: BaseException, billed: bool, status: Any, fp: str | None = None) -> Failure:
            return Failure(item.index, item.key, item.request, exc, billed, status, fp)

        try:
            call = await self._compiled(item)
            opts = self._checked_options(item)
        except Exception as exc:
            return fail(exc, False, "failed")
        fp = call.fingerprint
        if self.ledger is not None:
            early = await self._claim(item, fp)
            if early is not None:
                return early
        if self._closing:  # the caller left the loop: not sent, and not the budget's doing
            if self.ledger is not None:
                await self._io(self.ledger.release, fp)
            return fail(
                RuntimeError("the run was stopped before this request was sent"),
                False,
                "not_sent",
                fp,
            )
        try:
            if self._stopped:
                raise BudgetExceededError(
                    "the batch's budget was reached before this request; nothing was sent",
                    estimate_usd=0.0,
                    budget_usd=self.budget.limit_usd if self.budget else 0.0,
                    spent_usd=self.budget.spent_usd if self.budget else 0.0,
                )
            held = self.budget.reserve(estimate_call(call)) if self.budget else None
        except BudgetExceededError as exc:
            self._stopped = True
            if self.ledger is not None:
                await self._io(self.ledger.release, fp)
            return fail(exc, False, "not_sent", fp)
        return await self._send(item, call, opts, held, fail)

    async def _compiled(self, item: Item) -> ApiCall:
        if self._first is not None and self._first[0] == item.index:
            call = self._first[1]
            self._first = None
        else:
            call = await self._io(compile_item, self.client, item, self.options)
        await self._io(lambda: call.fingerprint)  # hashing the inputs: off the loop
        return call

    async def _claim(self, item: Item, fp: str) -> Failure | Result | None:
        """Claim ``fp``; a result or failure when it must not be sent by this run."""
        assert self.ledger is not None
        assert self.limiter is not None
        while True:
            claim = await self._io(
                self.ledger.claim, fp, item.key, retry_ambiguous=self.retry_ambiguous
            )
            if claim.status == "won":
                return None
            entry = claim.entry
            if claim.status == "done" and entry.folder:
                try:
                    result = await self._io(Result.load, entry.folder)
                except (OSError, ValueError) as exc:  # paid for, but its folder is gone
                    return Failure(item.index, item.key, item.request, exc, True, "ambiguous", fp)
                self.reused += 1
                return result
            if claim.status in ("ambiguous", "done"):
                err = NotResentError(fp, entry.error)
                return Failure(item.index, item.key, item.request, err, True, "ambiguous", fp)
            # Another process (or an identical request of this batch) is sending it: wait,
            # without holding a slot.
            await self.limiter.release()
            await asyncio.sleep(_POLL_S)
            await self.limiter.acquire()

    async def _send(
        self,
        item: Item,
        call: ApiCall,
        opts: SendOptions,
        held: Any,
        fail: Callable[..., Failure],
    ) -> Outcome:
        assert self.limiter is not None
        fp = call.fingerprint
        loop = asyncio.get_running_loop()
        limiter = self.limiter

        def seen(status: int, after: float | None) -> None:
            loop.call_soon_threadsafe(limiter.on_status, status, after)

        opts.on_status = seen
        if isinstance(self._reads, asyncio.Semaphore):
            opts.read_gate = self._reads
        else:
            opts.read_pool = self._reads
        if self.ledger is not None:
            await self._io(self.ledger.sending, fp)
        self._sending.add(item.index)
        self.sent += 1
        self.bar.in_flight(+1)
        try:
            result = await self._sender(call, opts)
        except asyncio.CancelledError:
            if self.ledger is not None:
                self.ledger.failed(fp, "cancelled while sending", may_have_been_billed=True)
            raise
        except BudgetExceededError as exc:  # the client's own budget refused it: not sent
            self.sent -= 1
            self._stopped = True
            if self.ledger is not None:
                await self._io(self.ledger.failed, fp, exc, may_have_been_billed=False)
            self.client._settle(held, error=exc)
            return fail(exc, False, "not_sent", fp)
        except Exception as exc:
            billed = _may_have_been_billed(exc)
            self.client._settle(held, error=exc)
            if self.ledger is not None:
                await self._io(self.ledger.failed, fp, exc, may_have_been_billed=billed)
            return fail(exc, billed, "ambiguous" if billed else "failed", fp)
        finally:
            self.bar.in_flight(-1)
        self.client._settle(held, result)
        limiter.on_success()
        self.succeeded += 1
        self.cost_usd += result.cost.total_usd if result.cost is not None else 0.0
        await self._record(item, result, fp)
        return result

    async def _record(self, item: Item, result: Result, fp: str) -> None:
        """Save the result (``save_to`` or the ledger's folder) and record it as done.

        The result is paid for: whatever fails here, it is still returned, with a warning. A
        ledger that cannot record it leaves its row ``sending``, which a re-run reports as
        ambiguous and does not resend."""
        folder = self._folder(item, fp)
        if folder is None:
            return
        problems: list[str] = []
        saved: Path | None = None
        try:
            saved = await self._io(
                _save,
                result,
                folder,
                overwrite=self.save_to is None,
                seen=self._seen,
                pool=self._saves,
            )
        except Exception as exc:
            problems.append(f"saving it failed: {type(exc).__name__}: {exc}")
        if self.ledger is not None:
            try:
                if saved is None:
                    note = f"paid for, but {problems[0]}"
                    await self._io(self.ledger.failed, fp, note, may_have_been_billed=True)
                else:
                    cost = result.cost.total_usd if result.cost is not None else None
                    await self._io(self.ledger.done, fp, folder=str(saved), cost_usd=cost)
            except Exception as exc:
                problems.append(f"the ledger could not record it: {type(exc).__name__}: {exc}")
        if problems:
            warnings.warn(
                f"map: request {item.name} was paid for and is returned, but "
                + "; ".join(problems)
                + (f" (folder {folder}/)" if saved is None else ""),
                ImagewrightWarning,
                stacklevel=1,
            )

    def _folder(self, item: Item, fp: str) -> Path | None:
        if self.save_to is not None:
            return self.save_to / item.name
        if self.ledger is not None:
            return self.ledger.path.with_name(self.ledger.path.name + ".results") / fp[:32]
        return None


_EMPTY = Item(0, None, None, "generate", None, {})


def _open_ledger(path: str | os.PathLike[str]) -> Ledger:
    try:
        return Ledger(path)
    except (sqlite3.Error, OSError) as exc:
        raise ValidationError(
            Problem(
                "ledger",
                str(path),
                f"cannot be opened as a ledger ({type(exc).__name__}: {exc})",
                "a new file (its folder is created), or a ledger an earlier map wrote",
            )
        ) from exc


def read_gate(threaded: bool, n: int) -> asyncio.Semaphore | ThreadPoolExecutor:
    """What lets ``n`` answers be read at once: a semaphore for the async client, ``n``
    threads that read for the sync client's sending threads (see ``SendOptions.read_pool``)."""
    if threaded:
        return ThreadPoolExecutor(n, thread_name_prefix="imagewright-map-read")
    return asyncio.Semaphore(n)


def _save(result: Result, folder: Path, *, overwrite: bool, seen: Seen) -> Path:
    """Save without replacing another request's result: a taken name gets the fingerprint.

    No diff and no contract checks: computing them (SSIM, and decoding every output) while
    results pile up was the cost of a ledger; a loaded result computes them when asked. An
    input already saved by this run is hard-linked, not written again (``seen``)."""
    from ._receipts import save_result

    lean: dict[str, Any] = {"pictures": False, "diff": False, "checks": False, "seen": seen}
    try:
        return save_result(result, folder, overwrite=overwrite, **lean)
    except FileExistsError:
        other = folder.with_name(f"{folder.name}-{result.call.fingerprint[:8]}")
        return save_result(result, other, overwrite=True, **lean)


def _may_have_been_billed(exc: BaseException) -> bool:
    from .client import _not_billed

    return not _not_billed(exc)


def _is_money(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _check_args(
    concurrency: object,
    ordered: object,
    progress: object,
    retry_ambiguous: object,
    budget: object,
    save_to: object,
    ledger: object,
) -> None:
    problems: list[Problem] = []
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        problems.append(Problem("concurrency", concurrency, "must be an integer", "1 or more"))
    for name, value in (("ordered", ordered), ("progress", progress)):
        if not isinstance(value, bool):
            problems.append(Problem(name, value, "must be a bool", "True or False"))
    if not isinstance(retry_ambiguous, bool):
        problems.append(Problem("retry_ambiguous", retry_ambiguous, "must be a bool"))
    if budget is not None and not isinstance(budget, Budget) and not _is_money(budget):
        problems.append(
            Problem("budget", budget, "a spending limit", "US dollars >= 0, or a Budget")
        )
    for name, value in (("save_to", save_to), ("ledger", ledger)):
        if value is not None and not isinstance(value, (str, os.PathLike, Ledger)):
            problems.append(Problem(name, value, "must be a folder or file path", "str or Path"))
    if isinstance(save_to, (str, os.PathLike)) and Path(save_to).is_file():
        problems.append(
            Problem("save_to", str(save_to), "is a file, not a folder", "a folder path")
        )
    if isinstance(ledger, (str, os.PathLike)) and Path(ledger).is_dir():
        problems.append(
            Problem("ledger", str(ledger), "is a folder", "a file path, e.g. 'run.ledger'")
        )
    if isinstance(save_to, Ledger):
        problems.append(Problem("save_to", save_to, "must be a folder path", "str or Path"))
    if problems:
        raise ValidationError(problems)
