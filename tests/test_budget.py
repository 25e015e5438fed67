"""Estimates before sending, budgets that refuse before sending, and estimates checked against
what the sandbox really billed, on both clients."""

from __future__ import annotations

from typing import Any

import pytest

import imagewright
from imagewright import EditRequest, Layout, Mask
from imagewright.pricing import Budget, cost_from_usage

from .conftest import png_bytes

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("generate", {"size": "1024x1024", "quality": "low"}),
    ("generate", {"size": "1024x1024", "quality": "high"}),
    ("generate", {"size": "1536x1024", "quality": "medium", "n": 2}),
    ("generate", {"size": "2048x1152", "quality": "high"}),
    ("generate", {"size": "auto", "quality": "low"}),
    ("edit", {"quality": "medium"}),
    ("edit", {"quality": "low", "size": "1024x1536"}),
]


@pytest.mark.parametrize(("kind", "options"), CALLS)
async def test_estimate_matches_what_the_sandbox_billed(
    make_client: Any, kind: str, options: dict[str, Any]
) -> None:
    client = make_client.sandbox()
    prompt = 'a lighthouse that says "OPEN"'
    if kind == "generate":
        estimate = client.client.estimate(prompt, **options)
        result = await client.generate(prompt, **options)
    else:
        request = EditRequest(
            [png_bytes((1024, 768)), png_bytes((512, 512))],
            prompt,
        )
        estimate = client.client.estimate(request, **options)
        result = await client.edit(request, **options)
    await client.close()
    assert result.usage is not None
    assert estimate.covers(result.usage), (estimate, result.usage)
    actual = cost_from_usage(result.model, result.usage).total_usd
    assert estimate.low_usd <= actual <= estimate.high_usd
    assert abs(estimate.expected_usd - actual) <= 0.35 * actual


async def test_stream_estimate_counts_partial_images(make_client: Any) -> None:
    client = make_client.sandbox()
    estimate = client.client.estimate("x", quality="low", stream=True, partial_images=3)
    events = await client.stream("stream_generate", "x", quality="low", partial_images=3)
    await client.close()
    result = events[-1]
    assert estimate.covers(result.usage)
    assert result.usage.output_tokens == 196 + 300


async def test_budget_refuses_before_sending(make_client: Any) -> None:
    client = make_client.sandbox(budget=0.05)
    assert client.client.budget is not None
    with pytest.raises(imagewright.BudgetExceededError) as info:
        await client.generate("x", quality="high", size="1024x1024")
    await client.close()
    assert client.client.sandbox_engine.requests == 0
    assert info.value.budget_usd == 0.05
    assert info.value.estimate_usd > 0.2


async def test_budget_records_actual_costs_and_then_refuses(make_client: Any) -> None:
    client = make_client.sandbox(budget=0.03)
    spent = 0.0
    for _ in range(3):
        result = await client.generate("x", quality="low", size="1024x1024")
        spent += cost_from_usage(result.model, result.usage).total_usd
    budget = client.client.budget
    assert budget.spent_usd == pytest.approx(spent)
    assert budget.pending_usd == 0
    # a high-quality image no longer fits
    with pytest.raises(imagewright.BudgetExceededError):
        await client.generate("x", quality="medium", size="1024x1024")
    await client.close()
    assert client.client.sandbox_engine.billed_images == 3


async def test_a_failure_that_may_have_been_billed_counts_as_spent(make_client: Any) -> None:
    client = make_client.sandbox(budget=1.0, faults=["reset_after", "500"])
    with pytest.raises(imagewright.APIConnectionError):
        await client.generate("x", quality="low")
    budget = client.client.budget
    after_ambiguous = budget.spent_usd
    assert after_ambiguous > 0  # the image was made; the budget assumes it was paid
    with pytest.raises(imagewright.InternalServerError):
        await client.generate("x", quality="low", max_retries=0)
    await client.close()
    assert budget.spent_usd == after_ambiguous  # a 500 is not billed
    assert budget.pending_usd == 0


def test_shared_budget_between_clients() -> None:
    budget = Budget(0.02)
    a = imagewright.Client.sandbox(budget=budget)
    b = a.with_options(max_retries=0)
    a.generate("x", quality="low")
    b.generate("x", quality="low")
    assert budget.spent_usd > 0
    with pytest.raises(imagewright.BudgetExceededError):
        b.generate("x", quality="high")
    a.close()


def test_estimate_of_layouts_and_masked_edits() -> None:
    client = imagewright.Client.sandbox()
    layout = Layout.banner("Autumn sale", cta="Shop now")
    est = client.estimate(layout, quality="medium")
    assert est.expected_usd > 0
    source = png_bytes((512, 512))
    req = EditRequest(source, "x", mask=Mask.box((512, 512), (0, 0, 0.5, 0.5)))
    call = client.compile_edit(req, quality="low")
    assert client.estimate(call) == client.estimate(req, quality="low")
    client.close()


async def test_a_malformed_200_counts_as_spent(make_client: Any, capture: Any) -> None:
    from ._capture import Reply

    # The server made (and billed) the image; the answer is just not readable.
    capture.push(Reply(200, {}, {"created": 1, "data": [{"url": "https://x"}]}))
    client = make_client(api_key="k", base_url=capture.url, budget=1.0)
    with pytest.raises(imagewright.APIResponseValidationError):
        await client.generate("x", model="gpt-image-2", quality="low", size="1024x1024")
    await client.close()
    budget = client.client.budget
    assert budget.spent_usd > 0
    assert budget.pending_usd == 0
