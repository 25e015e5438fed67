"""Layout: compiled prompt text, guide image, region masks, local typography, client hooks."""

from __future__ import annotations

import io
import runpy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from imagewright.edit import SupportsCompile
from imagewright.errors import ValidationError
from imagewright.layout import ImageSlot, Keep, Layout, Shape, TextBlock
from imagewright.models import get_model
from imagewright.prompt import Prompt
from imagewright.regions import describe_place
from imagewright.sizing import fit_to
from imagewright.typography import GlyphError, TextFitError, line_bboxes

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
needs_dejavu = pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu fonts not installed")

POSTER = """\
Format: poster, portrait 2:3.
Scene: deep blue dusk sky.
Style: screen-printed gig poster, two-colour halftone.
Lighting: warm string lights.
Layout (each element in its place):
- Headline text "Jazz on the Roof", top third, centred (about 88% of the width, 17% of the height): bold sans-serif lettering in #FFF4E0.
- Subheading text "Summer concert series", top third, centred (about 80% of the width, 6% of the height): sans-serif lettering in #FFF4E0.
- Key visual, middle, centred (about 84% of the width, 42% of the height): a jazz trio playing on a rooftop at dusk, city skyline behind.
- Call to action text "Tickets at the door", bottom third, centred (about 50% of the width, 7% of the height): bold sans-serif lettering in #FFF4E0.
Constraints (must hold):
- Render each quoted text exactly as written, letter for letter, in its place; no other text.
Avoid: photorealism."""

COMIC = """\
Format: comic page, portrait 2:3.
Style: clean line art, flat colours.
Composition: 4 panels in 2 rows of 2, read left to right, top to bottom, separated by white gutters.
Layout (each element in its place):
- Headline text "BOX CAT", top third, full width (about 92% of the width, 8% of the height): bold sans-serif lettering in a colour that contrasts with what is behind it.
- Panel 1, middle, left (about 45% of the width, 40% of the height): a cat finds a cardboard box.
- Caption 1 text "Monday.", inside panel 1, top third, full width: sans-serif lettering in a colour that contrasts with what is behind it, left-aligned.
- Panel 2, middle, right (about 45% of the width, 40% of the height): the cat climbs in.
- Panel 3, bottom third, left (about 45% of the width, 40% of the height): the box is too small.
- Caption 3 text "Oh no.", inside panel 3, top third, full width: sans-serif lettering in a colour that contrasts with what is behind it, left-aligned.
- Panel 4, bottom third, right (about 45% of the width, 40% of the height): the cat sleeps anyway, half out of the box.
- Caption 4 text "Fine.", inside panel 4, top third, full width: sans-serif lettering in a colour that contrasts with what is behind it, left-aligned.
Constraints (must hold):
- Render each quoted text exactly as written, letter for letter, in its place; no other text."""


def poster(**options: object) -> Layout:
    return Layout.poster(
        "Jazz on the Roof",
        subhead="Summer concert series",
        cta="Tickets at the door",
        image="a jazz trio playing on a rooftop at dusk, city skyline behind",
        style="screen-printed gig poster, two-colour halftone",
        background="deep blue dusk sky",
        color="#FFF4E0",
        prompt=Prompt(lighting="warm string lights", avoid=["photorealism"]),
        **options,  # type: ignore[arg-type]
    )


def comic() -> Layout:
    return Layout.comic_page(
        [
            "a cat finds a cardboard box",
            "the cat climbs in",
            "the box is too small",
            "the cat sleeps anyway, half out of the box",
        ],
        captions=["Monday.", None, "Oh no.", "Fine."],
        title="BOX CAT",
        style="clean line art, flat colours",
    )


# -- compiled text ---------------------------------------------------------------------------


@needs_dejavu
def test_poster_compiles_to_the_exact_text() -> None:
    assert poster().compile(model="gpt-image-2") == POSTER


@needs_dejavu
def test_comic_page_compiles_to_the_exact_text() -> None:
    assert comic().compile() == COMIC
    assert comic().names == (
        "headline",
        "panel-1",
        "caption-1",
        "panel-2",
        "panel-3",
        "caption-3",
        "panel-4",
        "caption-4",
    )


@needs_dejavu
def test_overlay_mode_asks_for_clean_text_areas_and_no_text() -> None:
    text = Layout.banner("Autumn sale", cta="Shop now", image="knit sweaters", text="overlay")
    compiled = text.compile()
    assert '"Autumn sale"' not in compiled
    assert (
        "- Headline area, top third, left (about 50% of the width, 36% of the height): keep it "
        "clean and uncluttered, no text; type is added later." in compiled
    )
    assert "- Draw no text, letters, numbers or logos anywhere in the image." in compiled


def test_keep_and_shape_regions_are_described() -> None:
    layout = Layout(
        "1024x1024",
        [
            Shape((0.0, 0.8, 1.0, 0.2), kind="band", fill="#C0392B", description="flat colour"),
            Keep((0.02, 0.02, 0.2, 0.1), reason="the brand logo"),
        ],
    )
    assert layout.compile().splitlines()[2:] == [
        "- Band in #C0392B, bottom third, full width (about 100% of the width, 20% of the "
        "height), flat colour.",
        "- Leave untouched, top third, left (about 20% of the width, 10% of the height) "
        "(the brand logo).",
        "Constraints (must hold):",
        "- The areas marked leave untouched stay exactly as they are.",
    ]
    named = Layout("1:1", [Shape((0.1, 0.1, 0.2, 0.2), kind="ellipse", name="badge")])
    assert named.compile().splitlines()[2].startswith("- Badge (ellipse), top third, left")


def test_same_layout_same_text() -> None:
    a = Layout.story("New drop", body="Friday 6pm", image="sneakers on concrete")
    b = Layout.story("New drop", body="Friday 6pm", image="sneakers on concrete")
    assert a == b
    assert a.compile() == b.compile()


def test_layout_prompt_length_is_checked() -> None:
    layout = Layout("1:1", prompt=Prompt(subject="x" * 32_000))
    with pytest.raises(ValidationError) as info:
        layout.compile(model="gpt-image-2")
    assert info.value.params == ["prompt"]
    assert "32,000" in str(info.value)


@pytest.mark.parametrize(
    ("box", "words"),
    [
        ((0.0, 0.0, 1.0, 1.0), "the whole canvas"),
        ((0.1, 0.05, 0.8, 0.2), "top third, centred (about 80% of the width, 20% of the height)"),
        ((0.0, 0.7, 0.3, 0.3), "bottom third, left (about 30% of the width, 30% of the height)"),
        ((0.7, 0.0, 0.3, 1.0), "full height, right (about 30% of the width, 100% of the height)"),
        ((0.0, 0.4, 1.0, 0.2), "middle, full width (about 100% of the width, 20% of the height)"),
    ],
)
def test_places_in_words(box: tuple[float, float, float, float], words: str) -> None:
    assert describe_place(box) == words


# -- regions and canvas ----------------------------------------------------------------------


def test_pixel_and_fraction_boxes_resolve_to_the_same_pixels() -> None:
    layout = Layout(
        "1200x628",
        [
            ImageSlot("a", (600, 0, 600, 314), name="px"),
            ImageSlot("b", (0.5, 0.0, 0.5, 0.5), name="frac"),
        ],
    )
    assert layout.box("px") == layout.box("frac") == (600, 0, 1200, 314)
    # On an image twice the size, both scale.
    assert (
        layout.box("px", (2400, 1256))
        == layout.box("frac", (2400, 1256))
        == (
            1200,
            0,
            2400,
            628,
        )
    )


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((0.5, 0.5, 0.6, 0.2), "outside the canvas"),
        ((-0.1, 0.0, 0.5, 0.5), ">= 0"),
        ((0.1, 0.1, 0.0, 0.5), "> 0"),
        ((1000, 0, 300, 10), "outside the canvas"),
    ],
)
def test_bad_boxes_are_refused_naming_the_region(
    box: tuple[float, float, float, float], message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        Layout("1200x628", [ImageSlot("ok", (0, 0, 0.5, 0.5)), ImageSlot("bad", box)])
    assert info.value.params == ["regions[1].box"]


def test_duplicate_names_and_bad_modes_are_all_reported() -> None:
    with pytest.raises(ValidationError) as info:
        Layout(
            "1:1",
            [ImageSlot("a", (0, 0, 1, 1), name="x"), ImageSlot("b", (0, 0, 1, 1), name="x")],
            text="stamp",  # type: ignore[arg-type]
        )
    assert info.value.params == ["text", "regions[1].name"]


def test_overlay_mode_refuses_prompt_text() -> None:
    with pytest.raises(ValidationError, match="TextBlock"):
        Layout("1:1", prompt=Prompt(text=["SALE"]), text="overlay")


def test_canvas_forms() -> None:
    assert Layout("9:16").size == (1008, 1792)
    assert Layout("A5@300dpi").size == (1748, 2480)
    assert Layout("148x210mm", dpi=150).size == (874, 1240)
    assert Layout((640, 480)).size == (640, 480)


# -- size hooks ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2.5-flare", "gpt-image-1.5"])
@pytest.mark.parametrize("canvas", ["1200x628", "9:16", "A4@150dpi", "1080x1080"])
def test_planned_size_is_valid_and_finish_gives_the_deliverable(model: str, canvas: str) -> None:
    layout = Layout(canvas, [ImageSlot("a product", (0.1, 0.1, 0.8, 0.8))])
    size = layout.planned_size(model)
    assert size is not None
    assert get_model(model).check_size(size) == []
    api_w, api_h = (int(v) for v in size.split("x"))
    out = layout.finish(Image.new("RGB", (api_w, api_h), "navy"))
    assert out.size == layout.size


def test_layout_satisfies_the_client_contract() -> None:
    layout = Layout.square_post("Hello")
    assert isinstance(layout, SupportsCompile)
    assert isinstance(layout.compile(model="gpt-image-2"), str)


# -- typography ------------------------------------------------------------------------------


@needs_dejavu
def test_overlay_finish_sets_text_only_inside_the_text_boxes() -> None:
    layout = poster(text="overlay")
    background = Image.new("RGB", (1024, 1536), (20, 30, 80))
    out = layout.finish(background)
    assert out.size == (1024, 1536)
    changed = np.asarray(ImageChops.difference(out, background).convert("L")) > 0
    allowed = np.zeros_like(changed)
    for name in ("headline", "subhead", "cta"):
        allowed |= layout.region_array(name)
        assert changed[layout.region_array(name)].any(), name  # each text was drawn
    assert not (changed & ~allowed).any()
    # Every line, measured with textbbox, is inside its region.
    for name, fitted in layout.fit_text().items():
        left, top, right, bottom = layout.box(name)
        for bbox in line_bboxes(fitted, (left, top)):
            assert left <= bbox[0]
            assert top <= bbox[1]
            assert bbox[2] <= right
            assert bbox[3] <= bottom


@needs_dejavu
def test_model_mode_finish_does_not_draw_text() -> None:
    layout = poster()
    img = Image.new("RGB", (1024, 1536), "black")
    assert ImageChops.difference(layout.finish(img), img).getbbox() is None


@needs_dejavu
def test_render_text_scales_boxes_to_the_image() -> None:
    layout = Layout("1:1", [TextBlock("Scale me", (0.1, 0.1, 0.8, 0.3))])
    small = layout.render_text(Image.new("RGB", (512, 512), "white"))
    big = layout.render_text(Image.new("RGB", (2048, 2048), "white"))
    ink_small = ImageChops.invert(small.convert("L")).getbbox()
    ink_big = ImageChops.invert(big.convert("L")).getbbox()
    assert ink_small is not None
    assert ink_big is not None
    assert ink_big[0] == pytest.approx(ink_small[0] * 4, abs=8)
    assert ink_big[2] == pytest.approx(ink_small[2] * 4, abs=8)


@needs_dejavu
def test_text_that_cannot_fit_raises_on_compile_before_any_request() -> None:
    layout = Layout(
        "1200x628",
        [
            TextBlock(
                "Everything must go, this weekend only, in every store",
                (0.05, 0.05, 0.2, 0.05),
                role="headline",
                max_lines=1,
            )
        ],
    )
    with pytest.raises(TextFitError) as info:
        layout.compile(model="gpt-image-2")
    assert info.value.params == ["regions[0] (headline).text"]
    assert "smallest readable size" in str(info.value)


@needs_dejavu
@pytest.mark.parametrize("text", ["x " * 400, "Sushi 寿司"])
def test_unfit_or_unprintable_text_stops_the_client_before_sending(text: str) -> None:
    client_mod = pytest.importorskip("imagewright.client")
    client = client_mod.Client.sandbox()
    block = TextBlock(text, (0.4, 0.4, 0.1, 0.05), max_lines=1, font="DejaVu Sans")
    with pytest.raises(ValidationError, match=r"regions\[0\] \(body\)"):
        client.generate(Layout("1:1", [block]))
    assert client.sandbox_engine.requests == 0


@needs_dejavu
def test_greek_and_cyrillic_text_blocks_render() -> None:
    layout = Layout(
        "1024x1024",
        [
            TextBlock("Καλό καλοκαίρι", (0.1, 0.1, 0.8, 0.2), role="headline"),
            TextBlock("Летняя распродажа", (0.1, 0.6, 0.8, 0.2)),
        ],
        text="overlay",
    )
    layout.compile()
    out = layout.finish(Image.new("RGB", (1024, 1024), "white"))
    gray = np.asarray(out.convert("L"))
    for name in ("headline", "body"):
        assert (gray[layout.region_array(name)] < 100).any(), name


@needs_dejavu
def test_a_missing_glyph_raises_naming_it() -> None:
    layout = Layout("1:1", [TextBlock("Sushi 寿司", (0.1, 0.1, 0.8, 0.2), font="DejaVu Sans")])
    with pytest.raises(GlyphError, match=r"'寿' \(U\+5BFF\)"):
        layout.compile()


# -- guide and masks -------------------------------------------------------------------------


def test_guide_image_draws_each_region_in_place() -> None:
    layout = Layout(
        "800x600",
        [
            ImageSlot("a product", (0.5, 0.1, 0.4, 0.8), name="product"),
            Keep((0.05, 0.05, 0.2, 0.2)),
        ],
    )
    guide = layout.guide_image()
    assert guide.size == (800, 600)
    px = np.asarray(guide.convert("RGB")).astype(int)
    # Outside every region the guide is plain white; inside, tinted.
    assert px[580, 300].tolist() == [255, 255, 255]
    inside = px[400, 640]
    assert inside.tolist() != [255, 255, 255]
    assert inside[1] > inside[0]  # image slots are green
    keep = px[90, 100]
    assert keep[0] > keep[1]  # keep regions are red


def test_markup_is_transparent_at_the_api_size_on_markup_models_only() -> None:
    layout = Layout.banner("Sale", image="shoes", guide="auto")
    markup = layout.markup("gpt-image-2.5-sunburst")
    assert markup is not None
    assert markup.mode == "RGBA"
    assert markup.size == layout.plan("gpt-image-2.5-sunburst").api_dims
    assert markup.getchannel("A").getextrema()[0] == 0
    assert layout.markup("gpt-image-2") is None
    assert layout.reference_images("gpt-image-2.5-sunburst") == []
    (ref,) = layout.reference_images("gpt-image-2")
    assert ref.size == layout.plan("gpt-image-2").api_dims


def test_guide_markup_on_a_model_without_markup_is_an_error() -> None:
    layout = Layout.banner("Sale", guide="markup")
    with pytest.raises(ValidationError, match="does not accept markup"):
        layout.markup("gpt-image-2")


def test_no_guide_is_sent_by_default() -> None:
    layout = Layout.banner("Sale")
    assert layout.reference_images("gpt-image-2") == []
    assert layout.markup("gpt-image-2.5-flare") is None


def test_region_and_keep_arrays() -> None:
    layout = Layout(
        "100x50",
        [ImageSlot("x", (0.5, 0.0, 0.5, 1.0), name="right"), Keep((0, 0, 10, 10))],
    )
    right = layout.region_array("right")
    assert right.shape == (50, 100)
    assert right[:, 50:].all()
    assert not right[:, :50].any()
    editable = layout.keep_array()
    assert not editable[:10, :10].any()
    assert editable.sum() == 100 * 50 - 100
    with pytest.raises(ValidationError, match="no region by that name"):
        layout.region_array("left")


# -- end to end on the sandbox ---------------------------------------------------------------

EXAMPLE = Path(__file__).parent.parent / "examples" / "poster.py"


@needs_dejavu
def test_poster_example_runs_end_to_end_on_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "poster.png"
    steps = tmp_path / "steps.png"
    monkeypatch.setattr("sys.argv", ["poster.py", str(out), "--steps", str(steps)])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert "requested size: 1104x1712, deliverable: (1100, 1700)" in capsys.readouterr().out
    with Image.open(out) as poster_png:
        assert poster_png.size == (1100, 1700)
    assert steps.exists()


@needs_dejavu
def test_client_generate_finishes_a_layout_to_the_deliverable_with_overlay_text() -> None:
    client_mod = pytest.importorskip("imagewright.client")
    layout = Layout.banner("Autumn sale", cta="Shop now", image="knit sweaters", text="overlay")
    with client_mod.Client.sandbox() as client:
        result = client.generate(layout, quality="low")
    assert result.call.params["size"] == "1216x640"
    final = result.output.image.convert("RGB")
    assert final.size == (1200, 628)
    assert result.output.raw is not None
    with Image.open(io.BytesIO(result.output.raw)) as raw:
        assert raw.size == (1216, 640)
        plain = fit_to(raw.convert("RGB"), (1200, 628))
    # The type was set inside the text boxes and nowhere else.
    changed = np.asarray(ImageChops.difference(final, plain).convert("L")) > 0
    text_area = layout.region_array("headline") | layout.region_array("cta")
    assert changed[layout.region_array("headline")].any()
    assert changed[layout.region_array("cta")].any()
    assert not (changed & ~text_area).any()


def test_edit_with_a_layout_sends_the_guide_as_an_extra_reference() -> None:
    client_mod = pytest.importorskip("imagewright.client")
    from imagewright.edit import EditRequest

    layout = Layout.square_post("Hello", image="a teapot", guide="reference")
    source = Image.new("RGB", (1024, 1024), "white")
    with client_mod.Client.sandbox() as client:
        result = client.edit(EditRequest(source, layout), model="gpt-image-2", quality="low")
    assert len(result.call.images) == 2  # the source, then the guide
    assert result.call.images[1].size == (1088, 1088)  # the planned size for 1080x1080
    assert result.output.image.size == (1080, 1080)  # finished to the deliverable


def test_edit_with_a_layout_sends_markup_on_gpt_image_2_5() -> None:
    client_mod = pytest.importorskip("imagewright.client")
    from imagewright.edit import EditRequest

    layout = Layout.square_post("Hello", image="a teapot", guide="auto", size="1024x1024")
    source = Image.new("RGB", (1024, 1024), "white")
    with client_mod.Client.sandbox() as client:
        result = client.edit(
            EditRequest(source, layout), model="gpt-image-2.5-flare", quality="low"
        )
    assert result.call.markup is not None
    assert len(result.call.images) == 1


def test_region_masks_target_one_region_in_an_edit() -> None:
    client_mod = pytest.importorskip("imagewright.client")
    from imagewright.edit import EditRequest

    layout = Layout.banner("Autumn sale", cta="Shop now", image="knit sweaters")
    photo = layout.mask("photo")
    assert photo.size == (1200, 628)
    assert (np.asarray(photo) == layout.region_array("photo")).all()
    text = layout.mask()  # every text block
    assert (
        np.asarray(text) == (layout.region_array("headline") | layout.region_array("cta"))
    ).all()
    both = layout.mask("photo", "cta", size=(600, 314))
    assert both.size == (600, 314)
    source = Image.new("RGB", (1200, 628), "white")
    request = EditRequest(source, "replace the sweaters with scarves", mask=photo)
    with client_mod.Client.sandbox() as client:
        result = client.edit(request, model="gpt-image-2", quality="low")
    assert result.call.mask is not None


def test_keep_mask_protects_keep_regions() -> None:
    layout = Layout("100x100", [Keep((0.0, 0.0, 0.5, 0.5), reason="the logo")])
    keep = layout.keep_mask()
    assert keep.coverage == pytest.approx(0.75)
    assert not np.asarray(keep)[:50, :50].any()


def test_bad_text_block_settings_are_all_reported_at_construction() -> None:
    block = TextBlock(
        "Hi",
        (0.1, 0.1, 0.5, 0.2),
        align="justify",  # type: ignore[arg-type]
        max_lines=0,
        color="not-a-colour",
    )
    with pytest.raises(ValidationError) as info:
        Layout("1:1", [block])
    assert info.value.params == ["regions[0].align", "regions[0].max_lines", "regions[0].color"]


PRESETS = {
    "poster": lambda **kw: Layout.poster(
        "Headline", subhead="Sub", body="Body copy here", cta="Go", image="art", **kw
    ),
    "square_post": lambda **kw: Layout.square_post("Headline", body="Body", image="photo", **kw),
    "story": lambda **kw: Layout.story(
        "Headline", body="Body", cta="Swipe up", image="photo", **kw
    ),
    "banner": lambda **kw: Layout.banner("Headline", subhead="Sub", cta="Go", image="photo", **kw),
    "product_card": lambda **kw: Layout.product_card(
        "Teapot", product="a teapot", price="€24", description="Cast iron, 0.8 l", **kw
    ),
    "comic_page": lambda **kw: Layout.comic_page(
        5, captions=["a", None, "c", None, "e"], title="Title", **kw
    ),
}


@needs_dejavu
@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("text", ["model", "overlay"])
def test_every_preset_compiles_fits_and_finishes(name: str, text: str) -> None:
    layout = PRESETS[name](text=text)
    assert layout.kind is not None
    compiled = layout.compile(model="gpt-image-2")
    assert compiled.startswith(f"Format: {layout.kind}, ")
    for region in layout.regions:
        if isinstance(region, TextBlock):
            assert (f'"{region.text}"' in compiled) == (text == "model")
    for model in ("gpt-image-2", "gpt-image-1.5"):
        size = layout.planned_size(model)
        assert size is not None
        assert get_model(model).check_size(size) == []
    w, h = layout.size
    assert layout.finish(Image.new("RGB", (w + 16, h + 16))).size == (w, h)


def test_comic_page_grid_fills_rows_and_keeps_gutters() -> None:
    page = Layout.comic_page(5, gutter=0.02)
    boxes = [page.box(f"panel-{i}") for i in range(1, 6)]
    # Two columns, three rows; the last row's single panel spans the full width.
    assert boxes[0][1] == boxes[1][1]
    assert boxes[4][0] == boxes[0][0]
    assert boxes[4][2] == boxes[1][2]
    # No two panels overlap.
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_a_name_clashing_with_a_default_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="default name"):
        Layout(
            "1:1",
            [
                TextBlock("A", (0, 0, 1, 0.2), role="headline"),
                TextBlock("B", (0, 0.5, 1, 0.2), name="headline"),
            ],
        )


boxes = st.tuples(st.floats(0, 0.6), st.floats(0, 0.6), st.floats(0.3, 0.4), st.floats(0.2, 0.4))
words = st.lists(
    st.sampled_from(["sale", "new", "Jazz", "roof", "Ελλάδα", "мир"]), min_size=1, max_size=4
)


@needs_dejavu
@settings(max_examples=25, deadline=None)
@given(
    specs=st.lists(st.tuples(boxes, words, st.booleans()), min_size=1, max_size=4),
    canvas=st.sampled_from(["1200x628", "1:1", "9:16"]),
)
def test_any_layout_compiles_deterministically_and_sets_type_inside_its_boxes(
    specs: list[tuple[tuple[float, float, float, float], list[str], bool]], canvas: str
) -> None:
    regions: list[TextBlock | ImageSlot] = []
    for i, (box, text, is_text) in enumerate(specs):
        if is_text:
            regions.append(TextBlock(" ".join(text), box, name=f"t{i}", min_size=8))
        else:
            regions.append(ImageSlot(" ".join(text), box, name=f"i{i}"))
    layout = Layout(canvas, regions, text="overlay")
    try:
        first = layout.compile()
    except TextFitError:
        return
    assert first == Layout(canvas, regions, text="overlay").compile()
    for region in regions:
        if isinstance(region, TextBlock):
            assert f'"{region.text}"' not in first  # overlay mode: the model gets no text
    for name, fitted in layout.fit_text().items():
        left, top, right, bottom = layout.box(name)
        for bbox in line_bboxes(fitted, (left, top)):
            assert left <= bbox[0]
            assert top <= bbox[1]
            assert bbox[2] <= right
            assert bbox[3] <= bottom


# ------------------------------------------------------------------------------ issue 16


def _ink(before: Image.Image, after: Image.Image) -> float:
    import numpy as np

    a, b = np.asarray(after).astype(int), np.asarray(before).astype(int)
    changed = np.abs(a - b).sum(axis=2) > 0
    return float(a[changed].mean())


def test_overlay_ink_is_picked_from_the_background_under_the_text() -> None:
    import warnings

    layout = Layout.poster(
        "Night Market", subhead="Fridays from 6pm", image="stalls", text="overlay"
    )
    dark = Image.new("RGB", layout.size, (20, 20, 30))
    light = Image.new("RGB", layout.size, (240, 240, 230))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no contrast warning: the ink was chosen to contrast
        assert _ink(dark, layout.render_text(dark)) > 200
        assert _ink(light, layout.render_text(light)) < 60
    in_model_mode = Layout.poster("Night Market", image="stalls").compile()
    assert "a colour that contrasts with what is behind it" in in_model_mode


def test_a_low_contrast_colour_warns_below_wcag_aa() -> None:
    from imagewright import ContrastWarning

    layout = Layout(
        "1024x1024",
        [TextBlock("Fridays from 6pm", (0.1, 0.1, 0.8, 0.2), color="#111111")],
        text="overlay",
    )
    dark = Image.new("RGB", layout.size, (30, 30, 40))
    with pytest.warns(ContrastWarning, match=r"below WCAG AA \(4.5:1\)"):
        layout.render_text(dark)
    outlined = Layout(
        "1024x1024",
        [
            TextBlock(
                "Fridays", (0.1, 0.1, 0.8, 0.2), color="#111111", outline=3, outline_color="white"
            )
        ],
        text="overlay",
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outlined.render_text(dark)  # an outline keeps it legible: no warning


def test_auto_ink_on_a_mid_tone_gets_an_outline_not_a_warning() -> None:
    import warnings

    layout = Layout("1024x1024", [TextBlock("Fridays", (0.1, 0.1, 0.8, 0.2))], text="overlay")
    grey = Image.new("RGB", layout.size, (121, 121, 121))  # no ink reaches 4.5:1 here
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = np.asarray(layout.render_text(grey)).astype(int)
    assert (out.max(axis=2) > 240).any()  # light ink...
    assert (out.max(axis=2) < 30).any()  # ...with a dark outline


def test_a_layout_shows_its_wireframe_in_a_notebook() -> None:
    layout = Layout.poster("Jazz on the Roof", cta="Tickets", size="11x17in@100dpi")
    with Image.open(io.BytesIO(layout._repr_png_())) as shown:
        assert shown.size == (331, 512)  # the 1100x1700 deliverable's aspect, long side 512
        wireframe = layout.guide_image(shown.size).convert("RGB")
        assert ImageChops.difference(shown.convert("RGB"), wireframe).getbbox() is None
