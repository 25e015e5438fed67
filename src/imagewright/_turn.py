"""``TurnResult``: one conversation turn, a :class:`~imagewright.Result` plus the Responses
API's side of it (ids, revised prompt, the text model's tokens, the items to replay)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from .results import Result, _Lenient

__all__ = ["TextUsage", "TurnResult"]


class TextUsage(_Lenient):
    """The text model's tokens for one turn (billed at the text model's prices, which
    imagewright does not price)."""

    input_tokens: int = 0
    """Input tokens (the conversation so far, images included)."""
    output_tokens: int = 0
    """Output tokens, reasoning included."""
    total_tokens: int = 0
    """Input plus output."""
    input_tokens_details: dict[str, Any] | None = None
    """``cached_tokens`` and friends, as reported."""
    output_tokens_details: dict[str, Any] | None = None
    """``reasoning_tokens``, as reported."""

    @property
    def reasoning_tokens(self) -> int:
        """Reasoning tokens among the output tokens."""
        return int((self.output_tokens_details or {}).get("reasoning_tokens") or 0)


@dataclass(frozen=True, repr=False)
class TurnResult(Result):
    """One conversation turn: a :class:`Result` (image, source, diff, cost...) plus the
    Responses API's side of it.

    ``usage`` and ``cost`` are the image tool's; the text model's tokens are in
    ``text_usage``, kept apart because they are billed at another model's prices.

    Attributes:
        response_id: The response's id (``resp_...``), what ``previous_response_id`` names.
        item_id: The ``image_generation_call`` item's id (``ig_...``).
        output_item_ids: Every output item's id, in order (reasoning, image call, message).
        revised_prompt: The prompt the tool actually used, as the API reported it.
        text: What the text model said besides calling the tool.
        text_model: The text model that ran the turn.
        text_usage: The text model's tokens.
        conversation_id: The server-side conversation, when one is used.
        input_items: The items this turn added to the input (the user message).
        output_items: The response's output items as the API sent them.
    """

    response_id: str | None = None
    item_id: str | None = None
    output_item_ids: tuple[str, ...] = ()
    revised_prompt: str | None = None
    text: str = ""
    text_model: str | None = None
    text_usage: TextUsage | None = None
    conversation_id: str | None = None
    input_items: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    output_items: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)

    @property
    def kind(self) -> Literal["generate", "edit"]:
        """``"edit"`` when the turn had an image in context, else ``"generate"``."""
        return "edit" if self.call.images else "generate"

    def replay_items(self) -> list[dict[str, Any]]:
        """This turn's items as a stateless (``store=False``) request replays them: the user
        message, then each reasoning item with its image call (and any message)."""
        return [dict(i) for i in self.input_items] + [
            item for item in (_replayable(o) for o in self.output_items) if item is not None
        ]

    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        pictures: bool | None = None,
        diff: bool = True,
        checks: bool = True,
    ) -> Path:
        """Write the turn to ``directory`` as :meth:`Result.save` does (the same ``overwrite``,
        ``pictures``, ``diff`` and ``checks`` rules), keeping each image once.

        The body's copies of images (input images as data URLs, image calls replayed with
        ``store=False``) are recorded in ``result.json`` by their sha256 and length: the
        images themselves are the folder's ``source-*``/``output-*`` files, and a long
        ``store=False`` conversation would otherwise repeat every earlier image in every turn.
        """
        call = replace(self.call, params=_compact(self.call.params))
        call.__dict__["fingerprint"] = self.call.fingerprint  # the fingerprint of what was sent
        kept = replace(self, call=call)
        # Reuse what was already computed (decoded images, diffs, checks).
        names = {f.name for f in fields(self)}
        kept.__dict__.update({k: v for k, v in self.__dict__.items() if k not in names})
        return Result.save(
            kept, directory, overwrite=overwrite, pictures=pictures, diff=diff, checks=checks
        )

    def summary(self) -> str:
        """:meth:`Result.summary`, then the turn's ids and the text model's tokens."""
        lines = [super().summary(), f"turn {self.response_id} · image call {self.item_id}"]
        if self.text_usage is not None:
            lines.append(
                f"text model {self.text_model}: {self.text_usage.total_tokens} tokens "
                f"({self.text_usage.reasoning_tokens} reasoning; not priced by imagewright)"
            )
        if self.revised_prompt and self.revised_prompt != self.prompt_text:
            lines.append(f"revised prompt: {self.revised_prompt}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        tokens = f", tokens={self.usage.total_tokens}" if self.usage else ""
        return (
            f"TurnResult({self.kind}, model={self.model}, text_model={self.text_model}, "
            f"size={self.size}{tokens}, response_id={self.response_id}, item_id={self.item_id})"
        )


_LONG = 1024


def _compact(value: Any) -> Any:
    """``value`` with every string longer than 1 KiB (base64 images) replaced by its digest."""
    if isinstance(value, str) and len(value) > _LONG:
        digest = hashlib.sha256(value.encode()).hexdigest()
        return {"$omitted": f"sha256:{digest}", "chars": len(value)}
    if isinstance(value, Mapping):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_compact(v) for v in value]
    return value


# Fields each output item keeps when replayed as input (the input params' fields).
_REPLAY_FIELDS = {
    "reasoning": ("type", "id", "summary", "encrypted_content", "content"),
    "image_generation_call": ("type", "id", "status", "result"),
    "message": ("type", "id", "role", "status", "content"),
}


def _replayable(item: Mapping[str, Any]) -> dict[str, Any] | None:
    keep = _REPLAY_FIELDS.get(str(item.get("type")))
    if keep is None:
        return None
    out = {k: item[k] for k in keep if k in item and item[k] is not None}
    if out["type"] == "reasoning":
        out.setdefault("summary", [])
    return out
