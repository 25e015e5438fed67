"""A corpus of hostile, real-world-shaped images, built at test time (nothing large is committed).

``corpus()`` returns ``{name: bytes}``. Run ``python -m tests._hostile DIR`` to write the files
out for a fuzzer's seed corpus.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_raw(
    width: int, height: int, color_type: int, depth: int, idat: bytes, *extra: bytes
) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gradient(w: int, h: int, mode: str = "RGB") -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    rgb = np.stack([x, x[:, ::-1], np.full_like(x, 90)], axis=2)
    return Image.fromarray(rgb, "RGB").convert(mode)


def zip_bomb_png() -> bytes:
    """12000x12000 greyscale of zeros: 144 MB of pixels in ~140 KB."""
    w = h = 12000
    comp = zlib.compressobj(9)
    row = b"\x00" * (w + 1)
    block = row * 200
    idat = b"".join(comp.compress(block) for _ in range(h // 200)) + comp.flush()
    return _png_raw(w, h, 0, 8, idat)


def text_bomb_png() -> bytes:
    """A small image with a zTXt chunk that inflates to 200 MB."""
    base = _save(_gradient(8, 8), "PNG")
    comp = zlib.compressobj(9)
    blob = b"".join(comp.compress(b"A" * 1_000_000) for _ in range(200)) + comp.flush()
    ztxt = _chunk(b"zTXt", b"Comment\x00\x00" + blob)
    return base[:33] + ztxt + base[33:]


def huge_icc_png() -> bytes:
    """A PNG whose iCCP profile is 8 MB of noise."""
    noise = np.random.default_rng(1).integers(0, 256, 8_000_000, dtype=np.uint8).tobytes()
    iccp = _chunk(b"iCCP", b"evil\x00\x00" + zlib.compress(noise, 1))
    base = _save(_gradient(16, 16), "PNG")
    return base[:33] + iccp + base[33:]


def huge_icc_jpeg() -> bytes:
    """A JPEG carrying a 2 MB (bogus) ICC profile over many APP2 segments."""
    return _save(_gradient(16, 16), "JPEG", icc_profile=b"\x00" * 2_000_000)


def truncated_idat() -> bytes:
    """The container is intact (IEND present) but the pixel stream stops halfway."""
    w, h = 64, 64
    raw = b"".join(b"\x00" + bytes([y % 256]) * (w * 3) for y in range(h))
    return _png_raw(w, h, 2, 8, zlib.compress(raw)[: len(zlib.compress(raw)) // 2])


def cut_file() -> bytes:
    data = _save(_gradient(64, 64), "PNG")
    return data[: len(data) // 2]


def tall_1x65535() -> bytes:
    return _save(Image.new("L", (1, 65535), 128), "PNG")


def wide_65535x1() -> bytes:
    return _save(Image.new("RGB", (65535, 1), (1, 2, 3)), "PNG")


def palette_trns() -> bytes:
    im = Image.new("P", (32, 32), 1)
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
    return _save(im, "PNG", transparency=bytes([0, 128, 255]))


def palette_index_out_of_range() -> bytes:
    """Pixels point past the end of a two-colour palette."""
    raw = b"".join(b"\x00" + bytes([200]) * 16 for _ in range(16))
    plte = _chunk(b"PLTE", bytes([0, 0, 0, 255, 255, 255]))
    return _png_raw(16, 16, 3, 8, zlib.compress(raw), plte)


def palette_missing() -> bytes:
    """A palette image without its PLTE chunk."""
    raw = b"".join(b"\x00" + b"\x01" * 16 for _ in range(16))
    return _png_raw(16, 16, 3, 8, zlib.compress(raw))


def one_bit() -> bytes:
    return _save(Image.new("1", (33, 17), 1), "PNG")


def sixteen_bit_rgba() -> bytes:
    raw = b"".join(b"\x00" + b"\x12\x34" * 4 * 8 for _ in range(8))
    return _png_raw(8, 8, 6, 16, zlib.compress(raw))


def sixteen_bit_grey_trns() -> bytes:
    raw = b"".join(b"\x00" + b"\x00\x05" * 8 for _ in range(8))
    return _png_raw(8, 8, 0, 16, zlib.compress(raw), _chunk(b"tRNS", b"\x00\x05"))


def la_mode() -> bytes:
    return _save(Image.new("LA", (20, 10), (100, 0)), "PNG")


def fully_transparent() -> bytes:
    return _save(Image.new("RGBA", (24, 24), (0, 0, 0, 0)), "PNG")


def cmyk_jpeg() -> bytes:
    return _save(_gradient(24, 16, "CMYK"), "JPEG")


def progressive_jpeg() -> bytes:
    return _save(_gradient(40, 30), "JPEG", progressive=True)


def exif_jpeg(orientation: int) -> Callable[[], bytes]:
    def build() -> bytes:
        exif = Image.Exif()
        exif[0x0112] = orientation
        return _save(_gradient(40, 20), "JPEG", exif=exif.tobytes())

    return build


def exif_png(orientation: int) -> Callable[[], bytes]:
    def build() -> bytes:
        exif = Image.Exif()
        exif[0x0112] = orientation
        return _save(_gradient(40, 20), "PNG", exif=exif.tobytes())

    return build


def bad_exif() -> bytes:
    """An APP1 Exif segment full of garbage."""
    data = _save(_gradient(16, 16), "JPEG")
    app1 = b"Exif\x00\x00" + b"\xff\x00" * 100
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def animated_png() -> bytes:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    return _save(frames[0], "PNG", save_all=True, append_images=frames[1:])


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    return _save(frames[0], "WEBP", save_all=True, append_images=frames[1:])


def webp_alpha() -> bytes:
    return _save(Image.new("RGBA", (16, 16), (1, 2, 3, 0)), "WEBP", lossless=True)


def gif() -> bytes:
    return _save(Image.new("P", (8, 8)), "GIF")


def bmp() -> bytes:
    return _save(Image.new("RGB", (8, 8)), "BMP")


def huge_declared_jpeg() -> bytes:
    """A JPEG header that claims 65500x65500 pixels."""
    data = bytearray(_save(_gradient(8, 8), "JPEG"))
    i = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, 65500, 65500)
    return bytes(data)


CORPUS: dict[str, Callable[[], bytes]] = {
    "zip_bomb_png": zip_bomb_png,
    "text_bomb_png": text_bomb_png,
    "huge_icc_png": huge_icc_png,
    "huge_icc_jpeg": huge_icc_jpeg,
    "truncated_idat": truncated_idat,
    "cut_file": cut_file,
    "tall_1x65535": tall_1x65535,
    "wide_65535x1": wide_65535x1,
    "palette_trns": palette_trns,
    "palette_index_out_of_range": palette_index_out_of_range,
    "palette_missing": palette_missing,
    "one_bit": one_bit,
    "sixteen_bit_rgba": sixteen_bit_rgba,
    "sixteen_bit_grey_trns": sixteen_bit_grey_trns,
    "la_mode": la_mode,
    "fully_transparent": fully_transparent,
    "cmyk_jpeg": cmyk_jpeg,
    "progressive_jpeg": progressive_jpeg,
    "bad_exif": bad_exif,
    "animated_png": animated_png,
    "animated_webp": animated_webp,
    "webp_alpha": webp_alpha,
    "gif": gif,
    "bmp": bmp,
    "huge_declared_jpeg": huge_declared_jpeg,
    "empty": lambda: b"",
    "svg_text": lambda: b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    **{f"exif_jpeg_orientation_{k}": exif_jpeg(k) for k in range(1, 9)},
    **{f"exif_png_orientation_{k}": exif_png(k) for k in range(1, 9)},
}


def corpus() -> dict[str, bytes]:
    return {name: build() for name, build in CORPUS.items()}


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus"
    os.makedirs(out, exist_ok=True)
    for name, data in corpus().items():
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(data)
    print(f"{len(CORPUS)} files in {out}")
