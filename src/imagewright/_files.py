"""File plumbing shared by everything that writes to disk: atomic writes, sha256, PNG text chunks,
stable JSON.

A leaf module (standard library only), used by the result receipts, the diff folders, the
conversation folders, the CLI's JSON reports and the demo, so every file the library writes is
written the same way: to a temporary name in the same folder, fsynced, then renamed into place.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Seen",
    "add_png_text",
    "atomic_write",
    "b64_marker",
    "dumps",
    "ext_for",
    "png_text",
    "png_text_parts",
    "read_checked",
    "sha256",
    "strip_png_text",
    "write_json",
    "write_once",
]

_PREFIX = "imagewright:"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXT = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg", "webp": ".webp", "gif": ".gif", "svg": ".svg"}


def ext_for(fmt: str | None) -> str:
    """The file extension for an image format (``.bin`` for anything unknown)."""
    return _EXT.get((fmt or "").lower(), ".bin")


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask: from ``/proc`` on Linux, else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write ``data`` (bytes, or pieces written in order) to ``path`` through a temporary file
    in the same folder and a rename.

    The file gets the permissions any file the user writes gets (``0o666`` minus the umask),
    not the ``0600`` of a temporary file.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            for piece in [data] if isinstance(data, bytes) else data:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Seen:
    """Input files written in one run (sha256 -> path and its stat when written), shared by
    the threads that save; one lock per digest, so the first save writes and the others link."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[Path, os.stat_result]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def lock(self, digest: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(digest, threading.Lock())


def write_once(path: Path, data: bytes, digest: str, seen: Seen | None) -> None:
    """Write ``data`` to ``path`` atomically; with ``seen``, hard-link the file an earlier save
    of the same run wrote for the same bytes instead (one copy on disk for a photo edited a
    thousand times). The earlier file is used only if it is still the one written (same inode,
    size and mtime); a link that cannot be made (another disk, no links) writes the bytes."""
    if seen is None:
        atomic_write(path, data)
        return
    with seen.lock(digest):
        if (earlier := seen.files.get(digest)) is not None and _link(*earlier, path):
            return
        atomic_write(path, data)
        with contextlib.suppress(OSError):  # removed under our feet: just no reuse
            seen.files[digest] = (path, os.stat(path))


def _link(src: Path, stat: os.stat_result, path: Path) -> bool:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        now = os.stat(src)
        if (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) != (
            stat.st_ino,
            stat.st_dev,
            stat.st_size,
            stat.st_mtime_ns,
        ):
            return False
        os.link(src, tmp)
        os.replace(tmp, path)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def read_checked(
    folder: Path, entry: Mapping[str, Any], *, key: str = "file", check: bool = True
) -> bytes:
    """Read the file a receipt entry names and check its sha256; ``IntegrityError`` (a
    ``ValueError``) if it changed.

    The hash of ``file`` is ``sha256``; of ``raw_file``, ``raw_sha256``. An entry without its
    hash is refused too (a receipt edited to skip the check). ``check=False``: the caller
    checks the bytes itself.
    """
    name = str(entry[key])
    if Path(name).name != name or name.startswith(".") or "\\" in name:
        raise ValueError(f"receipt names an unsafe file: {name!r}")
    data = (folder / name).read_bytes()
    if not check:
        return data
    from .errors import IntegrityError

    expected = entry.get("sha256" if key == "file" else f"{key.removesuffix('_file')}_sha256")
    if not isinstance(expected, str):
        raise IntegrityError(f"the receipt has no sha256 for {name} (edited or corrupt)")
    if sha256(data) != expected:
        raise IntegrityError(f"{name} does not match the sha256 in the receipt (edited or corrupt)")
    return data


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _spans(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """``(start, end, type)`` of every chunk of a PNG; no chunk body is copied."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 12 + length
        yield pos, end, data[pos + 4 : pos + 8]
        pos = end


def _chunks(data: bytes) -> Iterable[tuple[int, int, bytes, bytes]]:
    """``(start, end, type, body)`` of every chunk of a PNG."""
    for start, end, kind in _spans(data):
        yield start, end, kind, data[start + 8 : end - 4]


def png_text_parts(data: bytes, texts: Mapping[str, str]) -> list[bytes | memoryview]:
    """:func:`add_png_text` as pieces to write one after the other: views of ``data`` around
    the new chunks, so a big image is not copied to add a few hundred bytes."""
    if not data.startswith(_PNG_SIGNATURE):
        return [data]
    iend = next((start for start, _, kind in _spans(data) if kind == b"IEND"), None)
    if iend is None:
        return [data]
    extra = b"".join(
        _chunk(b"iTXt", (_PREFIX + key).encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))
        for key, value in texts.items()
    )
    view = memoryview(data)
    return [view[:iend], extra, view[iend:]]


def add_png_text(data: bytes, texts: Mapping[str, str]) -> bytes:
    """``data`` with one uncompressed UTF-8 ``iTXt`` chunk per item inserted before ``IEND``.

    The pixels and every existing chunk are untouched, so :func:`strip_png_text` gives back
    the exact original bytes. Keys are prefixed with ``imagewright:``.
    """
    return b"".join(png_text_parts(data, texts))


def _is_ours(kind: bytes, body: bytes) -> bool:
    return kind == b"iTXt" and body.startswith(_PREFIX.encode("latin-1"))


def strip_png_text(data: bytes) -> bytes:
    """Remove the chunks :func:`add_png_text` inserted."""
    if not data.startswith(_PNG_SIGNATURE):
        return data
    kept = [data[:8]]
    kept += [data[s:e] for s, e, kind, body in _chunks(data) if not _is_ours(kind, body)]
    return b"".join(kept)


def png_text(data: bytes) -> dict[str, str]:
    """The ``imagewright:`` text chunks of a PNG, without the prefix."""
    out: dict[str, str] = {}
    if data.startswith(_PNG_SIGNATURE):
        for _, _, kind, body in _chunks(data):
            if _is_ours(kind, body):
                keyword, _, rest = body.partition(b"\0")
                # compression flag, method, language tag\0, translated keyword\0, then the text
                text = rest[2:].split(b"\0", 2)[2]
                out[keyword.decode("latin-1")[len(_PREFIX) :]] = text.decode("utf-8")
    return out


def b64_marker(b64: str | None, raw: bytes, marker: dict[str, Any]) -> Any:
    """``marker`` in place of a base64 string that re-encodes ``raw`` exactly, else the string."""
    if b64 is not None and base64.b64encode(raw).decode("ascii") == b64:
        return marker
    return b64


def dumps(receipt: Mapping[str, Any]) -> bytes:
    """The receipt as stable, human-readable JSON."""
    return (json.dumps(receipt, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically (anything not JSON-able as ``str``)."""
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    atomic_write(path, body.encode("utf-8"))
