"""The OCR engines behind :mod:`imagewright.text`: the protocol and the RapidOCR default.

The default engine is RapidOCR on onnxruntime (``pip install 'imagewright[ocr]'``): the
``rapidocr_onnxruntime`` wheel ships its PP-OCRv4 detection and recognition models inside the
package, so it runs offline and never downloads anything. It is created once per process, on
first use, under a lock. It needs no writable directory: onnxruntime stores a telemetry device
id under ``~/.cache`` when it can, and otherwise logs one warning and keeps it in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import MissingExtraError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["OcrEngine", "OcrLine", "RapidOcrEngine", "default_engine"]

BoxXYXY = tuple[int, int, int, int]


@dataclass(frozen=True)
class OcrLine:
    """One line of text an OCR engine read.

    Attributes:
        text: The characters read, as the engine returned them.
        box: ``(left, top, right, bottom)`` in pixels of the image that was read.
        score: The engine's confidence, 0..1.
    """

    text: str
    box: BoxXYXY
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"text": self.text, "box": list(self.box), "score": round(self.score, 4)}


@runtime_checkable
class OcrEngine(Protocol):
    """Anything that reads lines of text from a picture: plug in Tesseract or a cloud OCR.

    Examples:
        >>> class Fixed:
        ...     name = "fixed"
        ...     def read(self, image):
        ...         return [OcrLine("HELLO", (0, 0, image.width, image.height))]
        >>> isinstance(Fixed(), OcrEngine)
        True
    """

    name: str
    """A short name for receipts (``"rapidocr-onnxruntime 1.4.4"``)."""

    def read(self, image: Image.Image) -> Sequence[OcrLine]:
        """Every line of text in ``image`` (RGB), with its box in ``image``'s pixels."""
        ...


class RapidOcrEngine:
    """RapidOCR (PP-OCRv4 models, onnxruntime, CPU): the default engine.

    Args:
        threads: onnxruntime intra-op threads (``None``: onnxruntime's default, all cores).
        min_score: Lines read with a lower confidence are dropped (RapidOCR's own default).

    Raises:
        MissingExtraError: ``rapidocr_onnxruntime`` is not installed.
    """

    def __init__(self, *, threads: int | None = None, min_score: float = 0.5) -> None:
        try:
            from importlib.metadata import version

            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:  # pragma: no cover - exercised by the missing-extra test
            raise MissingExtraError("text checks (OCR)", "ocr") from exc
        # Detection at the image's own scale up to 2000 px: RapidOCR's default scales the
        # *short* side up to 736 px, which turns a 640x110 text box into 4280x736 (20x slower).
        kwargs: dict[str, Any] = {
            "text_score": min_score,
            "print_verbose": False,
            "det_limit_type": "max",
            "det_limit_side_len": 2000,
        }
        if threads is not None:
            kwargs["intra_op_num_threads"] = threads
        self._ocr = RapidOCR(**kwargs)
        # RapidOCR keeps per-call state on the object: one caller at a time.
        self._lock = threading.Lock()
        self.name = f"rapidocr-onnxruntime {version('rapidocr_onnxruntime')}"

    def read(self, image: Image.Image) -> list[OcrLine]:
        """Read every line of text in ``image``."""
        with self._lock:
            found, _ = self._ocr(image.convert("RGB"))
        lines = []
        for quad, text, score in found or ():
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            box = (int(min(xs)), int(min(ys)), round(max(xs)), round(max(ys)))
            lines.append(OcrLine(str(text), box, round(float(score), 4)))
        return lines

    def __repr__(self) -> str:
        return f"RapidOcrEngine({self.name!r})"


_default: OcrEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> OcrEngine:
    """The process-wide default engine, created on first use (thread-safe, created once).

    Raises:
        MissingExtraError: The ``ocr`` extra is not installed.
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = RapidOcrEngine()
    return _default
