"""One boundary that turns every kind of input image into a validated, encoded image.

(Initial version: paths, bytes, file objects and PIL images with format sniffing. The
hardening pass for issue 3 extends this module; keep the public interface.)
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Union

from PIL import Image

from .errors import ImageInputError, Problem
from .models import MAX_EDIT_IMAGES, MAX_IMAGE_BYTES

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "EncodedImage",
    "ImageFormat",
    "ImageSource",
    "load_image",
    "load_images",
    "sniff_format",
]

ImageFormat = Literal["png", "jpeg", "webp"]

ImageSource = Union[
    str,
    "os.PathLike[str]",
    bytes,
    bytearray,
    memoryview,
    IO[bytes],
    Image.Image,
    "npt.NDArray[np.generic]",
]
"""Anything imagewright accepts as an image: a path, bytes, a binary file object, a PIL image
or a numpy array."""

_MIME: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_EXT: dict[str, str] = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}


def sniff_format(data: bytes) -> str | None:
    """The image format named by the magic bytes: ``png``, ``jpeg``, ``webp``, ``gif`` or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


@dataclass(frozen=True)
class EncodedImage:
    """An image ready to send: encoded bytes in an accepted format, with what we know of it.

    Attributes:
        data: The encoded bytes exactly as they will be sent.
        format: ``png``, ``jpeg`` or ``webp``, sniffed from the bytes.
        width: Width in pixels (after EXIF orientation).
        height: Height in pixels (after EXIF orientation).
        mode: The PIL mode of the decoded image (``RGB``, ``RGBA``, ``L``...).
        filename: The filename sent in the multipart part; its extension matches ``format``.
    """

    data: bytes
    format: ImageFormat
    width: int
    height: int
    mode: str
    filename: str

    @property
    def mime(self) -> str:
        """The MIME type sent for this image (never ``application/octet-stream``)."""
        return _MIME[self.format]

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return (self.width, self.height)

    @property
    def has_alpha(self) -> bool:
        """True when the image carries an alpha channel."""
        return self.mode in ("RGBA", "LA", "PA") or self.mode.endswith("A")

    @cached_property
    def sha256(self) -> str:
        """Hex sha256 of the encoded bytes."""
        return hashlib.sha256(self.data).hexdigest()

    def to_pil(self) -> Image.Image:
        """Decode into a new PIL image (EXIF orientation applied)."""
        from PIL import ImageOps

        with Image.open(io.BytesIO(self.data)) as im:
            out = ImageOps.exif_transpose(im)
            out.load()
            return out

    def __repr__(self) -> str:
        return (
            f"EncodedImage({self.filename!r}, {self.format}, {self.width}x{self.height}, "
            f"{self.mode}, {len(self.data):,} bytes)"
        )


def _read_source(source: Any, param: str) -> tuple[bytes | None, Image.Image | None, str | None]:
    """Return (bytes, PIL image, name hint) for a source; exactly one of the first two is set."""
    if isinstance(source, Image.Image):
        return None, source, None
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None, None
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source))
        if not path.is_file():
            raise ImageInputError(Problem(param, str(path), "no such file"))
        return path.read_bytes(), None, path.name
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ImageInputError(
                Problem(param, source, "file object must be opened in binary mode ('rb')")
            )
        name = getattr(source, "name", None)
        return bytes(data), None, os.path.basename(name) if isinstance(name, str) else None
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        np = None  # type: ignore[assignment]
    if np is not None and isinstance(source, np.ndarray):
        return None, _array_to_pil(source, param), None
    raise ImageInputError(
        Problem(
            param,
            type(source).__name__,
            "unsupported image source",
            allowed="a path, bytes, a binary file object, a PIL image or a numpy array",
        )
    )


def _array_to_pil(arr: Any, param: str) -> Image.Image:
    import numpy as np

    a = np.asarray(arr)
    if a.dtype.kind == "f":
        a = (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ImageInputError(
            Problem(param, str(a.dtype), "unsupported array dtype", allowed="uint8 or float 0..1")
        )
    if a.ndim == 2:
        return Image.fromarray(a, mode="L")
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return Image.fromarray(a, mode="RGB" if a.shape[2] == 3 else "RGBA")
    raise ImageInputError(
        Problem(param, a.shape, "unsupported array shape", allowed="HxW, HxWx3 or HxWx4")
    )


def _encode_png(im: Image.Image) -> bytes:
    if im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def load_image(
    source: ImageSource, *, param: str = "image", filename: str | None = None
) -> EncodedImage:
    """Turn ``source`` into an :class:`EncodedImage`, or raise :class:`ImageInputError`.

    Already valid PNG, JPEG and WebP bytes are passed through unchanged; PIL images and arrays
    are encoded as PNG.
    """
    data, pil, name = _read_source(source, param)
    if data is not None:
        if not data:
            raise ImageInputError(Problem(param, name or "<bytes>", "the image is empty (0 bytes)"))
        fmt = sniff_format(data)
        if fmt not in _MIME:
            what = fmt.upper() if fmt else "not a recognised image"
            raise ImageInputError(
                Problem(
                    param,
                    name or "<bytes>",
                    f"unsupported format: {what}",
                    allowed="PNG, JPEG, WebP",
                )
            )
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                width, height, mode = im.width, im.height, im.mode
        except Exception as exc:
            raise ImageInputError(
                Problem(param, name or "<bytes>", f"the image cannot be decoded ({exc})")
            ) from exc
    else:
        assert pil is not None
        data = _encode_png(pil)
        fmt = "png"
        width, height, mode = pil.width, pil.height, pil.mode
    if len(data) >= MAX_IMAGE_BYTES:
        raise ImageInputError(
            Problem(
                param, name or "<bytes>", f"{len(data):,} bytes is too large", allowed="< 50 MB"
            )
        )
    stem = Path(filename or name or param.replace("[", "_").replace("]", "")).stem or "image"
    return EncodedImage(
        data=data,
        format=fmt,  # type: ignore[arg-type]
        width=width,
        height=height,
        mode=mode,
        filename=stem + _EXT[fmt],
    )


def load_images(sources: Sequence[ImageSource], *, param: str = "image") -> list[EncodedImage]:
    """Load every source (1..16), naming each by its index in errors."""
    if not sources:
        raise ImageInputError(Problem(param, [], "at least one image is required", allowed="1..16"))
    if len(sources) > MAX_EDIT_IMAGES:
        raise ImageInputError(
            Problem(
                param, f"{len(sources)} images", "too many images", allowed=f"1..{MAX_EDIT_IMAGES}"
            )
        )
    return [load_image(s, param=f"{param}[{i}]") for i, s in enumerate(sources)]
