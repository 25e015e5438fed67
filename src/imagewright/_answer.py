"""Read an Images API answer without copying its images through ``json``.

An answer is a small JSON object around one huge string per image (``data[i].b64_json``: 6.4 MB
for a 2048x2048 PNG). ``json.loads`` would decode the whole body to text and copy each string
once more before base64 decoding could start. :func:`parse_answer` instead cuts each base64
value out of the raw bytes, parses the small rest with ``json``, and hands the values to
``binascii`` as views of the body: less memory at the peak of every call, and less time.

The cut is exact or not taken. A ``"b64_json"`` key is structural only when the previous
non-blank byte is ``{`` or ``,`` (inside a JSON string a quote is always escaped), and its
value is taken only when it is a plain string holding no backslash (base64 has none). The
parsed rest must then hold exactly as many ``data`` items with an emptied ``b64_json`` as there
were cuts; anything else falls back to ``json.loads`` of the whole body.
"""

from __future__ import annotations

import binascii
import json
import re
import sys
from typing import Any

__all__ = ["Answer", "parse_answer"]

_KEY = b'"b64_json"'
_BLANK = b" \t\r\n"


class Answer(dict[str, Any]):
    """A parsed JSON answer whose ``data[i].b64_json`` values were cut out (now ``""``).

    ``images[i]`` is the base64 of the ``i``-th ``data`` item that had one, as a view of the
    answer's bytes.
    """

    images: list[memoryview]

    def image(self, i: int) -> bytes:
        """The decoded bytes of cut image ``i``; ``binascii.Error`` unless it is strictly
        base64 (as every real answer is: nothing outside the alphabet, padding at the end)."""
        return _strict_b64(self.images[i])

    def full(self) -> dict[str, Any]:
        """The answer as ``json.loads`` would give it (base64 strings put back): for errors."""
        body = dict(self)
        images = iter(self.images)
        body["data"] = [
            {**d, "b64_json": bytes(next(images)).decode("utf-8", "replace")}
            if isinstance(d, dict) and d.get("b64_json") == ""
            else d
            for d in self.get("data") or []
        ]
        return body


if sys.version_info >= (3, 11):

    def _strict_b64(view: memoryview) -> bytes:
        return binascii.a2b_base64(view, strict_mode=True)

else:  # pragma: no cover - Python 3.10 has no strict mode: check the alphabet first
    _ALPHABET = re.compile(rb"[A-Za-z0-9+/]*={0,2}")

    def _strict_b64(view: memoryview) -> bytes:
        if _ALPHABET.fullmatch(view) is None:
            raise binascii.Error("not strictly base64")
        return binascii.a2b_base64(view)


def parse_answer(content: bytes) -> Any:
    """``json.loads(content)``, with each image's base64 left in ``content`` when it can be."""
    cut = _cut(content)
    if cut is not None:
        skeleton, spans = cut
        payload = json.loads(skeleton)
        if isinstance(payload, dict):
            data = payload.get("data")
            emptied = (
                [d for d in data or [] if isinstance(d, dict) and d.get("b64_json") == ""]
                if isinstance(data, list)
                else []
            )
            if len(emptied) == len(spans):
                answer = Answer(payload)
                view = memoryview(content)
                answer.images = [view[start:end] for start, end in spans]
                return answer
    return json.loads(content)


def _cut(content: bytes) -> tuple[bytes, list[tuple[int, int]]] | None:
    """The body with each ``b64_json`` string emptied, and where the strings were."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (key := content.find(_KEY, pos)) != -1:
        before = key - 1
        while before >= 0 and content[before] in _BLANK:
            before -= 1
        if before < 0 or content[before] not in b"{,":
            return None
        i = _skip_blank(content, key + len(_KEY))
        if content[i : i + 1] != b":":
            return None
        i = _skip_blank(content, i + 1)
        if content[i : i + 1] != b'"':
            pos = i  # null, or not a string: json will say what it is
            continue
        end = content.find(b'"', i + 1)
        if end == -1 or content.find(b"\\", i + 1, end) != -1:
            return None
        spans.append((i + 1, end))
        pos = end + 1
    if not spans:
        return None
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(content[last:start])
        last = end
    pieces.append(content[last:])
    return b"".join(pieces), spans


def _skip_blank(content: bytes, i: int) -> int:
    while content[i : i + 1] in (b" ", b"\t", b"\r", b"\n"):
        i += 1
    return i
