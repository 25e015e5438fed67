"""``POST /v1/responses`` for the ``image_generation`` tool: a stand-in text model, not a model.

The "text model" here is deterministic and says so: it always calls the image tool once with
the user's latest text as the prompt (``revised_prompt`` is that text unchanged), emits one
reasoning item before the call, and answers with a fixed message. What is real is the
protocol around it, read from the official SDK's types (reference section 6):

- ``previous_response_id`` chains (held in memory; unknown or unstored ids answer 400),
  server-side ``conversation`` ids (created on first use: the real API needs them created
  first), and ``store=False`` replay: the image call must be replayed with its reasoning item,
  whose ``encrypted_content`` (asked for with ``include``) stands in for the stored one;
- the SSE event sequence (``response.created`` ... ``response.image_generation_call.*`` ...
  ``response.completed``) with ``sequence_number``;
- moderation blocks on cue (the ``moderation`` fault): a 200 whose image call failed with
  ``moderation_blocked`` and ``moderation_details``;
- billing: one image and the tool's tokens on the sandbox's counters.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import io
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from .. import pricing
from . import _paint
from ._behaviour import Behaviour
from ._protocol import Refusal, Reply, json_bytes, sse_event
from ._render import _effective_background, _picture, tokens
from ._validate import Job, parse_request

__all__ = ["ResponsesJob", "ResponsesState"]

NOT_A_MODEL = (
    "imagewright sandbox: I am not a language model. I called image_generation with your "
    "latest message as the prompt."
)
_TOOL_DEFAULT_MODEL = "gpt-image-2.6-sunburst"
_TOOL_FIELDS = {
    "type", "model", "action", "background", "complexity", "quality", "size", "output_format",
    "output_compression", "moderation", "partial_images", "input_fidelity", "input_image_mask",
    "frame_count", "frame_duration_ms", "svg",
}  # fmt: skip
_KNOWN = {
    "model", "input", "tools", "tool_choice", "previous_response_id", "conversation", "store",
    "stream", "include", "instructions", "metadata", "reasoning", "safety_identifier", "user",
    "parallel_tool_calls", "max_output_tokens", "temperature", "top_p", "text", "truncation",
}  # fmt: skip


def _bad(message: str, param: str | None = None, code: str = "invalid_value") -> Refusal:
    return Refusal(400, message, param=param, code=code)


@dataclass(frozen=True)
class ResponsesJob:
    """One accepted turn: the image job, the context, and what to remember afterwards."""

    body: Mapping[str, Any]
    image: Job
    action: str
    context: tuple[Mapping[str, Any], ...]
    new_items: tuple[Mapping[str, Any], ...]
    tool: Mapping[str, Any]
    conversation: str | None
    fingerprint: str

    @property
    def stream(self) -> bool:
        """True when the answer is an SSE stream."""
        return bool(self.body.get("stream"))

    @property
    def store(self) -> bool:
        """False when the response must not be kept."""
        return self.body.get("store") is not False


class ResponsesState:
    """Responses kept in memory (``previous_response_id``), conversations, and id counters."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._count = 0
        self._stored: dict[str, tuple[Mapping[str, Any], ...]] = {}
        self._conversations: dict[str, tuple[Mapping[str, Any], ...]] = {}
        self._pairs: dict[str, str] = {}  # image call id -> its reasoning item id

    def _id(self, prefix: str) -> str:
        with self._lock:
            self._count += 1
            digest = hashlib.sha256(f"{self._seed}:{prefix}:{self._count}".encode()).hexdigest()
        return f"{prefix}_{digest[:24]}"

    # -------------------------------------------------------------------------- parsing

    def parse(self, content_type: str, raw: bytes) -> ResponsesJob:
        """Validate a ``/responses`` body the way the API would, and resolve its context."""
        if not content_type.lower().startswith("application/json"):
            raise _bad("The /responses endpoint takes a JSON body.", code="invalid_request")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise _bad("We could not parse the JSON body of your request.") from exc
        if not isinstance(body, dict):
            raise _bad("The request body must be a JSON object.")
        body = {k: v for k, v in body.items() if v is not None}
        for name in body:
            if name not in _KNOWN:
                raise _bad(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise _bad(
                "Missing required parameter: 'model'.", "model", "missing_required_parameter"
            )
        if "previous_response_id" in body and "conversation" in body:
            raise _bad(
                "previous_response_id cannot be used together with conversation.",
                "previous_response_id",
                "invalid_parameter_combination",
            )
        tool = _image_tool(body)
        context = self._context(body)
        items = _input_items(body.get("input"))
        self._check_replay(items, store=body.get("store") is not False)
        prompt = _latest_text(items)
        if not prompt:
            raise _bad("The input has no user text for the image tool.", "input")
        source = _last_image(list(context) + items)
        action = str(tool.get("action") or "auto")
        if action not in ("generate", "edit", "auto"):
            raise _bad(f"Invalid value: '{action}'.", "tools[0].action")
        if action == "edit" and source is None:
            raise _bad(
                "action 'edit' requires an image in the context (an input image or a previous "
                "image generation call).",
                "tools[0].action",
            )
        editing = source is not None and action != "generate"
        job = _image_job(tool, prompt, body, source if editing else None)
        fingerprint = hashlib.sha256(raw).hexdigest()
        conversation = body.get("conversation")
        if isinstance(conversation, Mapping):
            conversation = conversation.get("id")
        return ResponsesJob(
            body,
            job,
            "edit" if editing else "generate",
            context,
            tuple(items),
            tool,
            conversation if isinstance(conversation, str) else None,
            fingerprint,
        )

    def _context(self, body: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
        previous = body.get("previous_response_id")
        if previous is not None:
            with self._lock:
                stored = self._stored.get(str(previous))
            if stored is None:
                raise Refusal(
                    400,
                    f"Previous response with id '{previous}' not found. (It may have been sent "
                    "with store=false, which keeps nothing.)",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            return stored
        conversation = body.get("conversation")
        if isinstance(conversation, Mapping):
            conversation = conversation.get("id")
        if conversation is not None:
            with self._lock:
                return self._conversations.get(str(conversation), ())
        return ()

    def _check_replay(self, items: list[Mapping[str, Any]], *, store: bool) -> None:
        with self._lock:
            pairs = dict(self._pairs)
        for i, item in enumerate(items):
            if item.get("type") == "reasoning" and not store and not item.get("encrypted_content"):
                raise Refusal(
                    404,
                    f"Item with id '{item.get('id')}' not found. Items are not persisted when "
                    "`store` is set to false. Try again with `store` set to true, or by "
                    "replaying the reasoning item's encrypted_content.",
                    param="input",
                    code="item_not_found",
                )
            if item.get("type") != "image_generation_call":
                continue
            if not all(k in item for k in ("id", "result", "status")):
                raise _bad(
                    "An image_generation_call input item needs id, result, status and type.",
                    f"input[{i}]",
                    "missing_required_parameter",
                )
            paired = pairs.get(str(item.get("id")))
            before = items[i - 1] if i else {}
            if paired is not None and (
                before.get("type") != "reasoning" or before.get("id") != paired
            ):
                raise _bad(
                    f"Item '{item.get('id')}' of type 'image_generation_call' was provided "
                    f"without its required 'reasoning' item: '{paired}'.",
                    f"input[{i}]",
                )

    # ------------------------------------------------------------------------- answering

    def run(self, job: ResponsesJob, behaviour: Behaviour, created: int, blocked: bool) -> Reply:
        """Make the turn's picture (unless blocked), remember it, and build the answer."""
        ids = {k: self._id(k) for k in ("resp", "rs", "ig", "msg")}
        reasoning: dict[str, Any] = {"type": "reasoning", "id": ids["rs"], "summary": []}
        if "reasoning.encrypted_content" in (job.body.get("include") or []):
            reasoning["encrypted_content"] = "sandbox:" + ids["rs"]
        call: dict[str, Any] = {
            "type": "image_generation_call",
            "id": ids["ig"],
            "status": "completed",
            "action": job.action,
            "background": _effective_background(job.image),
            "output_format": job.image.output_format,
            "quality": job.image.quality,
            "size": job.image.size,
            "revised_prompt": job.image.prompt,
            "result": None,
        }
        final = partials = None
        if blocked:
            call["status"] = "failed"
            call["error"] = {
                "code": "moderation_blocked",
                "message": "The image request was rejected by the safety system. "
                "(imagewright sandbox: injected moderation_blocked)",
                "param": None,
                "type": "image_generation_user_error",
                "moderation_details": {
                    "categories": ["sandbox-cue"],
                    "moderation_stage": "input",
                },
            }
            tool_usage = _zero_usage()
        else:
            final = _picture(job.image, 0, behaviour)
            transparent = call["background"] == "transparent"
            data = _paint.encode(
                final, job.image.output_format, job.image.compression, transparent=transparent
            )
            call["result"] = base64.b64encode(data).decode("ascii")
            tool_usage = tokens(job.image)
            partials = [
                base64.b64encode(
                    _paint.encode(
                        _paint.partial(final, k, job.image.partial_images),
                        job.image.output_format,
                        job.image.compression,
                        transparent=transparent,
                    )
                ).decode("ascii")
                for k in range(job.image.partial_images if job.stream else 0)
            ]
        message = {
            "type": "message",
            "id": ids["msg"],
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": NOT_A_MODEL, "annotations": []}],
        }
        output = [reasoning, call, message]
        response = self._response(job, ids["resp"], created, output, tool_usage)
        self._remember(job, ids, output, blocked)
        if not job.stream:
            return Reply(200, (("content-type", "application/json"),), (json_bytes(response),))
        return _sse(response, partials or [], job.image)

    def _response(
        self,
        job: ResponsesJob,
        response_id: str,
        created: int,
        output: list[dict[str, Any]],
        tool_usage: dict[str, Any],
    ) -> dict[str, Any]:
        body = job.body
        text_in = sum(pricing.text_tokens(_all_text(i)) for i in (*job.context, *job.new_items))
        text_out = pricing.text_tokens(NOT_A_MODEL)
        return {
            "id": response_id,
            "object": "response",
            "created_at": created,
            "status": "completed",
            "completed_at": created,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "model": body["model"],
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"),
            "conversation": {"id": job.conversation} if job.conversation else None,
            "store": job.store,
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": [dict(job.tool)],
            "usage": {
                "input_tokens": text_in,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": text_out,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": text_in + text_out,
            },
            "tool_usage": {"image_gen": tool_usage, "web_search": {"num_requests": 0}},
            "metadata": {},
        }

    def _remember(
        self, job: ResponsesJob, ids: Mapping[str, str], output: list[dict[str, Any]], blocked: bool
    ) -> None:
        chain = (*job.context, *job.new_items, *output)
        with self._lock:
            if not blocked:
                self._pairs[ids["ig"]] = ids["rs"]
            if job.store:
                self._stored[ids["resp"]] = chain
            if job.conversation:
                self._conversations[job.conversation] = chain


def _zero_usage() -> dict[str, Any]:
    return {
        "input_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "output_tokens": 0,
        "total_tokens": 0,
    }


def _sse(response: dict[str, Any], partials: list[str], job: Job) -> Reply:
    seq = iter(range(1_000_000))
    reasoning, call, message = response["output"]
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": next(seq), **fields})

    started = {**response, "status": "in_progress", "output": [], "usage": None}
    started["tool_usage"] = None
    emit("response.created", response=started)
    emit("response.in_progress", response=started)
    emit("response.output_item.added", output_index=0, item=reasoning)
    emit("response.output_item.done", output_index=0, item=reasoning)
    emit("response.output_item.added", output_index=1, item={**call, "status": "in_progress"})
    emit("response.image_generation_call.in_progress", output_index=1, item_id=call["id"])
    emit("response.image_generation_call.generating", output_index=1, item_id=call["id"])
    for k, b64 in enumerate(partials):
        emit(
            "response.image_generation_call.partial_image",
            output_index=1,
            item_id=call["id"],
            partial_image_index=k,
            partial_image_b64=b64,
            background=call["background"],
            output_format=job.output_format,
            quality=job.quality,
            size=job.size,
        )
    if call["status"] == "completed":
        emit("response.image_generation_call.completed", output_index=1, item_id=call["id"])
    emit("response.output_item.done", output_index=1, item=call)
    emit("response.output_item.added", output_index=2, item={**message, "content": []})
    emit("response.output_item.done", output_index=2, item=message)
    emit("response.completed", response=response)
    headers = (
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
    )
    return Reply(200, headers, tuple(sse_event(e["type"], e) for e in events), streaming=True)


def _image_tool(body: Mapping[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        raise _bad(
            "The imagewright sandbox answers only requests with the image_generation tool.",
            "tools",
        )
    found = [t for t in tools if isinstance(t, Mapping) and t.get("type") == "image_generation"]
    if len(found) != 1 or len(tools) != 1:
        raise _bad("The imagewright sandbox supports exactly one tool: image_generation.", "tools")
    tool = dict(found[0])
    for name in tool:
        if name not in _TOOL_FIELDS:
            raise _bad(
                f"Unknown parameter: 'tools[0].{name}'.", f"tools[0].{name}", "unknown_parameter"
            )
    return tool


def _input_items(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": [{"type": "input_text", "text": value}]}]
    if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
        raise _bad("'input' must be a string or a list of items.", "input", "invalid_type")
    return list(value)


def _content(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = item.get("content")
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    return [c for c in content or [] if isinstance(c, Mapping)]


def _all_text(item: Mapping[str, Any]) -> str:
    return " ".join(str(c.get("text") or "") for c in _content(item))


def _latest_text(items: list[Mapping[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("role") == "user":
            text = " ".join(
                str(c.get("text") or "") for c in _content(item) if c.get("type") == "input_text"
            ).strip()
            if text:
                return text
    return ""


def _decode_data_url(url: Any, param: str) -> Image.Image:
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise _bad(
            "The sandbox accepts images as base64 data URLs only (no downloads, no file ids).",
            param,
            "invalid_image_url",
        )
    try:
        data = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            copy: Image.Image = im.copy()
            return copy
    except (binascii.Error, ValueError, OSError) as exc:
        raise _bad("The image could not be decoded.", param, "invalid_image") from exc


def _last_image(items: list[Mapping[str, Any]]) -> Image.Image | None:
    """The image the conversation is at: the newest image call result or input image."""
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if item.get("type") == "image_generation_call" and item.get("result"):
            return _decode_data_url("data:image/png;base64," + str(item["result"]), f"input[{i}]")
        images = [c for c in _content(item) if c.get("type") == "input_image"]
        if images:
            return _decode_data_url(images[0].get("image_url"), f"input[{i}].content")
    return None


def _image_job(
    tool: Mapping[str, Any], prompt: str, body: Mapping[str, Any], source: Image.Image | None
) -> Job:
    """Validate the tool's options with the Images API's rules and make the picture's job."""
    partials = tool.get("partial_images") or 0
    if partials and tool.get("output_format") == "gif":
        raise _bad("GIF output does not support partial images.", "tools[0].partial_images")
    fields = {
        k: v
        for k, v in tool.items()
        if k not in ("type", "action", "input_image_mask", "input_fidelity", "partial_images")
    }
    fields.setdefault("model", _TOOL_DEFAULT_MODEL)
    fields["prompt"] = prompt
    if partials:
        fields.update(partial_images=partials, stream=True)
    try:
        job = parse_request("generations", "application/json", json_bytes(fields))
    except Refusal as refusal:
        if refusal.param and refusal.param not in ("prompt",):
            refusal.param = f"tools[0].{refusal.param}"
        raise
    if not body.get("stream"):
        job = dataclasses.replace(job, partial_images=0, stream=False)
    if tool.get("input_fidelity") is not None and tool["input_fidelity"] not in ("high", "low"):
        raise _bad(f"Invalid value: '{tool['input_fidelity']}'.", "tools[0].input_fidelity")
    if source is None:
        if tool.get("input_image_mask") is not None:
            raise _bad("input_image_mask needs an image to edit.", "tools[0].input_image_mask")
        return job
    mask = None
    spec = tool.get("input_image_mask")
    if spec is not None:
        if not isinstance(spec, Mapping):
            raise _bad("input_image_mask must be an object.", "tools[0].input_image_mask")
        mask = _decode_data_url(spec.get("image_url"), "tools[0].input_image_mask.image_url")
        if mask.size != source.size:
            raise _bad(
                f"The mask ({mask.width}x{mask.height}) must have the same size as the image "
                f"({source.width}x{source.height}).",
                "tools[0].input_image_mask",
            )
        mask = mask.convert("RGBA")
    width, height = (
        (job.width, job.height) if tool.get("size") not in (None, "auto") else source.size
    )
    return dataclasses.replace(
        job,
        endpoint="edits",
        width=width,
        height=height,
        images=(ImageOps.exif_transpose(source).convert("RGBA"),),
        mask=mask,
    )
