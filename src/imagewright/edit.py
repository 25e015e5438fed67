"""``EditRequest``: what to edit (source images, mask or markup) and how (the prompt)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .images import ImageSource

if TYPE_CHECKING:
    from .masks import Editable

__all__ = ["EditRequest", "PromptLike", "SupportsCompile", "as_edit_request"]


@runtime_checkable
class SupportsCompile(Protocol):
    """Anything that compiles to prompt text: ``Prompt``, ``Layout``, or your own object.

    ``compile`` may accept a keyword-only ``model`` (used to check the prompt length against that
    model's limit); imagewright passes it when the signature allows.
    """

    def compile(self, *args: Any, **kwargs: Any) -> str:
        """Return the prompt text."""
        ...


PromptLike = str | SupportsCompile
"""A prompt: plain text, or an object with ``compile()``."""


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

    Example:
        >>> req = EditRequest("room.png", "Replace the sky with a sunset", mask=...)  # doctest: +SKIP
    """

    images: ImageSource | Sequence[ImageSource]
    prompt: PromptLike
    mask: Any = None
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
    mask: Any = None,
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
