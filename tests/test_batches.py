"""client.batches end to end on the sandbox, on both clients: submit, wait, collect, failed
lines, cancellation, expiry, splitting, budgets, and resuming from a saved handle in a new
process (and from the CLI)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import imagewright
from imagewright import (
    BatchJob,
    BatchLineError,
    BatchNotFinishedError,
    BudgetExceededError,
    EditRequest,
    FileRef,
    Mask,
    Result,
    ValidationError,
)
from imagewright._batch_lines import Line, by_reference, line_json
from imagewright._compile import compile_edit, compile_generate
from imagewright.sandbox import Sandbox, SandboxServer

from .conftest import AnyClient, png_bytes

SRC = str(Path(__file__).resolve().parents[1] / "src")


async def _do(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _client_on(make_client: Any, engine: Sandbox) -> AnyClient:
    cls = imagewright.AsyncClient if make_client.kind == "async" else imagewright.Client
    return AnyClient(cls.sandbox(engine))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


# ---- the JSONL lines (pure) -----------------------------------------------------------------

GOLDEN_GENERATE_LINE = (
    '{"custom_id":"poster-1","method":"POST","url":"/v1/images/generations",'
    '"body":{"prompt":"a poster that says \\"SALE\\"","model":"gpt-image-2","quality":"low",'
    '"size":"1024x1536"}}\n'
)
GOLDEN_EDIT_LINE = (
    '{"custom_id":"shoe-1","method":"POST","url":"/v1/images/edits",'
    '"body":{"prompt":"put the shoe on a beach","images":[{"file_id":"file-photo1"}],'
    '"mask":{"file_id":"file-mask1"},"model":"gpt-image-2","quality":"medium"}}\n'
)


def test_jsonl_line_goldens() -> None:
    gen = compile_generate(
        'a poster that says "SALE"', model="gpt-image-2", quality="low", size="1024x1536"
    )
    assert line_json(Line("poster-1", gen)).decode() == GOLDEN_GENERATE_LINE

    local = compile_edit(
        EditRequest(
            png_bytes((64, 64)), "put the shoe on a beach", mask=Mask.box((64, 64), (0, 0, 32, 64))
        ),
        model="gpt-image-2",
        quality="medium",
    )
    ref = by_reference(local, ["file-photo1"], "file-mask1")
    assert line_json(Line("shoe-1", ref)).decode() == GOLDEN_EDIT_LINE
    assert ref.images == local.images, "the local source stays on the call for the diff"
    # The same body as an edit written by reference from the start.
    direct = compile_edit(
        EditRequest(FileRef("file-photo1"), "put the shoe on a beach", mask=FileRef("file-mask1")),
        model="gpt-image-2",
        quality="medium",
    )
    assert direct.json_body() == ref.json_body()


# ---- end to end -----------------------------------------------------------------------------


async def test_submit_wait_collect(make_client) -> None:  # type: ignore[no-untyped-def]
    """40 product photos are uploaded once each however many lines use them (here 2 photos
    over 4 edits), failed lines come back typed, and every request gets its answer in order."""
    client = make_client.sandbox()
    engine = client.client.sandbox_engine
    shoe, bag = png_bytes((96, 64), (200, 0, 0)), png_bytes((96, 64), (0, 0, 200))
    mask = Mask.box((96, 64), (0, 0, 48, 64))
    requests = [
        'a poster that says "ONE"',
        EditRequest(shoe, "put it on a beach", mask=mask),
        EditRequest(bag, "put it on a beach", mask=mask),
        ("shoe-snow", EditRequest(shoe, "put it in the snow", mask=mask)),
        EditRequest(bag, "put it in the snow"),
        "sandbox:fail this one",
    ]
    job = await _do(client.client.batches.submit(requests, quality="low"))
    assert len(job.ids) == 2, "generations and edits go to separate batches"
    assert job.estimate_usd > 0

    status = await _do(job.wait(progress=False, poll=0.01))
    assert status.status == "completed"
    assert (status.total, status.completed, status.failed) == (6, 5, 1)

    items = await _do(job.results())
    assert len(items) == 6
    assert job.custom_ids[3] == "shoe-snow"
    assert [type(x).__name__ for x in items] == ["Result"] * 5 + ["BatchLineError"]
    edits = items[1:4]
    for result in edits:
        assert isinstance(result, Result)
        assert result.source is not None, "the local source is kept for the proof"
        assert result.mask is not None
        assert result.preserved, "the sandbox edits only the mask's editable area"
        assert result.cost is not None
    failed = items[5]
    assert isinstance(failed, BatchLineError)
    assert failed.code == "server_error"
    assert "sandbox:fail" in failed.message

    assert engine.files.uploads == 2 + 1 + 2, "two photos, one mask, two JSONL files"
    assert engine.billed_images == 5, "each successful line billed once"


async def test_every_line_is_validated_before_anything_is_uploaded(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    requests = [
        EditRequest(png_bytes(), "fine"),
        "also fine",
        EditRequest(b"not an image", "broken"),
    ]
    with pytest.raises(ValidationError) as info:
        await _do(client.client.batches.submit(requests, size="999x7"))
    params = [p.param for p in info.value.problems]
    assert "requests[0].size" in params
    assert "requests[1].size" in params
    assert any(p.startswith("requests[2].image") for p in params)
    assert client.client.sandbox_engine.requests == 0, "nothing was uploaded"

    with pytest.raises(ValidationError, match="cannot stream"):
        await _do(client.client.batches.submit(["x"], stream=True))


async def test_budget_refuses_before_upload(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    with pytest.raises(BudgetExceededError, match="Batch price") as info:
        await _do(client.client.batches.submit(["a"] * 10, quality="high", budget=0.01))
    assert info.value.estimate_usd > 0.01
    assert client.client.sandbox_engine.requests == 0


async def test_split_into_several_batches(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    prompts = [f'a label that says "{i}"' for i in range(5)]
    job = await _do(client.client.batches.submit(prompts, quality="low", max_lines=2))
    assert len(job.ids) == 3
    await _do(job.wait(progress=False, poll=0.01))
    items = await _do(job.results())
    assert [r.prompt_text for r in items] == prompts, "results come back in request order"


async def test_cancel_keeps_what_was_done(make_client) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    engine = Sandbox(clock=clock)
    engine.batches.configure(delay=100)
    client = _client_on(make_client, engine)
    job = await _do(client.client.batches.submit([f"p{i}" for i in range(4)], quality="low"))

    with pytest.raises(BatchNotFinishedError, match=r"job.wait\(\)"):
        await _do(job.results())
    assert await _do(job.results(partial=True)) == [], "no batch has ended yet"

    clock.now += 50  # half the lines are done
    assert (await _do(job.status())).completed == 2
    status = await _do(job.cancel())
    assert status.status in ("cancelling", "cancelled")
    status = await _do(job.wait(progress=False, poll=0.01))
    assert status.status == "cancelled"
    items = await _do(job.results())
    assert [isinstance(x, Result) for x in items] == [True, True, False, False]
    assert {x.code for x in items if isinstance(x, BatchLineError)} == {"not_run"}
    assert engine.billed_images == 2


async def test_expired_lines_are_typed(make_client) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    engine = Sandbox(clock=clock)
    engine.batches.configure(delay=10, expire_after=1)
    client = _client_on(make_client, engine)
    job = await _do(client.client.batches.submit(["a", "b", "c"], quality="low"))
    clock.now += 20
    status = await _do(job.wait(progress=False, poll=0.01))
    assert status.status == "expired"
    items = await _do(job.results())
    assert isinstance(items[0], Result)
    assert [x.code for x in items[1:]] == ["batch_expired", "batch_expired"]
    assert engine.billed_images == 1


# ---- resume in another process ----------------------------------------------------------------

_COLLECT = """
import json, sys
from imagewright import BatchJob, Result
job = BatchJob.load(sys.argv[1])
job.wait(progress=False, poll=0.05)
items = job.results()
print(json.dumps([
    {"ok": isinstance(x, Result), "diff": isinstance(x, Result) and x.diff is not None,
     "size": list(x.output.size) if isinstance(x, Result) else None}
    for x in items
]))
"""


def _env(server: SandboxServer) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": SRC,
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-sandbox-test",
    }


def test_resume_from_a_saved_handle_in_a_new_process(tmp_path: Path) -> None:
    with SandboxServer() as server:
        server.sandbox.batches.configure(delay=0.5)
        with imagewright.Client(api_key="sk-sandbox-test", base_url=server.url) as client:
            job = client.batches.submit(
                ['a sign that says "OPEN"', EditRequest(png_bytes((64, 64)), "add a hat")],
                quality="low",
            )
            saved = job.save(tmp_path / "job.json")
        assert "sk-sandbox-test" not in saved.read_text(), "the key is never saved"
        out = subprocess.run(
            [sys.executable, "-c", _COLLECT, str(saved)],
            env=_env(server),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        items = json.loads(out.stdout)
        assert items == [
            {"ok": True, "diff": False, "size": [1024, 1024]},
            {"ok": True, "diff": True, "size": [64, 64]},
        ], "the new process rebuilt a full Result, the edit's source fetched by file id"
        assert server.sandbox.billed_images == 2, "collecting never pays again"
        assert isinstance(BatchJob.load(saved, client), BatchJob)


def test_cli_submit_status_collect(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        (photos / f"item{i}.png").write_bytes(png_bytes((64, 64), (i * 90, 10, 10)))
    (tmp_path / "more.jsonl").write_text(
        json.dumps({"custom_id": "sign", "prompt": 'a sign that says "HI"'})
        + "\n"
        + json.dumps({"prompt": "sandbox:fail", "images": ["photos/item0.png"]})
        + "\n"
    )
    cli = [sys.executable, "-m", "imagewright", "batch"]
    with SandboxServer() as server:
        env = _env(server)

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*cli, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
            )

        sub = run("submit", "more.jsonl", "photos", "--prompt", "add a hat", "--quality", "low")
        assert sub.returncode == 0, sub.stderr
        assert "submitted 4 requests in 2 batch(es)" in sub.stdout
        status = run("status", "imagewright-batch.json")
        assert "completed" in status.stdout
        collect = run("collect", "imagewright-batch.json", "--out", "out", "--wait", "--quiet")
        assert collect.returncode == 1, "one line failed"
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
            "failures.jsonl",
            "item0",
            "item1",
            "sign",
        ]
        assert imagewright.Result.load(tmp_path / "out" / "item1").diff is not None
        bad = run("submit", "photos")
        assert bad.returncode == 2
        assert "--prompt" in bad.stderr
