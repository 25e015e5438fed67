"""Tests for imagewright.verify: each output contract check passing and failing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imagewright import Client
from imagewright._compile import compile_edit, compile_generate
from imagewright.edit import EditRequest
from imagewright.verify import (
    Check,
    check_aspect,
    check_background,
    check_checkerboard,
    check_count,
    check_dimensions,
    check_format,
    checks_for_call,
    contract_checks,
    find_checkerboard,
)


def encode(image: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def checker(size: tuple[int, int] = (256, 192), cell: int = 8, light=255, dark=204) -> Image.Image:
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    grey = np.where(((x // cell) + (y // cell)) % 2 == 0, light, dark).astype(np.uint8)
    return Image.fromarray(np.dstack([grey] * 3), mode="RGB")


def photo_like(size: tuple[int, int] = (256, 192), seed: int = 0) -> Image.Image:
    w, h = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 70 * np.sin(x / 23), 120 + 60 * np.cos(y / 17), 90 + 0.3 * x], -1)
    return Image.fromarray(np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8))


def test_check_is_truthy_when_passed_and_serialisable():
    ok, bad = Check("x", True, "fine"), Check("y", False, "broken", "warning")
    assert ok
    assert not bad
    assert bad.to_dict() == {
        "name": "y",
        "passed": False,
        "detail": "broken",
        "severity": "warning",
    }


def test_count():
    assert check_count(requested=3, returned=3)
    bad = check_count(requested=3, returned=2)
    assert not bad
    assert bad.detail == "asked for 3 images, got 2"


def test_dimensions():
    assert check_dimensions("1536x864", (1536, 864))
    bad = check_dimensions("1536x864", (1024, 1024))
    assert not bad
    assert bad.severity == "error"
    assert "requested 1536x864, got 1024x1024" in bad.detail
    auto = check_dimensions("auto", (1024, 1536))
    assert auto
    assert auto.severity == "info"


@pytest.mark.parametrize(
    ("asked", "fmt", "passed"),
    [
        (None, "PNG", True),
        ("png", "PNG", True),
        ("jpeg", "JPEG", True),
        ("webp", "WEBP", True),
        ("webp", "PNG", False),
        ("png", "JPEG", False),
    ],
)
def test_format_is_sniffed_from_the_bytes(asked, fmt, passed):
    data = encode(Image.new("RGB", (16, 16), (1, 2, 3)), fmt)
    assert bool(check_format(asked, data)) is passed


def test_format_recognises_svg_and_garbage():
    assert check_format("svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')
    bad = check_format("png", b"not an image")
    assert not bad
    assert "unrecognised" in bad.detail


def test_transparent_background_needs_real_alpha():
    rgba = Image.new("RGBA", (32, 32), (200, 10, 10, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    assert check_background("transparent", rgba)
    no_channel = check_background("transparent", Image.new("RGB", (32, 32)))
    assert not no_channel
    assert "no alpha channel" in no_channel.detail
    all_opaque = check_background("transparent", Image.new("RGBA", (32, 32), (1, 2, 3, 255)))
    assert not all_opaque
    assert "every pixel is opaque" in all_opaque.detail


def test_opaque_background_must_not_be_transparent():
    rgba = Image.new("RGBA", (10, 10), (200, 10, 10, 0))
    assert not check_background("opaque", rgba)
    assert check_background("opaque", Image.new("RGB", (10, 10)))
    assert check_background("auto", rgba).severity == "info"


@pytest.mark.parametrize(("cell", "light", "dark"), [(8, 255, 204), (16, 255, 230), (12, 204, 153)])
def test_baked_checkerboards_are_found(cell, light, dark):
    img = checker(cell=cell, light=light, dark=dark)
    found = find_checkerboard(img)
    assert found is not None
    assert found[0] == cell
    assert found[1] > 0.7  # every pixel but those on a cell's edge
    bad = check_checkerboard(img, transparent_asked=True)
    assert not bad
    assert bad.severity == "error"
    assert f"{cell}px" in bad.detail
    assert check_checkerboard(img).severity == "warning"


def test_checkerboard_behind_a_subject_survives_jpeg():
    img = np.asarray(checker((320, 240), cell=10)).copy()
    img[60:180, 80:240] = (180, 40, 30)
    data = encode(Image.fromarray(img), "JPEG", quality=85)
    found = find_checkerboard(Image.open(io.BytesIO(data)))
    assert found is not None
    assert found[0] == 10


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(photo_like(), id="texture"),
        pytest.param(checker(cell=32, light=255, dark=0), id="chessboard"),
        pytest.param(Image.new("RGB", (200, 200), (255, 255, 255)), id="white"),
        pytest.param(checker(cell=8).convert("RGBA").point(lambda v: v), id="rgba-opaque"),
    ],
)
def test_ordinary_images_have_no_checkerboard(image):
    if image.mode == "RGBA":
        image.putalpha(0)  # the checker is fully transparent here: not baked in
    assert check_checkerboard(image)


def test_aspect_is_kept_on_arbitrary_size_models():
    assert check_aspect((1600, 900), (1536, 864), model="gpt-image-2")
    squared = check_aspect((1600, 900), (1024, 1024), model="gpt-image-2")
    assert not squared
    assert squared.severity == "warning"


def test_aspect_on_fixed_size_models_means_the_nearest_standard_size():
    assert check_aspect((1600, 900), (1536, 1024), model="gpt-image-1.5")
    assert not check_aspect((1600, 900), (1024, 1024), model="gpt-image-1.5")


def test_contract_checks_run_what_applies_per_output():
    good = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    squared = Image.new("RGBA", (480, 480), (0, 0, 0, 255))
    checks = contract_checks(
        [encode(good), encode(squared)],
        n=3,
        size="auto",
        background="transparent",
        output_format="png",
        source_size=(640, 480),
        model="gpt-image-2",
    )
    by_name = {c.name: c for c in checks}
    assert not by_name["count"]
    assert by_name["alpha[0]"]
    assert not by_name["alpha[1]"]
    assert by_name["aspect[0]"]
    assert not by_name["aspect[1]"]
    assert by_name["format[1]"]
    assert [c.name for c in checks][:5] == [
        "count",
        "format[0]",
        "dimensions[0]",
        "alpha[0]",
        "checkerboard[0]",
    ]


def test_undecodable_output_is_reported_not_raised():
    checks = contract_checks([b"\x89PNG\r\n\x1a\nbroken"], n=1)
    by_name = {c.name: c for c in checks}
    assert by_name["format[0]"]
    assert not by_name["decode[0]"]


def test_checks_for_call_reads_the_compiled_request():
    call = compile_generate("a logo", model="gpt-image-2", size="1024x1536", n=1)
    checks = checks_for_call(call, [encode(Image.new("RGB", (1024, 1024)))])
    assert not {c.name: c for c in checks}["dimensions[0]"]
    src = Image.new("RGB", (640, 480), (9, 9, 9))
    edit = compile_edit(EditRequest(src, "add a hat"), model="gpt-image-2")
    checks = checks_for_call(edit, [encode(Image.new("RGB", (1024, 1024)))])
    assert not {c.name: c for c in checks}["aspect[0]"]


def test_sandbox_outputs_keep_their_contract():
    with Client.sandbox() as client:
        with pytest.warns(UserWarning, match="preview"):
            gen = client.generate("a red kite", size="1024x1536", n=2, background="transparent")
        src = photo_like((640, 480))
        edit = client.edit(EditRequest(src, "add snow"), output_format="webp")
    for result in (gen, edit):
        checks = checks_for_call(result.call, [o.data for o in result.outputs])
        failed = [c for c in checks if not c]
        assert failed == [], failed
