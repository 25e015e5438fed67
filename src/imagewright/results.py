"""``Result`` and what it is made of: outputs, usage, timings, and the proof of what happened.

A :class:`Result` keeps the compiled call (sources, mask, prompt, options) next to what came
back. Everything expensive is computed on first access and cached: decoded images, the diff of
each output against the source (:mod:`imagewright.diff`), the preservation verdict, the output
contract checks (:mod:`imagewright.verify`) and the cost (:mod:`imagewright.pricing`).
``save()`` writes a folder with the images and a ``result.json`` receipt that ``Result.load``
reads back into an equal result; in a notebook a result shows source | output | diff.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from PIL import Image

    from .calls import ApiCall
    from .diff import Diff, Preservation
    from .images import EncodedImage
    from .masks import Mask
    from .pricing import Cost, CostEstimate
    from .text import ExpectedText, Normalization, OcrEngine, TextCheck
    from .verify import Check

__all__ = [
    "ImagesResponse",
    "InputTokensDetails",
    "OutputImage",
    "OutputTokensDetails",
    "PartialImage",
    "Result",
    "Timings",
    "Usage",
    "results_grid",
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
        """The sum of two usages (e.g. the completed events of a multi-image stream); every
        numeric field is added, extra ones (cached tokens...) included."""
        return Usage.model_validate(_add_numbers(self.model_dump(), other.model_dump()))


def _add_numbers(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _add_numbers(a.get(k), b.get(k)) for k in {**a, **b}}
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a + b
    return a


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


def _decode(data: bytes) -> Image.Image:
    """Decode encoded image bytes into a PIL image that owns its pixels."""
    from PIL import Image

    # Loaded from memory, the image holds no OS resource; no copy of the pixels is needed
    # (it cost as much as a tenth of the decode at 2048x2048).
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


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
        return _decode(self.data)

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
        return _decode(self.data)


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

    Besides the fields below, a result proves what happened, computed on first access and
    cached: ``source`` and ``mask`` (the inputs), ``diffs`` / ``diff`` / ``preservation``
    (what changed, and whether the protected area was left alone), ``checks`` (the output
    contract), ``cost`` and ``estimate``. ``paste_back()`` restores the protected area,
    ``save()`` / ``load()`` keep it, and notebooks show source | output | diff.

    Examples:
        >>> with Client.sandbox() as client:  # doctest: +SKIP
        ...     result = client.edit(EditRequest("room.png", "add a plant", mask=mask))
        >>> result.preservation, result.cost, result.checks_passed  # doctest: +SKIP

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
        response: The parsed API answer, every field kept except each image's ``b64_json``
            (``None``): the images are in ``outputs``, decoded, and are not held twice
            (``base64.b64encode(result.outputs[i].data)`` gives the API's string back).
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
    text_checks: tuple[TextCheck, ...] = field(default=(), repr=False, compare=False)
    """The text checks run on this result's outputs (see :meth:`check_text`), newest last."""

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
    def source_is_local(self) -> bool:
        """False for an edit by reference (``FileRef``/``ImageURL``) whose inputs were never
        downloaded: there is no source, mask or diff until ``client.fetch_source(result)``."""
        return not self.call.is_edit or bool(self.call.images)

    @property
    def kind(self) -> Literal["generate", "edit"]:
        """``"edit"`` or ``"generate"``."""
        return "edit" if self.call.is_edit else "generate"

    # ---- inputs ----------------------------------------------------------------------------

    @cached_property
    def source(self) -> Image.Image | None:
        """The first input image as the API saw it (EXIF orientation applied); ``None`` for a
        generation."""
        return self.call.images[0].to_pil() if self.call.images else None

    @cached_property
    def mask(self) -> Mask | None:
        """The editable area that was sent (``True`` = editable), or ``None``."""
        from .masks import Mask

        return Mask.from_alpha(self.call.mask) if self.call.mask is not None else None

    # ---- proof -----------------------------------------------------------------------------

    @cached_property
    def diffs(self) -> tuple[Diff, ...]:
        """One :class:`~imagewright.diff.Diff` per output against the source (none for a
        generation); split inside/outside the mask when there is one."""
        from .diff import compute_diff

        source = self.source
        if source is None:
            return ()
        return tuple(compute_diff(source, o.image, self.mask) for o in self.outputs)

    @property
    def diff(self) -> Diff | None:
        """The first output's diff, or ``None`` for a generation."""
        return self.diffs[0] if self.diffs else None

    @property
    def preservation(self) -> Preservation | None:
        """Whether the first output left the protected area alone (``None`` without a mask)."""
        return self.diff.preservation if self.diff is not None else None

    @property
    def preserved(self) -> bool:
        """True unless some output changed the protected area (always True without a mask)."""
        return all(d.preservation is None or d.preservation.passed for d in self.diffs)

    def paste_back(self, feather: float = 0) -> Result:
        """A new result whose outputs have the source's pixels restored outside the mask.

        The protected area becomes byte-identical to the source, which the new result's
        ``diff`` shows. Outputs are re-encoded losslessly (PNG, or lossless WebP for WebP);
        a JPEG output becomes a PNG, since JPEG cannot keep pixels exact. The API's bytes stay
        in each output's ``raw``.

        Args:
            feather: Width in pixels of a soft seam inside the editable area (0 = hard edge).

        Raises:
            MaskError: The result is not a masked edit.
        """
        from .errors import MaskError, Problem

        if not self.diffs or self.mask is None:
            raise MaskError(
                Problem("mask", None, "paste_back needs an edit with a mask", "a masked edit")
            )
        outputs = []
        for out, d in zip(self.outputs, self.diffs, strict=True):
            fmt = "webp" if out.format == "webp" else "png"
            buf = io.BytesIO()
            d.paste_back(feather).save(buf, format=fmt.upper(), lossless=True)
            outputs.append(OutputImage(buf.getvalue(), fmt, out.index, out.raw or out.data))
        # New pixels: an earlier text check described the old ones.
        return replace(self, outputs=tuple(outputs), text_checks=())

    @cached_property
    def checks(self) -> tuple[Check, ...]:
        """The output contract checks (count, size, format, alpha, checkerboard, aspect)."""
        from .verify import checks_for_call

        # Judge what the API returned: a layout's crop to its deliverable, or a paste-back
        # into PNG, are local steps, not the API missing its contract.
        contract = checks_for_call(self.call, [o.raw or o.data for o in self.outputs])
        return (*contract, *(c for t in self.text_checks for c in t.to_checks()))

    def check_text(
        self,
        expected: Sequence[ExpectedText | str] | ExpectedText | str | None = None,
        *,
        index: int = 0,
        engine: OcrEngine | None = None,
        normalization: Normalization | None = None,
        tolerance: float = 0.0,
        require_box: bool = False,
        find_extra: bool = True,
    ) -> TextCheck:
        """Read output ``index`` with OCR and check that the expected text is there, spelled right.

        The strings default to the layout's text blocks (each read in its box first) and the
        strings the prompt quotes. The check is recorded on this result: it joins
        :attr:`checks` (``text "<string>"[i]``), the receipt, :meth:`summary` and the notebook
        display, where failed strings are outlined. Needs ``pip install 'imagewright[ocr]'``
        unless you pass your own ``engine``. See :func:`imagewright.text.check_image` for the
        arguments.

        Examples:
            >>> report = result.check_text()  # doctest: +SKIP
            >>> report.passed, report.word_accuracy, [s.expected for s in report.failed]  # doctest: +SKIP
        """
        from .errors import Problem, ValidationError
        from .text import check_image, expected_texts

        if not 0 <= index < len(self.outputs):
            raise ValidationError(
                Problem("index", index, "no such output", f"0..{len(self.outputs) - 1}")
            )
        wanted = expected_texts(self, index) if expected is None else expected
        report = check_image(
            self.outputs[index].image,
            wanted,
            engine=engine,
            normalization=normalization,
            tolerance=tolerance,
            require_box=require_box,
            find_extra=find_extra,
            index=index,
        )
        # Recorded like the other lazily computed proofs: the newest check of an output wins.
        kept = tuple(t for t in self.text_checks if t.index != index)
        object.__setattr__(self, "text_checks", (*kept, report))
        self.__dict__.pop("checks", None)
        return report

    def text_check(self, index: int = 0) -> TextCheck | None:
        """The recorded text check of output ``index``, or ``None`` when none was run."""
        return next((t for t in self.text_checks if t.index == index), None)

    def checks_for(self, index: int) -> tuple[Check, ...]:
        """The checks about output ``index``, plus the ones about the whole call."""
        tag = f"[{index}]"
        return tuple(c for c in self.checks if "[" not in c.name or c.name.endswith(tag))

    @property
    def checks_passed(self) -> bool:
        """True when no check failed with severity ``error``."""
        return all(c.passed or c.severity != "error" for c in self.checks)

    @cached_property
    def cost(self) -> Cost | None:
        """What the call cost, priced from ``usage``; ``None`` when no usage was reported."""
        from .pricing import cost_from_usage

        return cost_from_usage(self.model, self.usage) if self.usage is not None else None

    @cached_property
    def estimate(self) -> CostEstimate:
        """What the call was estimated to cost before it was sent."""
        from .pricing import estimate_call

        return estimate_call(self.call)

    # ---- save, load, show ------------------------------------------------------------------

    def receipt(self) -> dict[str, Any]:
        """The JSON-ready receipt that :meth:`save` writes as ``result.json`` (never the key)."""
        from ._receipts import receipt

        return receipt(self)

    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        pictures: bool | None = None,
        diff: bool = True,
        checks: bool = True,
    ) -> Path:
        """Write the result to ``directory`` (created if needed) and return its path.

        Files: ``output-<i>.<ext>`` (the API's bytes; PNGs also carry the receipt's essentials
        in ``imagewright:*`` text chunks), ``source-<i>.<ext>``, ``mask.png``, ``diff-<i>.png``
        (heatmap), ``compare-<i>.png`` (source | output | diff) and ``result.json``. Every file
        is written atomically with the umask's permissions; names never come from user strings.

        Args:
            directory: The folder; other files in it are left alone.
            pictures: Write ``compare-<i>.png``. ``None`` (default): for edits only, where it
                shows source | output | diff; a generation's would only repeat its outputs.
            overwrite: Replace an earlier result saved there. Without it, a folder that holds
                one raises ``FileExistsError``, so two results never mix. With it, the new
                files are written first, then only the files the earlier receipt named are
                removed.
            diff: ``False`` skips the diff against the source: no ``diff-<i>.png`` or
                ``compare-<i>.png``, and the receipt's ``metrics`` is ``null``. Much cheaper
                for big edits (no SSIM); ``Result.load(...).diff`` recomputes it when asked.
            checks: ``False`` leaves the contract checks out of the receipt (``null``) unless
                they were already run, so no output is decoded (0.1 s for a 2048x2048 PNG);
                ``Result.load(...).checks`` runs them when asked.

        Examples:
            >>> result.save("out/kitchen")  # doctest: +SKIP
        """
        from ._receipts import save_result

        return save_result(
            self, Path(directory), overwrite=overwrite, pictures=pictures, diff=diff, checks=checks
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Result:
        """Read a folder written by :meth:`save` back into an equal :class:`Result`.

        Raises:
            FileNotFoundError: The folder or a file it names is missing.
            IntegrityError: A file does not match the sha256 in the receipt (a
                ``ValueError``).
            ValueError: The receipt is not one imagewright wrote, or names a file outside
                the folder.
        """
        from ._receipts import load_result

        return load_result(Path(directory))

    def summary(self) -> str:
        """A few plain-text lines for a terminal: model, size, time, the call's cost, then per
        output the edit, the preservation verdict, the contract checks and one verdict line
        (``verdict: PASS``, or ``verdict: FAIL:`` naming everything that failed)."""
        from ._display import header_lines, output_lines

        lines = [text for text, _ in header_lines(self)]  # the call's cost, once
        if not self.source_is_local:
            lines.append("source: by reference, not local (client.fetch_source(result) for a diff)")
        for i in range(len(self.outputs)):
            prefix = f"output {i}: " if len(self.outputs) > 1 else ""
            lines += [prefix + text for text, _ in output_lines(self, i)]
        return "\n".join(lines)

    def comparison(self, index: int = 0, *, height: int = 256) -> Image.Image:
        """Source | output | diff side by side (outputs side by side for a generation), with
        the key numbers underneath."""
        from ._display import comparison

        return comparison(self, index, height=height)

    def _repr_png_(self) -> bytes:
        from ._display import png_bytes

        return png_bytes(self.comparison())

    def _repr_html_(self) -> str:
        from ._display import to_html

        return to_html(self)

    def __repr__(self) -> str:
        usage = f", tokens={self.usage.total_tokens}" if self.usage else ""
        return (
            f"Result({self.kind}, model={self.model}, outputs={len(self.outputs)}, "
            f"size={self.size}, quality={self.quality}{usage}, "
            f"{self.timings.elapsed_s:.2f}s, request_id={self.request_id})"
        )


def finish_result(result: Result) -> Result:
    """The result with its call's local finishing (crop to deliverable, text overlay) applied.

    Each output is re-encoded in its own format at the quality the call asked for; the API's
    bytes stay on ``OutputImage.raw``. The image is paid for, so a finishing step that fails
    never loses it: that output is kept as the API sent it, with a :class:`FinishWarning`.
    """
    finish = result.call.finish
    if finish is None:
        return result
    compression = result.call.option("output_compression")
    outputs = tuple(_finished(o, finish, compression) for o in result.outputs)
    return replace(result, outputs=outputs)


def _finished(out: OutputImage, finish: Any, compression: int | None) -> OutputImage:
    import warnings

    from .errors import FinishWarning

    try:
        image = finish(out.image)
        buf = io.BytesIO()
        fmt = {"jpeg": "JPEG", "webp": "WEBP"}.get(out.format, "PNG")
        # Re-encode at the quality the call asked for (the API's default is 100), never at
        # Pillow's lossier default.
        quality = int(compression if compression is not None else 100)
        extra: dict[str, Any] = {}
        if fmt == "JPEG":
            extra = {"quality": min(quality, 95), "subsampling": 0}
        elif fmt == "WEBP":
            extra = {"quality": quality, "lossless": quality >= 100}
        image.save(buf, format=fmt, **extra)
    except Exception as exc:
        warnings.warn(
            f"finishing output {out.index} failed ({type(exc).__name__}: {exc}); "
            "returning the API's image unfinished",
            FinishWarning,
            stacklevel=4,
        )
        return out
    return OutputImage(
        buf.getvalue(), out.format if fmt != "PNG" else "png", out.index, raw=out.data
    )


def results_grid(results: Sequence[Result], *, columns: int = 4, cell: int = 256) -> Image.Image:
    """An annotated contact sheet: one cell per output of every result, labelled
    ``#result.output``, with its share of the call's cost, time, preservation verdict and checks.

    Examples:
        >>> results_grid([r1, r2, r3], columns=3)  # doctest: +SKIP
    """
    from ._display import contact_sheet

    return contact_sheet(results, columns=columns, cell=cell)
