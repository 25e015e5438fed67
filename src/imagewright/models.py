"""The model capability table: what each GPT Image model accepts, looked up by name.

The table is versioned (``TABLE_VERSION``) and sourced from the official ``openai`` 3.51.0
package (see ``shared/reference/images-api.md``). Unknown model names are not refused: new
models ship faster than SDKs, so :func:`lookup` returns ``None`` and the compiler lets the call
through with an :class:`UnknownModelWarning`. Shut-down and retired models are refused with the
date and the replacement.

Examples:
    >>> from imagewright.models import get_model
    >>> spec = get_model("gpt-image-2")
    >>> spec.check_size("1536x864")
    []
    >>> spec.check_size("1000x1000")[0]
    'width 1000 is not a multiple of 16'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import UnknownModelWarning

__all__ = [
    "ARBITRARY_SIZE",
    "DEFAULT_MODEL",
    "IMAGE_TOOL",
    "MAX_EDIT_IMAGES",
    "MAX_IMAGE_BYTES",
    "MAX_MASK_BYTES",
    "MODELS",
    "STANDARD_SIZES",
    "TABLE_VERSION",
    "ImageToolRules",
    "ModelSpec",
    "SizeRule",
    "UnknownModelWarning",
    "get_model",
    "image_params",
    "lookup",
    "parse_size",
]

TABLE_VERSION = "2026-11-30 (openai 3.51.0)"

DEFAULT_MODEL = "gpt-image-2"
"""The model a client uses when neither the call nor ``default_model=`` names one, live and on
the sandbox alike (the pure compiler, ``compile_generate``/``compile_edit``, has no default)."""
"""When the table was last checked, and against which official SDK release."""

MAX_PROMPT_CHARS = 32_000
MAX_EDIT_IMAGES = 16
MAX_IMAGE_BYTES = 50 * 1024 * 1024
"""Each edit input image must be smaller than 50 MB."""
MAX_MASK_BYTES = 4 * 1024 * 1024
"""A mask PNG must be smaller than 4 MB."""
MAX_N = 10

STANDARD_SIZES: tuple[str, ...] = ("1024x1024", "1536x1024", "1024x1536")
LEGACY_SIZES: tuple[str, ...] = ("256x256", "512x512", "1792x1024", "1024x1792")

_SIZE_RE = re.compile(r"^(\d{1,5})x(\d{1,5})$")

Status = Literal["current", "snapshot", "alias", "shutdown", "retired"]


def parse_size(size: str) -> tuple[int, int] | None:
    """Parse ``"WxH"`` into ``(W, H)``; ``None`` when it is not of that form."""
    m = _SIZE_RE.match(size)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class SizeRule:
    """Which ``size`` values a model accepts.

    Either a fixed set (``fixed``), or the arbitrary-size grammar of gpt-image-2 and later:
    both sides multiples of ``multiple``, aspect between ``1:max_aspect`` and ``max_aspect:1``,
    longest edge at most ``max_edge``, total pixels within ``min_pixels..max_pixels``.
    Sizes above ``experimental_pixels`` are accepted but flagged as experimental.
    """

    fixed: tuple[str, ...] = STANDARD_SIZES
    arbitrary: bool = False
    multiple: int = 16
    max_aspect: float = 3.0
    max_edge: int = 3840
    min_pixels: int = 655_360
    max_pixels: int = 3840 * 2160
    experimental_pixels: int = 2560 * 1440
    auto: bool = True

    def describe(self) -> str:
        """The allowed values, in words, for error messages."""
        if self.arbitrary:
            return (
                f"'auto' or 'WxH' with both sides multiples of {self.multiple}, aspect between "
                f"1:{self.max_aspect:g} and {self.max_aspect:g}:1, longest edge <= {self.max_edge}, "
                f"{self.min_pixels:,}..{self.max_pixels:,} pixels"
            )
        values = ["auto"] if self.auto else []
        return ", ".join(values + list(self.fixed))

    def check(self, size: str) -> list[str]:
        """Every reason ``size`` is not allowed; empty when it is."""
        if size == "auto":
            return [] if self.auto else ["'auto' is not supported"]
        if not self.arbitrary:
            if size in self.fixed:
                return []
            if size in LEGACY_SIZES:
                return [f"{size} is a legacy DALL·E size"]
            return [f"{size!r} is not one of the supported sizes"]
        parsed = parse_size(size)
        if parsed is None:
            return [f"{size!r} is not of the form 'WxH' (e.g. '1536x864')"]
        w, h = parsed
        reasons: list[str] = []
        if w == 0 or h == 0:
            return ["width and height must be positive"]
        if w % self.multiple:
            reasons.append(f"width {w} is not a multiple of {self.multiple}")
        if h % self.multiple:
            reasons.append(f"height {h} is not a multiple of {self.multiple}")
        if max(w, h) / min(w, h) > self.max_aspect + 1e-9:
            reasons.append(
                f"aspect {w}:{h} is outside 1:{self.max_aspect:g}..{self.max_aspect:g}:1"
            )
        if max(w, h) > self.max_edge:
            reasons.append(f"longest edge {max(w, h)} is over {self.max_edge}")
        if w * h > self.max_pixels:
            reasons.append(f"{w * h:,} pixels is over the maximum {self.max_pixels:,}")
        if w * h < self.min_pixels:
            reasons.append(f"{w * h:,} pixels is under the minimum {self.min_pixels:,}")
        return reasons

    def is_experimental(self, size: str) -> bool:
        """True for sizes the API accepts but calls experimental (above 2560x1440)."""
        parsed = parse_size(size)
        return bool(self.arbitrary and parsed and parsed[0] * parsed[1] > self.experimental_pixels)


FIXED_SIZES = SizeRule()
ARBITRARY_SIZE = SizeRule(arbitrary=True)

_BASE_QUALITIES = ("low", "medium", "high", "auto")
_ALL_FORMATS = ("png", "jpeg", "webp", "gif", "svg")


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts on the Images API.

    ``None`` in ``input_fidelity`` means the parameter must be omitted for this model.
    ``strict`` is ``False`` for models whose constraints the official SDK does not state
    (the 2.6 family): imagewright then checks only the universal rules.
    """

    name: str
    status: Status = "current"
    family: str = ""
    sizes: SizeRule = FIXED_SIZES
    qualities: tuple[str, ...] = _BASE_QUALITIES
    backgrounds: tuple[str, ...] = ("transparent", "opaque", "auto")
    transparent_preview: bool = False
    output_formats: tuple[str, ...] = _ALL_FORMATS
    input_fidelity: tuple[str, ...] | None = None
    markup: bool = False
    mask: bool = True
    streaming: bool = True
    max_n: int = MAX_N
    max_prompt_chars: int = MAX_PROMPT_CHARS
    max_images: int = MAX_EDIT_IMAGES
    max_image_bytes: int = MAX_IMAGE_BYTES
    max_mask_bytes: int = MAX_MASK_BYTES
    strict: bool = True
    ended_on: str | None = None
    replacement: tuple[str, ...] = ()
    snapshot_of: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def available(self) -> bool:
        """False for shut-down and retired models."""
        return self.status not in ("shutdown", "retired")

    def check_size(self, size: str) -> list[str]:
        """Every reason ``size`` is not allowed on this model; empty when it is."""
        return self.sizes.check(size)

    def unavailable_message(self) -> str:
        """Why the model cannot be used, with the date and what to use instead."""
        verb = "was shut down" if self.status == "shutdown" else "was retired"
        text = f"model {self.name!r} {verb} on {self.ended_on}"
        if self.replacement:
            text += "; use " + " or ".join(repr(r) for r in self.replacement)
        else:
            text += "; use a GPT Image model such as 'gpt-image-2'"
        return text


def _family(
    names: tuple[str, ...], snapshots: dict[str, str], **kw: object
) -> dict[str, ModelSpec]:
    out: dict[str, ModelSpec] = {}
    for name in names:
        out[name] = ModelSpec(name=name, family=names[0], **kw)  # type: ignore[arg-type]
    for snap, base in snapshots.items():
        out[snap] = ModelSpec(
            name=snap,
            status="snapshot",
            family=names[0],
            snapshot_of=base,
            **kw,  # type: ignore[arg-type]
        )
    return out


MODELS: dict[str, ModelSpec] = {
    **_family(
        ("gpt-image-2",),
        {"gpt-image-2-2026-04-21": "gpt-image-2"},
        sizes=ARBITRARY_SIZE,
        transparent_preview=True,
        input_fidelity=None,
        notes=("background='transparent' is a preview on gpt-image-2",),
    ),
    **_family(
        ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare"),
        {
            "gpt-image-2.5-sunburst-2026-09-08": "gpt-image-2.5-sunburst",
            "gpt-image-2.5-flare-2026-09-08": "gpt-image-2.5-flare",
        },
        sizes=ARBITRARY_SIZE,
        qualities=("low", "medium", "high", "xhigh", "max", "auto"),
        markup=True,
        input_fidelity=None,
    ),
    **_family(
        ("gpt-image-2.6-sunburst", "gpt-image-2.6-flare"),
        {},
        sizes=ARBITRARY_SIZE,
        qualities=("low", "medium", "high", "xhigh", "max", "auto"),
        markup=True,
        input_fidelity=None,
        strict=False,
        notes=("the official SDK states no per-parameter constraints for the 2.6 family",),
    ),
    "gpt-image-1.5": ModelSpec(
        name="gpt-image-1.5", family="gpt-image-1.5", input_fidelity=("high", "low")
    ),
    "gpt-image-1-mini": ModelSpec(
        name="gpt-image-1-mini", family="gpt-image-1-mini", input_fidelity=("low",)
    ),
    "chatgpt-image-latest": ModelSpec(
        name="chatgpt-image-latest", status="alias", family="chatgpt-image-latest"
    ),
    "gpt-image-1": ModelSpec(
        name="gpt-image-1",
        status="shutdown",
        family="gpt-image-1",
        ended_on="2026-10-23",
        replacement=("gpt-image-2.5-sunburst", "gpt-image-2.5-flare"),
    ),
    "dall-e-2": ModelSpec(name="dall-e-2", status="retired", ended_on="2026-05-12"),
    "dall-e-3": ModelSpec(name="dall-e-3", status="retired", ended_on="2026-05-12"),
}
"""Every model the reference names, keyed by API name."""


def lookup(name: str) -> ModelSpec | None:
    """The spec for ``name``, or ``None`` when imagewright does not know the model."""
    return MODELS.get(name)


def get_model(name: str) -> ModelSpec:
    """The spec for ``name``; raises ``KeyError`` naming the known models when unknown."""
    spec = lookup(name)
    if spec is None:
        known = ", ".join(sorted(n for n, s in MODELS.items() if s.available))
        raise KeyError(f"unknown model {name!r}; known models: {known}")
    return spec


# ---------------------------------------------------------------- the Responses image tool


@dataclass(frozen=True)
class ImageToolRules:
    """What the Responses API's ``image_generation`` tool accepts beyond a model's own rules.

    The tool takes the Images API's options with these differences (reference section 6):
    there is no ``n`` (one image per call) and no ``markup``; ``moderation`` is accepted on
    edits too; GIF output takes no partial images, no mask and no custom compression, though
    the response's lifecycle events still stream; ``action="edit"`` needs an image in context.
    """

    default_model: str = "gpt-image-2.6-sunburst"
    """The tool's model when none is named."""
    actions: tuple[str, ...] = ("generate", "edit", "auto")
    """Accepted ``action`` values (``auto`` is the default)."""
    fields: frozenset[str] = frozenset(
        {
            "action",
            "background",
            "complexity",
            "frame_count",
            "frame_duration_ms",
            "input_fidelity",
            "input_image_mask",
            "model",
            "moderation",
            "output_compression",
            "output_format",
            "partial_images",
            "quality",
            "size",
            "svg",
        }
    )
    """Fields of the tool object besides ``type``."""
    refused: tuple[tuple[str, str, str], ...] = (
        (
            "n",
            "the image_generation tool makes one image per call; it has no n",
            "omit n; send another turn, or use client.generate(n=...) on the Images API",
        ),
        (
            "markup",
            "the image_generation tool takes no markup",
            "a mask (input_image_mask), or client.edit() with markup on the Images API",
        ),
    )
    """Options the tool does not have: ``(name, why, what to do instead)``."""


IMAGE_TOOL = ImageToolRules()
"""The rules of the Responses ``image_generation`` tool."""


def image_params(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The image options of a call's body: the body itself for the Images API, or the
    ``image_generation`` tool of a Responses body (with the body's ``stream`` flag)."""
    tools = params.get("tools")
    if isinstance(tools, (list, tuple)):
        for tool in tools:
            if isinstance(tool, Mapping) and tool.get("type") == "image_generation":
                return {**tool, "stream": params.get("stream")}
    return params
