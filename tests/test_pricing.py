"""Tests for imagewright.pricing: price table, costs from usage, estimates, budgets."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from imagewright import Client
from imagewright._compile import compile_edit, compile_generate
from imagewright.edit import EditRequest
from imagewright.errors import BudgetExceededError
from imagewright.pricing import (
    PRICES,
    PRICES_VERSION,
    Budget,
    cost_from_usage,
    estimate,
    estimate_call,
    image_input_tokens,
    output_tokens,
    prices_for,
)
from imagewright.results import InputTokensDetails, Usage

# ------------------------------------------------------------------------------ table, anchors


@pytest.mark.parametrize(
    ("size", "quality", "usd"),
    [
        ("1024x1024", "high", 0.211),
        ("1024x1024", "medium", 0.053),
        ("1024x1024", "low", 0.006),
        ("1024x1536", "high", 0.165),
        ("1536x1024", "medium", 0.041),
        ("1536x1024", "low", 0.005),
    ],
)
def test_gpt_image_2_estimates_hit_the_guides_published_prices(size, quality, usd):
    e = estimate("gpt-image-2", size=size, quality=quality)
    out_usd = e.output_tokens.expected * PRICES["gpt-image-2"].image_output / 1e6
    assert round(out_usd, 3) == usd
    assert e.low_usd <= e.expected_usd <= e.high_usd
    assert e.known_model
    assert e.prices_version == PRICES_VERSION


def test_guide_token_figures_are_reproduced_exactly():
    assert output_tokens("gpt-image-2", 1024, 1024, "low") == 196
    assert output_tokens("gpt-image-2", 1024, 1024, "medium") == 1756
    assert output_tokens("gpt-image-2", 1024, 1024, "high") == 7024
    assert output_tokens("gpt-image-2", 1024, 1536, "high") == 5488
    assert output_tokens("gpt-image-2", 1536, 1024, "high") == 5488
    # The gpt-image-1 family has its own published table.
    assert output_tokens("gpt-image-1.5", 1024, 1536, "high") == 6240
    assert output_tokens("gpt-image-1-mini", 1536, 1024, "low") == 400


def test_snapshots_use_their_familys_prices_and_unknown_models_are_flagged():
    assert prices_for("gpt-image-2-2026-04-21") == (PRICES["gpt-image-2"], True)
    prices, known = prices_for("gpt-image-9-preview")
    assert prices.model == "gpt-image-2"
    assert not known
    e = estimate("gpt-image-9-preview", size="1024x1024", quality="high")
    assert not e.known_model
    assert e.priced_as == "gpt-image-2"
    assert any("not in the price table" in a for a in e.assumptions)
    assert not prices_for("gpt-image-2.5-flare")[0].documented


@given(
    side=st.integers(32, 150).map(lambda k: k * 16),
    aspect=st.sampled_from([1.0, 1.25, 1.5, 2.0, 3.0]),
)
def test_output_tokens_grow_with_quality_and_area(side, aspect):
    w, h = side, max(16, round(side / aspect / 16) * 16)
    by_quality = [output_tokens("gpt-image-2", w, h, q) for q in ("low", "medium", "high")]
    by_quality += [output_tokens("gpt-image-2.5-flare", w, h, q) for q in ("xhigh", "max")]
    assert by_quality == sorted(by_quality)
    assert output_tokens("gpt-image-2", 2 * w, 2 * h, "high") == pytest.approx(
        4 * output_tokens("gpt-image-2", w, h, "high"), abs=2
    )


# ------------------------------------------------------------------------------ cost from usage


def test_cost_from_usage_prices_each_kind_of_token():
    usage = Usage(
        input_tokens=865,
        input_tokens_details=InputTokensDetails(text_tokens=100, image_tokens=765),
        output_tokens=7024,
        total_tokens=7889,
    )
    cost = cost_from_usage("gpt-image-2", usage)
    assert cost.text_input_usd == pytest.approx(100 * 5 / 1e6)
    assert cost.image_input_usd == pytest.approx(765 * 8 / 1e6)
    assert cost.image_output_usd == pytest.approx(7024 * 30 / 1e6)
    assert cost.total_usd == pytest.approx(0.0005 + 0.00612 + 0.21072)
    assert str(cost) == "$0.2173"
    as_dict = usage.model_dump()
    assert cost_from_usage("gpt-image-2", as_dict) == cost
    duck = SimpleNamespace(
        input_tokens=865,
        input_tokens_details=SimpleNamespace(text_tokens=100, image_tokens=765),
        output_tokens=7024,
    )
    assert cost_from_usage("gpt-image-2", duck).total_usd == pytest.approx(cost.total_usd)


def test_cached_tokens_are_priced_at_the_cached_rates():
    usage = {
        "input_tokens": 1000,
        "input_tokens_details": {
            "text_tokens": 200,
            "image_tokens": 800,
            "cached_text_tokens": 100,
            "cached_image_tokens": 800,
        },
        "output_tokens": 0,
    }
    cost = cost_from_usage("gpt-image-2", usage)
    assert cost.text_input_usd == pytest.approx((100 * 5 + 100 * 1.25) / 1e6)
    assert cost.image_input_usd == pytest.approx(800 * 2 / 1e6)


def test_usage_without_an_input_split_is_priced_as_text_and_other_models_use_their_prices():
    cost = cost_from_usage("gpt-image-1-mini", {"input_tokens": 1000, "output_tokens": 1000})
    assert cost.text_input_usd == pytest.approx(1000 * 2 / 1e6)
    assert cost.image_output_usd == pytest.approx(1000 * 8 / 1e6)
    assert cost.priced_as == "gpt-image-1-mini"
    unknown = cost_from_usage("mystery", {"input_tokens": 0, "output_tokens": 1000})
    assert not unknown.known_model
    assert unknown.image_output_usd == pytest.approx(1000 * 30 / 1e6)


# ------------------------------------------------------------------------------ estimates


def test_estimate_scales_with_n_and_partial_images():
    one = estimate("gpt-image-2", size="1024x1024", quality="low")
    four = estimate("gpt-image-2", size="1024x1024", quality="low", n=4)
    assert four.output_tokens.expected == 4 * one.output_tokens.expected
    partials = estimate("gpt-image-2", size="1024x1024", quality="low", n=2, partial_images=3)
    assert partials.output_tokens.expected == 2 * (196 + 3 * 100)


def test_estimate_counts_the_prompt_and_the_input_images():
    e = estimate(
        "gpt-image-2",
        size="1024x1024",
        quality="medium",
        prompt="x" * 400,
        input_sizes=[(1024, 1024), (512, 512)],
    )
    assert e.text_tokens.expected == 100
    assert e.image_input_tokens.expected == image_input_tokens(1024, 1024) + image_input_tokens(
        512, 512
    )
    assert image_input_tokens(1024, 1024) == 85 + 170 * 4
    assert estimate("gpt-image-2", size="1024x1024", prompt=400).text_tokens.expected == 100


def test_quality_auto_spans_low_to_high():
    e = estimate("gpt-image-2", size="1024x1024", quality="auto")
    assert e.output_tokens.low <= 196
    assert e.output_tokens.expected == 1756
    assert e.output_tokens.high >= 7024


def test_size_auto_on_an_edit_is_the_inputs_size_within_the_models_limits():
    e = estimate("gpt-image-2", size="auto", quality="high", input_sizes=[(2048, 1024)])
    note = next(a for a in e.assumptions if "size 'auto'" in a)
    assert "2048x1024" in note
    assert e.output_tokens.expected == output_tokens("gpt-image-2", 2048, 1024, "high")
    assert output_tokens("gpt-image-2", 1456, 720, "high") in e.output_tokens  # ~1 MP
    tiny = estimate("gpt-image-2", size="auto", quality="low", input_sizes=[(256, 192)])
    assert "928x704" in next(a for a in tiny.assumptions if "size 'auto'" in a)  # pixel floor
    assert output_tokens("gpt-image-2", 256, 192, "low") in tiny.output_tokens
    generation = estimate("gpt-image-2", size="auto", quality="high")
    assert generation.output_tokens.expected == 7024
    fixed = estimate("gpt-image-1.5", size="auto", quality="high", input_sizes=[(1600, 900)])
    assert fixed.output_tokens.expected == 6208  # the nearest standard size, 1536x1024


def test_extrapolated_figures_get_a_wider_range():
    anchor = estimate("gpt-image-2", size="1024x1024", quality="high").output_tokens
    far = estimate("gpt-image-2", size="2048x2048", quality="high").output_tokens
    assert (anchor.high - anchor.low) / anchor.expected < 0.25
    assert (far.high - far.low) / far.expected > 0.5
    assert (
        estimate("gpt-image-2.5-flare", size="1024x1024", quality="max").output_tokens.expected
        == 14048
    )


def test_estimate_call_reads_a_compiled_generation():
    call = compile_generate(
        "a red bicycle", model="gpt-image-2", size="1536x1024", quality="high", n=2
    )
    e = estimate_call(call)
    assert e.output_tokens.expected == 2 * 5488
    assert e.text_tokens.expected == 4  # 13 characters
    assert e.image_input_tokens.expected == 0


def test_estimate_call_reads_the_inputs_of_a_compiled_edit():
    src = Image.new("RGB", (768, 512), (40, 90, 200))
    call = compile_edit(EditRequest(src, "make it green"), model="gpt-image-2", quality="low")
    e = estimate_call(call)
    assert e.image_input_tokens.expected == image_input_tokens(768, 512)
    assert any("input's size" in a for a in e.assumptions)


@pytest.mark.parametrize("quality", ["low", "medium", "high"])
def test_sandbox_usage_falls_inside_the_estimate(quality):
    with Client.sandbox() as client:
        result = client.generate("a lighthouse at dusk", size="1024x1024", quality=quality)
        src = Image.new("RGB", (1024, 1024), (200, 180, 40))
        edit = client.edit(EditRequest(src, "paint it blue"), quality=quality, size="1024x1024")
    for r in (result, edit):
        e = estimate_call(r.call)
        assert e.covers(r.usage), (e, r.usage)
        actual = cost_from_usage(r.model, r.usage).total_usd
        assert e.low_usd <= actual <= e.high_usd


# ------------------------------------------------------------------------------ budget


def test_budget_refuses_a_call_that_would_not_fit():
    budget = Budget(0.30)
    high = estimate("gpt-image-2", size="1024x1024", quality="high")
    budget.check(high)
    budget.record(cost_from_usage("gpt-image-2", {"input_tokens": 0, "output_tokens": 7024}))
    assert budget.spent_usd == pytest.approx(0.21072)
    with pytest.raises(BudgetExceededError, match="nothing was sent") as info:
        budget.check(high)
    assert info.value.estimate_usd == pytest.approx(high.high_usd)
    assert info.value.budget_usd == 0.30
    assert info.value.spent_usd == pytest.approx(0.21072)
    budget.check(estimate("gpt-image-2", size="1024x1024", quality="low"))


def test_budget_basis_decides_which_end_of_the_estimate_counts():
    e = estimate("gpt-image-2", size="1024x1024", quality="high")
    limit = (e.expected_usd + e.high_usd) / 2
    Budget(limit, basis="expected").check(e)
    with pytest.raises(BudgetExceededError):
        Budget(limit).check(e)
    with pytest.raises(ValueError, match="limit_usd"):
        Budget(-1)


def test_reservations_hold_money_until_settled_or_released():
    budget = Budget(1.0)
    first = budget.reserve(0.6)
    assert budget.remaining_usd == pytest.approx(0.4)
    with pytest.raises(BudgetExceededError):
        budget.reserve(0.6)
    first.settle(0.25)
    assert budget.spent_usd == pytest.approx(0.25)
    assert budget.pending_usd == 0
    with budget.reserve(0.7):
        assert budget.remaining_usd == pytest.approx(0.05)
    assert budget.remaining_usd == pytest.approx(0.75)  # released on exit: nothing billed


def test_concurrent_reservations_never_overspend():
    budget = Budget(0.5)
    granted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(10)

    def worker() -> None:
        start.wait()
        try:
            budget.reserve(0.1)
            ok = True
        except BudgetExceededError:
            ok = False
        with lock:
            granted.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert granted.count(True) == 5
    assert budget.pending_usd == pytest.approx(0.5)
