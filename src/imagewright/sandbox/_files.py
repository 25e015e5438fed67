"""The sandbox's Files API: ``/v1/files`` upload, list, retrieve, content and delete.

Files live in memory. ``uploads`` counts every accepted upload, so a test can prove that an
upload cache really saved work. Image references of JSON edits (``{"file_id": ...}``, or an
``image_url`` that names one of these files' ``/content`` URLs, or a ``data:`` URL) resolve
here; the sandbox never fetches anything from the network.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._protocol import Part, Refusal, boundary_of, parse_multipart

__all__ = ["FileStore", "StoredFile"]

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_FILE_BYTES = 512 * 1024 * 1024
_CONTENT_URL = re.compile(r"/files/(file-[A-Za-z0-9]+)/content/?$")


@dataclass(frozen=True)
class StoredFile:
    """One uploaded file."""

    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int
    content_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``FileObject`` the API answers with."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


def _not_found(file_id: str) -> Refusal:
    return Refusal(404, f"No such File object: {file_id}", param="id", code=None)


class FileStore:
    """Uploaded files, thread safe.

    Attributes:
        uploads: Files accepted by ``POST /files`` since the sandbox started.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}
        self.uploads = 0

    def add(
        self, data: bytes, filename: str, purpose: str, content_type: str | None = None
    ) -> StoredFile:
        """Store a file (uploads and the batch output/error files the sandbox writes itself)."""
        stored = StoredFile(
            "file-" + secrets.token_hex(12),
            filename,
            purpose,
            data,
            int(self._clock()),
            content_type,
        )
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        """The stored file, or a 404 refusal."""
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise _not_found(file_id)
        return stored

    # -- HTTP -----------------------------------------------------------------------------

    def handle(
        self, method: str, route: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any] | bytes]:
        """Answer one ``/files...`` request: a status and a JSON object or raw bytes."""
        parts = route.strip("/").split("/")  # ["files", id?, "content"?]
        if method == "POST" and len(parts) == 1:
            return 200, self._upload(content_type, body)
        if method == "GET" and len(parts) == 1:
            with self._lock:
                data = [f.to_json() for f in self._files.values()]
            return 200, {"object": "list", "data": data, "has_more": False}
        if len(parts) == 2 and method == "GET":
            return 200, self.get(parts[1]).to_json()
        if len(parts) == 2 and method == "DELETE":
            self.get(parts[1])
            with self._lock:
                self._files.pop(parts[1], None)
            return 200, {"id": parts[1], "object": "file", "deleted": True}
        if len(parts) == 3 and parts[2] == "content" and method == "GET":
            return 200, self.get(parts[1]).data
        raise Refusal(404, f"Invalid URL ({method} /v1{route})")

    def _upload(self, content_type: str, body: bytes) -> dict[str, Any]:
        boundary = boundary_of(content_type)
        if boundary is None:
            raise Refusal(400, "Invalid Content-Type header: /files expects multipart/form-data.")
        form = {p.name: p for p in parse_multipart(body, boundary)}
        file = form.get("file")
        if file is None or file.filename is None:
            raise Refusal(
                400,
                "Missing required parameter: 'file'.",
                param="file",
                code="missing_required_parameter",
            )
        purpose = form["purpose"].data.decode() if "purpose" in form else None
        if purpose not in PURPOSES:
            raise Refusal(
                400,
                f"Invalid value for 'purpose': {purpose!r}. Supported values are: {', '.join(PURPOSES)}.",
                param="purpose",
                code="invalid_value",
            )
        if len(file.data) > MAX_FILE_BYTES:
            raise Refusal(400, "File is too large.", param="file", code="file_too_large")
        stored = self.add(file.data, file.filename, purpose, file.content_type)
        with self._lock:
            self.uploads += 1
        return stored.to_json()

    # -- image references of JSON edits ---------------------------------------------------

    def resolve(self, param: str, ref: Any) -> Part:
        """The bytes an ``ImageRefParam`` names, as a file part; a 400 refusal when it names none."""
        if not isinstance(ref, dict) or len(ref) != 1 or not ({"file_id", "image_url"} & set(ref)):
            raise Refusal(
                400,
                f"Invalid '{param}': expected an object with exactly one of 'file_id' or 'image_url'.",
                param=param,
                code="invalid_value",
            )
        if "file_id" in ref:
            stored = self._lookup(param, str(ref["file_id"]))
            return Part(param, stored.data, stored.filename, stored.content_type)
        url = str(ref["image_url"])
        if url.startswith("data:"):
            mime = url[5:].split(";", 1)[0].split(",", 1)[0] or None
            return Part(param, _data_url(param, url), "image", mime)
        match = _CONTENT_URL.search(url.split("?", 1)[0])
        if match is None:
            raise Refusal(
                400,
                f"Invalid '{param}': the sandbox only resolves data: URLs and its own "
                f"/v1/files/<id>/content URLs, not {url[:100]!r} (it never fetches the network).",
                param=param,
                code="invalid_image_url",
            )
        stored = self._lookup(param, match.group(1))
        return Part(param, stored.data, stored.filename, stored.content_type)

    def _lookup(self, param: str, file_id: str) -> StoredFile:
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise Refusal(
                400,
                f"Invalid '{param}': no such file {file_id!r}.",
                param=param,
                code="invalid_file",
            )
        return stored


def _data_url(param: str, url: str) -> bytes:
    head, _, payload = url.partition(",")
    if not head.endswith(";base64"):
        raise Refusal(400, f"Invalid '{param}': a data: URL must be base64.", param=param)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(
            400, f"Invalid '{param}': bad base64 in the data: URL.", param=param
        ) from None
