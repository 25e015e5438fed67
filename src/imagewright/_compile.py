"""The pure compiler: request objects and options in, a validated :class:`ApiCall` out.

Nothing here does I/O beyond reading the input images the caller named. Compiling the same
input twice gives byte-identical calls with the same fingerprint.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from ._suggest import close_model, did_you_mean, nearest_size
from .calls import ApiCall, Part
from .edit import (
    EditRequest,
    PromptLike,
    SupportsFinish,
    SupportsMarkup,
    SupportsPlannedSize,
    SupportsReferenceImages,
)
from .errors import (
    ExperimentalSizeWarning,
    ImageInputError,
    MaskError,
    PreviewFeatureWarning,
    Problem,
    ValidationError,
)
from .images import EncodedImage, load_image
from .models import (
    LEGACY_SIZES,
    MAX_EDIT_IMAGES,
    MAX_N,
    MAX_PROMPT_CHARS,
    ModelSpec,
    UnknownModelWarning,
    lookup,
    parse_size,
)
from .refs import as_ref, file_id_hint, is_ref, ref_problems

__all__ = [
    "ApiCall",
    "ExperimentalSizeWarning",
    "Part",
    "PreviewFeatureWarning",
    "compile_edit",
    "compile_generate",
]

Endpoint = Literal["/images/generations", "/images/edits"]
# ApiCall and Part live in imagewright.calls (which owns the wire form); they stay importable
# from here for code written before the move.

GENERATIONS: Endpoint = "/images/generations"
EDITS: Endpoint = "/images/edits"

ALL_QUALITIES = ("low", "medium", "high", "xhigh", "max", "auto")
LEGACY_QUALITIES = ("standard", "hd")
BACKGROUNDS = ("transparent", "opaque", "auto")
OUTPUT_FORMATS = ("png", "webp", "jpeg", "gif", "svg")
COMPLEXITIES = ("low", "medium", "high")
MODERATIONS = ("low", "auto")
FIDELITIES = ("high", "low")
SVG_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


# --------------------------------------------------------------------------------------------
# Validation


class _Checker:
    """Collects every problem and warning of one call."""

    def __init__(self, model: str | None) -> None:
        self.model = model
        self.spec: ModelSpec | None = lookup(model) if model else None
        self.problems: list[Problem] = []
        self.warnings: list[tuple[str, type[Warning]]] = []
        self.prompt_error: ValidationError | None = None

    @property
    def strict(self) -> bool:
        return self.spec is not None and self.spec.strict

    def fail(self, param: str, value: Any, message: str, allowed: str | None = None) -> None:
        model = self.model if self.spec is not None else None
        self.problems.append(Problem(param, value, message, allowed, model))

    def warn(self, message: str, category: type[Warning] = UserWarning) -> None:
        self.warnings.append((message, category))

    def one_of(self, param: str, value: Any, allowed: Sequence[str]) -> None:
        if value is not None and value not in allowed:
            self.fail(
                param,
                value,
                "not an accepted value" + did_you_mean(value, allowed),
                ", ".join(allowed),
            )

    def int_range(self, param: str, value: Any, lo: int, hi: int) -> bool:
        if value is None:
            return True
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(param, value, "must be an integer", f"{lo}..{hi}")
            return False
        if not lo <= value <= hi:
            self.fail(param, value, "out of range", f"{lo}..{hi}")
            return False
        return True

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        if self.prompt_error is not None and self.problems == self.prompt_error.problems:
            # Keep the prompt object's own error type (e.g. a layout's TextFitError).
            raise self.prompt_error
        kinds = {_problem_kind(p) for p in self.problems}
        cls: type[ValidationError] = ValidationError
        if kinds == {"image"}:
            cls = ImageInputError
        elif kinds == {"mask"}:
            cls = MaskError
        raise cls(self.problems)

    def emit_warnings(self) -> tuple[str, ...]:
        for message, category in self.warnings:
            warnings.warn(message, category, stacklevel=_user_stacklevel())
        return tuple(m for m, _ in self.warnings)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside imagewright."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _problem_kind(p: Problem) -> str:
    if p.param.startswith("image"):
        return "image"
    if p.param in ("mask", "markup"):
        return "mask"
    return "other"


def _check_model(c: _Checker) -> None:
    if not c.model:
        c.fail(
            "model",
            c.model,
            "a model is required (there is no safe default since DALL·E was retired)",
            "e.g. 'gpt-image-2'; pass model= or set default_model on the client",
        )
        return
    if c.spec is None:
        typo, near = close_model(c.model)
        if typo:
            # Only punctuation or case differ from a known name: a typo, not a newer model.
            c.fail("model", c.model, f"unknown model; did you mean {near!r}?", near)
            return
        hint = f"; did you mean {near!r}?" if near else ""
        c.warn(
            f"model {c.model!r} is not in imagewright's capability table{hint} The call is "
            "sent with only the universal checks",
            UnknownModelWarning,
        )
    elif not c.spec.available:
        c.problems.append(Problem("model", c.model, c.spec.unavailable_message()))


def _check_prompt(c: _Checker, prompt: str) -> None:
    limit = c.spec.max_prompt_chars if c.spec else MAX_PROMPT_CHARS
    if not prompt or not prompt.strip():
        c.fail("prompt", prompt, "the prompt is empty", "1..32,000 characters")
    elif len(prompt) > limit:
        c.fail("prompt", f"{len(prompt):,} characters", "the prompt is too long", f"<= {limit:,}")


def _check_size(c: _Checker, size: Any) -> None:
    if size is None:
        return
    if not isinstance(size, str):
        c.fail("size", size, "must be a string", "'auto' or 'WxH'")
        return
    if c.strict and c.spec is not None:
        reasons = c.spec.check_size(size)
        if reasons:
            c.fail(
                "size",
                size,
                "; ".join(reasons) + nearest_size(size, c.spec.name),
                c.spec.sizes.describe(),
            )
        if not reasons and c.spec.sizes.is_experimental(size):
            c.warn(
                f"size {size} is above 2560x1440, which the API calls experimental",
                ExperimentalSizeWarning,
            )
        return
    if size in LEGACY_SIZES:
        c.fail("size", size, "legacy DALL·E sizes are not supported by GPT Image models")
    elif size != "auto" and parse_size(size) is None:
        c.fail("size", size, "not of the form 'WxH'", "'auto' or 'WxH', e.g. '1536x864'")


def _check_quality(c: _Checker, quality: Any) -> None:
    if quality is None:
        return
    if quality in LEGACY_QUALITIES:
        allowed = c.spec.qualities if c.spec else ALL_QUALITIES
        c.fail("quality", quality, "legacy DALL·E quality", ", ".join(allowed))
    elif c.strict and c.spec is not None:
        c.one_of("quality", quality, c.spec.qualities)
    else:
        c.one_of("quality", quality, ALL_QUALITIES)


def _check_common(c: _Checker, p: Mapping[str, Any], *, edit: bool) -> None:
    fmt = p.get("output_format")
    fmt_effective = fmt or "png"
    stream = bool(p.get("stream"))
    if p.get("stream") is not None and not isinstance(p.get("stream"), bool):
        c.fail("stream", p.get("stream"), "must be a boolean", "True or False")
    for name in ("safety_identifier", "user"):
        if p.get(name) is not None and not isinstance(p.get(name), str):
            c.fail(name, p.get(name), "must be a string", "a stable, hashed id of your end user")
    c.one_of("output_format", fmt, OUTPUT_FORMATS)
    if c.strict and c.spec is not None and fmt in OUTPUT_FORMATS:
        c.one_of("output_format", fmt, c.spec.output_formats)

    c.int_range("n", p.get("n"), 1, c.spec.max_n if c.spec else MAX_N)
    _check_size(c, p.get("size"))
    _check_quality(c, p.get("quality"))

    bg = p.get("background")
    c.one_of("background", bg, BACKGROUNDS)
    if bg == "transparent":
        if fmt_effective not in ("png", "webp"):
            c.fail(
                "background",
                bg,
                f"a transparent background needs an output format with alpha, not {fmt_effective}",
                "output_format='png' or 'webp'",
            )
        if c.spec is not None and c.spec.transparent_preview:
            c.warn(
                f"background='transparent' is a preview feature on {c.model}",
                PreviewFeatureWarning,
            )

    c.one_of("complexity", p.get("complexity"), COMPLEXITIES)

    comp = p.get("output_compression")
    if (
        c.int_range("output_compression", comp, 0, 100)
        and comp is not None
        and fmt_effective not in ("jpeg", "webp")
    ):
        c.fail(
            "output_compression",
            comp,
            f"compression applies only to jpeg and webp, not {fmt_effective}",
            "set output_format='jpeg' or 'webp', or omit output_compression",
        )

    partials = p.get("partial_images")
    if c.int_range("partial_images", partials, 0, 3) and partials and not stream:
        c.fail(
            "partial_images",
            partials,
            "partial images are only sent in streaming mode",
            "use stream_generate()/stream_edit(), or omit partial_images",
        )
    if stream and fmt in ("gif", "svg"):
        c.fail("stream", True, f"streaming is not available for output_format={fmt!r}")

    frame_count = p.get("frame_count")
    frame_ms = p.get("frame_duration_ms")
    if fmt != "gif":
        for name, value in (("frame_count", frame_count), ("frame_duration_ms", frame_ms)):
            if value is not None:
                c.fail(name, value, "only meaningful for GIF output", "output_format='gif'")
    else:
        c.int_range("frame_count", frame_count, 2, 16)
        # Longer delays are accepted and capped at 655,350 ms by the API.
        c.int_range("frame_duration_ms", frame_ms, 1, 2**31 - 1)

    svg = p.get("svg")
    if svg is not None:
        if fmt != "svg":
            c.fail("svg", svg, "the svg object needs output_format='svg'")
        if not isinstance(svg, Mapping):
            c.fail("svg", svg, "must be an object", "{'model': ..., 'reasoning': {'effort': ...}}")
        else:
            if not edit and not svg.get("model"):
                c.fail("svg.model", svg.get("model"), "required when svg is sent on generate")
            reasoning = svg.get("reasoning")
            if isinstance(reasoning, Mapping):
                c.one_of("svg.reasoning.effort", reasoning.get("effort"), SVG_EFFORTS)
            elif reasoning is not None:
                c.fail("svg.reasoning", reasoning, "must be an object", "{'effort': ...}")
    if fmt == "svg" and (p.get("n") or 1) != 1:
        c.fail("n", p.get("n"), "SVG output makes exactly one image", "1")
    c.one_of("moderation", p.get("moderation"), MODERATIONS)


def check_params(params: Mapping[str, Any], *, edit: bool) -> None:
    """Check a finished body (as :meth:`ApiCall.with_params` makes it); raise every problem."""
    c = _Checker(params.get("model"))
    _check_common(c, params, edit=edit)
    c.raise_if_any()


def _check_legacy(c: _Checker, extra: Mapping[str, Any]) -> None:
    for key in ("response_format", "style"):
        if key in extra:
            c.fail(
                key,
                extra[key],
                "a legacy DALL·E parameter that GPT Image models refuse; they always return "
                "base64 images"
                + ("" if key == "response_format" else " and take style in the prompt"),
            )


# --------------------------------------------------------------------------------------------
# Prompt objects


def prompt_text(prompt: PromptLike, model: str | None) -> str:
    """The text of a prompt: a ``str`` as is, or the result of ``prompt.compile()``."""
    if isinstance(prompt, str):
        return prompt
    compile_ = getattr(prompt, "compile", None)
    if not callable(compile_):
        raise ValidationError(
            Problem(
                "prompt",
                type(prompt).__name__,
                "not a prompt",
                "a str, or an object with compile() (Prompt, Layout)",
            )
        )
    text = compile_(model=model) if _accepts_kw(compile_, "model") else compile_()
    if not isinstance(text, str):
        raise ValidationError(
            Problem("prompt", type(text).__name__, "compile() must return the prompt text")
        )
    return text


def _accepts_kw(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _finish(prompt: Any) -> Callable[[Any], Any] | None:
    return prompt.finish if isinstance(prompt, SupportsFinish) else None


# --------------------------------------------------------------------------------------------
# Compile


def _body(
    prompt: str, options: Mapping[str, Any], extra_body: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``prompt`` first, the rest alphabetically, ``None`` dropped, then ``extra_body``."""
    body: dict[str, Any] = {"prompt": prompt}
    for key in sorted(options):
        if options[key] is not None:
            body[key] = options[key]
    if extra_body:
        body.update(extra_body)
    return body


def compile_generate(
    prompt: PromptLike,
    *,
    model: str | None,
    extra_body: Mapping[str, Any] | None = None,
    **options: Any,
) -> ApiCall:
    """Compile a generation into an :class:`ApiCall`, or raise :class:`ValidationError`.

    ``options`` are the API's body fields (``size``, ``quality``, ``n``...); ``None`` means
    "not given". Every problem is reported at once.
    """
    model = _options_model(GENERATE_FIELDS, options, model, extra_body)
    c = _Checker(model)
    _check_model(c)
    text = _safe_prompt(c, prompt, model)
    if options.get("size") is None and model and isinstance(prompt, SupportsPlannedSize):
        options["size"] = prompt.planned_size(model)
    if "input_fidelity" in options and options["input_fidelity"] is not None:
        c.fail("input_fidelity", options["input_fidelity"], "only accepted on edits")
    options.pop("input_fidelity", None)
    return _conclude(c, GENERATIONS, text, options, extra_body, finish=_finish(prompt))


GENERATE_FIELDS = frozenset(
    {
        "background",
        "complexity",
        "frame_count",
        "frame_duration_ms",
        "moderation",
        "n",
        "output_compression",
        "output_format",
        "partial_images",
        "quality",
        "safety_identifier",
        "size",
        "stream",
        "svg",
        "user",
    }
)
"""Body fields of ``/images/generations`` (besides ``prompt`` and ``model``)."""
EDIT_FIELDS = (GENERATE_FIELDS - {"moderation"}) | {"input_fidelity"}
"""Body fields of ``/images/edits`` (besides the files, ``prompt`` and ``model``)."""
# Accepted as keywords only to give a better error than "unexpected keyword".
_REFUSED_FIELDS = frozenset({"response_format", "style", "input_fidelity", "moderation"})


def _options_model(
    fields: frozenset[str],
    options: Mapping[str, Any],
    model: str | None,
    extra_body: Mapping[str, Any] | None,
) -> str | None:
    """Refuse unknown keyword options (like any Python call would); the model in force is
    ``extra_body["model"]`` when given, since that is what goes on the wire."""
    unknown = sorted(set(options) - fields - _REFUSED_FIELDS)
    if "seed" in unknown:
        raise ValidationError(
            Problem(
                "seed",
                options["seed"],
                "GPT Image models take no seed, so the same call can give different pictures",
                "omit seed; to repeat a call, keep its receipt (result.save(), or "
                "result.call.fingerprint and result.request_id) and send result.call again",
            )
        )
    if unknown:
        allowed = ", ".join(sorted(fields))
        hints = "".join(did_you_mean(u, sorted(fields)) for u in unknown)
        raise TypeError(
            f"unexpected option(s) {', '.join(map(repr, unknown))}{hints}; the body fields are: "
            f"{allowed} (pass anything newer in extra_body)"
        )
    if extra_body and isinstance(extra_body.get("model"), str):
        return str(extra_body["model"])
    return model


def _conclude(
    c: _Checker,
    endpoint: Endpoint,
    text: str,
    options: Mapping[str, Any],
    extra_body: Mapping[str, Any] | None,
    **fields: Any,
) -> ApiCall:
    """The checks both endpoints share, then the call itself (or every problem at once)."""
    params = _body(text, {"model": c.model, **options}, extra_body)
    _check_common(c, params, edit=endpoint == EDITS)
    _check_legacy(c, {**options, **(extra_body or {})})
    c.raise_if_any()
    return ApiCall(
        endpoint=endpoint,
        model=c.model,
        prompt=text,
        params=params,
        warnings=c.emit_warnings(),
        **fields,
    )


def _safe_prompt(c: _Checker, prompt: PromptLike, model: str | None) -> str:
    try:
        text = prompt_text(prompt, model)
    except ValidationError as exc:
        c.problems.extend(exc.problems)
        c.prompt_error = exc
        return ""
    _check_prompt(c, text)
    return text


def compile_edit(
    request: EditRequest,
    *,
    model: str | None,
    extra_body: Mapping[str, Any] | None = None,
    **options: Any,
) -> ApiCall:
    """Compile an edit into an :class:`ApiCall`, or raise :class:`ValidationError`.

    Input images are loaded and checked (format sniffed, size limits), the mask is converted
    to the API's convention, and every problem is reported at once.
    """
    from .masks import prepare_mask

    model = _options_model(EDIT_FIELDS, options, model, extra_body)
    c = _Checker(model)
    _check_model(c)
    text = _safe_prompt(c, request.prompt, model)
    if "moderation" in options and options["moderation"] is not None:
        c.fail("moderation", options["moderation"], "only accepted on generations, not edits")
    options.pop("moderation", None)

    sources = request.image_list
    if model and isinstance(request.prompt, SupportsReferenceImages):
        sources = sources + list(request.prompt.reference_images(model))
    sources = [as_ref(s) for s in sources]
    if any(map(is_ref, sources)) or is_ref(as_ref(request.mask)):
        return _compile_by_reference(c, request, sources, text, options, extra_body)
    images: list[EncodedImage] = []
    if _count_ok(c, sources):
        as_list = request.images_as_list or len(sources) > 1
        for i, src in enumerate(sources):
            param = f"image[{i}]" if as_list else "image"
            try:
                images.append(load_image(src, param=param))
            except ImageInputError as exc:
                hint = file_id_hint(src)
                c.problems.extend(replace(p, message=p.message + hint) for p in exc.problems)

    markup_src = request.markup
    markup_hook = request.prompt.markup if isinstance(request.prompt, SupportsMarkup) else None
    if markup_src is None and markup_hook and model and c.spec is not None and c.spec.markup:
        if images and _accepts_kw(markup_hook, "size"):
            markup_src = markup_hook(model, size=images[0].size)
        else:
            markup_src = markup_hook(model)

    fmt = options.get("output_format")
    if request.mask is not None and markup_src is not None:
        c.fail("mask", "mask and markup", "mask and markup cannot be combined", "one of them")
    if request.mask is not None and fmt == "gif":
        c.fail("mask", "mask", "a mask cannot be used with GIF output")
    if markup_src is not None and c.spec is not None and c.strict and not c.spec.markup:
        c.fail("markup", "markup", f"markup is not supported by {model}", "a gpt-image-2.5 model")

    mask = markup = None
    if images and request.mask is not None:
        try:
            mask = prepare_mask(request.mask, image=images[0], editable=request.editable)
        except (MaskError, ImageInputError) as exc:
            c.problems.extend(Problem("mask", p.value, p.message, p.allowed) for p in exc.problems)
    if images and markup_src is not None:
        markup = _prepare_markup(c, markup_src, images[0])

    check_fidelity(c, options.get("input_fidelity"))
    return _conclude(
        c,
        EDITS,
        text,
        options,
        extra_body,
        finish=_finish(request.prompt),
        images=tuple(images),
        images_as_list=request.images_as_list or len(images) > 1,
        mask=mask,
        markup=markup,
    )


def _count_ok(c: _Checker, sources: Sequence[Any]) -> bool:
    """1..16 input images, else a problem."""
    if not sources:
        c.fail("image", [], "at least one image is required", f"1..{MAX_EDIT_IMAGES}")
    elif len(sources) > MAX_EDIT_IMAGES:
        c.fail("image", f"{len(sources)} images", "too many images", f"1..{MAX_EDIT_IMAGES}")
    return 0 < len(sources) <= MAX_EDIT_IMAGES


def _compile_by_reference(
    c: _Checker,
    request: EditRequest,
    sources: Sequence[Any],
    text: str,
    options: dict[str, Any],
    extra_body: Mapping[str, Any] | None,
) -> ApiCall:
    """The JSON form of ``/images/edits``: every input named by a FileRef or an ImageURL."""
    mask = as_ref(request.mask)
    c.problems.extend(ref_problems(sources, mask, request.markup))
    _count_ok(c, sources)
    check_fidelity(c, options.get("input_fidelity"))
    options["images"] = [s.to_param() for s in sources if is_ref(s)]
    options["mask"] = mask.to_param() if is_ref(mask) else None
    finish = _finish(request.prompt)
    return _conclude(c, EDITS, text, options, extra_body, finish=finish, by_reference=True)


def check_fidelity(c: _Checker, fidelity: Any) -> None:
    """``input_fidelity``: high or low, only where the model takes it (omitted on 2.x)."""
    if fidelity is None:
        return
    c.one_of("input_fidelity", fidelity, FIDELITIES)
    if c.spec is not None and c.strict and fidelity in FIDELITIES:
        if c.spec.input_fidelity is None:
            c.fail(
                "input_fidelity",
                fidelity,
                f"omit input_fidelity for {c.model}",
                "omit it (the model always uses high fidelity)",
            )
        else:
            c.one_of("input_fidelity", fidelity, c.spec.input_fidelity)


def _prepare_markup(c: _Checker, source: Any, first: EncodedImage) -> EncodedImage | None:
    try:
        enc = load_image(source, param="markup")
    except ImageInputError as exc:
        c.problems.extend(exc.problems)
        return None
    pixels = enc.to_pil()
    # Palette PNGs carry transparency in a tRNS chunk, not in an alpha band.
    if enc.format != "png" or not ("A" in pixels.getbands() or "transparency" in pixels.info):
        c.fail("markup", enc.filename, "markup must be a PNG with transparency", "an RGBA PNG")
        return None
    if enc.size != first.size:
        c.fail(
            "markup",
            f"{enc.width}x{enc.height}",
            "markup size differs from the first image",
            f"{first.width}x{first.height}",
        )
        return None
    lo, _hi = pixels.convert("RGBA").getchannel("A").getextrema()
    if lo != 0:
        c.fail(
            "markup",
            enc.filename,
            "markup has no transparent pixel, so it would hide the image",
            "a PNG whose untouched areas are fully transparent",
        )
        return None
    return EncodedImage(enc.data, "png", enc.width, enc.height, enc.mode, "markup.png")
