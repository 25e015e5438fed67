"""Multi-turn image editing through the Responses API's ``image_generation`` tool.

A conversation keeps the state between turns ("now make the sign red") and gives every turn
the same proof as an Images API call: a :class:`TurnResult` is a :class:`~imagewright.Result`
whose source is the previous turn's image, with its diff, preservation (when a mask was
given), usage and cost, plus the Responses side: ``response_id``, ``item_id``,
``revised_prompt`` and the text model's tokens, kept apart from the image tool's.

State is carried three ways:

- by default with ``previous_response_id`` (the API keeps the turns);
- with ``store=False`` the conversation keeps the items itself and replays each image call
  with its reasoning item (whose encrypted content is asked for with ``include``);
- with ``conversation="conv_..."`` a server-side conversation holds them.

Turns are sent by the client's own send path: the same retries, idempotency key, budget and
key handling as ``client.generate``.

Examples:
    >>> import imagewright
    >>> with imagewright.Client.sandbox() as client:
    ...     conv = client.conversation(model="gpt-5", image=ImageOptions(quality="low"))
    ...     first = conv.send('A shop front with a sign that says "OPEN"')
    ...     second = conv.send("Now make the sign red")
    >>> second.source is not None, len(conv.history)
    (True, 2)
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from ._files import atomic_write, b64_marker, dumps
from ._receipts import RECEIPT_NAME
from ._responses import ImageOptions, ResponsesCall, TurnContext, compile_turn
from ._turn import TextUsage, TurnResult
from .calls import ApiCall
from .client import _split
from .edit import EditRequest, PromptLike
from .errors import Problem, ValidationError
from .images import ImageSource, load_image
from .results import PartialImage, Result

if TYPE_CHECKING:
    from PIL import Image
    from typing_extensions import Self

    from .client import AsyncClient, Client

__all__ = [
    "AsyncConversation",
    "Conversation",
    "ConversationOptions",
    "ImageOptions",
    "TextUsage",
    "TurnResult",
]

SCHEMA = "imagewright.conversation/1"
"""The saved conversation format."""
_MANIFEST = "conversation.json"


class ConversationOptions(TypedDict, total=False):
    """Keyword options of ``client.conversation(model, ...)``."""

    image: ImageOptions | None
    """The ``image_generation`` tool's options for every turn."""
    store: bool
    """``False`` keeps the state locally and replays it (the API stores nothing)."""
    conversation: str | None
    """A server-side conversation id that holds the state instead."""
    instructions: str | None
    """Instructions for the text model, sent on every turn."""
    force_tool: bool
    """Force the image tool on every turn with ``tool_choice`` (default ``True``)."""


class BaseConversation:
    """What both conversations share: state, compiling a turn, history, save/load, display.

    Args:
        client: The client whose send path every turn uses.
        model: The text model that runs each turn, e.g. ``"gpt-5"``.
        image: The ``image_generation`` tool's options (model, size, quality...).
        store: ``False`` keeps the state locally and replays it (the API stores nothing).
        conversation: A server-side conversation id to keep the state in instead.
        instructions: Instructions for the text model.
        force_tool: Force the image tool on every turn (``tool_choice``).
    """

    def __init__(
        self,
        client: Any,
        model: str,
        *,
        image: ImageOptions | None = None,
        store: bool = True,
        conversation: str | None = None,
        instructions: str | None = None,
        force_tool: bool = True,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValidationError(
                Problem("model", model, "the conversation needs a text model", "e.g. 'gpt-5'")
            )
        if conversation is not None and not store:
            raise ValidationError(
                Problem(
                    "conversation",
                    conversation,
                    "a server-side conversation stores its items; it cannot be used with "
                    "store=False",
                    "one of conversation=... or store=False",
                )
            )
        self.client = client
        self.model = model
        """The text model that runs each turn (e.g. ``gpt-5``)."""
        self.image_options = image or ImageOptions()
        """The image tool's options for every turn (a turn's keywords override them)."""
        self.store = store
        self.conversation_id = conversation
        """The server-side conversation id, when state lives there."""
        self.instructions = instructions
        self.force_tool = force_tool
        """Send ``tool_choice`` forcing the image tool (the default), so every turn makes an
        image; ``False`` lets the text model decide."""
        self._turns: list[TurnResult] = []
        self._busy = False

    # ---- state ---------------------------------------------------------------------------

    @property
    def history(self) -> tuple[TurnResult, ...]:
        """The turns that led to the current image, oldest first."""
        return tuple(self._turns)

    @property
    def head(self) -> TurnResult | None:
        """The latest turn (what the next turn continues from)."""
        return self._turns[-1] if self._turns else None

    @property
    def mode(self) -> str:
        """How state is carried: ``previous_response_id``, ``replay`` or ``conversation``."""
        if self.conversation_id:
            return "conversation"
        return "previous_response_id" if self.store else "replay"

    def _context(self) -> TurnContext:
        head = self.head
        # The API's own bytes (before any local finishing): what the server continues from.
        image = (
            load_image(head.output.raw or head.output.data, param="history")
            if head is not None
            else None
        )
        if self.conversation_id:
            return TurnContext(conversation=self.conversation_id, image=image)
        if not self.store:
            replay = tuple(item for turn in self._turns for item in turn.replay_items())
            return TurnContext(replay=replay, image=image, store=False)
        return TurnContext(
            previous_response_id=head.response_id if head is not None else None, image=image
        )

    def compile(
        self,
        prompt: PromptLike | EditRequest,
        *,
        mask: Any = None,
        images: Sequence[ImageSource] | ImageSource | None = None,
        stream: bool = False,
        **options: Any,
    ) -> ApiCall:
        """Compile the next turn without sending it (raises ``ValidationError`` on bad input).

        ``options`` override the conversation's :class:`ImageOptions` for this turn
        (``quality="high"``, ``action="edit"``...); ``extra_body`` adds body fields.
        """
        body, _ = _split(options)
        extra_body = body.pop("extra_body", None)
        refused: dict[str, Any] = {k: body.pop(k) for k in ("n", "markup") if k in body}
        return compile_turn(
            self.model,
            prompt,
            options=self.image_options.merged(**body),
            context=self._context(),
            mask=mask,
            images=images,
            stream=stream,
            force_tool=self.force_tool,
            instructions=self.instructions,
            refused=refused,
            extra_body=extra_body,
        )

    @contextmanager
    def _turn(self, head: TurnResult | None = None, *, check_head: bool = False) -> Iterator[None]:
        """One turn at a time: the next turn continues from the last one's answer."""
        if self._busy:
            raise RuntimeError(
                "a conversation runs one turn at a time; finish the turn in flight first "
                "(for parallel variations, start one conversation each)"
            )
        if check_head and self.head is not head:
            raise RuntimeError(
                "the conversation moved on after this stream was made (another turn or an "
                "undo); call stream() again to continue from where it is now"
            )
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    def _record(self, result: Result) -> TurnResult:
        assert isinstance(result, TurnResult)
        self._turns.append(result)
        return result

    def undo(self, steps: int = 1) -> TurnResult | None:
        """Step back ``steps`` turns; the next turn continues from the earlier response.

        Returns the turn now at the head (``None`` when back at the start). The undone turns
        stay paid for and keep their results; only the conversation forgets them.

        Raises:
            ValidationError: ``steps`` is out of range, or state is in a server-side
                conversation, which cannot be rewound.
        """
        if self.conversation_id:
            raise ValidationError(
                Problem(
                    "undo",
                    self.conversation_id,
                    "a server-side conversation cannot be rewound",
                    "use the default previous_response_id state, or store=False",
                )
            )
        if not isinstance(steps, int) or not 1 <= steps <= len(self._turns):
            raise ValidationError(
                Problem("steps", steps, "cannot undo that many turns", f"1..{len(self._turns)}")
            )
        del self._turns[-steps:]
        return self.head

    # ---- save / load -------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write every turn (a result folder each) and ``conversation.json`` to ``directory``.

        Each turn's folder is what :meth:`Result.save` writes; the manifest records the
        Responses side of every turn and the sha256 of each turn's receipt. Nothing is pickled.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        turns = []
        for i, turn in enumerate(self._turns):
            name = f"turn-{i:03d}"
            turn.save(folder / name)
            receipt = (folder / name / RECEIPT_NAME).read_bytes()
            turns.append(
                {
                    "folder": name,
                    "receipt_sha256": hashlib.sha256(receipt).hexdigest(),
                    "response_id": turn.response_id,
                    "item_id": turn.item_id,
                    "output_item_ids": list(turn.output_item_ids),
                    "revised_prompt": turn.revised_prompt,
                    "text": turn.text,
                    "text_model": turn.text_model,
                    "text_usage": turn.text_usage.model_dump(mode="json")
                    if turn.text_usage
                    else None,
                    "conversation_id": turn.conversation_id,
                    "input_items": [dict(i) for i in turn.input_items],
                    "output_items": [_mark_result(o, turn) for o in turn.output_items],
                }
            )
        manifest = {
            "schema": SCHEMA,
            "model": self.model,
            "image_options": _options_dict(self.image_options),
            "store": self.store,
            "conversation_id": self.conversation_id,
            "instructions": self.instructions,
            "force_tool": self.force_tool,
            "turns": turns,
        }
        atomic_write(folder / _MANIFEST, dumps(manifest))
        return folder

    @classmethod
    def load(cls, client: Any, directory: str | os.PathLike[str]) -> Self:
        """Read a folder written by :meth:`save` into a conversation on ``client``, ready to
        continue from its last turn.

        Raises:
            ValueError: The manifest is not one imagewright wrote, or a turn's files do not
                match their sha256.
        """
        folder = Path(directory)
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
            raise ValueError(f"{folder / _MANIFEST} is not an imagewright conversation ({SCHEMA})")
        conv = cls(
            client,
            manifest["model"],
            image=ImageOptions(**manifest["image_options"]),
            store=bool(manifest["store"]),
            conversation=manifest["conversation_id"],
            instructions=manifest["instructions"],
            force_tool=bool(manifest["force_tool"]),
        )
        for entry in manifest["turns"]:
            name = str(entry["folder"])
            if Path(name).name != name or name.startswith("."):
                raise ValueError(f"manifest names an unsafe folder: {name!r}")
            receipt = (folder / name / RECEIPT_NAME).read_bytes()
            if hashlib.sha256(receipt).hexdigest() != entry["receipt_sha256"]:
                raise ValueError(f"{name}/{RECEIPT_NAME} does not match the manifest's sha256")
            base = Result.load(folder / name)
            conv._turns.append(_turn_from(base, entry))
        return conv

    # ---- display -----------------------------------------------------------------------

    def filmstrip(self, *, height: int = 192) -> Image.Image:
        """Every turn's image side by side, oldest first, each captioned with its turn number."""
        from PIL import Image, ImageDraw

        if not self._turns:
            return Image.new("RGB", (height, height + 20), "white")
        thumbs = []
        for turn in self._turns:
            im = turn.output.image.convert("RGB")
            width = max(1, round(im.width * height / im.height))
            thumbs.append(im.resize((width, height)))
        strip = Image.new(
            "RGB", (sum(t.width for t in thumbs) + 8 * len(thumbs), height + 20), "white"
        )
        draw = ImageDraw.Draw(strip)
        x = 0
        for i, (thumb, turn) in enumerate(zip(thumbs, self._turns, strict=True)):
            strip.paste(thumb, (x, 0))
            draw.text((x + 4, height + 4), f"{i + 1}: {turn.prompt_text[:40]}", fill="black")
            x += thumb.width + 8
        return strip

    def _repr_png_(self) -> bytes:
        from ._display import png_bytes

        return png_bytes(self.filmstrip())

    def _repr_html_(self) -> str:
        import base64

        cells = []
        for i, turn in enumerate(self._turns):
            cost = f" · {turn.cost}" if turn.cost is not None else ""
            src = base64.b64encode(_thumb_png(turn)).decode("ascii")
            cells.append(
                "<figure style='display:inline-block;margin:4px;vertical-align:top'>"
                f"<img src='data:image/png;base64,{src}' style='height:160px'/>"
                f"<figcaption style='max-width:220px;font-size:12px'>{i + 1}. "
                f"{html.escape(turn.prompt_text[:80])}{html.escape(cost)}</figcaption></figure>"
            )
        title = html.escape(repr(self))
        return f"<div><div style='font-family:monospace'>{title}</div>{''.join(cells)}</div>"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, turns={len(self._turns)}, "
            f"state={self.mode}, head={self.head.response_id if self.head else None})"
        )


def _thumb_png(turn: TurnResult) -> bytes:
    from ._display import png_bytes

    im = turn.output.image.convert("RGB")
    im.thumbnail((320, 320))
    return png_bytes(im)


def _options_dict(options: ImageOptions) -> dict[str, Any]:
    out = dataclasses.asdict(options)
    out["extra"] = dict(options.extra)
    return out


def _mark_result(item: Mapping[str, Any], turn: TurnResult) -> dict[str, Any]:
    out = dict(item)
    if out.get("type") == "image_generation_call" and out.get("result"):
        for o in turn.outputs:
            out["result"] = b64_marker(out["result"], o.raw or o.data, {"$output": o.index})
    return out


def _unmark_result(item: Mapping[str, Any], base: Result) -> dict[str, Any]:
    import base64

    out = dict(item)
    marker = out.get("result")
    if isinstance(marker, dict) and set(marker) == {"$output"}:
        o = base.outputs[int(marker["$output"])]
        out["result"] = base64.b64encode(o.raw or o.data).decode("ascii")
    return out


def _turn_from(base: Result, entry: Mapping[str, Any]) -> TurnResult:
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Result)}
    call = base.call
    fields["call"] = ResponsesCall(
        **{f.name: getattr(call, f.name) for f in dataclasses.fields(ApiCall)}
    )
    usage = entry.get("text_usage")
    return TurnResult(
        **fields,
        response_id=entry.get("response_id"),
        item_id=entry.get("item_id"),
        output_item_ids=tuple(entry.get("output_item_ids") or ()),
        revised_prompt=entry.get("revised_prompt"),
        text=str(entry.get("text") or ""),
        text_model=entry.get("text_model"),
        text_usage=TextUsage.model_validate(usage) if usage else None,
        conversation_id=entry.get("conversation_id"),
        input_items=tuple(entry.get("input_items") or ()),
        output_items=tuple(_unmark_result(o, base) for o in entry.get("output_items") or ()),
    )


class Conversation(BaseConversation):
    """A multi-turn image conversation on a :class:`~imagewright.Client`.

    Make one with :meth:`Client.conversation`. Each :meth:`send` is one paid turn.
    """

    client: Client

    def send(
        self,
        prompt: PromptLike | EditRequest,
        *,
        mask: Any = None,
        images: Sequence[ImageSource] | ImageSource | None = None,
        **options: Any,
    ) -> TurnResult:
        """Run one turn and return its :class:`TurnResult`.

        Args:
            prompt: Text, a ``Prompt``/``Layout``, or an ``EditRequest`` (its images are sent
                as input images, its mask as the tool's mask).
            mask: Where this turn may change the image in context (the previous turn's
                output, or the first of ``images``).
            images: Input images for this turn (paths, bytes, PIL images...).
            **options: Image options for this turn only, and transport options
                (``timeout``, ``max_retries``, ``idempotency_key``...).

        Raises:
            ValidationError: The turn would be refused; nothing was sent.
            ContentPolicyError: The image call was blocked (``categories``,
                ``moderation_stage``).
            APIError: The API or the connection failed.
        """
        with self._turn():
            call = self.compile(prompt, mask=mask, images=images, **options)
            _, transport = _split(options)
            return self._record(self.client.send(call, **transport))

    def stream(
        self,
        prompt: PromptLike | EditRequest,
        *,
        mask: Any = None,
        images: Sequence[ImageSource] | ImageSource | None = None,
        **options: Any,
    ) -> Iterator[PartialImage | TurnResult]:
        """Run one turn streaming: yields :class:`PartialImage` previews, then the
        :class:`TurnResult` (always last). Validation happens now; nothing is sent until the
        first item is requested. A stream that ends early raises and keeps its partials on the
        error's ``partial_images``."""
        call = self.compile(prompt, mask=mask, images=images, stream=True, **options)
        _, transport = _split(options)
        return self._events(self.client.send_stream(call, **transport), self.head)

    def _events(
        self, events: Iterator[Any], head: TurnResult | None
    ) -> Iterator[PartialImage | TurnResult]:
        with self._turn(head, check_head=True):
            for event in events:
                if isinstance(event, Result):
                    event = self._record(event)
                yield event


class AsyncConversation(BaseConversation):
    """A multi-turn image conversation on an :class:`~imagewright.AsyncClient`."""

    client: AsyncClient

    async def send(
        self,
        prompt: PromptLike | EditRequest,
        *,
        mask: Any = None,
        images: Sequence[ImageSource] | ImageSource | None = None,
        **options: Any,
    ) -> TurnResult:
        """Run one turn and return its :class:`TurnResult` (see :meth:`Conversation.send`)."""
        with self._turn():
            call = self.compile(prompt, mask=mask, images=images, **options)
            _, transport = _split(options)
            return self._record(await self.client.send(call, **transport))

    def stream(
        self,
        prompt: PromptLike | EditRequest,
        *,
        mask: Any = None,
        images: Sequence[ImageSource] | ImageSource | None = None,
        **options: Any,
    ) -> AsyncIterator[PartialImage | TurnResult]:
        """Run one turn streaming: ``async for`` previews, then the :class:`TurnResult`."""
        call = self.compile(prompt, mask=mask, images=images, stream=True, **options)
        _, transport = _split(options)
        return self._events(self.client.send_stream(call, **transport), self.head)

    async def _events(
        self, events: AsyncIterator[Any], head: TurnResult | None
    ) -> AsyncIterator[PartialImage | TurnResult]:
        with self._turn(head, check_head=True):
            async for event in events:
                if isinstance(event, Result):
                    event = self._record(event)
                yield event
