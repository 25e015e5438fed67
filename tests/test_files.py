"""client.files on both clients: upload (once per content), retrieve, content, delete."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from imagewright import FileObject, UploadCache, ValidationError

from .conftest import png_bytes


async def _do(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def test_same_bytes_upload_once(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    files = client.client.files
    engine = client.client.sandbox_engine
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes((64, 64), (1, 2, 3)))

    first = await _do(files.upload(photo))
    again = await _do(files.upload(photo.read_bytes()))  # same bytes, another form
    other = await _do(files.upload(png_bytes((64, 64), (9, 9, 9))))
    batch_purpose = await _do(files.upload(b'{"a": 1}\n', purpose="batch"))

    assert isinstance(first, FileObject)
    assert first.id == again.id, "the same bytes are uploaded once"
    assert other.id != first.id
    assert engine.files.uploads == 3, "the sandbox counted three uploads, not four"
    assert client.client.upload_cache.hits == 1
    assert batch_purpose.purpose == "batch"

    assert (await _do(files.retrieve(first.id))).bytes == photo.stat().st_size
    assert await _do(files.content(first.ref)) == photo.read_bytes()
    assert await _do(files.delete(first)) is True
    again_after_delete = await _do(files.upload(photo))
    assert again_after_delete.id != first.id, "a deleted file is uploaded again, not reused"


async def test_with_options_copies_share_the_cache(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    cache = client.client.upload_cache
    copy = client.client.with_options(max_retries=0)
    await _do(client.client.files.upload(png_bytes()))
    await _do(copy.files.upload(png_bytes()))
    assert copy.upload_cache is cache
    assert client.client.sandbox_engine.files.uploads == 1


async def test_cache_on_disk_is_reused_by_a_new_client(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    client.client.upload_cache = UploadCache(tmp_path / "uploads.jsonl")
    file = await _do(client.client.files.upload(png_bytes()))
    reloaded = UploadCache(tmp_path / "uploads.jsonl")
    assert len(reloaded) == 1
    hit = reloaded.get(hashlib.sha256(png_bytes()).hexdigest(), "vision")
    assert hit is not None
    assert hit.id == file.id


async def test_bad_input_is_refused_before_sending(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    with pytest.raises(ValidationError, match="purpose") as info:
        await _do(client.client.files.upload(png_bytes(), purpose="pictures"))
    assert "vision, user_data, batch" in str(info.value)
    with pytest.raises(ValidationError, match="not a file id"):
        await _do(client.client.files.content("abc"))
    with pytest.raises(ValidationError):
        await _do(client.client.files.upload(b"not an image"))
    assert client.client.sandbox_engine.requests == 0


async def test_missing_file_is_a_not_found_error(make_client) -> None:  # type: ignore[no-untyped-def]
    import imagewright

    client = make_client.sandbox()
    with pytest.raises(imagewright.NotFoundError, match="file-000"):
        await _do(client.client.files.retrieve("file-000"))
