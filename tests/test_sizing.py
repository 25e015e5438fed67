"""The size planner: valid API sizes for every model, exact deliverables after finishing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from imagewright.errors import ValidationError
from imagewright.models import MODELS, STANDARD_SIZES, get_model, parse_size
from imagewright.sizing import (
    MAX_ASPECT_ERROR,
    SizePlan,
    cover_crop,
    parse_deliverable,
    plan_size,
)

ARBITRARY = [n for n, s in MODELS.items() if s.available and s.sizes.arbitrary]
FIXED = [n for n, s in MODELS.items() if s.available and not s.sizes.arbitrary]
AVAILABLE = ARBITRARY + FIXED

sides = st.integers(min_value=16, max_value=6000)


@settings(max_examples=150, deadline=None)
@given(w=sides, h=sides, model=st.sampled_from(AVAILABLE))
def test_every_planned_size_is_valid_for_the_model(w: int, h: int, model: str) -> None:
    plan = plan_size((w, h), model=model)
    assert get_model(model).check_size(plan.api_size) == []
    assert plan.deliverable == (w, h)


@settings(max_examples=150, deadline=None)
@given(w=st.integers(100, 5000), h=st.integers(100, 5000), model=st.sampled_from(ARBITRARY))
def test_aspect_error_is_bounded_on_arbitrary_models(w: int, h: int, model: str) -> None:
    plan = plan_size((w, h), model=model)
    aw, ah = plan.api_dims
    rule = get_model(model).sizes
    reachable = min(max(w / h, 1 / rule.max_aspect), rule.max_aspect)
    assert abs((aw / ah) / reachable - 1) <= MAX_ASPECT_ERROR
    if 1 / rule.max_aspect <= w / h <= rule.max_aspect:
        assert plan.aspect_error <= MAX_ASPECT_ERROR


@settings(max_examples=100, deadline=None)
@given(w=st.integers(100, 5000), h=st.integers(100, 5000), model=st.sampled_from(ARBITRARY))
def test_plan_covers_the_deliverable_unless_the_model_cannot(w: int, h: int, model: str) -> None:
    plan = plan_size((w, h), model=model)
    rule = get_model(model).sizes
    if w * h * 1.1 < rule.max_pixels and max(w, h) * 1.05 < rule.max_edge:
        # Only ever scaled down: no invented detail.
        assert plan.scale <= 1.0 + 1e-9


@settings(max_examples=60, deadline=None)
@given(w=st.integers(16, 3000), h=st.integers(16, 3000), model=st.sampled_from(AVAILABLE))
def test_finish_produces_the_exact_deliverable(w: int, h: int, model: str) -> None:
    plan = plan_size((w, h), model=model)
    api = Image.new("RGB", plan.api_dims, (10, 20, 30))
    out = plan.finish(api)
    assert out.size == (w, h)
    # Whatever the server really returned, the deliverable size still comes out.
    odd = plan.finish(Image.new("RGBA", (1000, 700)))
    assert odd.size == (w, h)
    assert odd.mode == "RGBA"


@given(w=st.integers(1, 4000), h=st.integers(1, 4000), a=st.floats(0.2, 5.0))
def test_cover_crop_is_centred_inside_and_has_the_aspect(w: int, h: int, a: float) -> None:
    left, top, right, bottom = cover_crop((w, h), a)
    assert 0 <= left < right <= w
    assert 0 <= top < bottom <= h
    assert abs(left - (w - right)) <= 1
    assert abs(top - (h - bottom)) <= 1
    cw, ch = right - left, bottom - top
    # Either a full side is kept, and the other is the rounded aspect.
    assert (
        (cw == w and abs(ch - w / a) <= 1)
        or (ch == h and abs(cw - h * a) <= 1)
        or (cw == w and ch == h)
    )


def test_fixed_models_get_the_standard_size_nearest_in_aspect() -> None:
    assert plan_size("1200x628", model="gpt-image-1.5").api_size == "1536x1024"
    assert plan_size("1080x1920", model="gpt-image-1-mini").api_size == "1024x1536"
    assert plan_size("800x800", model="chatgpt-image-latest").api_size == "1024x1024"
    plan = plan_size("1080x1920", model="gpt-image-1.5")
    assert plan.api_size in STANDARD_SIZES
    # 2:3 cropped to 9:16 keeps the full height.
    assert plan.crop_box == (80, 0, 944, 1536)


def test_ad_banner_plan_is_the_smallest_covering_size() -> None:
    plan = plan_size("1200x628", model="gpt-image-2")
    assert plan == SizePlan(
        model="gpt-image-2",
        api_size="1216x640",
        deliverable=(1200, 628),
        crop_box=(0, 2, 1216, 638),
        experimental=False,
        aspect_error=pytest.approx(0.0057, abs=1e-4),  # type: ignore[arg-type]
        source="1200x628",
    )
    assert plan.needs_crop
    assert plan.needs_resize


def test_print_size_a5_at_300_dpi_is_experimental_on_gpt_image_2() -> None:
    plan = plan_size("A5@300dpi", model="gpt-image-2")
    assert plan.deliverable == (1748, 2480)
    assert plan.api_size == "1760x2480"
    assert plan.experimental
    capped = plan_size("A5@300dpi", model="gpt-image-2", allow_experimental=False)
    assert not capped.experimental
    assert capped.scale > 1.0  # the capped plan must upscale
    assert get_model("gpt-image-2").check_size(capped.api_size) == []


@pytest.mark.parametrize(
    ("spec", "dpi", "expected"),
    [
        ("148x210mm", 300, (1748, 2480)),
        ("14.8x21cm@300dpi", None, (1748, 2480)),
        ("8x10in@300dpi", None, (2400, 3000)),
        ("A4-landscape@150dpi", None, (1754, 1240)),
        ("letter@100dpi", None, (850, 1100)),
        ("9:16", None, (1008, 1792)),
        ("16:9", None, (1792, 1008)),
        ("1:1", None, (1248, 1248)),
        ("1920 x 1080", None, (1920, 1080)),
    ],
)
def test_deliverable_forms(spec: str, dpi: int | None, expected: tuple[int, int]) -> None:
    assert parse_deliverable(spec, dpi=dpi).size == expected


def test_aspect_deliverable_lands_on_the_16_grid_without_crop() -> None:
    plan = plan_size("9:16", model="gpt-image-2")
    assert plan.api_size == "1008x1792"
    assert not plan.needs_crop
    assert not plan.needs_resize


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("A5", "needs a resolution"),
        ("Z9@300dpi", "unknown paper size"),
        ("big", "unknown paper size"),
        ("12 by 4", "not a size"),
        ("0x100", "positive"),
        ("0:1", "positive"),
    ],
)
def test_bad_deliverables_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        plan_size(spec)
    assert info.value.params == ["size"]
    assert "9:16" in str(info.value)  # says what is allowed


def test_retired_model_is_refused_with_its_replacement() -> None:
    with pytest.raises(ValidationError, match=r"gpt-image-2\.5"):
        plan_size("1024x1024", model="gpt-image-1")


def test_unknown_model_is_planned_on_standard_sizes() -> None:
    assert plan_size("1200x628", model="gpt-image-9").api_size == "1536x1024"


def test_plan_sizes_parse_back() -> None:
    plan = plan_size("300x900", model="gpt-image-2")
    assert parse_size(plan.api_size) == plan.api_dims
