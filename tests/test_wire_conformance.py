"""Wire conformance: the same calls through imagewright and the official ``openai==3.51.0``
SDK reach one loopback capture server, and what arrived must be the same.

Compared: method, path, query, content type, and the body: the JSON object for generations;
for edits, every multipart part in order (name, filename, MIME type, bytes).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image

import imagewright
from imagewright import EditRequest

from ._capture import Captured, CaptureServer
from .conftest import AnyClient


def _png(
    path: Path, color: tuple[int, ...], mode: str = "RGB", size: tuple[int, int] = (64, 48)
) -> Path:
    Image.new(mode, size, color).save(path, format="PNG")
    return path


def _mask_png(size: tuple[int, int] = (64, 48)) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 255))
    im.paste((0, 0, 0, 0), (10, 10, 40, 30))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _markup_png(size: tuple[int, int] = (64, 48)) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (5, 5, 20, 20))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Case:
    """One call: how imagewright makes it and how the official SDK makes it."""

    name: str
    kind: str  # "generate" | "edit"
    ours: dict[str, Any]
    theirs: Callable[[dict[str, Path]], dict[str, Any]]
    request: Callable[[dict[str, Path]], EditRequest] | None = None
    stream: bool = False
    expect_warning: type[Warning] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _files(tmp: Path) -> dict[str, Path]:
    out = {
        "a": _png(tmp / "a.png", (200, 10, 10)),
        "b": _png(tmp / "b.png", (10, 200, 10)),
        "c": _png(tmp / "c.png", (10, 10, 200)),
    }
    Image.new("RGB", (64, 48), (50, 60, 70)).save(tmp / "photo.jpg", format="JPEG", quality=90)
    Image.new("RGB", (64, 48), (90, 60, 70)).save(tmp / "art.webp", format="WEBP")
    out["jpg"] = tmp / "photo.jpg"
    out["webp"] = tmp / "art.webp"
    (tmp / "mask.png").write_bytes(_mask_png())
    (tmp / "markup.png").write_bytes(_markup_png())
    out["mask"] = tmp / "mask.png"
    out["markup"] = tmp / "markup.png"
    return out


def _open(p: Path) -> Any:
    return p.open("rb")


COMPILED_MASK = object()
"""Stands for the mask as imagewright compiled it (always a valid OpenAI mask): the official SDK
sends whatever file it is given, so it gets the same bytes, under the same name."""


CASES = [
    Case(
        "generate-minimal",
        "generate",
        {"model": "gpt-image-2"},
        lambda f: {"model": "gpt-image-2"},
    ),
    Case(
        "generate-all-scalars",
        "generate",
        {
            "model": "gpt-image-2",
            "size": "1536x864",
            "quality": "high",
            "background": "opaque",
            "output_format": "jpeg",
            "output_compression": 80,
            "n": 3,
            "moderation": "low",
            "complexity": "high",
            "safety_identifier": "user-123",
        },
        lambda f: {
            "model": "gpt-image-2",
            "size": "1536x864",
            "quality": "high",
            "background": "opaque",
            "output_format": "jpeg",
            "output_compression": 80,
            "n": 3,
            "moderation": "low",
            "complexity": "high",
            "safety_identifier": "user-123",
        },
    ),
    Case(
        "generate-transparent-webp",
        "generate",
        {
            "model": "gpt-image-2.5-sunburst",
            "background": "transparent",
            "output_format": "webp",
            "quality": "xhigh",
        },
        lambda f: {
            "model": "gpt-image-2.5-sunburst",
            "background": "transparent",
            "output_format": "webp",
            "quality": "xhigh",
        },
    ),
    Case(
        "generate-svg-nested",
        "generate",
        {
            "model": "gpt-image-2",
            "output_format": "svg",
            "svg": {"model": "svg-author-1", "reasoning": {"effort": "low"}},
        },
        lambda f: {
            "model": "gpt-image-2",
            "output_format": "svg",
            "svg": {"model": "svg-author-1", "reasoning": {"effort": "low"}},
        },
    ),
    Case(
        "generate-gif",
        "generate",
        {
            "model": "gpt-image-2",
            "output_format": "gif",
            "frame_count": 4,
            "frame_duration_ms": 120,
        },
        lambda f: {
            "model": "gpt-image-2",
            "output_format": "gif",
            "frame_count": 4,
            "frame_duration_ms": 120,
        },
    ),
    Case(
        "generate-stream",
        "generate",
        {"model": "gpt-image-2", "partial_images": 2, "size": "1024x1024"},
        lambda f: {
            "model": "gpt-image-2",
            "partial_images": 2,
            "size": "1024x1024",
            "stream": True,
        },
        stream=True,
    ),
    Case(
        "generate-extra-body",
        "generate",
        {"model": "gpt-image-2", "extra_body": {"prompt_rewriter": "off"}},
        lambda f: {"model": "gpt-image-2", "extra_body": {"prompt_rewriter": "off"}},
    ),
    Case(
        "generate-experimental-size",
        "generate",
        {"model": "gpt-image-2", "size": "3840x2160"},
        lambda f: {"model": "gpt-image-2", "size": "3840x2160"},
        expect_warning=imagewright.ExperimentalSizeWarning,
    ),
    Case(
        "edit-one-image",
        "edit",
        {"model": "gpt-image-2", "size": "1024x1024", "quality": "medium"},
        lambda f: {
            "image": _open(f["a"]),
            "model": "gpt-image-2",
            "size": "1024x1024",
            "quality": "medium",
        },
        request=lambda f: EditRequest(f["a"], "make it blue"),
    ),
    Case(
        "edit-three-images",
        "edit",
        {"model": "gpt-image-2", "n": 2},
        lambda f: {
            "image": [_open(f["a"]), _open(f["b"]), _open(f["c"])],
            "model": "gpt-image-2",
            "n": 2,
        },
        request=lambda f: EditRequest([f["a"], f["b"], f["c"]], "make it blue"),
    ),
    Case(
        "edit-list-of-one",
        "edit",
        {"model": "gpt-image-2"},
        lambda f: {"image": [_open(f["a"])], "model": "gpt-image-2"},
        request=lambda f: EditRequest([f["a"]], "make it blue"),
    ),
    Case(
        "edit-mask",
        "edit",
        {"model": "gpt-image-2", "output_format": "png"},
        lambda f: {
            "image": _open(f["a"]),
            "mask": COMPILED_MASK,
            "model": "gpt-image-2",
            "output_format": "png",
        },
        request=lambda f: EditRequest(f["a"], "a red balloon", mask=f["mask"]),
    ),
    Case(
        "edit-markup",
        "edit",
        {"model": "gpt-image-2.5-flare"},
        lambda f: {
            "image": _open(f["a"]),
            "markup": _open(f["markup"]),
            "model": "gpt-image-2.5-flare",
        },
        request=lambda f: EditRequest(f["a"], "follow the red marks", markup=f["markup"]),
    ),
    Case(
        "edit-svg-nested",
        "edit",
        {
            "model": "gpt-image-2",
            "output_format": "svg",
            "svg": {"model": "svg-author-1", "reasoning": {"effort": "high"}},
        },
        lambda f: {
            "image": _open(f["a"]),
            "model": "gpt-image-2",
            "output_format": "svg",
            "svg": {"model": "svg-author-1", "reasoning": {"effort": "high"}},
        },
        request=lambda f: EditRequest(f["a"], "vectorise"),
    ),
    Case(
        "edit-stream",
        "edit",
        {"model": "gpt-image-2", "partial_images": 1},
        lambda f: {
            "image": [_open(f["a"]), _open(f["b"])],
            "model": "gpt-image-2",
            "partial_images": 1,
            "stream": True,
        },
        request=lambda f: EditRequest([f["a"], f["b"]], "merge"),
        stream=True,
    ),
    Case(
        "edit-jpeg-webp-inputs-fidelity",
        "edit",
        {
            "model": "gpt-image-1.5",
            "input_fidelity": "high",
            "output_format": "webp",
            "output_compression": 50,
            "background": "auto",
        },
        lambda f: {
            "image": [_open(f["jpg"]), _open(f["webp"])],
            "model": "gpt-image-1.5",
            "input_fidelity": "high",
            "output_format": "webp",
            "output_compression": 50,
            "background": "auto",
        },
        request=lambda f: EditRequest([f["jpg"], f["webp"]], "combine"),
    ),
]


def normalise(req: Captured) -> dict[str, Any]:
    """What must match: everything about the request except client-identifying headers."""
    out: dict[str, Any] = {
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "content_type": req.content_type,
        "authorization": req.headers.get("authorization"),
    }
    if req.content_type == "application/json":
        out["body"] = req.json()
    else:
        out["body"] = [
            (p["name"], p.get("filename"), p.get("content_type"), p["content"]) for p in req.parts()
        ]
    return out


async def _send_ours(client: AnyClient, case: Case, files: dict[str, Path]) -> None:
    prompt = 'a lighthouse at dusk with the text "OPEN"'
    if case.kind == "generate":
        if case.stream:
            events = await client.stream("stream_generate", prompt, **case.ours)
            assert isinstance(events[-1], imagewright.Result)
        else:
            await client.generate(prompt, **case.ours)
    else:
        assert case.request is not None
        request = case.request(files)
        if case.stream:
            events = await client.stream("stream_edit", request, **case.ours)
            assert isinstance(events[-1], imagewright.Result)
        else:
            await client.edit(request, **case.ours)


def _send_theirs(base_url: str, case: Case, files: dict[str, Path]) -> None:
    sdk = openai.OpenAI(api_key="sk-conformance", base_url=base_url, max_retries=0)
    kwargs = case.theirs(files)
    if case.kind == "generate":
        out = sdk.images.generate(prompt='a lighthouse at dusk with the text "OPEN"', **kwargs)
    else:
        assert case.request is not None
        request = case.request(files)
        if kwargs.get("mask") is COMPILED_MASK:
            call = imagewright.Client("k").compile_edit(request, **case.ours)
            assert call.mask is not None
            kwargs["mask"] = (call.mask.filename, call.mask.data, call.mask.mime)
        out = sdk.images.edit(prompt=request.prompt, **kwargs)  # type: ignore[arg-type]
    if case.stream:
        events = list(out)  # type: ignore[call-overload]
        assert events[-1].type.endswith(".completed")


def test_there_are_at_least_twelve_cases() -> None:
    assert len(CASES) >= 12
    assert {c.kind for c in CASES} == {"generate", "edit"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_same_request_on_the_wire(
    case: Case, capture: CaptureServer, tmp_path: Path, make_client: Any
) -> None:
    files = _files(tmp_path)
    client = make_client(api_key="sk-conformance", base_url=capture.url, max_retries=0)
    if case.expect_warning:
        with pytest.warns(case.expect_warning):
            await _send_ours(client, case, files)
    else:
        await _send_ours(client, case, files)
    with warnings.catch_warnings():
        # The official SDK deprecates some things we do not use; its warnings are not ours.
        warnings.simplefilter("ignore")
        _send_theirs(capture.url, case, files)
    await client.close()
    ours, theirs = capture.requests
    assert normalise(ours) == normalise(theirs)


async def test_file_parts_never_octet_stream(
    capture: CaptureServer, tmp_path: Path, make_client: Any
) -> None:
    """Bytes and PIL images get a real filename and the sniffed MIME type."""
    files = _files(tmp_path)
    client = make_client(api_key="sk-x", base_url=capture.url)
    jpeg = files["jpg"].read_bytes()
    pil = Image.new("RGBA", (64, 48), (1, 2, 3, 255))
    await client.edit(
        EditRequest([jpeg, pil, io.BytesIO(files["webp"].read_bytes())], "x"), model="gpt-image-2"
    )
    await client.close()
    parts = [p for p in capture.requests[0].parts() if p.get("filename")]
    assert [(p["name"], p["content_type"]) for p in parts] == [
        ("image[]", "image/jpeg"),
        ("image[]", "image/png"),
        ("image[]", "image/webp"),
    ]
    assert [Path(p["filename"]).suffix for p in parts] == [".jpg", ".png", ".webp"]
    assert parts[0]["content"] == jpeg  # valid inputs are sent unchanged
