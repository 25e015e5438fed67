"""Images named by reference: :class:`FileRef` (an uploaded file) and :class:`ImageURL`.

Either is accepted wherever an edit takes an image or a mask. An edit whose inputs are
references compiles to the JSON form of ``POST /images/edits`` (``images: [{"file_id": ...} |
{"image_url": ...}]``, ``mask: {...}``), the only form a Batch API line can carry. The official
``openai`` 3.51 SDK cannot send that form (its ``images.edit`` is multipart only).

Examples:
    >>> from imagewright import FileRef, ImageURL
    >>> FileRef("file-abc123").to_param()
    {'file_id': 'file-abc123'}
    >>> ImageURL("https://example.com/room.png").to_param()
    {'image_url': 'https://example.com/room.png'}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import Problem, ValidationError

__all__ = [
    "MAX_IMAGE_URL_CHARS",
    "FileRef",
    "ImageRef",
    "ImageURL",
    "as_ref",
    "file_id_hint",
    "is_ref",
    "ref_problems",
]

MAX_IMAGE_URL_CHARS = 20_971_520
"""The longest ``image_url`` the API takes (a data: URL of about 15 MB)."""


@dataclass(frozen=True)
class FileRef:
    """An image already uploaded to the Files API, named by its ``file_id``.

    Args:
        file_id: The id the Files API gave the upload (``"file-..."``), or a ``FileObject``.

    Examples:
        >>> FileRef("file-abc").file_id
        'file-abc'
    """

    file_id: str

    def __post_init__(self) -> None:
        file_id = getattr(self.file_id, "id", self.file_id)
        if not isinstance(file_id, str) or not file_id.startswith("file-"):
            raise ValidationError(
                Problem("file_id", file_id, "not a file id", "a string like 'file-abc123'")
            )
        object.__setattr__(self, "file_id", file_id)

    def to_param(self) -> dict[str, str]:
        """The ``ImageRefParam`` object sent on the wire: ``{"file_id": ...}``."""
        return {"file_id": self.file_id}


@dataclass(frozen=True)
class ImageURL:
    """An image the API fetches itself: an ``https://`` URL or a ``data:`` URL.

    Args:
        url: ``https://...`` (``http://`` is accepted for local servers such as the
            sandbox), or ``data:image/png;base64,...``; at most 20,971,520 characters.

    Examples:
        >>> ImageURL("data:image/png;base64,iVBORw0KGgo=").url[:10]
        'data:image'
    """

    url: str

    def __post_init__(self) -> None:
        url = self.url
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://", "data:")):
            raise ValidationError(
                Problem("image_url", url, "not an image URL", "'https://...' or 'data:image/...'")
            )
        if len(url) > MAX_IMAGE_URL_CHARS:
            raise ValidationError(
                Problem(
                    "image_url",
                    f"{len(url):,} characters",
                    "the URL is too long",
                    f"<= {MAX_IMAGE_URL_CHARS:,} characters (upload the file and use FileRef)",
                )
            )

    def to_param(self) -> dict[str, str]:
        """The ``ImageRefParam`` object sent on the wire: ``{"image_url": ...}``."""
        return {"image_url": self.url}

    def __repr__(self) -> str:
        shown = self.url if len(self.url) <= 80 else self.url[:77] + "..."
        return f"ImageURL({shown!r})"


ImageRef = FileRef | ImageURL
"""An image named by reference rather than given as bytes."""


def is_ref(value: Any) -> bool:
    """True for a :class:`FileRef` or an :class:`ImageURL`."""
    return isinstance(value, (FileRef, ImageURL))


def as_ref(value: Any) -> Any:
    """An uploaded ``FileObject`` (anything whose ``.ref`` is a :class:`FileRef`) as its
    reference; any other value unchanged."""
    ref = getattr(value, "ref", None)
    return ref if isinstance(ref, FileRef) else value


def file_id_hint(value: Any) -> str:
    """A hint for a ``"file-..."`` string given where an image is expected (it reads as a path)."""
    if isinstance(value, str) and value.startswith("file-") and "/" not in value:
        return f"; to edit an uploaded file, pass FileRef({value!r})"
    return ""


def ref_problems(sources: Sequence[Any], mask: Any, markup: Any) -> list[Problem]:
    """What is wrong with mixing references and local inputs in one edit (empty when fine).

    The JSON form carries only references and the multipart form only bytes, so one call
    cannot hold both.
    """
    refs = [i for i, s in enumerate(sources) if is_ref(s)]
    local = [i for i, s in enumerate(sources) if not is_ref(s)]
    problems: list[Problem] = []
    if refs and local:
        problems.append(
            Problem(
                "image",
                f"references at {refs}, local images at {local}",
                "one edit cannot mix local images with FileRef/ImageURL references",
                "upload the local images first (client.files.upload(path) gives a FileRef) "
                "and pass only references, or pass only local images",
            )
        )
    if refs and mask is not None and not is_ref(mask):
        problems.append(
            Problem(
                "mask",
                type(mask).__name__,
                "an edit by reference needs its mask by reference too",
                "upload the mask as an RGBA PNG in the API's convention "
                "(mask.to_openai(image).data) and pass FileRef(file_id)",
            )
        )
    if not refs and is_ref(mask):
        problems.append(
            Problem(
                "mask",
                repr(mask),
                "a mask by reference needs the images by reference too",
                "pass the images as FileRef/ImageURL, or the mask as a local Mask or image",
            )
        )
    if refs and markup is not None:
        problems.append(
            Problem("markup", "markup", "markup cannot be sent by reference", "omit markup")
        )
    return problems
