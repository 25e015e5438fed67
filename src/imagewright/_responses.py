"""The Responses API's ``image_generation`` tool: compiling a turn, reading its answer.

Pure machinery behind :mod:`imagewright.conversation`. :func:`compile_turn` turns a prompt
(or an ``EditRequest``), a mask, input images and :class:`ImageOptions` into an
:class:`~imagewright.ApiCall` for ``POST /responses``, checked against the model table and the
tool's own rules (:data:`imagewright.models.IMAGE_TOOL`). :func:`build_turn_result` and
:class:`ResponsesStreamAssembler` read the answer (JSON or SSE) into a :class:`TurnResult`;
they are registered with the transport, so a turn is sent by the client's one send path
(retries, idempotency key, budget, key scrubbing).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import httpx2

from . import _transport
from ._compile import (
    _check_common,
    _check_model,
    _Checker,
    _finish,
    _safe_prompt,
    check_fidelity,
)
from ._turn import TextUsage, TurnResult
from .calls import ApiCall
from .edit import EditRequest, PromptLike, SupportsPlannedSize
from .errors import (
    APIError,
    APIResponseValidationError,
    ContentPolicyError,
    ImageInputError,
    MaskError,
    Problem,
)
from .images import EncodedImage, ImageSource, load_image
from .models import IMAGE_TOOL
from .results import OutputImage, PartialImage, Result, Timings, Usage

__all__ = [
    "RESPONSES",
    "ImageOptions",
    "ResponsesCall",
    "ResponsesStreamAssembler",
    "TurnContext",
    "build_turn_result",
    "compile_turn",
    "data_url",
]

RESPONSES: Literal["/responses"] = "/responses"

_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def data_url(image: EncodedImage) -> str:
    """``data:<mime>;base64,...`` for an encoded image, as ``input_image`` content takes it."""
    return f"data:{_MIME.get(image.format, 'image/png')};base64," + base64.b64encode(
        image.data
    ).decode("ascii")


@dataclass(frozen=True)
class ImageOptions:
    """The ``image_generation`` tool's options for a conversation (each turn may override some).

    ``None`` leaves a field out of the tool, so the API's default applies. The tool has no
    ``n`` and no ``markup``; everything newer than imagewright goes in ``extra``.

    Examples:
        >>> ImageOptions(quality="low", size="1024x1024").tool()
        {'type': 'image_generation', 'size': '1024x1024', 'quality': 'low'}
    """

    model: str | None = None
    """The image model; ``None`` means the tool's default, ``gpt-image-2.6-sunburst``."""
    action: Literal["generate", "edit", "auto"] | str | None = None
    """``generate``, ``edit`` (needs an image in context) or ``auto`` (the default)."""
    size: str | None = None
    """``auto``, a standard size, or ``WxH`` on arbitrary-size models."""
    quality: str | None = None
    """low, medium, high, auto (xhigh and max where the model has them)."""
    background: str | None = None
    """transparent, opaque or auto; transparent needs png or webp."""
    output_format: str | None = None
    """png (default), jpeg, webp, gif, svg."""
    output_compression: int | None = None
    """0..100, jpeg and webp only."""
    moderation: Literal["auto", "low"] | str | None = None
    """Moderation strictness."""
    partial_images: int | None = None
    """0..3 previews, sent only by :meth:`Conversation.stream`; none with GIF."""
    input_fidelity: Literal["high", "low"] | str | None = None
    """How closely to keep input details; omit on gpt-image-2."""
    complexity: Literal["low", "medium", "high"] | str | None = None
    """Planning compute for the image, independent of quality."""
    frame_count: int | None = None
    """GIF only: 2..16 frames."""
    frame_duration_ms: int | None = None
    """GIF only: milliseconds per frame."""
    svg: Mapping[str, Any] | None = None
    """SVG only: ``{"model": ..., "reasoning": {"effort": ...}}``."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Tool fields newer than imagewright, sent as given."""

    def merged(self, **changes: Any) -> ImageOptions:
        """A copy with ``changes`` applied; ``extra`` is merged, unknown names are refused."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            hints = [
                f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
                for name in unknown
                for close in [difflib.get_close_matches(name, sorted(known), n=1)]
            ]
            raise TypeError(
                f"unexpected image option(s) {', '.join(hints)}; the tool's options are: "
                f"{', '.join(sorted(known - {'extra'}))} (anything newer in extra=)"
            )
        if "extra" in changes:
            changes["extra"] = {**self.extra, **(changes["extra"] or {})}
        return replace(self, **changes)

    def tool(self) -> dict[str, Any]:
        """The tool object as sent: ``type`` first, then the fields given, then ``extra``."""
        out: dict[str, Any] = {"type": "image_generation"}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "extra" and value is not None:
                out[f.name] = dict(value) if isinstance(value, Mapping) else value
        out.update(self.extra)
        return out


class ResponsesCall(ApiCall):
    """A compiled conversation turn: always a JSON body for ``POST /responses``.

    Its ``images`` and ``mask`` are the turn's context, kept for the proof (the source of the
    diff, the editable area); on the wire they travel inside the body, as data URLs, or not
    at all when the API already holds the image (``previous_response_id``).
    """

    @property
    def is_multipart(self) -> bool:
        """Always ``False``: a Responses body is JSON."""
        return False

    def with_params(self, **changes: Any) -> ApiCall:
        """Refused: a turn is compiled again instead (its body depends on the conversation)."""
        raise TypeError(
            "with_params() applies to Images API calls; compile the turn again instead, "
            "e.g. conversation.compile(prompt, **new_options)"
        )

    def __repr__(self) -> str:
        shown = _abridged({k: v for k, v in self.params.items() if k != "input"})
        return (
            f"ResponsesCall(prompt={_abridged(self.prompt)!r}, input_items="
            f"{len(self.params.get('input') or [])}, params={shown}, "
            f"fingerprint={self.fingerprint[:12]})"
        )


def _abridged(value: Any) -> Any:
    """``value`` with long strings (base64 images) cut for display."""
    if isinstance(value, str) and len(value) > 120:
        return f"{value[:40]}...({len(value):,} chars)"
    if isinstance(value, Mapping):
        return {k: _abridged(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_abridged(v) for v in value]
    return value


@dataclass(frozen=True)
class TurnContext:
    """Where a turn continues from: the conversation state, not the user's new input.

    Attributes:
        previous_response_id: Continue from this stored response.
        conversation: A server-side conversation id (exclusive with the previous response).
        replay: Items replayed in ``input`` before the new message (``store=False`` mode).
        image: The image the conversation is at (the last output), for masks and diffs.
        store: ``False`` asks the API not to keep the response (and for encrypted reasoning).
    """

    previous_response_id: str | None = None
    conversation: str | None = None
    replay: tuple[Mapping[str, Any], ...] = ()
    image: EncodedImage | None = None
    store: bool = True


# --------------------------------------------------------------------------------- compile


def compile_turn(
    text_model: str,
    prompt: PromptLike | EditRequest,
    *,
    options: ImageOptions,
    context: TurnContext = TurnContext(),
    mask: Any = None,
    images: Sequence[ImageSource] | ImageSource | None = None,
    stream: bool = False,
    force_tool: bool = True,
    instructions: str | None = None,
    refused: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> ApiCall:
    """Compile one turn into a ``POST /responses`` call, or raise :class:`ValidationError`.

    ``prompt`` is text, a ``Prompt``/``Layout``, or an ``EditRequest`` (its images become
    ``input_image`` content, its mask the tool's ``input_image_mask``). Every problem is
    reported at once, before anything is sent.
    """
    image_model = options.model or IMAGE_TOOL.default_model
    c = _Checker(image_model)
    if not isinstance(text_model, str) or not text_model.strip():
        c.problems.append(
            Problem("model", text_model, "the conversation needs a text model", "e.g. 'gpt-5'")
        )
    _check_model(c)
    editable = None
    sources: list[ImageSource] = []
    if isinstance(prompt, EditRequest):
        sources = prompt.image_list
        if prompt.markup is not None:
            refused = {**(refused or {}), "markup": "markup"}
        if mask is None:
            mask, editable = prompt.mask, prompt.editable
        prompt = prompt.prompt
    if images is not None:
        more: list[ImageSource] = (
            list(images) if isinstance(images, (list, tuple)) else [images]  # type: ignore[list-item]
        )
        sources += more
    text = _safe_prompt(c, prompt, image_model)
    for name, why, instead in IMAGE_TOOL.refused:
        given = {**(refused or {}), **{k: v for k, v in options.extra.items() if k == name}}
        if name in given:
            c.fail(name, given[name], why, instead)

    loaded = _load_sources(c, sources)
    source = loaded[0] if loaded else context.image
    tool = options.tool()
    if options.size is None and isinstance(prompt, SupportsPlannedSize):
        tool["size"] = prompt.planned_size(image_model)
    fmt = tool.get("output_format")
    if tool.get("action") is not None:
        c.one_of("action", tool["action"], IMAGE_TOOL.actions)
    if tool.get("action") == "edit" and source is None:
        c.fail(
            "action",
            "edit",
            "action='edit' needs an image in context, and this turn has none",
            "pass images=..., continue after a turn that made an image, or use 'auto'",
        )
    mask_image = _mask(c, mask, editable, source)
    if mask_image is not None:
        tool["input_image_mask"] = {"image_url": data_url(mask_image)}
    if fmt == "gif":
        if tool.get("partial_images"):
            c.fail("partial_images", tool["partial_images"], "GIF output takes no partial images")
        if mask is not None:
            c.fail("mask", "mask", "a mask cannot be used with GIF output")
    check_fidelity(c, tool.get("input_fidelity"))
    partials = tool.get("partial_images")
    ok = c.int_range("partial_images", partials, 0, 3)
    if ok and partials and not stream and fmt != "gif":
        c.fail(
            "partial_images",
            partials,
            "partial images are only sent when the turn streams",
            "use conv.stream(...), or omit partial_images",
        )
    # The Images API's shared rules, read for the tool. Its response streams lifecycle events
    # with any format (GIF too), so the Images API's streaming rules are not applied.
    skip = ("type", "action", "input_image_mask", "partial_images")
    common = {k: v for k, v in tool.items() if k not in skip}
    _check_common(c, common, edit=True)
    c.raise_if_any()

    content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
    content += [{"type": "input_image", "image_url": data_url(im)} for im in loaded]
    body: dict[str, Any] = {
        "model": text_model,
        "input": [*map(dict, context.replay), {"role": "user", "content": content}],
        "tools": [tool],
    }
    if force_tool:
        body["tool_choice"] = {"type": "image_generation"}
    if instructions:
        body["instructions"] = instructions
    if context.previous_response_id:
        body["previous_response_id"] = context.previous_response_id
    if context.conversation:
        body["conversation"] = context.conversation
    if not context.store:
        body["store"] = False
        body["include"] = ["reasoning.encrypted_content"]
    if stream:
        body["stream"] = True
    body.update(extra_body or {})
    return ResponsesCall(
        endpoint=RESPONSES,
        model=image_model,
        prompt=text,
        params=body,
        images=tuple(loaded) if loaded else ((source,) if source is not None else ()),
        mask=mask_image,
        warnings=c.emit_warnings(),
        finish=_finish(prompt),
    )


def _load_sources(c: _Checker, sources: Sequence[ImageSource]) -> list[EncodedImage]:
    out: list[EncodedImage] = []
    for i, src in enumerate(sources):
        try:
            out.append(load_image(src, param=f"images[{i}]"))
        except ImageInputError as exc:
            c.problems.extend(exc.problems)
    return out


def _mask(
    c: _Checker, mask: Any, editable: Any, source: EncodedImage | None
) -> EncodedImage | None:
    from .masks import prepare_mask

    if mask is None:
        return None
    if source is None:
        c.fail(
            "mask",
            "mask",
            "a mask needs an image in context, and this turn has none",
            "pass images=..., or send the mask after a turn that made an image",
        )
        return None
    try:
        return prepare_mask(mask, image=source, editable=editable)
    except (MaskError, ImageInputError) as exc:
        c.problems.extend(Problem("mask", p.value, p.message, p.allowed) for p in exc.problems)
        return None


# ------------------------------------------------------------------------------------ read


def build_turn_result(
    call: ApiCall,
    payload: Mapping[str, Any],
    *,
    response: httpx2.Response,
    started: float,
    attempts: int,
    partials: tuple[PartialImage, ...] = (),
) -> TurnResult:
    """Turn a ``Response`` object into a :class:`TurnResult`.

    Raises:
        ContentPolicyError: The image call was blocked (``moderation_blocked``), with the
            categories and the stage; or the response failed for an image content policy.
        APIError: The response or the image call failed for another reason.
        APIResponseValidationError: The answer holds no image (the model did not call the tool).
    """
    body = dict(payload)
    output = [o for o in body.get("output") or [] if isinstance(o, Mapping)]
    calls = [o for o in output if o.get("type") == "image_generation_call"]
    for item in calls:
        error = item.get("error")
        if isinstance(error, Mapping) or item.get("status") == "failed":
            raise _failure(dict(error or {}), response, body, partials, item=item)
    if body.get("status") == "failed" or isinstance(body.get("error"), Mapping):
        raise _failure(dict(body.get("error") or {}), response, body, partials)
    text = _output_text(output)
    finished = [c for c in calls if c.get("result")]
    if not finished:
        err = APIResponseValidationError(
            "the response holds no image: the model did not call the image_generation tool"
            + (f" (it said: {text[:200]!r})" if text else ""),
            response=response,
            body={"id": body.get("id"), "status": body.get("status")},
        )
        err.partial_images = list(partials)
        raise err
    first = finished[0]
    fmt = str(first.get("output_format") or call.option("output_format") or "png")
    outputs = []
    for i, item in enumerate(finished):
        try:
            outputs.append(
                OutputImage(base64.b64decode(str(item["result"]), validate=True), fmt, i)
            )
        except (binascii.Error, ValueError) as exc:
            raise APIResponseValidationError(
                f"image call {item.get('id')} has a result that is not valid base64",
                response=response,
            ) from exc
    tool_usage = (body.get("tool_usage") or {}).get("image_gen")
    text_usage = body.get("usage")
    created = body.get("created_at")
    return TurnResult(
        call=call,
        outputs=tuple(outputs),
        usage=Usage.model_validate(tool_usage) if isinstance(tool_usage, Mapping) else None,
        model=call.model,
        size=first.get("size"),
        quality=first.get("quality"),
        background=first.get("background"),
        output_format=fmt,
        created=int(created) if isinstance(created, (int, float)) else None,
        request_id=response.headers.get("x-request-id"),
        timings=Timings(started_at=started, elapsed_s=time.time() - started, attempts=attempts),
        partial_images=partials,
        response_id=body.get("id"),
        item_id=first.get("id"),
        output_item_ids=tuple(str(o["id"]) for o in output if o.get("id")),
        revised_prompt=first.get("revised_prompt"),
        text=text,
        text_model=body.get("model") or call.params.get("model"),
        text_usage=TextUsage.model_validate(text_usage)
        if isinstance(text_usage, Mapping)
        else None,
        conversation_id=_conversation_id(body.get("conversation")),
        input_items=tuple(i for i in call.params.get("input", [])[-1:] if isinstance(i, Mapping)),
        output_items=tuple(output),
    )


def _conversation_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return str(value.get("id")) if value.get("id") else None
    return value if isinstance(value, str) else None


def _output_text(output: Sequence[Mapping[str, Any]]) -> str:
    texts = []
    for item in output:
        if item.get("type") == "message":
            for part in item.get("content") or []:
                if isinstance(part, Mapping) and part.get("type") == "output_text":
                    texts.append(str(part.get("text") or ""))
    return "\n".join(texts)


def _failure(
    error: dict[str, Any],
    response: httpx2.Response,
    body: Mapping[str, Any],
    partials: tuple[PartialImage, ...],
    item: Mapping[str, Any] | None = None,
) -> APIError:
    code = error.get("code")
    where = f"image call {item.get('id')}" if item is not None else f"response {body.get('id')}"
    message = f"{where} failed: {error.get('message') or 'no reason given'}"
    exc: APIError
    if code in ("moderation_blocked", "image_content_policy_violation", "content_policy_violation"):
        exc = ContentPolicyError(message, response=response, body=error)
    else:
        exc = APIError(message, response.request, body=error or None)
    exc.partial_images = list(partials)
    exc.response_id = body.get("id")  # type: ignore[attr-defined]
    return exc


class ResponsesStreamAssembler(_transport.StreamAssembler):
    """Reads a Responses SSE stream: partial images from
    ``response.image_generation_call.partial_image``, the result from ``response.completed``."""

    def __init__(self, call: ApiCall, response: httpx2.Response, started: float, attempts: int):
        super().__init__(call, response, started, attempts)
        self.final: dict[str, Any] | None = None

    def handle(self, event: str | None, data: str) -> PartialImage | None:
        """Process one event; returns a partial image to yield, if it was one."""
        obj = self._event_object(data)
        if obj is None:
            return None
        kind = str(obj.get("type", event or ""))
        if kind == "error" or (obj.get("error") and not kind.startswith("response.")):
            # A Responses ``error`` event carries its message at the top level.
            raise self._stream_error(
                obj["error"] if isinstance(obj.get("error"), dict) else obj, obj
            )
        if kind == "response.image_generation_call.partial_image":
            return self._partial(obj, obj.get("partial_image_b64"))
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            if isinstance(obj.get("response"), dict):
                self.final = obj["response"]
            self.done = True
        return None

    def result(self) -> Result:
        """The turn's result; raises (keeping the partial images) when the stream ended early."""
        if self.final is None:
            raise self._broken(
                f"the stream ended before response.completed ({len(self.partials)} partial "
                "images received; a partial image is never taken for the final one)"
            )
        return build_turn_result(
            self.call,
            self.final,
            response=self.response,
            started=self.started,
            attempts=self.attempts,
            partials=tuple(self.partials),
        )


_transport.READERS[RESPONSES] = (build_turn_result, ResponsesStreamAssembler)
