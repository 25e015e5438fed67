"""``ApiCall``: one compiled API call, and the one place that knows its wire form.

The compiler (:mod:`imagewright._compile`) decides *what* a call says and checks it against
the model table; this module decides *how it is written on the wire*: a JSON body, or the
multipart form (text fields, then the image, markup and mask files) in the order the official
SDK sends them. The transport only asks the call for its form (:meth:`ApiCall.to_httpx`); no
other module flattens or regroups parts.

An ``ApiCall`` is general on purpose: any path under the API's base URL, a JSON or a multipart
body, streamed or not. Images API calls come from ``compile_generate`` and ``compile_edit``;
other endpoints (JSON edits that name uploaded files, Batch API lines, Responses API bodies)
can build one directly:

Examples:
    >>> from imagewright import ApiCall
    >>> call = ApiCall("/images/generations", "gpt-image-2", "a red fox",
    ...                {"prompt": "a red fox", "model": "gpt-image-2", "size": "1024x1024"})
    >>> call.is_multipart, sorted(call.to_httpx())
    (False, ['json'])
    >>> call.json_body()["size"]
    '1024x1024'
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .images import EncodedImage

__all__ = ["ApiCall", "FileField", "Part"]

GENERATIONS = "/images/generations"
EDITS = "/images/edits"

FileField = tuple[str, tuple[str | None, bytes, str | None]]
"""One file of a multipart form as httpx2 takes it: ``(name, (filename, bytes, mime))``."""

# Options that change delivery, not the picture: left out of the fingerprint so a streamed and
# a plain call for the same image share one.
_NOT_FINGERPRINTED = frozenset({"stream", "partial_images"})


@dataclass(frozen=True)
class Part:
    """One multipart part: a text field (``value``) or a file (``filename``, ``content``, ``content_type``)."""

    name: str
    value: str | None = None
    filename: str | None = None
    content: bytes | None = None
    content_type: str | None = None

    @property
    def is_file(self) -> bool:
        """True for file parts."""
        return self.content is not None


@dataclass(frozen=True)
class ApiCall:
    """One compiled API call, ready to send; pure data that owns its wire form.

    Attributes:
        endpoint: The path under the base URL (``/images/generations``, ``/images/edits``...).
        model: The model named in the call (``None`` only if it was left to ``extra_body``).
        prompt: The prompt text as sent.
        params: Every non-file field as sent, in the official SDK's order (``prompt`` first,
            then the rest alphabetically, then ``extra_body``).
        images: The encoded source images (edits), in order.
        images_as_list: Whether the images go as repeated ``image[]`` parts (else one ``image``).
        mask: The encoded OpenAI mask (RGBA PNG, alpha 0 = editable), if any.
        markup: The encoded markup overlay, if any.
        fingerprint: sha256 over everything that affects the output image (lazy: hashing
            large inputs costs about 1 ms per MB, paid only when a fingerprint is read).
        warnings: Non-fatal findings of the compiler (also emitted as Python warnings).
        finish: Local finishing the client applies to each output (a layout's crop or text
            overlay); not part of the wire form.
        by_reference: An edit whose inputs are named by reference (``params["images"]`` and
            ``params["mask"]`` hold ``{"file_id": ...}`` / ``{"image_url": ...}`` objects): it
            is sent as JSON. ``images`` and ``mask`` then hold local copies of the inputs
            when they are known (for the diff), and are never sent.

    A call that carries files (images, mask or markup) is sent as ``multipart/form-data``;
    any other call as a JSON body. ``params["stream"]`` asks for a server-sent-event answer.
    """

    endpoint: str
    model: str | None
    prompt: str
    params: Mapping[str, Any]
    images: tuple[EncodedImage, ...] = ()
    images_as_list: bool = False
    mask: EncodedImage | None = None
    markup: EncodedImage | None = None
    warnings: tuple[str, ...] = ()
    finish: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    by_reference: bool = False

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over everything that affects the output image (computed on first use)."""
        if self.by_reference:
            # The references in params name the inputs; local copies do not change the call.
            return fingerprint(self.endpoint, self.params)
        return fingerprint(self.endpoint, self.params, self.images, self.mask, self.markup)

    @property
    def is_edit(self) -> bool:
        """True for ``/images/edits`` calls."""
        return self.endpoint == EDITS

    @property
    def is_multipart(self) -> bool:
        """True when the call carries files, so it goes as ``multipart/form-data``."""
        if self.by_reference:
            return False
        return bool(self.images) or self.mask is not None or self.markup is not None

    @property
    def stream(self) -> bool:
        """True when the call asks for a streamed (SSE) answer."""
        return bool(self.params.get("stream"))

    @property
    def n(self) -> int:
        """How many images the call asks for."""
        n = self.params.get("n", 1)
        return n if isinstance(n, int) else 1

    def option(self, name: str, default: Any = None) -> Any:
        """The value of a body field, or ``default`` when it is not sent."""
        return self.params.get(name, default)

    # ---- wire form ----------------------------------------------------------------------

    def json_body(self) -> dict[str, Any]:
        """The JSON body of a call without files."""
        if self.is_multipart:
            raise TypeError("this call carries files and is sent as multipart; use parts()")
        return dict(self.params)

    def parts(self) -> list[Part]:
        """The multipart parts, in the order the official SDK sends them: text, images, markup, mask."""
        if not self.is_multipart:
            raise TypeError("this call carries no files and is sent as JSON; use json_body()")
        text = [Part(name, value=value) for name, value in _flatten_form(self.params)]
        return text + self._file_parts()

    def _file_parts(self) -> list[Part]:
        image_name = "image[]" if self.images_as_list else "image"
        out = [_file_part(image_name, img) for img in self.images]
        if self.markup is not None:
            out.append(_file_part("markup", self.markup))
        if self.mask is not None:
            out.append(_file_part("mask", self.mask))
        return out

    def form_fields(self) -> dict[str, list[str]]:
        """The multipart text fields (a repeated name gives a list), as httpx2's ``data=``."""
        data: dict[str, list[str]] = {}
        for name, value in _flatten_form(self.params):
            data.setdefault(name, []).append(value)
        return data

    def files(self) -> list[FileField]:
        """The multipart files in order, as httpx2's ``files=`` (the bytes are not copied)."""
        return [
            (p.name, (p.filename, p.content, p.content_type))
            for p in self._file_parts()
            if p.content is not None
        ]

    def to_httpx(self) -> dict[str, Any]:
        """The body keywords for ``httpx2.Client.build_request``: ``json=``, or ``data=`` and ``files=``."""
        if self.is_multipart:
            return {"data": self.form_fields(), "files": self.files()}
        return {"json": self.json_body()}

    # ---- copies and views ---------------------------------------------------------------

    def with_params(self, **changes: Any) -> ApiCall:
        """A copy with some body fields replaced (``None`` removes a field), validated again."""
        from ._compile import check_params

        params = dict(self.params)
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        check_params(params, edit=self.is_edit)
        return replace(self, params=params, model=params.get("model"), prompt=str(params["prompt"]))

    def to_curl(self, base_url: str = "https://api.openai.com/v1") -> str:
        """A curl command reproducing this call, with the key left as ``$OPENAI_API_KEY``.

        File parts are written as ``@<filename>``: save the inputs under those names to run it.
        """
        url = base_url.rstrip("/") + self.endpoint
        lines = [f"curl {shlex.quote(url)}", '-H "Authorization: Bearer $OPENAI_API_KEY"']
        if self.is_multipart:
            for p in self.parts():
                if p.is_file:
                    spec = f"{p.name}=@{p.filename};type={p.content_type}"
                else:
                    spec = f"{p.name}={p.value}"
                lines.append(f"-F {shlex.quote(spec)}")
        else:
            lines.append('-H "Content-Type: application/json"')
            lines.append(f"-d {shlex.quote(json.dumps(self.json_body(), ensure_ascii=False))}")
        return " \\\n  ".join(lines)

    def with_sources(
        self, images: Sequence[EncodedImage], mask: EncodedImage | None = None
    ) -> ApiCall:
        """A copy of a call by reference holding local copies of its inputs (for the diff).

        The wire form and the fingerprint do not change: the references are still what is sent.
        """
        if not self.by_reference:
            raise TypeError("only a call by reference takes local copies of its inputs")
        return replace(self, images=tuple(images), mask=mask)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k != "prompt"}
        prompt = self.prompt if len(self.prompt) <= 60 else self.prompt[:57] + "..."
        extra = f", images={len(self.images)}" if self.images else ""
        extra += ", mask" if self.mask is not None else ""
        extra += ", markup" if self.markup is not None else ""
        return (
            f"ApiCall({self.endpoint}, prompt={prompt!r}, params={shown}{extra}, "
            f"fingerprint={self.fingerprint[:12]})"
        )


def _file_part(name: str, img: EncodedImage) -> Part:
    return Part(name, filename=img.filename, content=img.data, content_type=img.mime)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten_form(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Bracket-encode nested objects (``svg[reasoning][effort]``) and lists (``key[]``)."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if value is None:
            continue
        if isinstance(value, Mapping):
            out += _flatten_form(value, name)
        elif isinstance(value, (list, tuple)):
            out += [(f"{name}[]", _form_value(v)) for v in value if v is not None]
        else:
            out.append((name, _form_value(value)))
    return out


def fingerprint(
    endpoint: str,
    params: Mapping[str, Any],
    images: Sequence[EncodedImage] = (),
    mask: EncodedImage | None = None,
    markup: EncodedImage | None = None,
) -> str:
    """sha256 over the endpoint, the output-affecting fields and the input bytes."""
    doc = {
        "endpoint": endpoint,
        "params": {k: v for k, v in params.items() if k not in _NOT_FINGERPRINTED},
        "images": [img.sha256 for img in images],
        "mask": mask.sha256 if mask else None,
        "markup": markup.sha256 if markup else None,
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
