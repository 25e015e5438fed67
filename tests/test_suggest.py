"""Near-miss suggestions and the seed explanation, before anything is sent (issue 16)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import imagewright
from imagewright.models import UnknownModelWarning


async def test_near_misses_are_refused_with_a_suggestion_and_nothing_sent(
    make_client: Any,
) -> None:
    client = make_client.sandbox()
    with pytest.raises(imagewright.ValidationError) as info:
        await client.generate("a fox", size="1000x1000", quality="HIGH")
    text = str(info.value)
    assert "nearest accepted size: '1008x1008'" in text
    assert "plan_size('1000x1000', model='gpt-image-2')" in text
    assert "did you mean 'high'?" in text
    with pytest.raises(imagewright.ValidationError, match="did you mean 'gpt-image-2'"):
        await client.generate("a fox", model="gpt-image2")
    assert client.client.sandbox_engine.requests == 0
    await client.close()


async def test_seed_is_explained(make_client: Any) -> None:
    client = make_client.sandbox()
    with pytest.raises(imagewright.ValidationError) as info:
        await client.generate("a fox", seed=7)
    problem = info.value.problems[0]
    assert (problem.param, problem.value) == ("seed", 7)
    assert "take no seed" in problem.message
    assert problem.allowed is not None
    assert "fingerprint" in problem.allowed
    assert "receipt" in problem.allowed
    assert client.client.sandbox_engine.requests == 0
    await client.close()


def test_fixed_size_models_suggest_their_nearest_size() -> None:
    client = imagewright.Client.sandbox()
    with pytest.raises(imagewright.ValidationError, match="nearest accepted size: '1024x1024'"):
        client.compile_generate("a fox", model="gpt-image-1.5", size="1000x1000")


def test_a_misspelt_option_suggests_the_right_one() -> None:
    client = imagewright.Client.sandbox()
    with pytest.raises(TypeError, match="did you mean 'quality'"):
        client.compile_generate("a fox", qualty="high")  # type: ignore[call-arg]


def test_a_model_newer_than_the_table_still_passes_with_a_hint() -> None:
    client = imagewright.Client.sandbox()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call = client.compile_generate("a fox", model="gpt-image-2.7-sunburst")
    assert call.model == "gpt-image-2.7-sunburst"
    assert any(
        issubclass(w.category, UnknownModelWarning) and "did you mean" in str(w.message)
        for w in caught
    )
