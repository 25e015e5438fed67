"""The pure compiler: ApiCall shape, determinism, fingerprints, multipart layout, curl."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import imagewright
from imagewright import EditRequest
from imagewright._compile import compile_edit, compile_generate


def png(color: Any = (1, 2, 3), size: tuple[int, int] = (32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_generate_body_order_and_omissions() -> None:
    call = compile_generate("a fox", model="gpt-image-2", quality="low", n=2, size=None)
    assert list(call.params) == ["prompt", "model", "n", "quality"]
    assert call.json_body() == {"prompt": "a fox", "model": "gpt-image-2", "n": 2, "quality": "low"}
    assert call.endpoint == "/images/generations"
    assert not call.is_edit


def test_edit_parts_text_first_then_files_in_path_order() -> None:
    mask = Image.new("RGBA", (32, 24), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 8, 8))
    req = EditRequest([png((1, 1, 1)), png((2, 2, 2))], "edit", mask=mask)
    call = compile_edit(
        req,
        model="gpt-image-2",
        n=1,
        stream=False,
        svg={"model": "m", "reasoning": {"effort": "low"}},
        output_format="svg",
    )
    names = [p.name for p in call.parts()]
    assert names == [
        "prompt",
        "model",
        "n",
        "output_format",
        "stream",
        "svg[model]",
        "svg[reasoning][effort]",
        "image[]",
        "image[]",
        "mask",
    ]
    values = {p.name: p.value for p in call.parts() if not p.is_file}
    assert values["stream"] == "false"
    assert values["n"] == "1"
    assert values["svg[reasoning][effort]"] == "low"
    files = [p for p in call.parts() if p.is_file]
    assert all(p.content_type == "image/png" for p in files)
    assert [p.filename for p in files] == ["image_0.png", "image_1.png", "mask.png"]


def test_single_image_is_one_image_part_and_list_is_image_brackets(tmp_path: Path) -> None:
    path = tmp_path / "Room Photo.png"
    path.write_bytes(png())
    one = compile_edit(EditRequest(path, "x"), model="gpt-image-2")
    listed = compile_edit(EditRequest([path], "x"), model="gpt-image-2")
    assert [p.name for p in one.parts() if p.is_file] == ["image"]
    assert [p.name for p in listed.parts() if p.is_file] == ["image[]"]
    assert one.parts()[-1].filename == "Room Photo.png"


def test_same_input_same_bytes_and_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png())
    a = compile_edit(EditRequest(path, "x"), model="gpt-image-2", quality="high")
    b = compile_edit(EditRequest(path.read_bytes(), "x"), model="gpt-image-2", quality="high")
    assert a.fingerprint == b.fingerprint
    assert [p.content for p in a.parts() if p.is_file] == [
        p.content for p in b.parts() if p.is_file
    ]


def test_fingerprint_tracks_what_changes_the_picture() -> None:
    base = compile_generate("x", model="gpt-image-2", quality="low")
    assert (
        compile_generate("x", model="gpt-image-2", quality="high").fingerprint != base.fingerprint
    )
    assert compile_generate("y", model="gpt-image-2", quality="low").fingerprint != base.fingerprint
    streamed = compile_generate(
        "x", model="gpt-image-2", quality="low", stream=True, partial_images=2
    )
    assert streamed.fingerprint == base.fingerprint  # delivery, not the picture
    e1 = compile_edit(EditRequest(png((1, 1, 1)), "x"), model="gpt-image-2")
    e2 = compile_edit(EditRequest(png((1, 1, 2)), "x"), model="gpt-image-2")
    assert e1.fingerprint != e2.fingerprint


@settings(max_examples=40, deadline=None)
@given(
    prompt=st.text(min_size=1, max_size=200).filter(lambda s: s.strip()),
    quality=st.sampled_from(["low", "medium", "high", "auto"]),
    n=st.integers(1, 10),
    w=st.integers(52, 150).map(lambda k: k * 16),
    h=st.integers(52, 150).map(lambda k: k * 16),
)
def test_compile_is_deterministic(prompt: str, quality: str, n: int, w: int, h: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if imagewright.models.get_model("gpt-image-2").check_size(f"{w}x{h}"):
            return  # sizes the model refuses are covered by test_validation
        a = compile_generate(prompt, model="gpt-image-2", quality=quality, n=n, size=f"{w}x{h}")
        b = compile_generate(prompt, model="gpt-image-2", quality=quality, n=n, size=f"{w}x{h}")
    assert a == b
    assert a.fingerprint == b.fingerprint
    assert a.json_body() == b.json_body()


def test_curl_renders_edits_and_generations() -> None:
    gen = compile_generate('it\'s "quoted"', model="gpt-image-2")
    curl = gen.to_curl()
    assert curl.startswith("curl https://api.openai.com/v1/images/generations")
    assert "Bearer $OPENAI_API_KEY" in curl
    ed = compile_edit(EditRequest([png(), png((5, 5, 5))], "x"), model="gpt-image-2")
    curl = ed.to_curl("http://localhost:8089/v1")
    assert "-F 'image[]=@image_0.png;type=image/png'" in curl
    assert "-F prompt=x" in curl


def test_prompt_objects_with_compile_are_accepted() -> None:
    class Brief:
        def compile(self) -> str:
            return "compiled brief"

    class ModelAware:
        def __init__(self) -> None:
            self.seen: str | None = None

        def compile(self, *, model: str | None = None) -> str:
            self.seen = model
            return f"for {model}"

        def planned_size(self, model: str) -> str:
            return "1536x864"

    assert compile_generate(Brief(), model="gpt-image-2").prompt == "compiled brief"
    aware = ModelAware()
    call = compile_generate(aware, model="gpt-image-2")
    assert aware.seen == "gpt-image-2"
    assert call.params["size"] == "1536x864"
    # an explicit size wins over the plan
    assert (
        compile_generate(aware, model="gpt-image-2", size="1024x1024").params["size"] == "1024x1024"
    )


def test_own_prompt_objects_get_the_declared_hooks_called() -> None:
    from imagewright.edit import (
        SupportsCompile,
        SupportsFinish,
        SupportsMarkup,
        SupportsPlannedSize,
        SupportsReferenceImages,
    )

    class Framed:
        def compile(self) -> str:
            return "framed"

        def reference_images(self, model: str) -> list[bytes]:
            return [png((9, 9, 9))]

        def finish(self, image: Image.Image) -> Image.Image:
            return image.crop((0, 0, 10, 10))

    framed = Framed()
    assert isinstance(framed, SupportsCompile)
    assert isinstance(framed, SupportsFinish)
    call = compile_edit(EditRequest(png(), framed), model="gpt-image-2")
    assert len(call.images) == 2  # the source, then the prompt's own reference image
    assert call.finish is not None
    assert call.finish(Image.new("RGB", (32, 24))).size == (10, 10)
    # a Layout declares all four optional hooks
    layout = imagewright.Layout.poster("A4", title="Sale")
    for proto in (SupportsPlannedSize, SupportsReferenceImages, SupportsMarkup, SupportsFinish):
        assert isinstance(layout, proto), proto.__name__
    # a plain Prompt only plans (no size), and finishes nothing
    assert compile_generate(imagewright.Prompt("a fox"), model="gpt-image-2").finish is None


def test_with_params_renews_the_fingerprint() -> None:
    call = compile_generate("x", model="gpt-image-2", quality="low")
    high = call.with_params(quality="high")
    assert high.params["quality"] == "high"
    assert high.fingerprint != call.fingerprint
    assert "quality" not in call.with_params(quality=None).params


def test_a_layout_error_keeps_its_type_through_the_client() -> None:
    from imagewright import Layout, TextBlock, TextFitError

    layout = Layout(
        "1024x1024",
        [TextBlock("An extremely long headline " * 20, (0.1, 0.1, 0.2, 0.03), role="headline")],
    )
    client = imagewright.Client.sandbox()
    try:
        import pytest

        with pytest.raises(TextFitError):
            client.generate(layout)
        assert client.sandbox_engine is not None
        assert client.sandbox_engine.requests == 0  # nothing was sent
    finally:
        client.close()
