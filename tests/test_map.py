"""``client.map`` on both clients, against the sandbox: outcomes, faults, budget, order, ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import imagewright
from imagewright import Failure, MapSummary, Result

from .conftest import AnyClient


async def run_map(client: AnyClient, requests: Any, **kw: Any) -> tuple[list[Any], MapSummary]:
    run = client.client.map(requests, progress=False, **kw)
    outs = [o async for o in run] if client.is_async else list(run)
    return outs, run.summary


def prompts(n: int, tag: str = "") -> list[str]:
    return [f'a sign that says "{tag}{i}"' for i in range(n)]


def prompt_of(outcome: Any) -> str:
    return outcome.call.prompt if isinstance(outcome, Result) else outcome.request


async def test_every_request_gets_one_outcome_under_a_fault_script(make_client: Any) -> None:
    # A 429 storm on the first wave, then resets before and after the body, and 5xx.
    script = ["429"] * 8 + ["reset_before", "500", "reset_after", "503", "429", None]
    script += ["reset_after", "500"]
    client = make_client.sandbox(faults=script, retry_after=0.05)
    requests = prompts(24)
    outs, summary = await run_map(client, requests, concurrency=8, quality="low", max_retries=6)
    sandbox = client.client.sandbox_engine
    assert sorted(map(prompt_of, outs)) == sorted(requests)  # exactly one outcome each
    failures = [o for o in outs if isinstance(o, Failure)]
    assert len(failures) == 2  # the two resets after the body: not retried, maybe billed
    assert all(f.may_have_been_billed and f.status == "ambiguous" for f in failures)
    assert all(isinstance(f.error, imagewright.APIConnectionError) for f in failures)
    # Every request was billed exactly once, the ambiguous ones included: none twice.
    assert sandbox.billed_images == len(requests)
    assert (summary.succeeded, summary.ambiguous, summary.sent) == (22, 2, 24)
    assert summary.throttled == 9
    assert summary.min_concurrency <= 4  # halved by the storm


async def test_the_first_429_wave_halves_concurrency_once(make_client: Any) -> None:
    client = make_client.sandbox(faults=["429"] * 4, retry_after=0.05)
    _, summary = await run_map(client, prompts(8), concurrency=4, quality="low")
    assert summary.throttled == 4
    assert summary.min_concurrency == 2  # one wave, one halving (not 4 -> 1)
    assert summary.succeeded == 8


async def test_ordered_and_unordered(make_client: Any) -> None:
    client = make_client.sandbox()
    slow = {"extra_headers": {"X-Sandbox-Latency": "0.4"}}
    requests: list[Any] = [(p, slow) if i == 0 else p for i, p in enumerate(prompts(6))]
    outs, _ = await run_map(client, requests, concurrency=6, quality="low")
    assert prompt_of(outs[-1]) == prompts(6)[0]  # as completed: the slow one comes last
    outs, _ = await run_map(client, requests, concurrency=6, quality="low", ordered=True)
    assert [prompt_of(o) for o in outs] == prompts(6)


async def test_budget_stops_sending_and_says_what_was_not_sent(make_client: Any) -> None:
    client = make_client.sandbox()
    one = client.client.estimate(prompts(1)[0], quality="low", size="1024x1024").high_usd
    outs, summary = await run_map(
        client, prompts(10), concurrency=1, quality="low", size="1024x1024", budget=one * 3.5
    )
    sandbox = client.client.sandbox_engine
    assert summary.succeeded == sandbox.billed_images == 3
    assert summary.not_sent == (3, 4, 5, 6, 7, 8, 9)
    unsent = [o for o in outs if isinstance(o, Failure)]
    assert [f.index for f in unsent] == list(summary.not_sent)
    assert all(f.status == "not_sent" and not f.may_have_been_billed for f in unsent)
    assert all(isinstance(f.error, imagewright.BudgetExceededError) for f in unsent)
    assert summary.cost_usd <= one * 3.5
    assert "not sent (budget): requests 3, 4" in str(summary)


async def test_the_clients_own_budget_stops_a_map_like_budget_does(make_client: Any) -> None:
    one = imagewright.Client.sandbox().estimate(prompts(1)[0], quality="low", size="1024x1024")
    client = make_client.sandbox()
    client.client.budget = imagewright.Budget(one.high_usd * 2.5)
    outs, summary = await run_map(
        client, prompts(6), concurrency=1, quality="low", size="1024x1024", ordered=True
    )
    assert summary.succeeded == client.client.sandbox_engine.billed_images == 2
    assert summary.sent == 2  # what reached the API, not what the client refused
    assert summary.not_sent == (2, 3, 4, 5)
    assert all(o.status == "not_sent" for o in outs[2:])
    assert summary.failed == 0


async def test_ledger_rerun_returns_paid_results_from_disk(
    make_client: Any, tmp_path: Path
) -> None:
    client = make_client.sandbox()
    ledger = tmp_path / "batch.ledger"
    first, s1 = await run_map(client, prompts(5), ledger=ledger, quality="low")
    again, s2 = await run_map(client, prompts(5), ledger=ledger, quality="low")
    assert client.client.sandbox_engine.billed_images == 5
    assert (s1.sent, s2.sent, s2.reused) == (5, 0, 5)
    assert sorted(o.output.data for o in again) == sorted(o.output.data for o in first)


async def test_identical_requests_in_one_batch_are_sent_once_with_a_ledger(
    make_client: Any, tmp_path: Path
) -> None:
    client = make_client.sandbox()
    outs, summary = await run_map(client, ["a fox"] * 4, ledger=tmp_path / "l", quality="low")
    assert client.client.sandbox_engine.billed_images == 1
    assert (summary.sent, summary.reused) == (1, 3)
    assert len({o.output.data for o in outs}) == 1


async def test_ambiguous_failures_are_not_resent_unless_asked(
    make_client: Any, tmp_path: Path
) -> None:
    client = make_client.sandbox(faults=["reset_after"])
    ledger = tmp_path / "l"
    (failure,), _ = await run_map(client, ["a fox"], ledger=ledger)
    assert failure.may_have_been_billed
    (again,), summary = await run_map(client, ["a fox"], ledger=ledger)
    assert isinstance(again.error, imagewright.NotResentError)
    assert "retry_ambiguous=True" in str(again.error)
    assert summary.sent == 0
    (result,), summary = await run_map(client, ["a fox"], ledger=ledger, retry_ambiguous=True)
    assert isinstance(result, Result)
    assert client.client.sandbox_engine.billed_images == 2  # the caller chose to pay again


async def test_save_to_names_folders_by_key_or_index(make_client: Any, tmp_path: Path) -> None:
    client = make_client.sandbox()
    requests = ["a fox", {"prompt": "an owl", "key": "owl"}, ("a cat", {"quality": "low"})]
    outs, _ = await run_map(client, requests, save_to=tmp_path / "out", ordered=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["000000", "000002", "owl"]
    loaded = Result.load(tmp_path / "out" / "owl")
    assert loaded.output.data == outs[1].output.data
    assert loaded.quality is not None


async def test_bad_folders_are_refused_and_an_unsaved_result_says_so(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imagewright import _map_engine

    client = make_client.sandbox()
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(imagewright.ValidationError, match=r"save_to=.*a-file.*not a folder"):
        client.client.map(["a fox"], save_to=tmp_path / "a-file")
    with pytest.raises(imagewright.ValidationError, match=r"ledger=.*a-file.*ledger"):
        client.client.map(["a fox"], ledger=tmp_path / "a-file")
    with pytest.raises(imagewright.ValidationError, match=r"ledger=.*a folder"):
        client.client.map(["a fox"], ledger=tmp_path)
    assert client.client.sandbox_engine.requests == 0

    def disk_full(*args: Any, **kwargs: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_map_engine, "_save", disk_full)
    with pytest.warns(imagewright.ImagewrightWarning, match="returned, but saving.*No space left"):
        (result,), _ = await run_map(client, ["a fox"], save_to=tmp_path / "out", quality="low")
    assert isinstance(result, Result)  # paid for: still returned


async def test_a_ledger_that_cannot_record_a_paid_result_still_returns_it(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from imagewright.ledger import Ledger

    def locked(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Ledger, "done", locked)
    client = make_client.sandbox()
    path = tmp_path / "run.ledger"
    with pytest.warns(imagewright.ImagewrightWarning, match="ledger could not record.*locked"):
        outs, summary = await run_map(client, ["a fox"], ledger=path, quality="low")
    assert isinstance(outs[0], Result)  # paid for: returned, not turned into a failure
    assert (summary.succeeded, summary.ambiguous, summary.failed) == (1, 0, 0)
    with Ledger(path) as ledger:  # left "sending": a re-run calls it ambiguous, never resends
        (entry,) = ledger.entries()
        assert entry.status == "sending"


async def test_edits_and_per_request_options(make_client: Any, image_files: list[Path]) -> None:
    client = make_client.sandbox()
    requests = [
        imagewright.EditRequest(image_files[0], "add a hat"),
        {"prompt": "add a hat", "images": image_files[1], "key": "b"},
        ("a fox", {"size": "1536x1024"}),
    ]
    outs, _ = await run_map(client, requests, ordered=True, quality="low")
    assert [o.kind for o in outs] == ["edit", "edit", "generate"]
    assert outs[2].output.size == (1536, 1024)


async def test_bad_arguments_are_refused_before_anything_is_sent(make_client: Any) -> None:
    client = make_client.sandbox()
    with pytest.raises(imagewright.ValidationError, match="concurrency=0") as info:
        client.client.map(["a fox"], concurrency=0)
    assert "1 or more" in str(info.value)
    with pytest.raises(imagewright.ValidationError, match=r"requests\[1\]\.key='\.\./x'"):
        client.client.map(["a fox", ("an owl", {"key": "../x"})])
    with pytest.raises(imagewright.ValidationError, match="size"):
        client.client.map(["a fox", "an owl"], size="13x13")
    with pytest.raises(imagewright.ValidationError, match=r"requests\[0\]"):
        client.client.map([42])
    # A request's own problem names the request; a shared keyword option keeps its name.
    with pytest.raises(imagewright.ImageInputError, match=r"^requests\[0\]\.image=.*not an image"):
        client.client.map([{"prompt": "a hat", "images": b"not an image"}, "a fox"])
    with pytest.raises(imagewright.ValidationError, match=r"^size='13x13'"):
        client.client.map(["a fox"], size="13x13")
    with pytest.raises(imagewright.ValidationError, match=r"^requests\[0\]\.size='13x13'"):
        client.client.map([("a fox", {"size": "13x13"})], size="1024x1024")
    with pytest.raises(imagewright.ValidationError, match=r"idempotency_key='k1'.*replay"):
        client.client.map(["a fox", "an owl"], idempotency_key="k1")
    assert client.client.sandbox_engine.requests == 0
    # Later requests are read as they are sent: a bad one is its own failure, named.
    outs, _ = await run_map(client, ["a fox", {"prompt": "a hat", "images": b"not an image"}])
    (failure,) = [o for o in outs if isinstance(o, Failure)]
    assert isinstance(failure.error, imagewright.ImageInputError)
    assert str(failure.error).startswith("requests[1].image=")
    assert not failure.may_have_been_billed
    # A key per request is the caller's to give.
    outs, _ = await run_map(client, [("a fox", {"idempotency_key": "fox-1"})], quality="low")
    assert isinstance(outs[0], Result)


async def test_a_bad_request_in_a_generator_is_its_own_failure(make_client: Any) -> None:
    client = make_client.sandbox()
    requests = (r for r in ["a fox", 42, "an owl"])
    outs, summary = await run_map(client, requests, quality="low", ordered=True)
    assert isinstance(outs[1], Failure)
    assert outs[1].index == 1
    assert not outs[1].may_have_been_billed
    assert (summary.requests, summary.succeeded, summary.failed) == (3, 2, 1)


async def test_a_request_with_a_bad_transport_option_is_refused_or_its_own_failure(
    make_client: Any,
) -> None:
    client = make_client.sandbox()
    # In a list: refused before anything is sent, naming the request.
    for bad in ({"timeout": "x"}, {"max_retries": -3}, {"verify_text": True}):
        with pytest.raises(imagewright.ValidationError, match=r"requests\[1\]"):
            client.client.map(["a fox", ("an owl", bad)], progress=False)
    assert client.client.sandbox_engine.requests == 0
    # From a generator: its own failure (not sent), never a missing outcome.
    requests = (r for r in ["a fox", ("an owl", {"timeout": "x"}), "a cat"])
    outs, summary = await run_map(client, requests, quality="low", ordered=True)
    assert [type(o).__name__ for o in outs] == ["Result", "Failure", "Result"]
    assert outs[1].status == "failed"
    assert not outs[1].may_have_been_billed
    assert "timeout" in str(outs[1].error)
    assert (summary.requests, summary.sent, summary.succeeded, summary.failed) == (3, 2, 2, 1)


async def test_a_ledger_that_fails_mid_batch_still_gives_one_outcome_per_request(
    make_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from imagewright.ledger import Ledger

    def broken(self: Ledger, fingerprint: str) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Ledger, "sending", broken)
    client = make_client.sandbox()
    outs, summary = await run_map(client, prompts(3), ledger=tmp_path / "l", quality="low")
    assert len(outs) == 3
    assert all(isinstance(o, Failure) and o.status == "failed" for o in outs)
    assert all("disk I/O error" in str(o.error) for o in outs)
    assert summary.failed == 3
    assert client.client.sandbox_engine.requests == 0


async def test_stopping_early_keeps_what_was_paid_for(make_client: Any, tmp_path: Path) -> None:
    client = make_client.sandbox(latency=0.05)
    ledger = tmp_path / "l"
    run = client.client.map(prompts(12), ledger=ledger, concurrency=4, progress=False)
    if client.is_async:
        async with run:  # stopped on leaving the block, in-flight requests recorded
            async for _ in run:
                break
    else:
        for _ in run:
            break
    billed = client.client.sandbox_engine.billed_images
    assert 1 <= billed < 12
    # Everything billed was recorded and is returned from disk, not sent again.
    _, summary = await run_map(client, prompts(12), ledger=ledger, concurrency=4)
    assert summary.reused == billed
    assert client.client.sandbox_engine.billed_images == 12


async def test_stopping_early_does_not_blame_the_budget(make_client: Any) -> None:
    client = make_client.sandbox(latency=0.1)
    run = client.client.map(prompts(24), concurrency=4, progress=False, quality="low")
    if client.is_async:
        async with run:  # stops the run on leaving the block, as a sync break does
            async for _ in run:
                break
    else:
        with run:
            for _ in run:
                break
    summary = run.summary
    assert summary.sent == client.client.sandbox_engine.requests
    assert summary.not_sent == ()  # no budget was set: the caller stopped the run
    assert "budget" not in str(summary)
    # Every request taken up is counted once, the ones dropped at the stop included.
    counted = summary.succeeded + summary.reused + summary.failed + summary.ambiguous
    assert summary.requests == counted + len(summary.not_sent) + summary.stopped
    assert summary.requests < 24
    if summary.stopped:
        assert f"stopped early: {summary.stopped} requests" in str(summary)


async def test_a_run_left_early_can_be_closed_and_its_summary_is_then_complete(
    make_client: Any,
) -> None:
    client = make_client.sandbox(latency=0.1)
    run = client.client.map(prompts(24), concurrency=4, progress=False, quality="low")
    if client.is_async:
        async for _ in run:
            break
        await run.aclose()  # whether or not Python has begun closing it already
        await run.aclose()  # twice is harmless
    else:
        for _ in run:
            break
        run.close()
    summary = run.summary
    sent = client.client.sandbox_engine.requests
    assert summary.sent == sent < 24  # nothing more goes out once closed
    counted = summary.succeeded + summary.failed + summary.ambiguous + summary.stopped
    assert summary.requests == counted
    if client.is_async:
        import asyncio

        await asyncio.sleep(0.3)
    assert client.client.sandbox_engine.requests == sent


def test_a_summary_shows_its_text_in_a_notebook() -> None:
    pretty = pytest.importorskip("IPython.lib.pretty")
    summary = MapSummary(
        requests=3,
        sent=2,
        succeeded=1,
        reused=1,
        failed=0,
        ambiguous=1,
        not_sent=(),
        cost_usd=0.5,
        wall_s=2.0,
        throttled=0,
        min_concurrency=4,
    )
    shown = pretty.pretty(summary)
    assert shown == str(summary)
    assert shown.startswith("3 requests in 2.0 s: 1 done, 1 from the ledger")


async def test_ctrl_c_stops_the_run_and_keeps_what_was_paid_for(
    make_client: Any, tmp_path: Path
) -> None:
    import asyncio
    import os
    import signal
    import threading

    client = make_client.sandbox(latency=0.3)
    ledger = tmp_path / "l"
    run = client.client.map(prompts(12), ledger=ledger, concurrency=4, progress=False)
    got: list[Any] = []
    if client.is_async:  # Ctrl-C in asyncio.run cancels the task iterating the run

        async def consume() -> None:
            async for outcome in run:
                got.append(outcome)

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.45)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        # A plain script's Ctrl-C (the test's event loop has its own SIGINT handler)
        handler = signal.signal(signal.SIGINT, signal.default_int_handler)
        timer = threading.Timer(0.45, os.kill, (os.getpid(), signal.SIGINT))
        try:
            timer.start()
            with pytest.raises(KeyboardInterrupt):
                got.extend(run)
        finally:
            timer.join()
            signal.signal(signal.SIGINT, handler)
        assert not [t for t in threading.enumerate() if t.name == "imagewright-map"]
    billed = client.client.sandbox_engine.billed_images
    assert len(got) < billed < 12  # requests in flight at the Ctrl-C finished and are kept
    _, summary = await run_map(client, prompts(12), ledger=ledger, concurrency=4)
    assert summary.reused == billed
    assert summary.ambiguous == 0
    assert client.client.sandbox_engine.billed_images == 12


async def test_map_saves_edits_without_computing_the_diff_and_load_recomputes_it(
    make_client: Any, image_files: list[Path], tmp_path: Path
) -> None:
    client = make_client.sandbox()
    request = imagewright.EditRequest(image_files[0], "add a hat")
    (result,), _ = await run_map(client, [request], save_to=tmp_path / "out", quality="low")
    assert "diffs" not in result.__dict__  # saving did not compute the diff (no SSIM)
    assert "checks" not in result.__dict__  # nor decode the output for the contract checks
    folder = tmp_path / "out" / "000000"
    assert not list(folder.glob("diff-*.png"))
    assert not list(folder.glob("compare-*.png"))
    loaded = Result.load(folder)
    assert loaded.diff is not None
    assert result.diff is not None
    assert loaded.diff.to_dict() == result.diff.to_dict()


def test_save_diff_false_skips_the_diff_pictures_and_metrics(
    image_files: list[Path], tmp_path: Path
) -> None:
    import json

    with imagewright.Client.sandbox() as client:
        result = client.edit(image_files[0], "add a hat", quality="low")
    result.save(tmp_path / "lean", diff=False)
    result.save(tmp_path / "full")
    receipt = json.loads((tmp_path / "lean" / "result.json").read_text())
    assert receipt["metrics"] is None
    assert receipt["pictures"] == {"diff": [], "compare": []}
    assert {p.name for p in (tmp_path / "full").iterdir()} - {
        p.name for p in (tmp_path / "lean").iterdir()
    } == {"diff-0.png", "compare-0.png"}
    lean, full = Result.load(tmp_path / "lean").diff, Result.load(tmp_path / "full").diff
    assert lean is not None
    assert full is not None
    assert lean.to_dict() == full.to_dict()


def test_save_checks_false_leaves_the_checks_to_the_loaded_result(
    image_files: list[Path], tmp_path: Path
) -> None:
    import json

    with imagewright.Client.sandbox() as client:
        result = client.edit(image_files[0], "add a hat", quality="low", size="1024x1536")
    result.save(tmp_path / "lean", checks=False)
    assert json.loads((tmp_path / "lean" / "result.json").read_text())["checks"] is None
    loaded = Result.load(tmp_path / "lean")
    assert [c.to_dict() for c in loaded.checks] == [c.to_dict() for c in result.checks]
    # Checks already run are kept: checks=False only avoids new work.
    result.save(tmp_path / "kept", checks=False)
    kept = json.loads((tmp_path / "kept" / "result.json").read_text())["checks"]
    assert kept == [c.to_dict() for c in result.checks]


async def test_a_source_edited_many_times_is_stored_once(
    make_client: Any, image_files: list[Path], tmp_path: Path
) -> None:
    client = make_client.sandbox()
    requests = [imagewright.EditRequest(image_files[0], f"variation {i}") for i in range(4)]
    results, _ = await run_map(client, requests, save_to=tmp_path / "out", quality="low")
    sources = sorted((tmp_path / "out").glob("*/source-0.*"))
    assert len(sources) == 4
    # One file on disk, four names: the source was written once and hard-linked.
    assert len({p.stat().st_ino for p in sources}) == 1
    assert sources[0].stat().st_nlink == 4
    sent = results[0].call.images[0].data
    for folder in sorted((tmp_path / "out").iterdir()):
        loaded = Result.load(folder)  # the sha256 checks pass through the links
        assert loaded.call.images[0].data == sent


def test_a_linked_input_is_not_reused_once_its_file_was_replaced(tmp_path: Path) -> None:
    from imagewright._files import Seen, write_once

    seen = Seen()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    write_once(tmp_path / "a" / "s.png", b"first", "d1", seen)
    write_once(tmp_path / "b" / "s.png", b"first", "d1", seen)
    assert (tmp_path / "b" / "s.png").stat().st_ino == (tmp_path / "a" / "s.png").stat().st_ino
    # Someone writes other bytes over the first file (a new inode): it is no longer a copy.
    (tmp_path / "a" / "s.png").unlink()
    (tmp_path / "a" / "s.png").write_bytes(b"other")
    write_once(tmp_path / "c" / "s.png", b"first", "d1", seen)
    assert (tmp_path / "c" / "s.png").read_bytes() == b"first"
    assert (tmp_path / "b" / "s.png").read_bytes() == b"first"


async def test_answers_are_read_a_few_at_a_time(make_client: Any, monkeypatch: Any) -> None:
    # Answers that arrive together are read by at most READS requests at once (the rest wait
    # in the socket buffers), so a batch's memory is not concurrency x answer size. The sync
    # client reads on the run's own few threads, not on its 64 sending threads.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from imagewright import _map_engine

    seen: dict[str, Any] = {"reads": 0, "now": 0, "most": 0, "threads": set()}
    lock = threading.Lock()

    def count(delta: int) -> None:
        with lock:
            seen["now"] += delta
            seen["most"] = max(seen["most"], seen["now"])
            seen["reads"] += delta > 0
            seen["threads"].add(threading.current_thread().name)

    made: list[int] = []
    real = _map_engine.read_gate

    def gate(threaded: bool, n: int) -> Any:
        made.append(n)
        made_gate = real(threaded, 2)
        if isinstance(made_gate, ThreadPoolExecutor):
            submit = made_gate.submit

            def counted_submit(fn: Any) -> Any:
                def counted() -> Any:
                    count(+1)
                    try:
                        return fn()
                    finally:
                        count(-1)

                return submit(counted)

            made_gate.submit = counted_submit  # type: ignore[method-assign]
            return made_gate
        acquire, release = made_gate.acquire, made_gate.release

        async def counted_acquire() -> bool:
            got = await acquire()
            count(+1)
            return got

        def counted_release() -> None:
            count(-1)
            release()

        made_gate.acquire = counted_acquire  # type: ignore[method-assign]
        made_gate.release = counted_release  # type: ignore[method-assign]
        return made_gate

    monkeypatch.setattr(_map_engine, "read_gate", gate)
    client = make_client.sandbox(latency=0.2)
    _, summary = await run_map(client, prompts(12), concurrency=6, quality="low")
    assert summary.succeeded == 12
    assert made == [min(6, _map_engine.READS)]  # never more readers than requests in flight
    assert seen["reads"] == 12  # every answer was read under the gate...
    assert 1 <= seen["most"] <= 2  # ...and never more than its size at once
    assert seen["now"] == 0
    if not client.is_async:  # read by the run's reading threads, not the sending ones
        assert all(name.startswith("imagewright-map-read") for name in seen["threads"])


async def test_the_progress_bar_shows_requests_in_flight_before_any_outcome(
    make_client: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every count
    client = make_client.sandbox(latency=1.2)
    run = client.client.map(prompts(3), concurrency=3, quality="low")  # progress on: default
    outs = [o async for o in run] if client.is_async else list(run)
    assert len(outs) == 3
    err = capsys.readouterr().err
    assert "imagewright map" in err
    # All three were in flight for 1.2 s before the first came back, and the bar said so.
    assert "in_flight=3" in err
    assert "ok=3" in err
