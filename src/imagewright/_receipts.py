"""Saving a result to a folder and loading it back: atomic files, PNG text chunks, the receipt.

Machinery for :meth:`imagewright.results.Result.save` / ``load``. File names are generated
from indices and a fixed table of extensions, never taken from user strings. Every file is
written to a temporary name in the same folder and renamed into place, and ``result.json`` is
written last, so an interrupted save never leaves a receipt that points at missing files.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .images import sniff_format

if TYPE_CHECKING:
    from .diff import Diff
    from .images import EncodedImage
    from .results import Result

__all__ = [
    "RECEIPT_NAME",
    "SCHEMA",
    "add_png_text",
    "atomic_write",
    "b64_marker",
    "ext_for",
    "load_result",
    "png_text",
    "read_checked",
    "receipt",
    "save_diff",
    "save_result",
    "sha256",
    "strip_png_text",
]

SCHEMA = "imagewright.result/1"
"""The receipt format; bumped when a field changes meaning."""
RECEIPT_NAME = "result.json"
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


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the permissions any file the user writes gets (``0o666`` minus the umask),
    not the ``0600`` of a temporary file.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checked(
    folder: Path, entry: Mapping[str, Any], *, key: str = "file", check: bool = True
) -> bytes:
    """Read the file a receipt entry names and check its sha256; ``ValueError`` if it changed.

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
    expected = entry.get("sha256" if key == "file" else f"{key.removesuffix('_file')}_sha256")
    if not isinstance(expected, str):
        raise ValueError(f"the receipt has no sha256 for {name} (edited or corrupt)")
    if sha256(data) != expected:
        raise ValueError(f"{name} does not match the sha256 in the receipt (edited or corrupt)")
    return data


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunks(data: bytes) -> Iterable[tuple[int, int, bytes, bytes]]:
    """``(start, end, type, body)`` of every chunk of a PNG."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        yield pos, end, kind, data[pos + 8 : pos + 8 + length]
        pos = end


def add_png_text(data: bytes, texts: Mapping[str, str]) -> bytes:
    """``data`` with one uncompressed UTF-8 ``iTXt`` chunk per item inserted before ``IEND``.

    The pixels and every existing chunk are untouched, so :func:`strip_png_text` gives back
    the exact original bytes. Keys are prefixed with ``imagewright:``.
    """
    if not data.startswith(_PNG_SIGNATURE):
        return data
    iend = next((start for start, _, kind, _ in _chunks(data) if kind == b"IEND"), None)
    if iend is None:
        return data
    extra = b"".join(
        _chunk(b"iTXt", (_PREFIX + key).encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))
        for key, value in texts.items()
    )
    return data[:iend] + extra + data[iend:]


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


# ------------------------------------------------------------------------------ result <-> folder


def _image_entry(enc: EncodedImage, name: str) -> dict[str, Any]:
    """A receipt entry for an encoded input: its file, hash and every other field."""
    fields = {f.name: getattr(enc, f.name) for f in dataclasses.fields(enc) if f.name != "data"}
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    return {"file": name, "sha256": sha256(enc.data), **fields}


def _png_essentials(result: Result) -> dict[str, str]:
    params = {k: v for k, v in result.call.params.items() if k != "prompt"}
    texts = {
        "prompt": result.prompt_text,
        "model": str(result.model),
        "params": json.dumps(params, sort_keys=True, default=repr),
        "fingerprint": result.call.fingerprint,
    }
    if result.request_id:
        texts["request_id"] = result.request_id
    if result.usage is not None:
        texts["usage"] = json.dumps(result.usage.model_dump(mode="json"), sort_keys=True)
    if result.cost is not None:
        texts["cost_usd"] = f"{result.cost.total_usd:.6f}"
    return texts


def receipt(result: Result, *, pictures: bool | None = None) -> dict[str, Any]:
    """Everything needed to trust and repeat ``result``, JSON-ready; file names are generated.

    ``pictures``: list the ``compare-<i>.png`` pictures (``None``: only for edits, where they
    show a diff; for a generation they would repeat the outputs).
    """
    from ._version import __version__

    call = result.call
    outputs = []
    for o in result.outputs:
        entry: dict[str, Any] = {
            "file": f"output-{o.index}{ext_for(o.format)}",
            "sha256": sha256(o.data),
            "format": o.format,
            "index": o.index,
        }
        if o.raw is not None:
            # The raw bytes keep the API's format, which a paste-back may have changed.
            raw_format = sniff_format(o.raw) or o.format
            entry["raw_file"] = f"output-{o.index}.raw{ext_for(raw_format)}"
            entry["raw_sha256"] = sha256(o.raw)
        outputs.append(entry)
    response = None
    if result.response is not None:
        response = result.response.model_dump(mode="json")
        for i, item in enumerate(response.get("data") or []):
            out = result.outputs[i] if i < len(result.outputs) else None
            if out is not None and isinstance(item, dict):
                item["b64_json"] = b64_marker(
                    item.get("b64_json"), out.raw or out.data, {"$output": i}
                )
    partials = []
    for k, p in enumerate(result.partial_images):
        event = dict(p.raw_event)
        if "b64_json" in event:
            event["b64_json"] = b64_marker(event["b64_json"], p.data, {"$partial": k})
        partials.append(
            {
                "file": f"partial-{k}{ext_for(p.format)}",
                "sha256": sha256(p.data),
                "index": p.index,
                "format": p.format,
                "size": p.size,
                "event": event,
            }
        )
    cost, diffs = result.cost, result.diffs
    return {
        "schema": SCHEMA,
        "imagewright": __version__,
        "kind": result.kind,
        "call": {
            "endpoint": call.endpoint,
            "model": call.model,
            "prompt": call.prompt,
            "params": dict(call.params),
            "images_as_list": call.images_as_list,
            "by_reference": call.by_reference,
            "warnings": list(call.warnings),
            "fingerprint": call.fingerprint,
            "images": [
                _image_entry(im, f"source-{i}{ext_for(im.format)}")
                for i, im in enumerate(call.images)
            ],
            "mask": _image_entry(call.mask, "mask.png") if call.mask is not None else None,
            "markup": _image_entry(call.markup, "markup.png") if call.markup is not None else None,
        },
        "outputs": outputs,
        "partial_images": partials,
        "model": result.model,
        "effective": {
            "size": result.size,
            "quality": result.quality,
            "background": result.background,
            "output_format": result.output_format,
        },
        "created": result.created,
        "request_id": result.request_id,
        "timings": dict(result.timings.__dict__),
        "usage": result.usage.model_dump(mode="json") if result.usage is not None else None,
        "response": response,
        "cost": cost.to_dict() if cost is not None else None,
        "estimate": result.estimate.to_dict(),
        "checks": [c.to_dict() for c in result.checks],
        "text_checks": [t.to_dict() for t in result.text_checks],
        "metrics": [d.to_dict() for d in diffs],
        "pictures": {
            "diff": [f"diff-{i}.png" for i in range(len(diffs))],
            "compare": [f"compare-{i}.png" for i in range(len(result.outputs))]
            if (pictures if pictures is not None else bool(diffs))
            else [],
        },
    }


def save_result(
    result: Result, folder: Path, *, overwrite: bool = False, pictures: bool | None = None
) -> Path:
    """Write ``result`` into ``folder``; the receipt goes last, then an earlier result's
    leftovers are removed (``overwrite``; without it a folder holding one is refused)."""
    from ._display import comparison, png_bytes
    from ._folders import earlier_files, refuse_older, remove_stale

    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        refuse_older(folder)
    before = earlier_files(folder)
    rec = receipt(result, pictures=pictures)
    texts = _png_essentials(result)
    for o, entry in zip(result.outputs, rec["outputs"], strict=True):
        data = add_png_text(o.data, texts) if o.format == "png" else o.data
        atomic_write(folder / entry["file"], data)
        if o.raw is not None:
            atomic_write(folder / entry["raw_file"], o.raw)
    call = result.call
    for im, entry in zip(call.images, rec["call"]["images"], strict=True):
        atomic_write(folder / entry["file"], im.data)
    for name in ("mask", "markup"):
        enc = getattr(call, name)
        if enc is not None:
            atomic_write(folder / rec["call"][name]["file"], enc.data)
    for p, entry in zip(result.partial_images, rec["partial_images"], strict=True):
        atomic_write(folder / entry["file"], p.data)
    for d, name in zip(result.diffs, rec["pictures"]["diff"], strict=True):
        atomic_write(folder / name, png_bytes(d.heatmap_overlay))
    for i, name in enumerate(rec["pictures"]["compare"]):
        atomic_write(folder / name, png_bytes(comparison(result, i)))
    atomic_write(folder / RECEIPT_NAME, dumps(rec))
    remove_stale(folder, before, earlier_files(folder) or set())
    return folder


def _encoded(folder: Path, entry: Mapping[str, Any] | None) -> EncodedImage | None:
    from .images import EncodedImage

    if entry is None:
        return None
    names = {f.name for f in dataclasses.fields(EncodedImage)} - {"data"}
    kwargs: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in entry.items() if k in names
    }
    return EncodedImage(data=read_checked(folder, entry), **kwargs)


def _unmark(value: Any, key: str, blobs: list[bytes]) -> Any:
    if isinstance(value, dict) and set(value) == {key}:
        return base64.b64encode(blobs[int(value[key])]).decode("ascii")
    return value


def load_result(folder: Path) -> Result:
    """Read a folder written by :func:`save_result` back into a ``Result``.

    A receipt with missing or mistyped fields (edited by hand, or not ours) is a
    ``ValueError``, like a file that does not match its sha256.
    """
    try:
        return _load_result(folder)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"{folder / RECEIPT_NAME} is malformed ({type(exc).__name__}: {exc})"
        ) from exc


def _load_result(folder: Path) -> Result:
    from .calls import ApiCall
    from .results import ImagesResponse, OutputImage, PartialImage, Result, Timings, Usage

    rec = json.loads((folder / RECEIPT_NAME).read_text(encoding="utf-8"))
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        raise ValueError(f"{folder / RECEIPT_NAME} is not an imagewright result ({SCHEMA})")
    c = rec["call"]
    call = ApiCall(
        endpoint=c["endpoint"],
        model=c["model"],
        prompt=c["prompt"],
        params=c["params"],
        images=tuple(im for im in (_encoded(folder, e) for e in c["images"]) if im is not None),
        images_as_list=bool(c["images_as_list"]),
        mask=_encoded(folder, c["mask"]),
        markup=_encoded(folder, c["markup"]),
        warnings=tuple(c["warnings"]),
        by_reference=bool(c.get("by_reference", False)),
    )
    outputs = []
    for e in rec["outputs"]:
        data = strip_png_text(read_checked(folder, e, check=False))
        if sha256(data) != e.get("sha256"):
            raise ValueError(f"{e['file']} does not match the sha256 in the receipt")
        raw = read_checked(folder, e, key="raw_file") if "raw_file" in e else None
        outputs.append(OutputImage(data, e["format"], int(e["index"]), raw))
    partial_data = [read_checked(folder, p) for p in rec["partial_images"]]
    partials = []
    for p, data in zip(rec["partial_images"], partial_data, strict=True):
        event = dict(p["event"])
        if "b64_json" in event:
            event["b64_json"] = _unmark(event["b64_json"], "$partial", partial_data)
        partials.append(PartialImage(int(p["index"]), data, p["format"], p["size"], event))
    response = None
    if rec["response"] is not None:
        body = dict(rec["response"])
        api_bytes = [o.raw or o.data for o in outputs]
        body["data"] = (
            [
                {**item, "b64_json": _unmark(item.get("b64_json"), "$output", api_bytes)}
                for item in body.get("data") or []
            ]
            if body.get("data") is not None
            else None
        )
        response = ImagesResponse.model_validate(body)
    effective = rec["effective"]
    from .text import TextCheck

    text_checks = tuple(TextCheck.from_dict(t) for t in rec.get("text_checks") or ())
    return Result(
        call=call,
        outputs=tuple(outputs),
        usage=Usage.model_validate(rec["usage"]) if rec["usage"] is not None else None,
        model=rec["model"],
        size=effective["size"],
        quality=effective["quality"],
        background=effective["background"],
        output_format=effective["output_format"],
        created=rec["created"],
        request_id=rec["request_id"],
        timings=Timings(**rec["timings"]),
        partial_images=tuple(partials),
        response=response,
        text_checks=text_checks,
    )


def save_diff(diff: Diff, folder: Path, *, overwrite: bool = False) -> Path:
    """Write a diff's images and metrics into ``folder`` (``diff.json`` last); a folder
    holding an earlier result or diff is refused unless ``overwrite``."""
    from PIL import Image

    from ._display import png_bytes
    from ._folders import earlier_files, refuse_older, remove_stale

    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        refuse_older(folder)
    before = earlier_files(folder)
    mode = "RGBA" if diff.source.shape[2] == 4 else "RGB"
    pictures = {
        "source.png": Image.fromarray(diff.source, mode=mode),
        "output.png": Image.fromarray(diff.output, mode=mode),
        "heatmap.png": diff.heatmap,
        "overlay.png": diff.heatmap_overlay,
    }
    if diff.editable is not None:
        pictures["editable.png"] = Image.fromarray(diff.editable.astype("uint8") * 255, mode="L")
    for name, image in pictures.items():
        atomic_write(folder / name, png_bytes(image))
    body = {"schema": "imagewright.diff/1", "files": sorted(pictures), **diff.to_dict()}
    atomic_write(folder / "diff.json", dumps(body))
    remove_stale(folder, before, {"diff.json", *pictures})
    return folder
