"""Wire conformance of the Files and Batch calls: imagewright and the official
``openai==3.51.0`` SDK send the same requests to one capture server.

The JSON form of ``/images/edits`` is not here: openai 3.51 cannot send it (its
``images.edit`` is multipart only; openai-python #3256, PR #3373), so
``tests/test_refs.py`` holds its golden body instead.
"""

from __future__ import annotations

import inspect
from typing import Any

import openai

from ._capture import Captured, CaptureServer, Reply

FILE = {
    "id": "file-abc",
    "object": "file",
    "bytes": 10,
    "created_at": 1,
    "filename": "batch.jsonl",
    "purpose": "batch",
    "status": "processed",
}
BATCH = {
    "id": "batch_abc",
    "object": "batch",
    "endpoint": "/v1/images/generations",
    "input_file_id": "file-abc",
    "completion_window": "24h",
    "status": "in_progress",
    "created_at": 1,
    "request_counts": {"total": 1, "completed": 0, "failed": 0},
}


async def _do(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _sdk(capture: CaptureServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-conformance", base_url=capture.url, max_retries=0)


def _same(ours: Captured, theirs: Captured) -> None:
    assert (ours.method, ours.path, ours.query) == (theirs.method, theirs.path, theirs.query)
    assert ours.body == b"" or ours.content_type == theirs.content_type  # a bodyless DELETE
    if ours.content_type == "application/json":
        assert ours.json() == theirs.json()
    elif ours.content_type == "multipart/form-data":
        key = lambda p: p["name"]  # noqa: E731 - the SDK and httpx2 may order parts differently
        assert sorted(ours.parts(), key=key) == sorted(theirs.parts(), key=key)
    else:
        assert ours.body == theirs.body


async def test_files_create_retrieve_content_delete(capture: CaptureServer, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(api_key="sk-conformance", base_url=capture.url, max_retries=0)
    files = client.client.files
    files.cache = None  # send every call, to compare them
    data = b'{"custom_id":"a"}\n'
    deleted = {"id": "file-abc", "object": "file", "deleted": True}
    capture.push(Reply(body=FILE), Reply(body=FILE), Reply(body=b"content"), Reply(body=deleted))
    await _do(files.upload(data, purpose="batch", filename="batch.jsonl"))
    await _do(files.retrieve("file-abc"))
    assert await _do(files.content("file-abc")) == b"content"
    assert await _do(files.delete("file-abc")) is True

    capture.push(Reply(body=FILE), Reply(body=FILE), Reply(body=b"content"), Reply(body=deleted))
    sdk = _sdk(capture)
    sdk.files.create(file=("batch.jsonl", data, "application/jsonl"), purpose="batch")
    sdk.files.retrieve("file-abc")
    sdk.files.content("file-abc")
    sdk.files.delete("file-abc")
    sdk.close()
    await client.close()
    ours, theirs = capture.requests[:4], capture.requests[4:]
    for a, b in zip(ours, theirs, strict=True):
        _same(a, b)


async def test_batches_create_retrieve_cancel(capture: CaptureServer, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(api_key="sk-conformance", base_url=capture.url, max_retries=0)
    running = {**BATCH, "status": "in_progress"}
    capture.push(
        Reply(body=FILE),  # the JSONL upload
        Reply(body=BATCH),  # create
        Reply(body=running),  # cancel reads the state first
        Reply(body={**BATCH, "status": "cancelling"}),
    )
    job = await _do(client.client.batches.submit(["a red fox"], quality="low"))
    await _do(job.cancel())
    create = capture.requests[1]
    metadata = create.json()["metadata"]

    capture.push(Reply(body=BATCH), Reply(body=BATCH), Reply(body=BATCH))
    sdk = _sdk(capture)
    sdk.batches.create(
        input_file_id="file-abc",
        endpoint="/v1/images/generations",
        completion_window="24h",
        metadata=metadata,
    )
    sdk.batches.retrieve("batch_abc")
    sdk.batches.cancel("batch_abc")
    sdk.close()
    await client.close()
    ours, theirs = capture.requests[1:4], capture.requests[4:7]
    for a, b in zip(ours, theirs, strict=True):
        _same(a, b)
    assert create.headers.get("idempotency-key"), "one key over the retries of a paid POST"
