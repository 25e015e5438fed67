"""One boundary that turns every kind of input image into a validated, encoded image.

Everything that reaches the API as an image goes through :func:`load_image`: paths, bytes,
binary file objects, PIL images and numpy arrays. The result is an :class:`EncodedImage`
whose bytes are PNG, JPEG or WebP, whose filename and MIME type match those bytes, and whose
size is the size the model will see (EXIF orientation applied).

What happens to each kind of input:

- PNG, JPEG and WebP bytes that need nothing are **passed through unchanged**. Only the
  header and the container structure are read (PNG chunks up to ``IEND``, the JPEG end
  marker, the WebP RIFF length), so pass-through costs well under a millisecond per image.
- They are re-encoded only when the API or the model would otherwise see something else:
  an EXIF orientation other than "upright" (baked in, so image, mask and size checks agree),
  a CMYK JPEG (converted to RGB), a 16-bit PNG (reduced to 8 bits per channel). Re-encoding
  keeps JPEG as JPEG (quality 95) and writes everything else as PNG with fast settings.
  :attr:`EncodedImage.notes` says what was changed.
- PIL images and arrays (``HxW``, ``HxWx3``, ``HxWx4``; ``uint8``, ``bool`` or float in
  0..1) are encoded as PNG.
- GIF, animated PNG/WebP, BMP, TIFF, HEIC, SVG, PDF, text and anything else are refused
  with :class:`~imagewright.errors.ImageInputError`, as are empty files, truncated or corrupt
  images, files of 50 MB or more, images over :data:`MAX_INPUT_PIXELS` (decompression bombs,
  refused from the header before Pillow opens them) and more than 16 images. Errors name the
  parameter (``image[3]``) and the input (its file name, or ``<bytes>``).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Union

from PIL import Image, ImageOps

from ._magic import complete as _complete
from ._magic import png_structure as _png_structure
from ._magic import sniff_format
from .errors import ImageInputError, Problem
from .models import MAX_EDIT_IMAGES, MAX_IMAGE_BYTES

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "MAX_INPUT_PIXELS",
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
    "npt.NDArray[Any]",
]
"""Anything imagewright accepts as an image: a path, bytes, a binary file object, a PIL image
or a numpy array."""

MAX_INPUT_PIXELS = 50_000_000
"""The largest image (width x height) accepted as input.

Six times 3840x2160 and enough for a 48-megapixel photo, yet far below what would exhaust
memory when decoded. Larger headers are refused before any pixel is decoded, which is what
stops decompression bombs. Pillow's own global ``Image.MAX_IMAGE_PIXELS`` is left untouched.
"""

_MIME: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_EXT: dict[str, str] = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}
_PIL_FORMATS = ("PNG", "JPEG", "WEBP")
_ALLOWED = "PNG, JPEG or WebP"
_ORIENTATION_TAG = 0x0112
_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"<svg", "SVG"),
    (b"<?xml", "XML/SVG"),
)


def _describe_unknown(data: bytes) -> str:
    """Name what some non-image-API bytes probably are, for the error message."""
    for magic, name in _OTHER_SIGNATURES:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        brand = data[8:12].decode("ascii", "replace").strip()
        return "AVIF" if brand.startswith("avi") else f"HEIF/HEIC ({brand})"
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"not a recognised image (starts with {data[:8]!r})"
    if text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text):
        return "text, not an image"
    return f"not a recognised image (starts with {data[:8]!r})"


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
        notes: What the boundary changed, e.g. ``("EXIF orientation 6 applied",)``; empty when
            the caller's bytes are sent unchanged.
    """

    data: bytes
    format: ImageFormat
    width: int
    height: int
    mode: str
    filename: str
    notes: tuple[str, ...] = ()

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

    @property
    def reencoded(self) -> bool:
        """True when :attr:`data` is not the caller's original bytes (see :attr:`notes`)."""
        return bool(self.notes)

    @cached_property
    def sha256(self) -> str:
        """Hex sha256 of the encoded bytes."""
        return hashlib.sha256(self.data).hexdigest()

    def to_pil(self) -> Image.Image:
        """Decode into a new PIL image (EXIF orientation applied).

        Raises:
            ImageInputError: The pixel data inside the (intact) file is damaged.
        """
        try:
            with Image.open(io.BytesIO(self.data)) as im:
                out = ImageOps.exif_transpose(im)
                out.load()
                return out
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageInputError(
                Problem(
                    "image",
                    self.filename,
                    f"the pixel data is damaged and cannot be decoded ({exc})",
                    allowed="load_image(..., verify=True) finds this before anything is sent",
                )
            ) from exc

    def __repr__(self) -> str:
        notes = f", notes={list(self.notes)!r}" if self.notes else ""
        return (
            f"EncodedImage({self.filename!r}, {self.format}, {self.width}x{self.height}, "
            f"{self.mode}, {len(self.data):,} bytes{notes})"
        )


# --------------------------------------------------------------------------- reading sources


def _too_large(param: str, label: str, nbytes: int) -> ImageInputError:
    return ImageInputError(
        Problem(param, label, f"{nbytes:,} bytes is too large", allowed="< 50 MB per image")
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
        nbytes = path.stat().st_size
        # Refuse before reading: a 2 GB file should not be loaded just to be rejected.
        if nbytes >= MAX_IMAGE_BYTES:
            raise _too_large(param, path.name, nbytes)
        return path.read_bytes(), None, path.name
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ImageInputError(
                Problem(param, source, "file object must be opened in binary mode ('rb')")
            )
        name = getattr(source, "name", None)
        return bytes(data), None, os.path.basename(name) if isinstance(name, str) else None
    if is_ndarray(source):
        return None, _array_to_pil(source, param), None
    raise ImageInputError(
        Problem(
            param,
            type(source).__name__,
            "unsupported image source",
            allowed="a path, bytes, a binary file object, a PIL image or a numpy array",
        )
    )


def is_ndarray(value: object) -> bool:
    """True for a numpy array, without importing numpy (a program without it has none)."""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


def _array_to_pil(arr: npt.NDArray[Any], param: str) -> Image.Image:
    """A PIL image from an ``HxW``/``HxWx1``/``HxWx3``/``HxWx4`` array of uint8, bool or floats in 0..1."""
    import numpy as np

    a = arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))) or 0 in a.shape:
        raise ImageInputError(
            Problem(param, a.shape, "unsupported array shape", allowed="HxW, HxWx3 or HxWx4")
        )
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * np.uint8(255)
    elif a.dtype.kind == "f":
        lo, hi = float(np.min(a)), float(np.max(a))
        # Refusing (not clipping) 0..255 floats: clipping would silently send a white image.
        if not (lo >= 0.0 and hi <= 1.0):
            raise ImageInputError(
                Problem(
                    param,
                    f"float array with values {lo:g}..{hi:g}",
                    "float arrays must hold values in 0..1",
                    allowed="floats in 0..1 (divide by 255) or a uint8 array",
                )
            )
        a = (a * 255.0 + 0.5).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ImageInputError(
            Problem(
                param, str(a.dtype), "unsupported array dtype", allowed="uint8, bool or float 0..1"
            )
        )
    return Image.fromarray(np.ascontiguousarray(a))


# --------------------------------------------------------------------------- cheap structure checks


# --------------------------------------------------------------------------- decoding / encoding


_SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def _declared_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """Width and height from the header bytes alone, or ``None`` when they cannot be read."""
    if fmt == "png":
        # Trust the IHDR only when its CRC matches; a damaged header is reported as corrupt.
        if len(data) < 33 or zlib.crc32(data[12:29]) != int.from_bytes(data[29:33], "big"):
            return None
        w, h = struct.unpack_from(">II", data, 16)
        return w, h
    if fmt == "jpeg":
        pos, n = 2, len(data)
        while pos + 9 <= n and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker == 0xFF:
                pos += 1
            elif marker in _SOF_MARKERS:
                h, w = struct.unpack_from(">HH", data, pos + 5)
                return w, h
            elif marker == 0x01 or 0xD0 <= marker <= 0xD8:
                pos += 2
            else:
                pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        return None
    kind = data[12:16]
    if kind == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if kind == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    return None


def _open(data: bytes, fmt: str, param: str, label: str) -> Image.Image:
    """Open the header, refusing images over our pixel ceiling before Pillow sees them.

    Reading the size ourselves first means Pillow's own bomb check (at a higher limit, and a
    process-wide warning) never fires for an image we accept or refuse.
    """
    size = _declared_size(data, fmt)
    if size is not None and size[0] * size[1] > _ceiling():
        raise _bomb(param, label, size)
    try:
        im = Image.open(io.BytesIO(data), formats=_PIL_FORMATS)
    except Image.DecompressionBombError as exc:
        raise _bomb(param, label, None) from exc
    except Exception as exc:
        raise ImageInputError(
            Problem(param, label, f"the image cannot be decoded ({exc})", allowed=_ALLOWED)
        ) from exc
    if im.width * im.height > _ceiling():
        raise _bomb(param, label, (im.width, im.height))
    return im


def _ceiling() -> int:
    """Our pixel ceiling, or Pillow's warning threshold if someone set that lower."""
    pillow = Image.MAX_IMAGE_PIXELS
    return min(MAX_INPUT_PIXELS, int(pillow)) if pillow else MAX_INPUT_PIXELS


def _bomb(param: str, label: str, size: tuple[int, int] | None) -> ImageInputError:
    what = f"{size[0]}x{size[1]} pixels" if size else "far too many pixels"
    return ImageInputError(
        Problem(
            param,
            label,
            f"the image declares {what} (a decompression bomb or a huge scan)",
            allowed=f"at most {_ceiling():,} pixels",
        )
    )


def _to_8bit(im: Image.Image) -> Image.Image:
    """Grey levels of any depth to 8 bits, reading the range from the data where the mode
    does not say it: 16-bit modes shift by 8; mode ``I`` only when a value is above 255 (an
    ``int32`` array of 0..255 is already 8-bit); mode ``F`` in 0..1 is scaled like float arrays."""
    import numpy as np

    if im.mode == "F":
        f = np.asarray(im, dtype=np.float64)
        scale = 255.0 if f.size and np.nanmax(f) <= 1.0 else 1.0
        return Image.fromarray(np.clip(np.rint(f * scale), 0, 255).astype(np.uint8))
    if im.mode.startswith("I"):
        a = np.asarray(im).astype(np.int64)
        if im.mode.startswith("I;16") or (a.size and a.max() > 255):
            a = np.clip(a, 0, 65535) >> 8
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return im.convert("L")


def _normalise_mode(im: Image.Image, notes: list[str]) -> Image.Image:
    """Bring any PIL mode to one every encoder and the API accept."""
    if im.mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        notes.append(f"{im.mode} converted to RGB")
        rgb = im.convert("RGB")
        # The source's ICC profile describes the old colour space; keeping it would skew colours.
        rgb.info.pop("icc_profile", None)
        return rgb
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        notes.append(f"16-bit/{im.mode} reduced to 8-bit grayscale")
        return _to_8bit(im)
    if im.mode == "1":
        return im.convert("L")
    has_alpha = "A" in im.getbands() or "transparency" in im.info
    return im.convert("RGBA" if has_alpha else "RGB")


def _encode(im: Image.Image, prefer: str) -> tuple[bytes, ImageFormat]:
    """Encode as JPEG (quality 95) when the source was an opaque JPEG, else as fast PNG."""
    buf = io.BytesIO()
    if prefer == "jpeg" and im.mode in ("RGB", "L"):
        im.save(buf, format="JPEG", quality=95, icc_profile=im.info.get("icc_profile"))
        return buf.getvalue(), "jpeg"
    # Level 1 with run-length matching: on a 4K photo ~40% faster than plain level 1, and smaller.
    im.save(buf, format="PNG", compress_level=1, compress_type=zlib.Z_RLE)
    return buf.getvalue(), "png"


def _reencode_reasons(im: Image.Image, data: bytes, fmt: str) -> list[str]:
    """Why encoded bytes cannot be sent as they are (empty list: pass through)."""
    reasons: list[str] = []
    orientation = 1
    if fmt == "png":
        _, bit_depth, has_exif = _png_structure(data)
        if bit_depth == 16:
            reasons.append("16-bit PNG reduced to 8 bits per channel")
        # PNG getexif() decodes the whole image; only ask when an eXIf chunk exists.
        if has_exif:
            orientation = int(im.getexif().get(_ORIENTATION_TAG, 1))
    else:
        orientation = int(im.getexif().get(_ORIENTATION_TAG, 1))
    if orientation not in (0, 1):
        reasons.append(f"EXIF orientation {orientation} applied")
    if im.mode == "CMYK":
        reasons.append("CMYK converted to RGB")
    return reasons


def _load_bytes(
    data: bytes, param: str, label: str
) -> tuple[bytes, ImageFormat, Image.Image, list[str]]:
    if not data:
        raise ImageInputError(Problem(param, label, "the image is empty (0 bytes)"))
    if len(data) >= MAX_IMAGE_BYTES:
        raise _too_large(param, label, len(data))
    fmt = sniff_format(data)
    if fmt == "gif":
        raise ImageInputError(
            Problem(
                param,
                label,
                "GIF images are not accepted by the Images API (animated or not)",
                allowed=f"{_ALLOWED}; open it with PIL, pick a frame and pass that image",
            )
        )
    if fmt is None:
        raise ImageInputError(
            Problem(
                param, label, f"unsupported format: {_describe_unknown(data)}", allowed=_ALLOWED
            )
        )
    im = _open(data, fmt, param, label)
    if not _complete(data, fmt):
        raise ImageInputError(
            Problem(param, label, f"the {fmt.upper()} file is truncated (its end is missing)")
        )
    frames = int(getattr(im, "n_frames", 1))
    if frames > 1:
        # Which frame the API would use is undocumented; make the caller choose.
        raise ImageInputError(
            Problem(
                param,
                label,
                f"animated {fmt.upper()} ({frames} frames) is not accepted",
                allowed="a still image; open it with PIL, seek() to a frame and pass that",
            )
        )
    return data, fmt, im, _reencode_reasons(im, data, fmt)  # type: ignore[return-value]


def load_image(
    source: ImageSource, *, param: str = "image", filename: str | None = None, verify: bool = False
) -> EncodedImage:
    """Turn ``source`` into an :class:`EncodedImage`, or raise :class:`ImageInputError`.

    Already valid PNG, JPEG and WebP bytes are passed through unchanged; PIL images and arrays
    are encoded as PNG. See the module docstring for every conversion and refusal.

    Args:
        source: A path, bytes, a binary file object, a PIL image or a numpy array.
        param: The parameter name used in error messages, e.g. ``"image[2]"``.
        filename: The filename to send; defaults to the source's name (extension fixed to
            match the format).
        verify: Also decode every pixel of bytes that would be passed through, refusing
            damaged pixel data inside an intact file. Off by default: it costs a full decode
            (~150 ms for a 3840x2160 PNG), and the API refuses such files without charge.

    Examples:
        >>> import numpy as np
        >>> img = load_image(np.zeros((64, 96, 3), dtype=np.uint8))
        >>> (img.format, img.size, img.mime)
        ('png', (96, 64), 'image/png')
    """
    data, pil, name = _read_source(source, param)
    label = name or (
        "<bytes>" if data is not None else "<PIL image>" if source is pil else "<array>"
    )
    notes: list[str] = []
    if data is not None:
        data, fmt, im, notes = _load_bytes(data, param, label)
        if notes or verify:
            try:
                im.load()
                upright = ImageOps.exif_transpose(im) if notes else im
            except Exception as exc:
                raise ImageInputError(
                    Problem(param, label, f"the image cannot be decoded ({exc})", allowed=_ALLOWED)
                ) from exc
        if notes:
            upright = _normalise_mode(upright, [])
            data, fmt = _encode(upright, prefer=fmt)
            width, height, mode = upright.width, upright.height, upright.mode
        else:
            width, height, mode = im.width, im.height, im.mode
    else:
        assert pil is not None
        if pil.width * pil.height > _ceiling():
            raise _bomb(param, label, pil.size)
        upright = ImageOps.exif_transpose(pil)
        upright = _normalise_mode(upright, notes)
        data, fmt = _encode(upright, prefer="png")
        notes.insert(0, f"{label.strip('<>')} encoded as PNG")
        width, height, mode = upright.width, upright.height, upright.mode
    if len(data) >= MAX_IMAGE_BYTES:  # re-encoding can grow a file past the limit
        raise _too_large(param, label, len(data))
    stem = Path(filename or name or param.replace("[", "_").replace("]", "")).stem or "image"
    return EncodedImage(
        data=data,
        format=fmt,
        width=width,
        height=height,
        mode=mode,
        filename=stem + _EXT[fmt],
        notes=tuple(notes),
    )


def _is_single(sources: object) -> bool:
    return isinstance(sources, (str, bytes, bytearray, memoryview, os.PathLike, Image.Image)) or (
        is_ndarray(sources) or hasattr(sources, "read")
    )


def load_images(sources: Sequence[ImageSource], *, param: str = "image") -> list[EncodedImage]:
    """Load every source (1..16), naming each by its index in errors.

    A single source (a path, bytes, a PIL image...) is accepted too and gives a one-element list.
    """
    if _is_single(sources):
        return [load_image(sources, param=param)]  # type: ignore[arg-type]
    if not sources:
        raise ImageInputError(Problem(param, [], "at least one image is required", allowed="1..16"))
    if len(sources) > MAX_EDIT_IMAGES:
        raise ImageInputError(
            Problem(
                param, f"{len(sources)} images", "too many images", allowed=f"1..{MAX_EDIT_IMAGES}"
            )
        )
    return [load_image(s, param=f"{param}[{i}]") for i, s in enumerate(sources)]
