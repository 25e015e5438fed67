"""Image formats from their bytes alone: magic numbers and container completeness (no Pillow).

Kept free of Pillow and numpy so the transport can check an answer's images without loading
either.
"""

from __future__ import annotations

import struct

__all__ = ["PNG_SIGNATURE", "complete", "jpeg_scan_start", "png_structure", "sniff_format"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sniff_format(data: bytes) -> str | None:
    """The image format named by the magic bytes: ``png``, ``jpeg``, ``webp``, ``gif`` or ``None``."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def png_structure(data: bytes) -> tuple[bool, int, bool]:
    """Walk the PNG chunks: (complete up to IEND, bit depth, has an eXIf chunk)."""
    n = len(data)
    if n < 33:
        return False, 0, False
    bit_depth = data[24]
    pos, has_exif = 8, False
    while pos + 8 <= n:
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > n:
            return False, bit_depth, has_exif
        if ctype == b"IEND":
            return True, bit_depth, has_exif
        if ctype == b"eXIf":
            has_exif = True
        pos = end
    return False, bit_depth, has_exif


def jpeg_scan_start(data: bytes) -> int | None:
    """Offset of the main image's start-of-scan marker, skipping the segments before it."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xDA:
            return pos
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def complete(data: bytes, fmt: str) -> bool:
    """True when the container is not cut short (no pixel is decoded)."""
    if fmt == "jpeg":
        # Entropy-coded data escapes 0xFF, so after the scan starts FFD9 can only be the
        # end-of-image marker. Before it, an EXIF thumbnail carries an FFD9 of its own.
        scan = jpeg_scan_start(data)
        return scan is not None and data.rfind(b"\xff\xd9") > scan
    if fmt == "webp":
        return int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return png_structure(data)[0]
