"""What ``map`` accepts as one request, and how it becomes a compiled call (pure, no I/O)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._folders import unsafe_name
from .edit import EditRequest, as_edit_request
from .errors import Problem, ValidationError

if TYPE_CHECKING:
    from .calls import ApiCall
    from .client import BaseClient

__all__ = ["Item", "check_key", "compile_item", "parse_item"]

_EDIT_FIELDS = ("images", "mask", "markup", "editable")
_ALLOWED = (
    "a prompt (str, Prompt, Layout), an EditRequest, a (request, {options}) tuple, or a dict "
    "with 'prompt' (plus 'images' for an edit) or 'request', and optional 'key' and options"
)


@dataclass(frozen=True)
class Item:
    """One request of a batch, normalised: what to compile and the per-request options."""

    index: int
    request: Any
    """The request exactly as the caller gave it (kept on failures)."""
    target: Any
    """The prompt (generations) or the :class:`EditRequest` (edits)."""
    kind: Literal["generate", "edit"]
    key: str | None
    options: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The folder name for ``save_to``: the caller's key, else the index."""
        return self.key if self.key is not None else f"{self.index:06d}"


def check_key(key: object, where: str) -> str:
    """A caller's ``key`` must make a safe folder name (see :func:`unsafe_name`)."""
    reason = unsafe_name(key)
    if reason is not None:
        raise ValidationError(
            Problem(where, key, "a key names the request's result folder", reason)
        )
    assert isinstance(key, str)
    return key


def parse_item(index: int, request: Any) -> Item:
    """Normalise one request of a batch; raises ``ValidationError`` naming ``requests[i]``."""
    where = f"requests[{index}]"
    target: Any = request
    options: dict[str, Any] = {}
    if isinstance(request, tuple):
        if len(request) != 2 or not isinstance(request[1], Mapping):
            raise ValidationError(Problem(where, request, "a tuple must be (request, {options})"))
        target, options = request[0], dict(request[1])
    elif isinstance(request, Mapping):
        options = dict(request)
        if "request" in options:
            target = options.pop("request")
        elif "prompt" in options:
            prompt = options.pop("prompt")
            fields = {k: options.pop(k) for k in _EDIT_FIELDS if k in options}
            if "images" in fields:
                target = as_edit_request(fields.pop("images"), prompt, **fields)
            elif fields:
                raise ValidationError(
                    Problem(where, sorted(fields), "mask, markup and editable need 'images'")
                )
            else:
                target = prompt
        else:
            raise ValidationError(Problem(where, request, "a dict needs 'prompt' or 'request'"))
    key = options.pop("key", None)
    if key is not None:
        key = check_key(key, f"{where}.key")
    if isinstance(target, EditRequest):
        return Item(index, request, target, "edit", key, options)
    if isinstance(target, str) or hasattr(target, "compile"):
        return Item(index, request, target, "generate", key, options)
    raise ValidationError(Problem(where, type(target).__name__, "not a request", _ALLOWED))


def compile_item(client: BaseClient, item: Item, shared: Mapping[str, Any]) -> ApiCall:
    """The item's compiled call: shared options, then the item's own (pure)."""
    from .client import _split

    options = {**shared, **item.options}
    body, _ = _split(options)
    try:
        if item.kind == "edit":
            return client.compile_edit(item.target, **body)
        return client.compile_generate(item.target, **body)
    except ValidationError as exc:
        raise located(exc, item, shared) from exc


def located(exc: ValidationError, item: Item, shared: Mapping[str, Any]) -> ValidationError:
    """``exc`` with each problem of the request itself named ``requests[i].<param>`` (a
    problem with a keyword option shared by every request keeps its plain name)."""
    where = f"requests[{item.index}]"

    def own(param: str) -> bool:
        base = param.split("[", 1)[0].split(".", 1)[0]
        return base not in shared or base in item.options

    problems = [
        dataclasses.replace(p, param=f"{where}.{p.param}") if own(p.param) else p
        for p in exc.problems
    ]
    return type(exc)(problems)  # the same class: ImageInputError stays one


def transport_options(item: Item, shared: Mapping[str, Any]) -> dict[str, Any]:
    """The transport options in force for the item (timeout, max_retries, ...)."""
    from .client import _split

    return _split({**shared, **item.options})[1]
