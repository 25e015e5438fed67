"""Server-side request validation: an independent reading of the Images API's rules.

This deliberately does not reuse imagewright's compiler: it is the *other side* of the wire,
so a client bug shows up here as the same 400 the real API would send. Model facts come from
the shared capability table (:mod:`imagewright.models`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from ..models import ModelSpec, lookup, parse_size
from ._paint import min_alpha
from ._protocol import Part, Refusal, boundary_of, parse_multipart

__all__ = ["Job", "parse_request"]

_COMMON = {
    "prompt", "model", "background", "complexity", "frame_count", "frame_duration_ms", "n",
    "output_compression", "output_format", "partial_images", "quality", "response_format",
    "safety_identifier", "size", "stream", "user",
}  # fmt: skip
_GENERATE_ONLY = {"moderation", "style", "svg"}
_EDIT_ONLY = {"input_fidelity", "svg"}
_EDIT_FILES = ("image", "image[]", "mask", "markup")
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/jpg", "image/webp")
_SNIFF = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}
_EFFECTIVE_QUALITY = {"auto": "medium"}


@dataclass(frozen=True)
class Job:
    """A request the sandbox accepted, with every value resolved to what it will make."""

    endpoint: str
    model: str
    prompt: str
    n: int
    width: int
    height: int
    quality: str
    background: str
    output_format: str
    compression: int | None
    stream: bool
    partial_images: int
    safety_identifier: str | None
    images: tuple[Image.Image, ...]
    mask: Image.Image | None
    markup: Image.Image | None
    fingerprint: str

    @property
    def size(self) -> str:
        """The effective ``WxH``."""
        return f"{self.width}x{self.height}"


def _quote(values: tuple[str, ...] | list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 1 else quoted[0]


class _Fields:
    """Typed access to request values, from JSON (typed) or a form (all strings)."""

    def __init__(self, values: Mapping[str, Any], *, form: bool) -> None:
        self.values = {k: v for k, v in values.items() if v is not None}
        self.form = form

    def has(self, name: str) -> bool:
        return name in self.values

    def _type_error(self, name: str, expected: str, value: Any) -> Refusal:
        got = {str: "a string", bool: "a boolean", int: "an integer", float: "a decimal"}.get(
            type(value), "an object" if isinstance(value, dict) else "an array"
        )
        return Refusal(
            400,
            f"Invalid type for '{name}': expected {expected}, but got {got} instead.",
            param=name,
            code="invalid_type",
        )

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name, default)
        if value is not None and not isinstance(value, str):
            raise self._type_error(name, "a string", value)
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.string(name, default)
        assert value is not None
        if value not in allowed:
            raise Refusal(
                400,
                f"Invalid value: '{value}'. Supported values are: {_quote(allowed)}.",
                param=name,
                code="invalid_value",
            )
        return value

    def integer(self, name: str, low: int, high: int, default: int | None) -> int | None:
        value = self.values.get(name, default)
        if value is None:
            return None
        if self.form and isinstance(value, str):
            text = value.strip()
            if not text.lstrip("-").isdigit():
                raise self._type_error(name, "an integer", value)
            value = int(text)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._type_error(name, "an integer", value)
        if value < low:
            raise Refusal(
                400,
                f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got {value} instead.",
                param=name,
                code="integer_below_min_value",
            )
        if value > high:
            raise Refusal(
                400,
                f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got {value} instead.",
                param=name,
                code="integer_above_max_value",
            )
        return value

    def boolean(self, name: str) -> bool:
        value = self.values.get(name, False)
        if self.form and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise self._type_error(name, "a boolean", value)
        return value


def _unsupported(param: str, message: str) -> Refusal:
    return Refusal(400, message, param=param, code="unsupported_parameter")


Resolver = Callable[[str, Any], Part]
"""Turns one ``ImageRefParam`` of a JSON edit (the param name and the object) into its bytes."""


def _load_fields(
    endpoint: str, content_type: str, body: bytes, resolve: Resolver | None = None
) -> tuple[_Fields, list[Part]]:
    is_json = content_type.lower().startswith("application/json")
    if endpoint == "generations" or is_json:
        if not is_json:
            raise Refusal(
                400, "Invalid Content-Type header: /images/generations expects application/json."
            )
        try:
            values = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Refusal(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
                "your HTTP library correctly. The OpenAI API expects a JSON payload.)",
            ) from None
        if not isinstance(values, dict):
            raise Refusal(400, "The request body must be a JSON object.")
        if endpoint == "edits":
            return _json_edit(values, resolve)
        return _Fields(values, form=False), []
    boundary = boundary_of(content_type)
    if boundary is None:
        raise Refusal(
            400,
            "Invalid Content-Type header: /images/edits expects multipart/form-data with a boundary.",
        )
    parts = parse_multipart(body, boundary)
    text: dict[str, Any] = {}
    files: list[Part] = []
    for part in parts:
        if part.name in _EDIT_FILES:
            files.append(part)
        elif part.filename is not None:
            raise Refusal(
                400,
                f"Unexpected file for '{part.name}'.",
                param=part.name,
                code="unknown_parameter",
            )
        else:
            text[part.name] = part.data.decode("utf-8", "replace")
    return _Fields(text, form=True), files


def _json_edit(values: dict[str, Any], resolve: Resolver | None) -> tuple[_Fields, list[Part]]:
    """The JSON form of an edit: ``images`` and ``mask`` are references, resolved to files."""
    if "image" in values or "image[]" in values:
        raise Refusal(
            400,
            "Unknown parameter: 'image'. The JSON form takes 'images': a list of "
            "{'file_id': ...} or {'image_url': ...} objects.",
            param="image",
            code="unknown_parameter",
        )
    images = values.pop("images", None)
    mask = values.pop("mask", None)
    if not isinstance(images, list) or not images:
        raise Refusal(
            400,
            "Missing required parameter: 'images'.",
            param="images",
            code="missing_required_parameter",
        )
    if resolve is None:
        raise Refusal(400, "This server cannot resolve image references.", param="images")
    files = [resolve(f"images[{i}]", ref) for i, ref in enumerate(images)]
    files = [Part("image[]", p.data, p.filename, p.content_type) for p in files]
    if mask is not None:
        m = resolve("mask", mask)
        files.append(Part("mask", m.data, m.filename, m.content_type))
    return _Fields(values, form=False), files


def _fingerprint(fields: _Fields, files: list[Part]) -> str:
    digest = hashlib.sha256(json.dumps(sorted(fields.values.items()), default=str).encode())
    for part in files:
        digest.update(part.name.encode() + b"\0" + hashlib.sha256(part.data).digest())
    return digest.hexdigest()


def _model(fields: _Fields) -> ModelSpec:
    name = fields.string("model")
    if not name:
        raise Refusal(
            400,
            "Missing required parameter: 'model'. (The implicit default, dall-e-2, was retired; name a GPT Image model.)",
            param="model",
            code="missing_required_parameter",
        )
    spec = lookup(name)
    if spec is None:
        raise Refusal(
            404,
            f"The model '{name}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    if not spec.available:
        raise Refusal(
            404,
            spec.unavailable_message()[0].upper() + spec.unavailable_message()[1:] + ".",
            param="model",
            code="model_not_found",
        )
    return spec


def _prompt(fields: _Fields, spec: ModelSpec) -> str:
    prompt = fields.string("prompt")
    if prompt is None:
        raise Refusal(
            400,
            "Missing required parameter: 'prompt'.",
            param="prompt",
            code="missing_required_parameter",
        )
    if not prompt:
        raise Refusal(
            400,
            "Invalid 'prompt': empty string. Expected a string with minimum length 1, but got an empty string instead.",
            param="prompt",
            code="empty_string",
        )
    if len(prompt) > spec.max_prompt_chars:
        raise Refusal(
            400,
            f"Invalid 'prompt': string too long. Expected a string with maximum length {spec.max_prompt_chars}, "
            f"but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    return prompt


MAX_PIXELS = 50_000_000
"""Input images larger than this are refused from their header (decompression bombs)."""


def _open(part: Part, param: str, *, limit: int, png_only: bool = False) -> Image.Image:
    mime = (part.content_type or "application/octet-stream").split(";")[0].strip().lower()
    allowed = ("image/png",) if png_only else _IMAGE_MIMES
    if mime not in allowed:
        kinds = "'image/png'" if png_only else "'image/jpeg', 'image/png', and 'image/webp'"
        raise Refusal(
            400,
            f"Invalid file '{param}': unsupported mimetype ('{mime}'). Supported file formats are {kinds}.",
            param=param,
            code="invalid_image_format",
        )
    data = part.data
    kind = next((k for magic, k in _SNIFF.items() if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "webp"
    if kind is None or (png_only and kind != "png"):
        raise Refusal(
            400,
            f"Invalid image file '{param}': the bytes are not a {'PNG' if png_only else 'PNG, JPEG or WebP'} image.",
            param=param,
            code="invalid_image_format",
        )
    if len(data) >= limit:
        raise Refusal(
            400,
            f"Invalid image file '{param}': {len(data):,} bytes is over the {limit:,}-byte limit.",
            param=param,
            code="image_too_large",
        )
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                # Refused from the header, before a decompression bomb is inflated.
                raise Refusal(
                    400,
                    f"Invalid image file '{param}': {im.width}x{im.height} pixels is over the "
                    f"{MAX_PIXELS:,}-pixel limit.",
                    param=param,
                    code="image_too_large",
                )
            im.load()
            return ImageOps.exif_transpose(im).convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise Refusal(
            400,
            f"Invalid image file '{param}': the image could not be decoded.",
            param=param,
            code="invalid_image",
        ) from None


def _has_alpha(part: Part) -> bool:
    with Image.open(io.BytesIO(part.data)) as im:
        return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info


def _edit_files(
    fields: _Fields, files: list[Part], spec: ModelSpec
) -> tuple[list[Image.Image], Image.Image | None, Image.Image | None]:
    sources = [p for p in files if p.name in ("image", "image[]")]
    if not sources:
        raise Refusal(
            400,
            "Missing required parameter: 'image'.",
            param="image",
            code="missing_required_parameter",
        )
    if len(sources) > spec.max_images:
        raise Refusal(
            400,
            f"Invalid 'image': too many images ({len(sources)}). Expected at most {spec.max_images}.",
            param="image",
            code="too_many_images",
        )
    images = [_open(p, p.name, limit=spec.max_image_bytes) for p in sources]
    masks = [p for p in files if p.name == "mask"]
    markups = [p for p in files if p.name == "markup"]
    if masks and markups:
        raise Refusal(
            400,
            "'mask' and 'markup' cannot be combined; send one of them.",
            param="markup",
            code="invalid_value",
        )
    mask = markup = None
    first = images[0].size
    for kind, parts in (("mask", masks), ("markup", markups)):
        if not parts:
            continue
        if kind == "markup" and not spec.markup:
            raise _unsupported(
                "markup",
                f"'markup' is not supported with model '{spec.name}'; it needs a GPT Image 2.5 model.",
            )
        if kind == "mask" and not spec.mask:
            raise _unsupported("mask", f"'mask' is not supported with model '{spec.name}'.")
        part = parts[0]
        opened = _open(part, kind, limit=spec.max_mask_bytes, png_only=True)
        if not _has_alpha(part):
            raise Refusal(
                400,
                f"Invalid {kind} image: it must be a PNG with an alpha channel (transparent pixels mark the area).",
                param=kind,
                code="invalid_image",
            )
        if opened.size != first:
            raise Refusal(
                400,
                f"Invalid {kind} image: its size {opened.size[0]}x{opened.size[1]} does not match the first image's size {first[0]}x{first[1]}.",
                param=kind,
                code="invalid_image",
            )
        if kind == "markup" and min_alpha(opened) == 255:
            raise Refusal(
                400,
                "Invalid markup image: it must contain transparent pixels.",
                param="markup",
                code="invalid_image",
            )
        if kind == "mask":
            mask = opened
        else:
            markup = opened
    return images, mask, markup


def _size(fields: _Fields, spec: ModelSpec, images: list[Image.Image]) -> tuple[int, int]:
    size = fields.string("size", "auto")
    assert size is not None
    reasons = spec.check_size(size)
    if reasons:
        raise Refusal(
            400,
            f"Invalid value: '{size}'. {reasons[0][0].upper()}{reasons[0][1:]}; supported sizes are {spec.sizes.describe()}.",
            param="size",
            code="invalid_value",
        )
    if size == "auto":
        return images[0].size if images else (1024, 1024)
    parsed = parse_size(size)
    assert parsed is not None
    return parsed


def parse_request(
    endpoint: str, content_type: str, body: bytes, resolve: Resolver | None = None
) -> Job:
    """Parse and validate one ``generations`` or ``edits`` request the way the API would.

    ``resolve`` turns the image references of a JSON edit into files (the sandbox's own).

    Raises:
        Refusal: The first problem found, with the API's status, message, param and code.
    """
    fields, files = _load_fields(endpoint, content_type, body, resolve)
    known = _COMMON | (_GENERATE_ONLY if endpoint == "generations" else _EDIT_ONLY)
    for name in fields.values:
        root = name.split("[", 1)[0]
        # JSON carries ``svg`` as an object; a form carries it bracket-flattened (svg[model]).
        nested_ok = root == "svg" and (name == "svg") != (endpoint == "edits")
        if (
            root not in known
            or (root == "svg" and not nested_ok)
            or (root != name and root != "svg")
        ):
            raise Refusal(
                400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter"
            )
    spec = _model(fields)
    prompt = _prompt(fields, spec)
    n = fields.integer("n", 1, spec.max_n, 1)
    assert n is not None
    output_format = fields.choice("output_format", ("png", "jpeg", "webp", "gif", "svg"), "png")
    if output_format not in spec.output_formats:
        raise _unsupported(
            "output_format",
            f"output_format '{output_format}' is not supported with model '{spec.name}'.",
        )
    quality = fields.choice(
        "quality", ("low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"), "auto"
    )
    if quality not in spec.qualities:
        raise Refusal(
            400,
            f"Invalid value: '{quality}'. Supported values for model '{spec.name}' are: {_quote(spec.qualities)}.",
            param="quality",
            code="invalid_value",
        )
    background = fields.choice("background", ("transparent", "opaque", "auto"), "auto")
    if background == "transparent" and output_format not in ("png", "webp"):
        raise Refusal(
            400,
            f"Transparent background requires output_format 'png' or 'webp', got '{output_format}'.",
            param="background",
            code="invalid_value",
        )
    compression = fields.integer("output_compression", 0, 100, None)
    if compression is not None and output_format not in ("jpeg", "webp"):
        raise _unsupported(
            "output_compression",
            f"output_compression is only supported for output_format 'jpeg' and 'webp', not '{output_format}'.",
        )
    stream = fields.boolean("stream")
    partial_images = fields.integer("partial_images", 0, 3, 0) or 0
    if partial_images and not stream:
        raise _unsupported(
            "partial_images", "partial_images is only supported when stream is true."
        )
    if stream and output_format in ("gif", "svg"):
        raise _unsupported(
            "stream", f"Streaming is not supported for output_format '{output_format}'."
        )
    for legacy in ("style", "response_format"):
        if fields.has(legacy):
            raise _unsupported(
                legacy,
                f"'{legacy}' is not supported with GPT Image models (images are always returned as b64_json).",
            )
    if endpoint == "generations":
        fields.choice("moderation", ("low", "auto"), "auto")
    fields.choice("complexity", ("low", "medium", "high"), "medium")
    if any(k == "svg" or k.startswith("svg[") for k in fields.values) and output_format != "svg":
        raise _unsupported("svg", "'svg' options are only supported with output_format 'svg'.")
    fields.integer("frame_count", 2, 16, None)
    fields.integer("frame_duration_ms", 0, 655_350, None)
    for gif_only in ("frame_count", "frame_duration_ms"):
        if fields.has(gif_only) and output_format != "gif":
            raise _unsupported(
                gif_only, f"'{gif_only}' is only supported with output_format 'gif'."
            )
    if fields.has("input_fidelity"):
        value = fields.choice("input_fidelity", ("high", "low"), "low")
        if spec.input_fidelity is None or value not in spec.input_fidelity:
            raise _unsupported(
                "input_fidelity",
                f"input_fidelity '{value}' is not supported with model '{spec.name}'.",
            )
    if output_format == "svg" and n != 1:
        raise Refusal(400, "SVG output requires n=1.", param="n", code="invalid_value")
    images: list[Image.Image] = []
    mask = markup = None
    if endpoint == "edits":
        images, mask, markup = _edit_files(fields, files, spec)
        if mask is not None and output_format == "gif":
            raise _unsupported("mask", "'mask' cannot be used with GIF output.")
    width, height = _size(fields, spec, images)
    if output_format in ("gif", "svg"):
        raise Refusal(
            400,
            f"output_format '{output_format}' is not available in the imagewright sandbox "
            "(on the real API it needs preview access for your organization).",
            param="output_format",
            code="feature_not_available",
        )
    safety = fields.string("safety_identifier") or fields.string("user") or None
    return Job(
        endpoint=endpoint,
        model=spec.name,
        prompt=prompt,
        n=n,
        width=width,
        height=height,
        quality=_EFFECTIVE_QUALITY.get(quality, quality),
        background=background,
        output_format=output_format,
        compression=compression,
        stream=stream,
        partial_images=partial_images,
        safety_identifier=safety,
        images=tuple(images),
        mask=mask,
        markup=markup,
        fingerprint=_fingerprint(fields, files),
    )
