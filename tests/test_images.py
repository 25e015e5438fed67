"""The image boundary: what is passed through, what is re-encoded, and every refusal."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from imagewright.errors import ImageInputError
from imagewright.images import (
    MAX_INPUT_PIXELS,
    EncodedImage,
    _declared_size,
    load_image,
    load_images,
    sniff_format,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _png(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _jpeg(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", **kw)
    return buf.getvalue()


def _chunk(tag: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(tag))
    return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)


def _raw_png(width: int, height: int, bit_depth: int, color_type: int, raw: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def _gradient(w: int = 64, h: int = 48) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2))


# --------------------------------------------------------------------------- pass-through


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_valid_bytes_pass_through_unchanged(fmt: str, mime: str) -> None:
    buf = io.BytesIO()
    _gradient().save(buf, format=fmt)
    data = buf.getvalue()
    enc = load_image(data)
    assert enc.data == data
    assert enc.notes == ()
    assert not enc.reencoded
    assert enc.mime == mime
    assert enc.size == (64, 48)


def test_misnamed_file_is_sent_with_the_real_format(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(_jpeg(_gradient()))
    enc = load_image(path)
    assert enc.format == "jpeg"
    assert enc.filename == "photo.jpg"
    assert enc.mime == "image/jpeg"
    assert enc.data == path.read_bytes()


def test_binary_file_object_is_read_and_named(tmp_path: Path) -> None:
    path = tmp_path / "room.png"
    path.write_bytes(_png(_gradient()))
    with path.open("rb") as fh:
        enc = load_image(fh)
    assert enc.filename == "room.png"
    assert enc.data == path.read_bytes()


def test_text_mode_file_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "room.png"
    path.write_bytes(_png(_gradient()))
    with path.open("r", encoding="latin-1") as fh, pytest.raises(ImageInputError, match="binary"):
        load_image(fh)  # type: ignore[arg-type]


def test_sha256_identifies_the_bytes() -> None:
    data = _png(_gradient())
    assert load_image(data).sha256 == load_image(data).sha256
    assert load_image(data).sha256 != load_image(_png(_gradient(65, 48))).sha256


# --------------------------------------------------------------------------- PIL images and arrays


@pytest.mark.parametrize(
    ("shape", "mode"), [((48, 64), "L"), ((48, 64, 3), "RGB"), ((48, 64, 4), "RGBA")]
)
def test_uint8_arrays_become_png_with_the_same_pixels(shape: tuple[int, ...], mode: str) -> None:
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    enc = load_image(arr)
    assert (enc.format, enc.mode, enc.size) == ("png", mode, (64, 48))
    assert np.array_equal(np.asarray(enc.to_pil()), arr)
    assert enc.notes == ("array encoded as PNG",)


def test_float_arrays_in_0_1_are_scaled() -> None:
    arr = np.full((4, 5, 3), 0.5)
    assert np.asarray(load_image(arr).to_pil())[0, 0].tolist() == [128, 128, 128]


def test_float_arrays_in_0_255_are_refused_not_clipped_to_white() -> None:
    with pytest.raises(ImageInputError, match=r"0\.\.1") as info:
        load_image(np.full((4, 5, 3), 200.0), param="image[1]")
    assert info.value.params == ["image[1]"]


@pytest.mark.parametrize(
    "arr",
    [np.zeros((4, 5), np.uint16), np.zeros((4, 5, 2), np.uint8), np.zeros(5, np.uint8)],
    ids=["uint16", "two-channels", "1-d"],
)
def test_unsupported_arrays_are_refused(arr: np.ndarray) -> None:
    with pytest.raises(ImageInputError):
        load_image(arr)


def test_palette_image_with_transparency_keeps_alpha() -> None:
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, 255, 0, 0])
    im.info["transparency"] = 0
    enc = load_image(im)
    assert enc.has_alpha
    assert enc.to_pil().getchannel("A").getextrema() == (0, 0)


def test_pil_image_with_exif_orientation_is_made_upright() -> None:
    im = _gradient(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = Image.open(io.BytesIO(_jpeg(im, exif=exif.tobytes())))
    enc = load_image(rotated)
    assert enc.size == (48, 64)


def test_unsupported_source_type_is_refused() -> None:
    with pytest.raises(ImageInputError, match="unsupported image source"):
        load_image(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the bad-input corpus


def test_zero_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageInputError, match="empty") as info:
        load_image(path)
    assert "empty.png" in str(info.value)


def test_truncated_png_is_refused() -> None:
    data = _png(_gradient(200, 200))
    with pytest.raises(ImageInputError, match="truncated"):
        load_image(data[: len(data) * 2 // 3])


def test_truncated_jpeg_is_refused() -> None:
    data = _jpeg(_gradient(200, 200))
    with pytest.raises(ImageInputError, match="truncated"):
        load_image(data[: len(data) // 2])


def test_truncated_jpeg_with_an_embedded_thumbnail_is_refused() -> None:
    # EXIF thumbnails are complete JPEGs inside APP1, end marker included; that marker must not
    # make a cut-off main image look complete.
    thumb = _jpeg(_gradient(16, 12))
    app1 = b"Exif\x00\x00" + thumb
    main = _jpeg(_gradient(200, 200))
    data = b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + main[2:]
    assert load_image(data).data == data  # complete: passed through
    with pytest.raises(ImageInputError, match="truncated"):
        load_image(data[: len(data) - len(main) // 2])


def test_text_renamed_png_is_refused_as_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are my notes, not an image\n")
    with pytest.raises(ImageInputError, match="text, not an image") as info:
        load_image(path, param="image[3]")
    assert info.value.problems[0].param == "image[3]"
    assert info.value.problems[0].value == "notes.png"


def test_damaged_pixel_data_is_refused_only_with_verify() -> None:
    data = bytearray(_png(_gradient(64, 64)))
    idat = data.index(b"IDAT")
    data[idat + 40 : idat + 48] = b"\x00" * 8  # inside the compressed pixels; the chunk stays whole
    assert load_image(bytes(data)).data == bytes(data)  # default: structure only, sent unchanged
    with pytest.raises(ImageInputError, match="cannot be decoded"):
        load_image(bytes(data), verify=True)
    assert load_image(_png(_gradient()), verify=True).notes == ()  # a good file still passes


def test_corrupt_png_header_is_refused() -> None:
    data = bytearray(_png(_gradient()))
    data[16:24] = b"\xff" * 8  # width/height: garbage, and the IHDR CRC no longer matches
    with pytest.raises(ImageInputError, match="cannot be decoded"):
        load_image(bytes(data))


def test_animated_gif_is_refused_with_advice() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageInputError, match="GIF") as info:
        load_image(buf.getvalue())
    assert "pick a frame" in str(info.value)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_png_and_webp_are_refused(fmt: str) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageInputError, match="2 frames"):
        load_image(buf.getvalue())


@pytest.mark.parametrize(("fmt", "name"), [("BMP", "BMP"), ("TIFF", "TIFF")])
def test_other_formats_are_named_and_refused(fmt: str, name: str) -> None:
    buf = io.BytesIO()
    _gradient().save(buf, format=fmt)
    with pytest.raises(ImageInputError, match=f"unsupported format: {name}"):
        load_image(buf.getvalue())


def test_sixteen_bit_gray_png_is_reduced_to_8_bit() -> None:
    values = np.array([[0, 256, 65535, 32768]], dtype=">u2")
    data = _raw_png(4, 1, 16, 0, b"\x00" + values.tobytes())
    enc = load_image(data)
    assert enc.mode == "L"
    assert "16-bit PNG reduced to 8 bits per channel" in enc.notes
    assert np.asarray(enc.to_pil()).tolist() == [[0, 1, 255, 128]]


def test_sixteen_bit_rgb_png_is_reduced_to_8_bit() -> None:
    px = np.array([[[65535, 0, 32768], [256, 512, 1024]]], dtype=">u2")
    data = _raw_png(2, 1, 16, 2, b"\x00" + px.tobytes())
    enc = load_image(data)
    assert (enc.format, enc.mode) == ("png", "RGB")
    assert enc.reencoded
    assert np.asarray(enc.to_pil()).tolist() == [[[255, 0, 128], [1, 2, 4]]]


def test_cmyk_jpeg_is_converted_to_rgb_jpeg() -> None:
    data = _jpeg(Image.new("CMYK", (32, 16), (0, 255, 255, 0)), quality=95)
    enc = load_image(data)
    assert (enc.format, enc.mode) == ("jpeg", "RGB")
    assert "CMYK converted to RGB" in enc.notes
    r, g, b = np.asarray(enc.to_pil())[8, 16].tolist()
    assert r > 200
    assert g < 60
    assert b < 60


def test_exif_rotated_jpeg_is_re_encoded_upright() -> None:
    im = _gradient(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _jpeg(im, exif=exif.tobytes(), quality=95)
    enc = load_image(data)
    assert enc.size == (48, 64)
    assert enc.format == "jpeg"
    assert "EXIF orientation 6 applied" in enc.notes
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert upright.size == enc.to_pil().size
    diff = np.abs(np.asarray(upright).astype(int) - np.asarray(enc.to_pil()).astype(int))
    assert diff.mean() < 3
    # The re-encoded file carries no orientation, so no reader can rotate it twice.
    assert Image.open(io.BytesIO(enc.data)).getexif().get(0x0112, 1) == 1


def _bomb_png(width: int, height: int) -> bytes:
    return _raw_png(width, height, 8, 0, b"\x00" * 16)[:-12] + _chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "side",
    [8000, 12_000, 20_000],
    ids=["over-our-ceiling", "over-pillow-warning", "over-pillow-error"],
)
def test_decompression_bomb_header_is_refused_before_decoding(side: int) -> None:
    # 64M px is over our ceiling; 144M px makes Pillow warn; 400M px makes Pillow raise.
    # Each must become our ImageInputError (pytest turns a stray Pillow warning into a failure).
    data = _bomb_png(side, side)
    with pytest.raises(ImageInputError, match="decompression bomb") as info:
        load_image(data, param="image[0]")
    assert info.value.params == ["image[0]"]
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's global is left alone


@pytest.mark.parametrize(
    ("fmt", "mode", "kw"),
    [
        ("PNG", "RGB", {}),
        ("JPEG", "RGB", {}),
        ("JPEG", "RGB", {"progressive": True}),
        ("WEBP", "RGB", {}),
        ("WEBP", "RGB", {"lossless": True}),
        ("WEBP", "RGBA", {}),
    ],
)
def test_header_size_is_read_without_pillow(fmt: str, mode: str, kw: dict[str, object]) -> None:
    buf = io.BytesIO()
    _gradient(77, 45).convert(mode).save(buf, format=fmt, **kw)
    data = buf.getvalue()
    assert _declared_size(data, sniff_format(data) or "") == (77, 45)


def test_jpeg_bomb_header_is_refused_before_pillow_sees_it() -> None:
    data = bytearray(_jpeg(_gradient(16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 12_000, 12_000)  # 144 Mpx: Pillow would warn
    with pytest.raises(ImageInputError, match="12000x12000"):
        load_image(bytes(data))


def test_a_lowered_pillow_limit_is_honoured_as_our_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Someone lowered Pillow's bomb threshold: what Pillow would warn about becomes our error
    # (and no DecompressionBombWarning escapes: pytest would turn it into a failure).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageInputError, match="at most 1,000 pixels"):
        load_image(_png(_gradient(40, 40)))
    assert load_image(_png(_gradient(30, 30))).size == (30, 30)


def test_an_8k_image_is_under_the_pixel_ceiling() -> None:
    # 7680x4320 (33 Mpx, four times 4K) is accepted from its header alone: pass-through never
    # decodes pixels, which is also why this header-only file gets through.
    enc = load_image(_bomb_png(7680, 4320))
    assert enc.size == (7680, 4320)
    assert not enc.reencoded
    assert MAX_INPUT_PIXELS > 7680 * 4320


def test_file_over_50_mb_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: costs no disk and is never read
    with pytest.raises(ImageInputError, match="too large"):
        load_image(path)


def test_bytes_over_50_mb_are_refused() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(50 * 1024 * 1024)
    with pytest.raises(ImageInputError, match="too large"):
        load_image(data)


def test_missing_file_is_refused() -> None:
    with pytest.raises(ImageInputError, match="no such file"):
        load_image("/nonexistent/room.png")


def test_more_than_16_images_are_refused() -> None:
    data = _png(_gradient(8, 8))
    assert len(load_images([data] * 16)) == 16
    with pytest.raises(ImageInputError, match="too many images"):
        load_images([data] * 17)


def test_errors_name_the_index_of_the_bad_image() -> None:
    good = _png(_gradient(8, 8))
    with pytest.raises(ImageInputError) as info:
        load_images([good, good, b""])
    assert info.value.params == ["image[2]"]


def test_a_single_source_gives_a_one_element_list(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(_png(_gradient(8, 8)))
    assert [e.filename for e in load_images(str(path))] == ["a.png"]  # type: ignore[arg-type]


def test_committed_fixtures_get_their_documented_outcome() -> None:
    outcomes = {
        "zero-bytes.png": "empty",
        "text-renamed.png": "text, not an image",
        "truncated.png": "truncated",
        "animated.gif": "GIF",
        "bomb-header.png": "decompression bomb",
    }
    for name, message in outcomes.items():
        with pytest.raises(ImageInputError, match=message):
            load_image(FIXTURES / name)


def test_sniff_format() -> None:
    assert sniff_format(_png(_gradient(2, 2))) == "png"
    assert sniff_format(_jpeg(_gradient(2, 2))) == "jpeg"
    assert sniff_format(b"GIF89a....") == "gif"
    assert sniff_format(b"hello") is None


def test_encoded_image_repr_and_defaults() -> None:
    enc = EncodedImage(b"x", "png", 1, 2, "RGBA", "m.png")
    assert enc.notes == ()
    assert "1x2" in repr(enc)
    assert enc.has_alpha


def _samples() -> list[bytes]:
    out = []
    for fmt in ("PNG", "JPEG", "WEBP"):
        buf = io.BytesIO()
        _gradient(24, 16).save(buf, format=fmt)
        out.append(buf.getvalue())
    return out


_SAMPLES = _samples()


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(range(len(_SAMPLES))),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    st.integers(0, 10_000),
)
def test_damaged_files_give_an_image_or_an_image_input_error(
    which: int, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_SAMPLES[which])
    for pos, value in flips:
        data[pos % len(data)] = value
    data = data[: max(0, len(data) - cut % len(data))]
    try:
        enc = load_image(bytes(data))
    except ImageInputError:
        return  # refused with our error, never a stray Pillow/struct/zlib exception
    assert enc.format in ("png", "jpeg", "webp")
    assert enc.width > 0
    assert enc.height > 0


def test_pil_int_and_float_modes_keep_their_range() -> None:
    import numpy as np
    from PIL import Image

    from imagewright.images import load_image

    ramp = np.arange(64 * 96).reshape(64, 96) % 256
    as_int = load_image(Image.fromarray(ramp.astype(np.int32)))  # mode I holding 0..255
    assert np.asarray(as_int.to_pil()).max() == 255
    as_float = load_image(Image.fromarray((ramp / 255).astype(np.float32)))  # mode F in 0..1
    assert np.asarray(as_float.to_pil()).max() == 255
    sixteen = load_image(Image.fromarray((ramp * 257).astype(np.uint16)))  # 16-bit data
    assert np.asarray(sixteen.to_pil()).max() == 255
