"""``Result`` and what it is made of: typed outputs, usage, timings.

(Minimal version from the core issue; the results issue makes it rich: diff, checks, cost,
save/load and notebook display.)
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from PIL import Image

    from ._compile import ApiCall
    from .images import EncodedImage

__all__ = [
    "ImagesResponse",
    "InputTokensDetails",
    "OutputImage",
    "OutputTokensDetails",
    "PartialImage",
    "Result",
    "Timings",
    "Usage",
]


class _Lenient(BaseModel):
    """Unknown fields are kept: the API adds fields faster than SDKs."""

    model_config = ConfigDict(extra="allow", frozen=True)


class InputTokensDetails(_Lenient):
    """How the input tokens split between text and images."""

    text_tokens: int = 0
    """Tokens of the prompt text."""
    image_tokens: int = 0
    """Tokens of the input images (edits)."""


class OutputTokensDetails(_Lenient):
    """How the output tokens split, when the API reports it."""

    text_tokens: int = 0
    """Output text tokens."""
    image_tokens: int = 0
    """Output image tokens."""


class Usage(_Lenient):
    """Token usage as billed by the API: the truth for cost."""

    input_tokens: int = 0
    """All input tokens (text + images)."""
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    """Input split into text and image tokens."""
    output_tokens: int = 0
    """Output tokens (the generated images, plus partial images when streaming)."""
    total_tokens: int = 0
    """Input plus output tokens."""
    output_tokens_details: OutputTokensDetails | None = None
    """Output split, when reported."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            input_tokens_details=InputTokensDetails(
                text_tokens=self.input_tokens_details.text_tokens
                + other.input_tokens_details.text_tokens,
                image_tokens=self.input_tokens_details.image_tokens
                + other.input_tokens_details.image_tokens,
            ),
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class ImageData(_Lenient):
    """One image in an ``ImagesResponse``."""

    b64_json: str | None = None
    """The image, base64 encoded (GPT Image models always return this)."""
    revised_prompt: str | None = None
    """The prompt the model actually used (legacy models only)."""
    url: str | None = None
    """A URL to the image (legacy models only)."""


class ImagesResponse(_Lenient):
    """The body of a non-streaming Images API answer."""

    created: int
    """Unix time the answer was made."""
    data: list[ImageData] | None = None
    """The images."""
    background: str | None = None
    """The effective background."""
    output_format: str | None = None
    """The effective output format."""
    quality: str | None = None
    """The effective quality."""
    size: str | None = None
    """The effective size, e.g. ``1536x864``."""
    safety_identifier: str | None = None
    """The effective end-user id."""
    usage: Usage | None = None
    """Tokens billed."""


@dataclass(frozen=True)
class OutputImage:
    """One generated image: its bytes, format and size; the PIL image is decoded lazily.

    Attributes:
        data: The encoded image exactly as the API returned it (or as finished by a layout).
        format: ``png``, ``jpeg``, ``webp``...
        index: Position among the call's outputs.
        raw: The API's bytes before any local finishing (crop to deliverable, text overlay);
            the same as ``data`` when nothing was finished.
    """

    data: bytes
    format: str
    index: int = 0
    raw: bytes | None = None

    @cached_property
    def image(self) -> Image.Image:
        """The decoded PIL image (decoded on first access, then cached)."""
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as im:
            im.load()
            copy: Image.Image = im.copy()
            return copy

    @cached_property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` read from the image header without decoding the pixels."""
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as im:
            return (im.width, im.height)

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.size[0]

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.size[1]

    @classmethod
    def from_b64(cls, b64: str, fmt: str, index: int = 0) -> OutputImage:
        """Decode the API's base64 string."""
        return cls(base64.b64decode(b64), fmt, index)

    def save(self, path: str) -> None:
        """Write the encoded bytes to ``path`` unchanged."""
        with open(path, "wb") as fh:
            fh.write(self.data)

    def _repr_png_(self) -> bytes | None:
        if self.format == "png":
            return self.data
        buf = io.BytesIO()
        self.image.save(buf, format="PNG")
        return buf.getvalue()

    def __repr__(self) -> str:
        w, h = self.size
        return f"OutputImage(#{self.index}, {self.format}, {w}x{h}, {len(self.data):,} bytes)"


@dataclass(frozen=True)
class PartialImage:
    """A partial (preview) image from a stream. Never the final image.

    Attributes:
        index: ``partial_image_index`` (0-based).
        data: The encoded preview.
        format: Its format.
        size: The size the API reported for it.
        raw_event: The whole event as the API sent it.
    """

    index: int
    data: bytes = field(repr=False)
    format: str = "png"
    size: str | None = None
    raw_event: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def image(self) -> Image.Image:
        """The decoded preview."""
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as im:
            im.load()
            copy: Image.Image = im.copy()
            return copy


@dataclass(frozen=True)
class Timings:
    """How long the call took.

    Attributes:
        started_at: Unix time the first attempt started.
        elapsed_s: Seconds from the first attempt to the parsed answer (retries included).
        attempts: How many HTTP attempts were made.
    """

    started_at: float
    elapsed_s: float
    attempts: int = 1


@dataclass(frozen=True)
class Result:
    """What one call produced, with everything needed to trust and repeat it.

    Attributes:
        call: The compiled call that was sent (its ``to_curl()`` never shows the key).
        outputs: One :class:`OutputImage` per image returned.
        usage: Tokens billed, as the API reported them.
        model: The model named in the call.
        size: The effective size the API reported (else the requested one).
        quality: The effective quality.
        background: The effective background.
        output_format: The effective output format.
        created: The API's ``created`` timestamp.
        request_id: The ``x-request-id`` of the answer.
        timings: How long it took, and how many attempts.
        partial_images: Previews received when streaming.
        response: The parsed API answer, all fields kept.
    """

    call: ApiCall
    outputs: Sequence[OutputImage]
    usage: Usage | None
    model: str | None
    size: str | None
    quality: str | None
    background: str | None
    output_format: str | None
    created: int | None
    request_id: str | None
    timings: Timings
    partial_images: Sequence[PartialImage] = ()
    response: ImagesResponse | None = field(default=None, repr=False)

    @property
    def output(self) -> OutputImage:
        """The first (often the only) output."""
        return self.outputs[0]

    @property
    def request(self) -> ApiCall:
        """The compiled call (alias of ``call``)."""
        return self.call

    @property
    def prompt_text(self) -> str:
        """The prompt text exactly as sent."""
        return self.call.prompt

    @property
    def sources(self) -> Sequence[EncodedImage]:
        """The input images of an edit, as sent."""
        return self.call.images

    @property
    def kind(self) -> Literal["generate", "edit"]:
        """``"edit"`` or ``"generate"``."""
        return "edit" if self.call.is_edit else "generate"

    def __repr__(self) -> str:
        usage = f", tokens={self.usage.total_tokens}" if self.usage else ""
        return (
            f"Result({self.kind}, model={self.model}, outputs={len(self.outputs)}, "
            f"size={self.size}, quality={self.quality}{usage}, "
            f"{self.timings.elapsed_s:.2f}s, request_id={self.request_id})"
        )
