"""The Files API (``client.files``) with a content-addressed upload cache.

``client.files.upload(image)`` sends an image (or a JSONL file) to ``POST /files`` and returns
a :class:`FileObject`; ``.ref`` is the :class:`~imagewright.refs.FileRef` an edit by reference
takes. The same bytes with the same purpose are uploaded once per cache: later uploads return
the first ``file_id`` without a request. Each client has its own cache (shared by its
``with_options`` copies); an :class:`UploadCache` with a ``path`` is kept on disk and can be
shared by processes and runs, so a 5,000-line batch over 40 product photos uploads 40 files.

Examples:
    >>> import imagewright
    >>> from PIL import Image
    >>> photo = Image.new("RGB", (64, 64), "red")
    >>> with imagewright.Client.sandbox() as client:
    ...     first = client.files.upload(photo)
    ...     again = client.files.upload(photo)
    >>> first.id == again.id, client.sandbox_engine.files.uploads
    (True, 1)
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ._rest import Flow, Req, arun, run
from .errors import Problem, ValidationError
from .refs import FileRef

if TYPE_CHECKING:
    from .client import AsyncClient, BaseClient, Client
    from .images import ImageSource

__all__ = ["AsyncFiles", "FileObject", "Files", "UploadCache"]

PURPOSES = ("vision", "user_data", "batch")
"""The purposes imagewright uploads with (the API knows more)."""


class FileObject(BaseModel):
    """A file stored by the Files API (the API's ``FileObject``; unknown fields are kept)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    """The file id, ``file-...``."""
    bytes: int
    """Size in bytes."""
    created_at: int
    """Unix time of the upload."""
    filename: str
    """The name it was uploaded under."""
    purpose: str
    """``vision``, ``user_data``, ``batch``, ``batch_output``..."""
    object: str = "file"
    """Always ``file``."""
    status: str | None = None
    """``uploaded``, ``processed`` or ``error`` (deprecated by the API)."""

    @property
    def ref(self) -> FileRef:
        """This file as an image reference for an edit."""
        return FileRef(self.id)


class UploadCache:
    """Which bytes were already uploaded: sha256 and purpose to the :class:`FileObject`.

    Thread safe. With ``path``, every entry is appended to a JSON-lines file and read back on
    creation, so later processes (or other machines sharing the folder) reuse the uploads.
    Two processes racing on the same new bytes may each upload once; never more.

    Args:
        path: A JSON-lines file to keep the cache in (created when missing).

    Attributes:
        hits: Uploads answered from the cache.
        misses: Uploads that went to the API.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], FileObject] = {}
        self.hits = 0
        self.misses = 0
        if self.path is not None and self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    key = (entry["sha256"], entry["purpose"])
                    if entry.get("deleted"):
                        self._entries.pop(key, None)
                    else:
                        self._entries[key] = FileObject.model_validate(entry["file"])

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, sha256: str, purpose: str) -> FileObject | None:
        """The file already uploaded with these bytes and purpose, if any (counts a hit)."""
        with self._lock:
            found = self._entries.get((sha256, purpose))
            if found is not None:
                self.hits += 1
            return found

    def put(self, sha256: str, purpose: str, file: FileObject) -> None:
        """Remember an upload."""
        with self._lock:
            self.misses += 1
            self._entries[(sha256, purpose)] = file
            self._append({"sha256": sha256, "purpose": purpose, "file": file.model_dump()})

    def forget(self, file_id: str) -> None:
        """Drop every entry naming ``file_id`` (it was deleted)."""
        with self._lock:
            for key, file in list(self._entries.items()):
                if file.id == file_id:
                    del self._entries[key]
                    self._append({"sha256": key[0], "purpose": key[1], "deleted": True})

    def _append(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:  # one write per line: O_APPEND
            f.write(json.dumps(entry) + "\n")


# ---- flows (written once for both clients) ------------------------------------------------


def _payload(source: Any, purpose: str, filename: str | None) -> tuple[bytes, str, str]:
    """The bytes, filename and MIME type to upload."""
    if purpose not in PURPOSES:
        raise ValidationError(
            Problem(
                "purpose", purpose, "not an upload purpose imagewright uses", ", ".join(PURPOSES)
            )
        )
    if purpose == "batch":
        if isinstance(source, (str, os.PathLike)):
            return Path(source).read_bytes(), filename or Path(source).name, "application/jsonl"
        if isinstance(source, bytes):
            return source, filename or "batch.jsonl", "application/jsonl"
        raise ValidationError(
            Problem("file", type(source).__name__, "a batch file is JSONL", "a path or bytes")
        )
    from .images import EncodedImage, load_image

    image = source if isinstance(source, EncodedImage) else load_image(source, param="file")
    return image.data, filename or image.filename, image.mime


def upload_flow(
    source: Any, purpose: str, cache: UploadCache | None, filename: str | None = None
) -> Flow[FileObject]:
    """Upload ``source`` unless the cache already holds the same bytes for ``purpose``."""
    data, name, mime = _payload(source, purpose, filename)
    digest = hashlib.sha256(data).hexdigest()
    if cache is not None and (hit := cache.get(digest, purpose)) is not None:
        return hit
    file: FileObject = yield Req(
        "POST",
        "/files",
        files=[("file", (name, data, mime))],
        data={"purpose": purpose},
        parse=FileObject.model_validate,
    )
    if cache is not None:
        cache.put(digest, purpose, file)
    return file


def _retrieve(file_id: str) -> Flow[FileObject]:
    file: FileObject = yield Req("GET", f"/files/{_id(file_id)}", parse=FileObject.model_validate)
    return file


def _content(file_id: str) -> Flow[bytes]:
    data: bytes = yield Req("GET", f"/files/{_id(file_id)}/content", raw=True)
    return data


def _delete(file_id: str, cache: UploadCache | None) -> Flow[bool]:
    deleted: bool = yield Req("DELETE", f"/files/{_id(file_id)}", parse=_deleted)
    if cache is not None:
        cache.forget(_id(file_id))
    return deleted


def _deleted(answer: Any) -> bool:
    if not isinstance(answer, dict):
        raise TypeError(f"a deletion answer is a JSON object, not {type(answer).__name__}")
    return bool(answer.get("deleted"))


def _id(file: str | FileObject | FileRef) -> str:
    value = getattr(file, "id", None) or getattr(file, "file_id", None) or file
    if not isinstance(value, str) or not value.startswith("file-"):
        raise ValidationError(Problem("file_id", value, "not a file id", "'file-...'"))
    return value


class _FilesBase:
    def __init__(self, client: BaseClient, cache: UploadCache | None) -> None:
        self._client = client
        self.cache = cache
        """The upload cache (``None``: every upload is sent)."""


class Files(_FilesBase):
    """``client.files`` on the sync client: upload, retrieve, content, delete."""

    _client: Client

    def upload(
        self, file: ImageSource | str, *, purpose: str = "vision", filename: str | None = None
    ) -> FileObject:
        """Upload an image (path, bytes, PIL image, array) or, with ``purpose="batch"``, a JSONL
        file; the same bytes are uploaded once per cache.

        Raises:
            ValidationError: The purpose or the image is refused; nothing was sent.
        """
        return run(self._client, upload_flow(file, purpose, self.cache, filename))

    def retrieve(self, file_id: str | FileObject | FileRef) -> FileObject:
        """The stored file's description."""
        return run(self._client, _retrieve(_id(file_id)))

    def content(self, file_id: str | FileObject | FileRef) -> bytes:
        """The stored file's bytes (an image, or a batch's output or error file)."""
        return run(self._client, _content(_id(file_id)))

    def delete(self, file_id: str | FileObject | FileRef) -> bool:
        """Delete the file (and forget it in the cache); True when the API deleted it."""
        return run(self._client, _delete(_id(file_id), self.cache))


class AsyncFiles(_FilesBase):
    """``client.files`` on the async client: upload, retrieve, content, delete."""

    _client: AsyncClient

    async def upload(
        self, file: ImageSource | str, *, purpose: str = "vision", filename: str | None = None
    ) -> FileObject:
        """Upload an image or a JSONL file; see :meth:`Files.upload`."""
        return await arun(self._client, upload_flow(file, purpose, self.cache, filename))

    async def retrieve(self, file_id: str | FileObject | FileRef) -> FileObject:
        """The stored file's description."""
        return await arun(self._client, _retrieve(_id(file_id)))

    async def content(self, file_id: str | FileObject | FileRef) -> bytes:
        """The stored file's bytes."""
        return await arun(self._client, _content(_id(file_id)))

    async def delete(self, file_id: str | FileObject | FileRef) -> bool:
        """Delete the file (and forget it in the cache)."""
        return await arun(self._client, _delete(_id(file_id), self.cache))
