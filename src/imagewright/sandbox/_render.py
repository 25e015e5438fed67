"""Turning an accepted :class:`Job` into pictures and the successful wire answer."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from PIL import Image

from . import _paint, _usage
from ._behaviour import Behaviour
from ._protocol import Reply, json_bytes, sse_event
from ._validate import Job

__all__ = ["render", "tokens"]


def render(job: Job, behaviour: Behaviour, created: int) -> Reply:
    """The successful answer to an accepted job: JSON, or SSE when ``job.stream``."""
    effective_bg = _effective_background(job)
    transparent = effective_bg == "transparent"
    finals = [_picture(job, i, behaviour) for i in range(job.n)]
    encoded = [
        _paint.encode(p, job.output_format, job.compression, transparent=transparent)
        for p in finals
    ]
    usage = tokens(job)
    common: dict[str, Any] = {
        "background": effective_bg,
        "output_format": job.output_format,
        "quality": job.quality,
        "size": job.size,
    }
    if not job.stream:
        body: dict[str, Any] = {
            "created": created,
            **common,
            "data": [{"b64_json": _b64(e)} for e in encoded],
            "usage": usage,
        }
        if job.safety_identifier:
            body["safety_identifier"] = job.safety_identifier
        return Reply(200, (("content-type", "application/json"),), (json_bytes(body),))
    prefix = "image_generation" if job.endpoint == "generations" else "image_edit"
    chunks: list[bytes] = []
    for index, (final, data) in enumerate(zip(finals, encoded, strict=True)):
        for k in range(job.partial_images):
            preview = _paint.encode(
                _paint.partial(final, k, job.partial_images),
                job.output_format,
                job.compression,
                transparent=transparent,
            )
            event = {
                "type": f"{prefix}.partial_image",
                "b64_json": _b64(preview),
                "created_at": created,
                **common,
                "partial_image_index": k,
            }
            chunks.append(sse_event(event["type"], event))
        # Input tokens are charged once per request: on the first image's completed event.
        share = tokens(job, images=1, inputs=index == 0)
        share.pop("output_tokens_details", None)
        done = {
            "type": f"{prefix}.completed",
            "b64_json": _b64(data),
            "created_at": created,
            **common,
            "usage": share,
        }
        if job.safety_identifier:
            done["safety_identifier"] = job.safety_identifier
        chunks.append(sse_event(done["type"], done))
    headers = (
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
    )
    return Reply(200, headers, tuple(chunks), streaming=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def tokens(job: Job, *, images: int | None = None, inputs: bool = True) -> dict[str, Any]:
    """The ``usage`` object for ``images`` of the job's images (all by default)."""
    count = job.n if images is None else images
    text = _usage.text_tokens(job.prompt) if inputs else 0
    image = sum(_usage.image_input_tokens(*im.size) for im in job.images) if inputs else 0
    per_image = (
        _usage.output_tokens(job.width, job.height, job.quality)
        + _usage.PARTIAL_IMAGE_TOKENS * job.partial_images
    )
    return _usage.usage_object(
        text=text, image=image, output=per_image * count, with_output_details=True
    )


def _effective_background(job: Job) -> str:
    if job.background != "auto":
        return job.background
    if job.images and job.output_format != "jpeg" and _paint.min_alpha(job.images[0]) < 255:
        return "transparent"
    return "opaque"


def _texts(job: Job, index: int, behaviour: Behaviour) -> list[str]:
    return [
        _paint.apply_typos(t, behaviour.wrong_text, _paint.seed_of("typo", t, index))
        for t in _paint.quoted_strings(job.prompt)
    ]


def _picture(job: Job, index: int, behaviour: Behaviour) -> Image.Image:
    texts = _texts(job, index, behaviour)
    if job.endpoint == "generations":
        return _paint.paint_scene(
            job.prompt,
            job.width,
            job.height,
            index=index,
            transparent=job.background == "transparent",
            texts=texts,
        )
    size = (job.width, job.height)
    source = job.images[0]
    editable = None
    if job.mask is not None:
        mask = (
            job.mask if job.mask.size == size else job.mask.resize(size, Image.Resampling.NEAREST)
        )
        editable = np.asarray(mask)[..., 3] == 0
    elif job.markup is not None:
        markup = (
            job.markup
            if job.markup.size == size
            else job.markup.resize(size, Image.Resampling.NEAREST)
        )
        drawn = np.asarray(markup)[..., 3] > 0
        editable = np.zeros(drawn.shape, dtype=bool)
        if drawn.any():
            ys, xs = np.nonzero(drawn)
            editable[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    if source.size != size:
        source = source.resize(size, Image.Resampling.LANCZOS)
    keep_alpha = _effective_background(job) == "transparent"
    seeded_prompt = job.prompt if index == 0 else f"{job.prompt}\x1f{index}"
    out = _paint.paint_edit(
        source,
        editable,
        prompt=seeded_prompt,
        references=list(job.images[1:]),
        texts=texts,
        keep_alpha=keep_alpha,
    )
    if editable is not None and behaviour.leakage > 0:
        out = _paint.leak(
            out,
            ~editable,
            fraction=behaviour.leakage,
            delta=behaviour.leakage_delta,
            seed=_paint.seed_of("leak", job.fingerprint, index),
        )
    return out
