"""Saving a result to a folder and loading it back: the receipt.

Machinery for :meth:`imagewright.results.Result.save` / ``load``; the file plumbing (atomic
writes, sha256, PNG text chunks, JSON) lives in the leaf module ``_files``. File names are generated
from indices and a fixed table of extensions, never taken from user strings. Every file is
written to a temporary name in the same folder and renamed into place, and ``result.json`` is
written last, so an interrupted save never leaves a receipt that points at missing files.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._files import (
    Seen,
    add_png_text,
    atomic_write,
    b64_marker,
    dumps,
    ext_for,
    png_text,
    png_text_parts,
    read_checked,
    sha256,
    strip_png_text,
    write_once,
)
from .errors import IntegrityError
from .images import sniff_format

if TYPE_CHECKING:
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
    "save_result",
    "sha256",
    "strip_png_text",
]

SCHEMA = "imagewright.result/1"
"""The receipt format; bumped when a field changes meaning."""
RECEIPT_NAME = "result.json"


# ------------------------------------------------------------------------------ result <-> folder


def _image_entry(enc: EncodedImage, name: str) -> dict[str, Any]:
    """A receipt entry for an encoded input: its file, hash and every other field."""
    fields = {f.name: getattr(enc, f.name) for f in dataclasses.fields(enc) if f.name != "data"}
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    return {"file": name, "sha256": enc.sha256, **fields}


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


def receipt(
    result: Result, *, pictures: bool | None = None, diff: bool = True, checks: bool = True
) -> dict[str, Any]:
    """Everything needed to trust and repeat ``result``, JSON-ready; file names are generated.

    ``pictures``: list the ``compare-<i>.png`` pictures (``None``: only for edits, where they
    show a diff; for a generation they would repeat the outputs). ``diff=False``: leave the
    diff out (``metrics`` is ``null``, no diff or compare pictures) so it is never computed;
    the loaded result recomputes it from the saved source, mask and outputs when asked.
    ``checks=False``: leave the contract checks out (``null``) unless the result already ran
    them, so no output is decoded; the loaded result runs them when asked.
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
    cost = result.cost
    diffs = result.diffs if diff else ()
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
        "checks": [c.to_dict() for c in result.checks] if checks or _has_checks(result) else None,
        "text_checks": [t.to_dict() for t in result.text_checks],
        "metrics": [d.to_dict() for d in diffs] if diff else None,
        "pictures": {
            "diff": [f"diff-{i}.png" for i in range(len(diffs))],
            "compare": [f"compare-{i}.png" for i in range(len(result.outputs))]
            if diff and (pictures if pictures is not None else bool(diffs))
            else [],
        },
    }


def _has_checks(result: Result) -> bool:
    """Whether ``result.checks`` (a cached property) was computed already."""
    return "checks" in vars(result)


def save_result(
    result: Result,
    folder: Path,
    *,
    overwrite: bool = False,
    pictures: bool | None = None,
    diff: bool = True,
    checks: bool = True,
    seen: Seen | None = None,
) -> Path:
    """Write ``result`` into ``folder``; the receipt goes last, then an earlier result's
    leftovers are removed (``overwrite``; without it a folder holding one is refused).

    ``seen``: input files (source, mask, markup) written by earlier saves of one run, which
    identical inputs hard-link instead of writing again (see ``write_once``)."""
    from ._display import comparison, png_bytes
    from ._folders import earlier_files, refuse_older, remove_stale

    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        refuse_older(folder)
    before = earlier_files(folder)
    rec = receipt(result, pictures=pictures, diff=diff, checks=checks)
    texts = _png_essentials(result)
    for o, entry in zip(result.outputs, rec["outputs"], strict=True):
        data = png_text_parts(o.data, texts) if o.format == "png" else o.data
        atomic_write(folder / entry["file"], data)
        if o.raw is not None:
            atomic_write(folder / entry["raw_file"], o.raw)
    call = result.call
    for im, entry in zip(call.images, rec["call"]["images"], strict=True):
        write_once(folder / entry["file"], im.data, entry["sha256"], seen)
    for name in ("mask", "markup"):
        enc = getattr(call, name)
        if enc is not None:
            entry = rec["call"][name]
            write_once(folder / entry["file"], enc.data, entry["sha256"], seen)
    for p, entry in zip(result.partial_images, rec["partial_images"], strict=True):
        atomic_write(folder / entry["file"], p.data)
    for d, name in zip(result.diffs if diff else (), rec["pictures"]["diff"], strict=True):
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
            raise IntegrityError(f"{e['file']} does not match the sha256 in the receipt")
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
        body["data"] = (
            [
                # The images are the outputs (receipts of 0.1.0 marked where they were).
                {**item, "b64_json": None}
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
