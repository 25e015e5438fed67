"""Every sharp edge of section 9 of the API reference, with a failing and a passing case.

Each failing case must raise a ``ValidationError`` whose problem names the parameter, before any
request could be sent (compiling does no I/O).
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import pytest
from PIL import Image

import imagewright
from imagewright import EditRequest, ValidationError
from imagewright._compile import compile_edit, compile_generate


def png(size: tuple[int, int] = (64, 48), mode: str = "RGB", color: Any = (9, 9, 9)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def rgba_mask(size: tuple[int, int] = (64, 48), hole: bool = True) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        im.paste((0, 0, 0, 0), (4, 4, 20, 20))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def markup_png(size: tuple[int, int] = (64, 48), transparent: bool = True) -> bytes:
    im = Image.new("RGBA", size, (255, 0, 0, 0 if transparent else 255))
    im.paste((255, 0, 0, 255), (1, 1, 5, 5))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def gen(**kw: Any) -> imagewright.ApiCall:
    kw.setdefault("model", "gpt-image-2")
    prompt = kw.pop("prompt", "a red fox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_generate(prompt, **kw)


def edit(request: EditRequest | None = None, **kw: Any) -> imagewright.ApiCall:
    kw.setdefault("model", "gpt-image-2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_edit(request or EditRequest(png(), "make it blue"), **kw)


# (rule number, param expected in the error, bad call, good call)
GENERATE_RULES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("1 model required", "model", {"model": None}, {"model": "gpt-image-2"}),
    (
        "1 gpt-image-1 shut down",
        "model",
        {"model": "gpt-image-1"},
        {"model": "gpt-image-2.5-flare"},
    ),
    ("1 dall-e-3 retired", "model", {"model": "dall-e-3"}, {"model": "gpt-image-1.5"}),
    ("2 empty prompt", "prompt", {"prompt": "   "}, {"prompt": "x"}),
    ("2 prompt too long", "prompt", {"prompt": "x" * 32_001}, {"prompt": "x" * 32_000}),
    ("3 n above 10", "n", {"n": 11}, {"n": 10}),
    ("3 n zero", "n", {"n": 0}, {"n": 1}),
    ("3 n not int", "n", {"n": 2.0}, {"n": 2}),
    ("3 n with svg", "n", {"n": 2, "output_format": "svg"}, {"n": 1, "output_format": "svg"}),
    ("4 size not /16", "size", {"size": "1000x1000"}, {"size": "1008x1008"}),
    ("4 size aspect > 3", "size", {"size": "3840x1024"}, {"size": "3072x1024"}),
    ("4 size over max pixels", "size", {"size": "3840x2176"}, {"size": "3840x2160"}),
    ("4 size under pixel floor", "size", {"size": "1024x512"}, {"size": "1024x640"}),
    # 3856 is a multiple of 16, the aspect is under 3:1 and the pixels under the maximum
    ("4 size longest edge over 3840", "size", {"size": "3856x1296"}, {"size": "3840x1296"}),
    ("4 size height not /16", "size", {"size": "1024x1000"}, {"size": "1024x1008"}),
    ("4 size malformed", "size", {"size": "big"}, {"size": "auto"}),
    (
        "4 std-only model",
        "size",
        {"model": "gpt-image-1.5", "size": "1536x864"},
        {"model": "gpt-image-1.5", "size": "1536x1024"},
    ),
    ("4 legacy size", "size", {"size": "512x512"}, {"size": "1024x1024"}),
    (
        "5 xhigh on gpt-image-2",
        "quality",
        {"quality": "xhigh"},
        {"quality": "xhigh", "model": "gpt-image-2.5-sunburst"},
    ),
    ("5 legacy quality hd", "quality", {"quality": "hd"}, {"quality": "high"}),
    (
        "6 transparent jpeg",
        "background",
        {"background": "transparent", "output_format": "jpeg"},
        {"background": "transparent", "output_format": "webp"},
    ),
    (
        "7 compression with png",
        "output_compression",
        {"output_compression": 50},
        {"output_compression": 50, "output_format": "jpeg"},
    ),
    (
        "7 compression range",
        "output_compression",
        {"output_compression": 101, "output_format": "webp"},
        {"output_compression": 100, "output_format": "webp"},
    ),
    (
        "8 partials without stream",
        "partial_images",
        {"partial_images": 2},
        {"partial_images": 2, "stream": True},
    ),
    (
        "8 partials range",
        "partial_images",
        {"partial_images": 4, "stream": True},
        {"partial_images": 3, "stream": True},
    ),
    ("9 stream gif", "stream", {"stream": True, "output_format": "gif"}, {"output_format": "gif"}),
    ("9 stream svg", "stream", {"stream": True, "output_format": "svg"}, {"stream": True}),
    (
        "10 frame_count without gif",
        "frame_count",
        {"frame_count": 4},
        {"frame_count": 4, "output_format": "gif"},
    ),
    (
        "10 frame_count range",
        "frame_count",
        {"frame_count": 17, "output_format": "gif"},
        {"frame_count": 16, "output_format": "gif"},
    ),
    (
        "10 gif compression",
        "output_compression",
        {"output_format": "gif", "output_compression": 10},
        {"output_format": "gif"},
    ),
    (
        "11 svg object without svg format",
        "svg",
        {"svg": {"model": "m"}},
        {"svg": {"model": "m"}, "output_format": "svg"},
    ),
    (
        "11 svg.model required on generate",
        "svg.model",
        {"svg": {}, "output_format": "svg"},
        {"svg": {"model": "m"}, "output_format": "svg"},
    ),
    (
        "11 svg effort",
        "svg.reasoning.effort",
        {"svg": {"model": "m", "reasoning": {"effort": "huge"}}, "output_format": "svg"},
        {"svg": {"model": "m", "reasoning": {"effort": "max"}}, "output_format": "svg"},
    ),
    ("12 input_fidelity on generate", "input_fidelity", {"input_fidelity": "high"}, {}),
    ("13 moderation value", "moderation", {"moderation": "off"}, {"moderation": "low"}),
    (
        "13 response_format",
        "response_format",
        {"extra_body": {"response_format": "url"}},
        {"extra_body": {"prompt_rewriter": "off"}},
    ),
    ("13 style", "style", {"extra_body": {"style": "vivid"}}, {}),
    ("background value", "background", {"background": "clear"}, {"background": "opaque"}),
    ("output_format value", "output_format", {"output_format": "bmp"}, {"output_format": "jpeg"}),
    ("complexity value", "complexity", {"complexity": "extreme"}, {"complexity": "low"}),
]


@pytest.mark.parametrize(
    ("rule", "param", "bad", "good"), GENERATE_RULES, ids=[r[0] for r in GENERATE_RULES]
)
def test_generate_rules(rule: str, param: str, bad: dict[str, Any], good: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        gen(**bad)
    assert param in info.value.params, str(info.value)
    problem = next(p for p in info.value.problems if p.param == param)
    assert problem.message
    call = gen(**good)
    assert call.endpoint == "/images/generations"


EDIT_RULES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("12 fidelity on gpt-image-2", "input_fidelity", {"input_fidelity": "high"}, {}),
    (
        "12 mini low only",
        "input_fidelity",
        {"model": "gpt-image-1-mini", "input_fidelity": "high"},
        {"model": "gpt-image-1-mini", "input_fidelity": "low"},
    ),
    (
        "12 1.5 high",
        "input_fidelity",
        {"model": "gpt-image-1.5", "input_fidelity": "max"},
        {"model": "gpt-image-1.5", "input_fidelity": "high"},
    ),
    ("13 moderation only on generations", "moderation", {"moderation": "low"}, {}),
]


@pytest.mark.parametrize(
    ("rule", "param", "bad", "good"), EDIT_RULES, ids=[r[0] for r in EDIT_RULES]
)
def test_edit_option_rules(
    rule: str, param: str, bad: dict[str, Any], good: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as info:
        edit(**bad)
    assert param in info.value.params
    assert edit(**good).endpoint == "/images/edits"


def test_14_image_count_limit() -> None:
    with pytest.raises(imagewright.ImageInputError) as info:
        edit(EditRequest([png()] * 17, "x"))
    assert info.value.params == ["image"]
    assert len(edit(EditRequest([png()] * 16, "x")).images) == 16


def test_14_image_format_sniffed_not_guessed() -> None:
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    with pytest.raises(imagewright.ImageInputError) as info:
        edit(EditRequest([png(), gif.getvalue()], "x"))
    assert info.value.params == ["image[1]"]
    assert "GIF" in str(info.value)


def test_15_mask_rules() -> None:
    # needs alpha, same size as the first image
    with pytest.raises(imagewright.MaskError) as info:
        edit(EditRequest(png(), "x", mask=png()))
    assert info.value.params == ["mask"]
    with pytest.raises(imagewright.ValidationError) as info2:
        edit(EditRequest(png(), "x", mask=rgba_mask((32, 32))))
    assert "mask" in info2.value.params
    # not with gif output
    with pytest.raises(ValidationError) as info3:
        edit(EditRequest(png(), "x", mask=rgba_mask()), output_format="gif")
    assert "mask" in info3.value.params
    call = edit(EditRequest(png(), "x", mask=rgba_mask()))
    assert call.mask is not None
    assert call.mask.size == (64, 48)
    assert call.mask.format == "png"
    assert call.mask.has_alpha


def test_16_markup_rules() -> None:
    req = EditRequest(png(), "x", markup=markup_png())
    with pytest.raises(ValidationError) as info:
        edit(req)  # gpt-image-2 has no markup
    assert "markup" in info.value.params
    assert edit(req, model="gpt-image-2.5-flare").markup is not None
    with pytest.raises(ValidationError) as info2:
        edit(
            EditRequest(png(), "x", markup=markup_png(transparent=False)),
            model="gpt-image-2.5-flare",
        )
    assert "transparent" in str(info2.value)
    with pytest.raises(ValidationError) as info3:
        edit(EditRequest(png(), "x", markup=markup_png((32, 32))), model="gpt-image-2.5-flare")
    assert "size" in str(info3.value)
    with pytest.raises(ValidationError) as info4:
        edit(
            EditRequest(png(), "x", mask=rgba_mask(), markup=markup_png()),
            model="gpt-image-2.5-flare",
        )
    assert "cannot be combined" in str(info4.value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        gen(size="1000x1000", quality="ultra", n=12, output_compression=5)
    params = info.value.params
    assert {"size", "quality", "n", "output_compression"} <= set(params)
    text = str(info.value)
    assert text.startswith(f"{len(info.value.problems)} problems")
    assert "gpt-image-2" in text  # the model is named
    assert "multiple of 16" in text  # what is wrong
    assert "low, medium, high, auto" in text  # what is allowed


def test_errors_name_value_model_and_allowed() -> None:
    with pytest.raises(ValidationError) as info:
        gen(quality="max")
    (p,) = info.value.problems
    assert (p.param, p.value, p.model) == ("quality", "max", "gpt-image-2")
    assert p.allowed == "low, medium, high, auto"


def test_transparent_on_gpt_image_2_warns_but_sends() -> None:
    with pytest.warns(imagewright.PreviewFeatureWarning):
        call = compile_generate("x", model="gpt-image-2", background="transparent")
    assert call.params["background"] == "transparent"


def test_unknown_models_pass_with_a_warning() -> None:
    with pytest.warns(imagewright.UnknownModelWarning, match="gpt-image-9"):
        call = compile_generate("x", model="gpt-image-9", size="2000x1000", quality="max")
    assert call.params["model"] == "gpt-image-9"
    # universal rules still apply to unknown models
    with pytest.raises(ValidationError):
        compile_generate("x", model="gpt-image-9", n=50)


def test_a_misspelt_model_is_refused_not_sent_as_unknown() -> None:
    # Only case or punctuation differ from a known name: a typo, not a newer model.
    for typo in ("gpt-image2", "GPT-Image-2"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no UnknownModelWarning: it is an error
            with pytest.raises(ValidationError, match="did you mean 'gpt-image-2'") as info:
                compile_generate("a fox", model=typo)
        assert info.value.params == ["model"]


def test_2_6_family_is_not_hard_validated() -> None:
    call = compile_generate("x", model="gpt-image-2.6-sunburst", quality="xhigh", size="2048x2048")
    assert call.params["quality"] == "xhigh"


def test_experimental_size_warns() -> None:
    with pytest.warns(imagewright.ExperimentalSizeWarning):
        compile_generate("x", model="gpt-image-2", size="3840x2160")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_generate("x", model="gpt-image-2", size="2560x1440")


def test_validation_happens_before_any_request(capture: Any) -> None:
    client = imagewright.Client("sk-v", base_url=capture.url)
    with pytest.raises(ValidationError):
        client.generate("x", model="gpt-image-2", size="999x999")
    client.close()
    assert capture.requests == []


def test_warnings_point_at_the_callers_line() -> None:
    client = imagewright.Client("k")
    with pytest.warns(imagewright.ExperimentalSizeWarning) as record:
        client.compile_generate("x", model="gpt-image-2", size="3840x2160")
    assert record[0].filename == __file__


def test_palette_markup_with_transparency_is_accepted() -> None:
    im = Image.new("P", (64, 48), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (2, 2, 10, 10))
    im.info["transparency"] = 0
    buf = io.BytesIO()
    im.save(buf, format="PNG", transparency=0)
    call = edit(EditRequest(png(), "x", markup=buf.getvalue()), model="gpt-image-2.5-flare")
    assert call.markup is not None
    # What is sent keeps the palette's transparency: untouched areas clear, the mark opaque.
    sent = Image.open(io.BytesIO(call.markup.data)).convert("RGBA")
    assert sent.getpixel((0, 0)) == (0, 0, 0, 0)
    assert sent.getpixel((5, 5)) == (255, 0, 0, 255)


# -- a layout's guide counts like any other input --------------------------------------------


def _guided(guide: str) -> Any:
    from imagewright import Layout

    return Layout.square_post("Hello", image="a teapot", guide=guide, size="1024x1024")


def test_one_image_plus_a_guide_goes_as_two_image_list_parts() -> None:
    call = edit(EditRequest(png(), _guided("reference")))  # one image, not a list
    assert len(call.images) == 2
    assert [name for name, _ in call.files()] == ["image[]", "image[]"]


def test_sixteen_images_plus_a_guide_are_refused() -> None:
    with pytest.raises(imagewright.ImageInputError) as info:
        edit(EditRequest([png()] * 16, _guided("reference")))
    (problem,) = info.value.problems
    assert (problem.param, problem.value) == ("image", "17 images")
    assert len(edit(EditRequest([png()] * 15, _guided("reference"))).images) == 16


def test_a_mask_and_a_guide_sent_as_markup_are_refused() -> None:
    from imagewright import Mask

    request = EditRequest(png((64, 64)), _guided("auto"), mask=Mask.box((64, 64), (8, 8, 32, 32)))
    with pytest.raises(ValidationError, match="cannot be combined") as info:
        edit(request, model="gpt-image-2.5-flare")
    assert "mask" in info.value.params
    # On gpt-image-2 the same guide goes as a reference image, which a mask does not clash with.
    assert edit(request).mask is not None


# -- nested and list fields in the multipart form --------------------------------------------


def test_a_nested_none_is_not_sent() -> None:
    call = edit(output_format="svg", svg={"model": "m", "reasoning": None})
    fields = call.form_fields()
    assert fields["svg[model]"] == ["m"]
    assert not any(name.startswith("svg[reasoning]") for name in fields)
    assert all("None" not in values for values in fields.values())


def test_a_list_in_extra_body_goes_as_repeated_bracket_parts() -> None:
    call = edit(extra_body={"tags": ["a", "b"]})
    fields = call.form_fields()
    assert fields["tags[]"] == ["a", "b"]
    assert "tags" not in fields
