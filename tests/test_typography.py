"""Font resolution, glyph coverage and fit-to-box text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from imagewright.errors import ValidationError
from imagewright.typography import (
    FontRef,
    GlyphError,
    TextFitError,
    draw_text,
    fit_text,
    line_bboxes,
    missing_glyphs,
    resolve_font,
)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
needs_dejavu = pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu fonts not installed")
PILLOW_DEFAULT = FontRef(None, "Pillow default")


def _inside(bbox: tuple[float, ...], box: tuple[int, int, int, int]) -> bool:
    return box[0] <= bbox[0] and box[1] <= bbox[1] and bbox[2] <= box[2] and bbox[3] <= box[3]


@needs_dejavu
def test_explicit_path_wins() -> None:
    assert resolve_font(DEJAVU).path == str(DEJAVU)


@needs_dejavu
def test_family_name_and_weight_resolve_to_installed_files() -> None:
    assert resolve_font("DejaVu Sans", weight="bold").path.endswith("DejaVuSans-Bold.ttf")  # type: ignore[union-attr]
    assert resolve_font("dejavu serif", italic=True).path.endswith("DejaVuSerif-Italic.ttf")  # type: ignore[union-attr]


def test_missing_font_file_is_an_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="font file not found"):
        resolve_font("/nowhere/Brand.ttf")


def test_unknown_family_falls_back_to_a_font_that_covers_the_text() -> None:
    ref = resolve_font("No Such Family", text="Hello")
    assert not missing_glyphs(ref, "Hello")


def test_pillow_default_font_lacks_cyrillic_and_says_so() -> None:
    assert missing_glyphs(PILLOW_DEFAULT, "Hello Жук") == ["Ж", "у", "к"]
    assert missing_glyphs(PILLOW_DEFAULT, "Hello, world!") == []


@needs_dejavu
@pytest.mark.parametrize("text", ["Καλημέρα κόσμε", "Привет, мир", "Ελλάδα και Россия"])
def test_non_latin_text_resolves_to_a_covering_font_and_renders(text: str) -> None:
    ref = resolve_font(None, text=text)
    assert missing_glyphs(ref, text) == []
    fitted = fit_text(text, (500, 120), ref, max_lines=2)
    img = Image.new("L", (500, 120), 0)
    draw_text(img, fitted, (0, 0), color="white")
    ink = np.asarray(img) > 0
    assert ink.any()
    for bbox in line_bboxes(fitted, (0, 0)):
        assert _inside(bbox, (0, 0, 500, 120))


@needs_dejavu
def test_a_glyph_the_font_cannot_draw_is_an_error_naming_it() -> None:
    with pytest.raises(GlyphError) as info:
        resolve_font("DejaVu Sans", text="Menu: 寿司 and tea")
    message = str(info.value)
    assert "'寿' (U+5BFF)" in message
    assert "'司' (U+53F8)" in message
    assert "DejaVu Sans" in message


def test_when_no_installed_font_covers_a_character_the_error_names_it() -> None:
    # U+0378 is unassigned: no font anywhere draws it.
    with pytest.raises(GlyphError, match=r"U\+0378"):
        resolve_font(None, text="menu \u0378")


@needs_dejavu
def test_whitespace_and_marks_are_never_missing() -> None:
    ref = resolve_font(DEJAVU)
    assert missing_glyphs(ref, "a b\tc\u00a0d e\u0301") == []


@needs_dejavu
def test_fit_picks_the_largest_size_that_fits() -> None:
    ref = resolve_font(DEJAVU)
    box = (600, 200)
    fitted = fit_text("Summer sale on everything", box, ref, max_lines=2)
    assert len(fitted.lines) <= 2
    # One pixel larger does not fit: the binary search found the edge.
    with pytest.raises(TextFitError):
        fit_text("Summer sale on everything", box, ref, max_lines=2, min_size=fitted.size + 1)


@needs_dejavu
def test_outline_is_kept_inside_the_box_too() -> None:
    ref = resolve_font(DEJAVU)
    plain = fit_text("Outline", (300, 100), ref)
    outlined = fit_text("Outline", (300, 100), ref, stroke=6)
    assert outlined.size < plain.size
    for bbox in line_bboxes(outlined, (10, 10)):
        assert _inside(bbox, (10, 10, 310, 110))
    img = Image.new("RGB", (320, 120), "white")
    draw_text(img, outlined, (10, 10), color="white", stroke_color="black")
    assert np.asarray(img.convert("L")).min() == 0  # the outline was drawn


@needs_dejavu
@settings(max_examples=40, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(["sale", "autumn", "knit", "W", "il", "Quartz", "ÉTÉ"]),
        min_size=1,
        max_size=8,
    ),
    w=st.integers(120, 800),
    h=st.integers(40, 400),
    align=st.sampled_from(["left", "center", "right"]),
    valign=st.sampled_from(["top", "middle", "bottom"]),
)
def test_rendered_text_stays_inside_its_box(
    words: list[str], w: int, h: int, align: str, valign: str
) -> None:
    ref = resolve_font(DEJAVU)
    text = " ".join(words)
    origin = (37, 21)
    try:
        fitted = fit_text(text, (w, h), ref, align=align, valign=valign, min_size=8)  # type: ignore[arg-type]
    except TextFitError:
        return
    box = (origin[0], origin[1], origin[0] + w, origin[1] + h)
    for bbox in line_bboxes(fitted, origin):
        assert _inside(bbox, box), (bbox, box)
    # And the pixels really drawn are inside the box too.
    img = Image.new("L", (w + 80, h + 50), 0)
    draw_text(img, fitted, origin, color="white")
    ys, xs = np.nonzero(np.asarray(img))
    assert xs.min() >= box[0]
    assert xs.max() < box[2]
    assert ys.min() >= box[1]
    assert ys.max() < box[3]


@needs_dejavu
def test_alignment_moves_lines_within_the_box() -> None:
    ref = resolve_font(DEJAVU)
    left = line_bboxes(fit_text("Hi", (400, 100), ref, max_size=40, align="left"), (0, 0))[0]
    right = line_bboxes(fit_text("Hi", (400, 100), ref, max_size=40, align="right"), (0, 0))[0]
    assert left[0] <= 1
    assert right[2] >= 399
    top = line_bboxes(fit_text("Hi", (400, 100), ref, max_size=40, valign="top"), (0, 0))[0]
    assert top[1] <= 1


@needs_dejavu
def test_overflow_raises_with_the_readable_minimum() -> None:
    ref = resolve_font(DEJAVU)
    with pytest.raises(TextFitError) as info:
        fit_text(
            "A much too long sentence for such a small label",
            (120, 24),
            ref,
            max_lines=1,
            min_size=14,
        )
    assert "14 px" in str(info.value)
    assert "1 line" in str(info.value)


@needs_dejavu
def test_explicit_newlines_are_kept() -> None:
    fitted = fit_text("ONE\nTWO", (400, 300), resolve_font(DEJAVU))
    assert fitted.lines == ("ONE", "TWO")


def test_bad_colour_is_a_validation_error() -> None:
    fitted = fit_text("x", (50, 50), PILLOW_DEFAULT)
    with pytest.raises(ValidationError, match="not a colour"):
        draw_text(Image.new("RGB", (50, 50)), fitted, (0, 0), color="nocolour")


def test_text_drawn_with_pillow_default_is_visible() -> None:
    fitted = fit_text("Hello", (200, 60), PILLOW_DEFAULT)
    img = Image.new("RGB", (200, 60), "white")
    draw_text(img, fitted, (0, 0), color="black")
    assert ImageDraw.Draw(img).textbbox((0, 0), "Hello", font=fitted.font.load(fitted.size))
    assert np.asarray(img.convert("L")).min() < 50


@needs_dejavu
def test_text_without_spaces_wraps_between_cjk_characters() -> None:
    # Measuring does not need the glyphs (DejaVu draws boxes); wrapping must still break.
    ref = resolve_font(DEJAVU)
    fitted = fit_text("寿司と天ぷらの店。", (120, 200), ref, min_size=20, max_size=30)
    assert len(fitted.lines) > 1
    assert "".join(fitted.lines) == "寿司と天ぷらの店。"
    assert not any(line.startswith("。") for line in fitted.lines)
    # Latin words are never split.
    latin = fit_text("Supercalifragilistic", (400, 100), ref)
    assert latin.lines == ("Supercalifragilistic",)


@needs_dejavu
def test_font_dirs_from_the_environment_come_before_system_fonts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from imagewright import typography

    copy = tmp_path / "BrandSerif.ttf"
    shutil.copy(DEJAVU.with_name("DejaVuSerif.ttf"), copy)
    monkeypatch.setenv("IMAGEWRIGHT_FONT_DIRS", str(tmp_path))
    typography._installed.cache_clear()
    try:
        assert resolve_font("DejaVu Serif").path == str(copy)
    finally:
        monkeypatch.delenv("IMAGEWRIGHT_FONT_DIRS")
        typography._installed.cache_clear()
    assert resolve_font("DejaVu Serif").path != str(copy)
