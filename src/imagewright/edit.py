"""``EditRequest``: what to edit (source images, mask or markup) and how (the prompt)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

from .images import EncodedImage, ImageSource

if TYPE_CHECKING:
    from PIL import Image

    from .masks import Editable, Mask

__all__ = [
    "EditRequest",
    "MaskSource",
    "PromptLike",
    "SupportsCompile",
    "SupportsFinish",
    "SupportsMarkup",
    "SupportsPlannedSize",
    "SupportsReferenceImages",
    "as_edit_request",
]


@runtime_checkable
class SupportsCompile(Protocol):
    """Anything that compiles to prompt text: ``Prompt``, ``Layout``, or your own object.

    ``compile`` may accept a keyword-only ``model`` (used to check the prompt length against that
    model's limit); imagewright passes it when the signature allows.

    The compiler also uses four optional hooks when the object has them, each declared by its
    own protocol: :class:`SupportsPlannedSize` (``planned_size``), :class:`SupportsReferenceImages`
    (``reference_images``), :class:`SupportsMarkup` (``markup``) and :class:`SupportsFinish`
    (``finish``). ``Layout`` implements all four; ``Prompt`` only ``planned_size``.
    """

    def compile(self, *args: Any, **kwargs: Any) -> str:
        """Return the prompt text."""
        ...


@runtime_checkable
class SupportsPlannedSize(Protocol):
    """A prompt that chooses the API ``size`` when the caller gives none (``Layout``)."""

    def planned_size(self, model: str) -> str | None:
        """The ``size`` to request on ``model``, or ``None`` for the client's default."""
        ...


@runtime_checkable
class SupportsReferenceImages(Protocol):
    """A prompt that brings images of its own, appended after an edit's sources (``Layout``)."""

    def reference_images(self, model: str) -> Sequence[ImageSource]:
        """The extra input images for an edit on ``model``."""
        ...


@runtime_checkable
class SupportsMarkup(Protocol):
    """A prompt that draws a markup overlay for models that take one (``Layout``).

    ``size`` is passed when the signature accepts it: the first source image's size.
    """

    def markup(self, model: str, size: tuple[int, int] | None = None) -> ImageSource | None:
        """A transparent PNG drawn over the first image, or ``None``."""
        ...


@runtime_checkable
class SupportsFinish(Protocol):
    """A prompt that finishes each output locally (a layout's crop to size and exact text)."""

    def finish(self, image: Image.Image) -> Image.Image:
        """The finished output."""
        ...


PromptLike = str | SupportsCompile
"""A prompt: plain text, or an object with ``compile()``."""

MaskSource = Union["Mask", ImageSource, EncodedImage]
"""A mask: a :class:`~imagewright.masks.Mask`, or a mask image read with ``editable=``."""


@dataclass(frozen=True)
class EditRequest:
    """One edit: the source images, the prompt, and optionally a mask or a markup overlay.

    Args:
        images: One image or a list of up to 16 (paths, bytes, binary file objects, PIL images,
            numpy arrays). A mask or markup applies to the *first* image. A list is sent as
            repeated ``image[]`` parts, a single image as one ``image`` part, as the API expects.
        prompt: What to change, as text or a ``Prompt``/``Layout``.
        mask: Where the edit may happen: a ``Mask``, or an image interpreted by ``editable``.
        markup: A transparent PNG drawn over the first image (GPT Image 2.5 models only).
        editable: For a mask given as an image: which pixels are editable (``"white"``,
            ``"black"`` or ``"transparent"``). ``None`` means the API's own convention, fully
            transparent pixels of an RGBA PNG.

    Examples:
        >>> req = EditRequest("room.png", "Replace the sky with a sunset", mask=...)  # doctest: +SKIP
    """

    images: ImageSource | Sequence[ImageSource]
    prompt: PromptLike
    mask: MaskSource | None = None
    markup: ImageSource | None = None
    editable: Editable | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def image_list(self) -> list[ImageSource]:
        """The images as a list, whatever shape they were given in."""
        if isinstance(self.images, (list, tuple)):
            return list(self.images)
        return [self.images]  # type: ignore[list-item]

    @property
    def images_as_list(self) -> bool:
        """True when the images were given as a list (sent as ``image[]`` parts)."""
        return isinstance(self.images, (list, tuple))


def as_edit_request(
    images: EditRequest | ImageSource | Sequence[ImageSource],
    prompt: PromptLike | None = None,
    *,
    mask: MaskSource | None = None,
    markup: ImageSource | None = None,
    editable: Editable | None = None,
    verb: str = "edit",
) -> EditRequest:
    """The :class:`EditRequest` an edit verb was called with, in either of its two forms.

    ``verb(EditRequest(...))`` passes the request as is; ``verb(images, prompt, mask=...,
    markup=..., editable=...)`` builds one. Mixing the forms, or leaving out the prompt, is a
    ``TypeError`` that shows both forms (nothing is sent).
    """
    forms = f'{verb}("photo.png", "make the sky red", mask=...) or {verb}(EditRequest(...))'
    if isinstance(images, EditRequest):
        given = [
            name
            for name, value in (
                ("prompt", prompt),
                ("mask", mask),
                ("markup", markup),
                ("editable", editable),
            )
            if value is not None
        ]
        if given:
            raise TypeError(
                f"{verb}() got an EditRequest and also {', '.join(given)}: put "
                f"{'it' if len(given) == 1 else 'them'} in the EditRequest, or call {forms}"
            )
        return images
    if prompt is None:
        raise TypeError(f"{verb}() needs a prompt after the image(s): {forms}")
    return EditRequest(images, prompt, mask=mask, markup=markup, editable=editable)
