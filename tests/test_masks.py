"""Mask: polarity-explicit conversions, constructors, algebra, morphology, lint, prepare_mask."""

from __future__ import annotations

import io
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageFilter

from imagewright._png import encode_alpha_png
from imagewright.errors import MaskError
from imagewright.images import load_image
from imagewright.masks import Mask, MaskFinding, MaskWarning, prepare_mask

FIXTURES = Path(__file__).parent / "fixtures"

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def hard_masks(draw: st.DrawFn, max_side: int = 24) -> Mask:
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    return Mask(draw(arrays(np.bool_, (h, w))))


@st.composite
def mask_pairs(draw: st.DrawFn, soft: bool = False) -> tuple[Mask, Mask]:
    h = draw(st.integers(1, 16))
    w = draw(st.integers(1, 16))
    if soft:
        floats = st.floats(0, 1, width=32)
        return Mask(draw(arrays(np.float32, (h, w), elements=floats))), Mask(
            draw(arrays(np.float32, (h, w), elements=floats))
        )
    return Mask(draw(arrays(np.bool_, (h, w)))), Mask(draw(arrays(np.bool_, (h, w))))


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _image(w: int, h: int) -> bytes:
    return _png(Image.new("RGB", (w, h), (90, 140, 200)))


def _window_max(a: np.ndarray, r: int) -> np.ndarray:
    """Reference dilation: the maximum over the (2r+1)-square window clipped to the image."""
    h, w = a.shape
    out = np.zeros_like(a)
    for y in range(h):
        for x in range(w):
            out[y, x] = a[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1].max()
    return out


# --------------------------------------------------------------------------- polarity


@SETTINGS
@given(hard_masks())
def test_openai_round_trip_keeps_the_editable_area(m: Mask) -> None:
    assume(m.coverage > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaskWarning)  # full / tiny masks are fine here
        enc = m.to_openai()
    assert Mask.from_alpha(enc) == m


@SETTINGS
@given(hard_masks())
def test_white_editable_round_trip(m: Mask) -> None:
    assert Mask.from_image(m.to_white_editable(), editable="white") == m
    assert Mask.from_image(m.to_white_editable(), editable="black") == ~m


def test_to_openai_is_an_rgba_png_with_alpha_zero_where_editable() -> None:
    m = Mask.box((40, 30), (10, 5, 20, 25))
    enc = m.to_openai()
    assert (enc.format, enc.mode, enc.size, enc.mime) == ("png", "RGBA", (40, 30), "image/png")
    im = Image.open(io.BytesIO(enc.data))
    assert im.mode == "RGBA"
    alpha = np.asarray(im)[..., 3]
    assert (alpha[m.to_array()] == 0).all()
    assert (alpha[~m.to_array()] == 255).all()


@SETTINGS
@given(hard_masks(max_side=40))
def test_mask_png_stream_is_exactly_the_up_filtered_scanlines(m: Mask) -> None:
    # The PNG is written without zlib; check it byte for byte against the PNG spec's scanlines.
    data = encode_alpha_png(m.to_array())
    assert data[12:16] == b"IHDR"
    assert data[37:41] == b"IDAT"
    idat = data[41 : 41 + int.from_bytes(data[33:37], "big")]
    alpha = np.where(m.to_array(), 0, 255).astype(np.uint8)
    raw = np.zeros((m.height, 1 + 4 * m.width), np.uint8)
    raw[1:, 0] = 2  # "Up" filter after the first row
    raw[0, 4::4] = alpha[0]
    raw[1:, 4::4] = alpha[1:] - alpha[:-1]
    assert zlib.decompress(idat) == raw.tobytes()  # also checks the Adler-32 checksum
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    assert np.array_equal(decoded[..., 3], alpha)
    assert not decoded[..., :3].any()


def _scanlines(editable: np.ndarray) -> bytes:
    """The PNG spec's Up-filtered RGBA scanlines of a mask: what the IDAT must inflate to."""
    alpha = np.where(editable, 0, 255).astype(np.uint8)
    raw = np.zeros((editable.shape[0], 1 + 4 * editable.shape[1]), np.uint8)
    raw[1:, 0] = 2
    raw[0, 4::4] = alpha[0]
    raw[1:, 4::4] = alpha[1:] - alpha[:-1]
    return raw.tobytes()


def test_mask_png_long_zero_runs_inflate_exactly_at_every_width() -> None:
    # Runs of zeros longer than one deflate copy (258 bytes) are split into full copies and a
    # tail; widths up to 300 px give runs of every length up to 1,200 bytes, across the
    # boundaries (515, 772, 1028 ...) where a miscounted split shows.
    for w in range(1, 301):
        for editable in (np.ones((2, w), bool), np.eye(2, w, k=w // 2, dtype=bool)):
            data = encode_alpha_png(editable)
            idat = data[41 : 41 + int.from_bytes(data[33:37], "big")]
            assert zlib.decompress(idat) == _scanlines(editable), w  # and the Adler-32


def test_mask_png_zlib_fallback_decodes_to_the_same_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    # Masks with millions of edges (noise) are compressed by zlib instead; same pixels.
    m = Mask(np.random.default_rng(3).random((37, 53)) < 0.5)
    direct = encode_alpha_png(m.to_array())
    monkeypatch.setattr("imagewright._png._MAX_DIRECT_CHANGES", 0)
    fallback = encode_alpha_png(m.to_array())
    assert fallback != direct
    assert Mask.from_alpha(fallback) == m == Mask.from_alpha(direct)


def test_to_array_polarity_and_copy() -> None:
    m = Mask.box((4, 4), (0, 0, 2, 4))
    a = m.to_array()
    assert a.dtype == np.bool_
    assert a[:, :2].all()
    assert not a[:, 2:].any()
    a[:] = False  # the mask is unaffected: it is immutable
    assert m.coverage == 0.5
    assert np.array_equal(np.asarray(m), m.to_array())


def test_white_editable_image_is_255_where_editable() -> None:
    im = Mask.box((4, 2), (0, 0, 1, 2)).to_white_editable()
    assert im.mode == "L"
    assert np.asarray(im).tolist() == [[255, 0, 0, 0], [255, 0, 0, 0]]


# --------------------------------------------------------------------------- algebra


@SETTINGS
@given(mask_pairs())
def test_de_morgan_hard(pair: tuple[Mask, Mask]) -> None:
    a, b = pair
    assert ~(a | b) == (~a & ~b)
    assert ~(a & b) == (~a | ~b)
    assert a - b == a & ~b


@SETTINGS
@given(mask_pairs(soft=True))
def test_de_morgan_soft(pair: tuple[Mask, Mask]) -> None:
    a, b = pair
    assert np.allclose((~(a | b)).to_array(), (~a & ~b).to_array())
    assert np.allclose((~(a & b)).to_array(), (~a | ~b).to_array())


@SETTINGS
@given(hard_masks())
def test_idempotence_and_involution(m: Mask) -> None:
    assert m | m == m
    assert m & m == m
    assert ~~m == m
    assert (m - m).coverage == 0
    assert m.grow(0) == m == m.shrink(0)


def test_combining_masks_of_different_sizes_is_refused() -> None:
    with pytest.raises(MaskError, match="different sizes"):
        _ = Mask.full((4, 4)) | Mask.full((4, 5))
    with pytest.raises(TypeError):
        _ = Mask.full((4, 4)) | np.ones((4, 4), bool)  # type: ignore[operator]


# --------------------------------------------------------------------------- morphology


@SETTINGS
@given(hard_masks(max_side=14), st.integers(0, 9))
def test_grow_is_a_square_window_max_and_shrink_its_dual(m: Mask, r: int) -> None:
    a = m.to_array()
    assert np.array_equal(m.grow(r).to_array(), _window_max(a, r))
    assert m.shrink(r) == ~((~m).grow(r))


@SETTINGS
@given(hard_masks(), st.integers(0, 6), st.integers(0, 6))
def test_grow_and_shrink_are_monotonic(m: Mask, n: int, k: int) -> None:
    assert (m - m.grow(n)).coverage == 0
    assert (m.grow(n) - m.grow(n + k)).coverage == 0
    assert (m.shrink(n) - m).coverage == 0
    assert (m.shrink(n + k) - m.shrink(n)).coverage == 0


def test_shrink_does_not_eat_in_from_the_image_border() -> None:
    assert Mask.full((10, 10)).shrink(3) == Mask.full((10, 10))
    assert Mask.box((10, 10), (0, 0, 5, 10)).shrink(1).bbox == (0, 0, 4, 10)


def test_grow_rejects_negative_and_fractional_pixels() -> None:
    with pytest.raises(MaskError):
        Mask.full((4, 4)).grow(-1)
    with pytest.raises(MaskError):
        Mask.full((4, 4)).grow(1.5)  # type: ignore[arg-type]


def test_feather_makes_a_soft_edge_centred_on_the_original_edge() -> None:
    m = Mask.box((200, 100), (50, 25, 150, 75))
    soft = m.feather(8)
    a = soft.to_array()
    assert soft.is_soft
    assert a.dtype == np.float32
    assert a.min() >= 0
    assert a.max() <= 1
    assert a[50, 100] == pytest.approx(1, abs=0.01)  # deep inside: still editable
    assert a[5, 5] == 0  # far outside: untouched
    assert 0.3 < a[50, 50] < 0.7  # on the edge: half
    assert abs(soft.coverage - m.coverage) < 0.01
    changed = np.count_nonzero(soft.harden().to_array() != m.to_array())
    assert changed <= 2 * (100 + 50)  # at most about one pixel ring differs
    assert m.feather(0) is m


@pytest.mark.parametrize("radius", [3, 8, 16, 40])
def test_feather_matches_a_gaussian_blur_inside_the_frame(radius: int) -> None:
    # Large radii blur a downscaled copy; it must stay on the same pixel grid (no shift).
    m = Mask.ellipse((301, 203), (40, 30, 250, 170))
    soft = m.feather(radius).to_array()
    exact = m.to_white_editable().filter(ImageFilter.GaussianBlur(radius / 2))
    diff = np.abs(soft - np.asarray(exact) / 255)[10:-10, 10:-10]
    assert diff.max() <= 0.03


def test_soft_mask_is_hardened_at_one_half_for_openai() -> None:
    soft = Mask(np.array([[0.2, 0.5, 0.9, 0.0]], dtype=np.float32))
    assert soft.is_soft
    assert Mask.from_alpha(soft.to_openai()) == Mask(np.array([[False, True, True, False]]))


@SETTINGS
@given(
    st.integers(16, 80),
    st.integers(16, 80),
    st.floats(0.0, 0.6),
    st.floats(0.0, 0.6),
    st.floats(0.3, 0.4),
    st.floats(0.5, 2.0),
)
def test_resize_keeps_coverage(w: int, h: int, fx: float, fy: float, fs: float, k: float) -> None:
    m = Mask.box((w, h), (fx, fy, fx + fs, fy + fs))
    tw, th = max(1, round(w * k)), max(1, round(h * k))
    r = m.resize((tw, th))
    assert r.size == (tw, th)
    assert not r.is_soft
    tolerance = 2 * (1 / tw + 1 / th) + 2 * (1 / w + 1 / h)
    assert abs(r.coverage - m.coverage) <= tolerance


def test_crop_and_bbox() -> None:
    m = Mask.box((100, 80), (10, 20, 30, 60))
    assert m.bbox == (10, 20, 30, 60)
    assert m.crop_to_bbox() == Mask.full((20, 40))
    assert m.crop_to_bbox(padding=5).size == (30, 50)
    assert m.crop((0.0, 0.0, 0.5, 0.5)).size == (50, 40)
    assert Mask.empty((5, 5)).bbox is None
    with pytest.raises(MaskError, match="empty mask"):
        Mask.empty((5, 5)).crop_to_bbox()


# --------------------------------------------------------------------------- constructors


def test_box_in_pixels_and_fractions_agree() -> None:
    assert Mask.box((200, 100), (50, 25, 150, 75)) == Mask.box((200, 100), (0.25, 0.25, 0.75, 0.75))
    assert Mask.box((200, 100), (0.0, 0, 0.5, 1)).coverage == 0.5  # any float => fractions


def test_mask_size_from_an_exif_rotated_photo_is_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buf, format="JPEG", exif=exif.tobytes())
    assert Mask.full(buf.getvalue()).size == (48, 64)  # as the API sees it
    assert Mask.full(Image.open(io.BytesIO(buf.getvalue()))).size == (48, 64)


def test_box_size_from_an_image() -> None:
    assert Mask.box(_image(60, 40), (0, 0, 30, 40)).size == (60, 40)
    assert Mask.box(Image.new("RGB", (7, 9)), (0, 0, 1, 1)).size == (7, 9)
    assert Mask.full(np.zeros((9, 7, 3), np.uint8)).size == (7, 9)
    assert Mask.full(Mask.empty((3, 2))).size == (3, 2)


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((0.5, 0.0, 1.5, 1.0), "fractions"),
        ((10, 10, 5, 20), "empty"),
        ((1, 2, 3), "four numbers"),
        (("a", 0, 1, 1), "numbers"),
    ],
)
def test_bad_boxes_are_refused(box: tuple[object, ...], message: str) -> None:
    with pytest.raises(MaskError, match=message):
        Mask.box((100, 100), box)  # type: ignore[arg-type]


def test_boxes_are_a_union_and_clip_to_the_canvas() -> None:
    m = Mask.boxes((10, 10), [(0, 0, 5, 5), (5, 5, 15, 15)])
    assert m.coverage == 0.5
    assert m == Mask.box((10, 10), (0, 0, 5, 5)) | Mask.box((10, 10), (5, 5, 10, 10))


def test_ellipse_and_polygon_areas() -> None:
    e = Mask.ellipse((400, 400), (0, 0, 400, 400))
    assert e.coverage == pytest.approx(np.pi / 4, abs=0.01)
    assert e.bbox == (0, 0, 400, 400)
    tri = Mask.polygon((400, 400), [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])
    assert tri.coverage == pytest.approx(0.5, abs=0.01)
    with pytest.raises(MaskError, match="three points"):
        Mask.polygon((10, 10), [(0, 0), (1, 1)])


def test_from_image_white_black_and_transparent() -> None:
    arr = np.zeros((4, 4), np.uint8)
    arr[:, :1] = 255
    assert Mask.from_image(arr, editable="white").coverage == 0.25
    assert Mask.from_image(arr, editable="black").coverage == 0.75
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0
    rgba[1, 1, 3] = 10  # partly transparent is not editable in OpenAI's convention
    assert Mask.from_image(rgba, editable="transparent").to_array().sum() == 1
    with pytest.raises(MaskError, match="unknown polarity"):
        Mask.from_image(arr, editable="grey")  # type: ignore[arg-type]


def test_from_alpha_without_alpha_explains_the_convention() -> None:
    with pytest.raises(MaskError, match="alpha 0") as info:
        Mask.from_alpha(FIXTURES / "rgb-mask-no-alpha.png")
    assert "editable='white'" in str(info.value)


def test_from_color_is_a_tolerance_key() -> None:
    arr = np.zeros((2, 3, 3), np.uint8)
    arr[0, 0] = (0, 255, 0)
    arr[0, 1] = (10, 240, 5)
    arr[0, 2] = (40, 255, 0)
    m = Mask.from_color(arr, (0, 255, 0), tolerance=16)
    assert m.to_array().tolist() == [[True, True, False], [False, False, False]]
    assert Mask.from_color(Image.fromarray(arr), (0, 255, 0), tolerance=16) == m
    assert Mask.from_color(arr, (0, 255, 0), tolerance=0).coverage == 1 / 6
    with pytest.raises(MaskError, match="key colour"):
        Mask.from_color(arr, (0, 300, 0))


def test_coverage_array_validation() -> None:
    assert Mask(np.array([[0, 1]])).to_array().dtype == np.bool_
    assert not Mask(np.array([[0.0, 1.0]])).is_soft  # exact 0/1 floats are a hard mask
    with pytest.raises(MaskError, match="from_image"):
        Mask(np.array([[0, 255]], np.uint8))
    with pytest.raises(MaskError, match=r"0\.\.1"):
        Mask(np.array([[0.0, 1.5]]))
    with pytest.raises(MaskError, match="2-D"):
        Mask(np.zeros((2, 2, 2), bool))


# --------------------------------------------------------------------------- outpaint


@SETTINGS
@given(
    st.integers(1, 20),
    st.integers(1, 20),
    st.integers(0, 10),
    st.integers(0, 10),
    st.integers(0, 10),
    st.integers(0, 10),
)
def test_outpaint_geometry(w: int, h: int, left: int, right: int, top: int, bottom: int) -> None:
    assume(left + right + top + bottom > 0)
    src = np.random.default_rng(w * 31 + h).integers(0, 256, (h, w, 3), dtype=np.uint8)
    canvas, m = Mask.outpaint(src, left=left, right=right, top=top, bottom=bottom)
    assert canvas.size == m.size == (w + left + right, h + top + bottom)
    # The original sits untouched at (left, top); the new area repeats the nearest border pixel.
    edge = np.pad(src, ((top, bottom), (left, right), (0, 0)), mode="edge")
    assert np.array_equal(np.asarray(canvas), edge)
    expected = np.ones((h + top + bottom, w + left + right), bool)
    expected[top : top + h, left : left + w] = False
    assert np.array_equal(m.to_array(), expected)  # editable == exactly the new area


def test_outpaint_fractions_fill_and_overlap() -> None:
    src = np.full((100, 200, 3), 50, np.uint8)
    canvas, m = Mask.outpaint(src, right=0.5, fill=(255, 0, 0), overlap=4)
    assert canvas.size == (300, 100)
    assert np.asarray(canvas)[50, 299].tolist() == [255, 0, 0]
    assert m.bbox == (196, 0, 300, 100)  # 4 px into the original for the seam
    clear, _ = Mask.outpaint(src, top=10, fill="transparent")
    assert clear.mode == "RGBA"
    assert np.asarray(clear)[0, 0, 3] == 0
    with pytest.raises(MaskError, match="nothing to add"):
        Mask.outpaint(src)
    with pytest.raises(MaskError, match="non-negative"):
        Mask.outpaint(src, left=-3)


# --------------------------------------------------------------------------- lint


def test_lint_of_a_reasonable_mask_is_clean() -> None:
    assert Mask.box((1024, 1024), (0.2, 0.2, 0.6, 0.6)).lint() == []


def test_lint_empty_is_an_error_and_blocks_to_openai() -> None:
    (finding,) = Mask.empty((64, 64)).lint()
    assert (finding.level, finding.code) == ("error", "empty")
    with pytest.raises(MaskError, match="no pixel is editable"):
        Mask.empty((64, 64)).to_openai()


def test_lint_full_is_a_warning() -> None:
    assert [f.code for f in Mask.full((64, 64)).lint()] == ["full"]
    with pytest.warns(MaskWarning, match="same as sending no mask"):
        Mask.full((64, 64)).to_openai()


def test_lint_tiny_regions() -> None:
    a = np.zeros((2048, 2048), bool)
    a[100:1900:50, 100:1900] = True  # 1-px lines: invisible at the model's resolution
    (finding,) = Mask(a).lint()
    assert (finding.level, finding.code) == ("warning", "tiny")
    assert isinstance(finding, MaskFinding)
    assert "grow()" in str(finding)
    assert Mask(a).grow(12).lint() == []


def test_lint_size_against_an_image() -> None:
    m = Mask.box((32, 32), (8, 8, 24, 24))
    assert [f.code for f in m.lint((64, 64))] == ["resized"]
    assert [f.code for f in m.lint((64, 48))] == ["aspect_mismatch"]


def test_to_openai_refuses_a_png_over_4_mb() -> None:
    noise = np.random.default_rng(0).random((2160, 3840)) < 0.5
    with pytest.raises(MaskError, match="too large"), pytest.warns(MaskWarning, match="narrower"):
        Mask(noise).to_openai()


# --------------------------------------------------------------------------- prepare_mask


def test_prepare_mask_reads_rgba_png_with_openai_convention() -> None:
    image = load_image(_image(64, 48))
    rgba = Image.new("RGBA", (64, 48), (255, 255, 255, 255))
    rgba.paste((0, 0, 0, 0), (8, 8, 24, 24))
    enc = prepare_mask(_png(rgba), image=image)
    assert (enc.mode, enc.size, enc.filename) == ("RGBA", (64, 48), "mask.png")
    assert Mask.from_alpha(enc) == Mask.box((64, 48), (8, 8, 24, 24))


def test_prepare_mask_rgb_without_alpha_needs_editable() -> None:
    image = load_image(_image(64, 48))
    with pytest.raises(MaskError, match="no alpha channel") as info:
        prepare_mask(FIXTURES / "rgb-mask-no-alpha.png", image=image)
    assert info.value.params == ["mask"]
    assert "fully transparent" in str(info.value)
    white = prepare_mask(FIXTURES / "rgb-mask-no-alpha.png", image=image, editable="white")
    assert Mask.from_alpha(white) == Mask.box((64, 48), (16, 12, 48, 36))
    black = prepare_mask(FIXTURES / "rgb-mask-no-alpha.png", image=image, editable="black")
    assert Mask.from_alpha(black) == ~Mask.box((64, 48), (16, 12, 48, 36))


def test_prepare_mask_opaque_rgba_drawing_suggests_editable_white() -> None:
    image = load_image(_image(64, 48))
    drawing = Image.new("RGBA", (64, 48), (0, 0, 0, 255))
    drawing.paste((255, 255, 255, 255), (8, 8, 24, 24))  # white = "edit here", but opaque
    with pytest.raises(MaskError, match="no fully transparent pixel") as info:
        prepare_mask(_png(drawing), image=image)
    assert "editable='white'" in str(info.value)
    enc = prepare_mask(_png(drawing), image=image, editable="white")
    assert Mask.from_alpha(enc) == Mask.box((64, 48), (8, 8, 24, 24))


def test_prepare_mask_resizes_a_same_aspect_mask_with_a_warning() -> None:
    image = load_image(_image(64, 64))
    with pytest.warns(MaskWarning, match="resized"):
        enc = prepare_mask(FIXTURES / "mask-32x32.png", image=image)
    assert enc.size == (64, 64)
    assert Mask.from_alpha(enc) == Mask.box((64, 64), (16, 16, 48, 48))


def test_prepare_mask_refuses_another_aspect_ratio() -> None:
    image = load_image(_image(64, 48))
    with pytest.raises(MaskError, match="aspect ratios") as info:
        prepare_mask(FIXTURES / "mask-32x32.png", image=image)
    assert info.value.params == ["mask"]


def test_prepare_mask_accepts_mask_objects() -> None:
    image = load_image(_image(64, 48))
    m = Mask.ellipse(image, (0.1, 0.1, 0.5, 0.9))
    enc = prepare_mask(m, image=image)
    assert Mask.from_alpha(enc) == m
    with pytest.raises(MaskError, match="already knows"):
        prepare_mask(m, image=image, editable="white")


def test_prepare_mask_refuses_empty_masks_and_corrupt_files() -> None:
    image = load_image(_image(8, 8))
    with pytest.raises(MaskError, match="no pixel is editable"):
        prepare_mask(Mask.empty((8, 8)), image=image)
    with pytest.raises(Exception, match="empty"):
        prepare_mask(b"", image=image)


# --------------------------------------------------------------------------- display


def test_preview_tints_and_outlines_only_the_editable_area() -> None:
    base = np.full((60, 80, 3), 200, np.uint8)
    m = Mask.box((80, 60), (20, 20, 60, 50))
    out = np.asarray(m.preview(base, color=(255, 0, 0), opacity=0.5)).astype(int)
    assert out.shape == (60, 80, 3)
    assert out[5, 5].tolist() == [200, 200, 200]  # protected: untouched
    assert np.abs(out[35, 40] - [228, 100, 100]).max() <= 1  # editable: half-way to red
    assert out[20, 40].tolist() == [255, 0, 0]  # the outline


def test_preview_refuses_an_image_of_another_aspect_ratio() -> None:
    m = Mask.box((80, 60), (20, 20, 60, 50))
    assert m.preview(np.zeros((120, 160, 3), np.uint8)).size == (160, 120)  # same aspect: fits
    with pytest.raises(MaskError, match="aspect ratios"):
        m.preview(np.zeros((60, 60, 3), np.uint8))


def test_repr_png_is_a_small_preview() -> None:
    m = Mask.box((2000, 1000), (0.1, 0.1, 0.4, 0.9))
    im = Image.open(io.BytesIO(m._repr_png_()))
    assert im.format == "PNG"
    assert im.size == (512, 256)


def test_repr_is_helpful() -> None:
    text = repr(Mask.box((100, 50), (0, 0, 50, 50)))
    assert text == "Mask(100x50, hard, coverage=50.0%, bbox=(0, 0, 50, 50))"


def test_masks_are_hashable_and_equal_by_content() -> None:
    a = Mask.box((10, 10), (0, 0, 5, 5))
    b = Mask.box((10, 10), (0.0, 0.0, 0.5, 0.5))
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b, ~a}) == 2
    assert a != "mask"
