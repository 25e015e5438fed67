"""Every sandbox fault mode, met by imagewright's own clients (sync and async), in process.

What a user would notice: whether the call is retried, whether it was billed, whether the
error says so, and that nothing already paid for is lost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import imagewright
from imagewright import EditRequest, Mask

from .conftest import png_bytes


async def _gen(client: Any, **kw: Any) -> imagewright.Result:
    return await client.generate('a sign that says "OPEN"', quality="low", **kw)


def _engine(client: Any) -> Any:
    return client.client.sandbox_engine


@pytest.mark.parametrize("fault", ["429", "500", "503"])
async def test_retryable_statuses_are_retried_and_billed_once(make_client: Any, fault: str) -> None:
    client = make_client.sandbox(faults=[fault, None], retry_after=0.01)
    result = await _gen(client, extra_headers={"X-Sandbox-Retry-After": "0.01"})
    await client.close()
    sb = _engine(client)
    assert result.timings.attempts == 2
    assert sb.requests == 2
    assert sb.billed_images == 1


async def test_fail_twice_then_succeed_script(make_client: Any) -> None:
    client = make_client.sandbox(faults=["429", "500", None], retry_after=0.01)
    result = await _gen(client, extra_headers={})
    await client.close()
    assert result.timings.attempts == 3
    assert _engine(client).billed_images == 1


async def test_reset_before_body_is_retried(make_client: Any) -> None:
    client = make_client.sandbox(faults=["reset_before", None])
    result = await _gen(client)
    await client.close()
    assert result.timings.attempts == 2
    assert _engine(client).billed_images == 1


async def test_reset_after_body_is_not_retried_and_says_it_may_be_billed(make_client: Any) -> None:
    client = make_client.sandbox(faults=["reset_after", None])
    with pytest.raises(imagewright.APIConnectionError) as info:
        await _gen(client)
    await client.close()
    assert info.value.may_have_been_billed is True
    sb = _engine(client)
    assert sb.requests == 1
    assert sb.billed_images == 1  # made and charged, answer lost


async def test_reset_after_with_retry_ambiguous_replays_without_paying_twice(
    make_client: Any,
) -> None:
    client = make_client.sandbox(faults=["reset_after", None])
    result = await _gen(client, retry_ambiguous=True)
    await client.close()
    sb = _engine(client)
    assert result.timings.attempts == 2
    assert sb.requests == 2
    assert sb.replays == 1  # the same Idempotency-Key fetched the first answer
    assert sb.billed_images == 1


async def test_stall_past_the_timeout_is_a_timeout_not_retried(make_client: Any) -> None:
    client = make_client.sandbox(faults=["stall", None], stall=5.0)
    with pytest.raises(imagewright.APITimeoutError) as info:
        await _gen(client, timeout=0.2)
    await client.close()
    assert info.value.may_have_been_billed is True
    assert _engine(client).requests == 1


async def test_truncated_body_is_not_retried(make_client: Any) -> None:
    client = make_client.sandbox(faults=["truncate", None])
    with pytest.raises(imagewright.APIConnectionError) as info:
        await _gen(client)
    await client.close()
    assert info.value.may_have_been_billed is True
    assert _engine(client).requests == 1


async def test_truncated_stream_keeps_the_partials(make_client: Any) -> None:
    client = make_client.sandbox(faults=["truncate"])
    with pytest.raises(imagewright.APIConnectionError) as info:
        await client.stream("stream_generate", "x", partial_images=2, quality="low")
    await client.close()
    assert info.value.may_have_been_billed is True
    assert len(info.value.partial_images) == 2


async def test_malformed_json_is_a_response_error_not_retried(make_client: Any) -> None:
    client = make_client.sandbox(faults=["malformed_json", None])
    with pytest.raises(imagewright.APIResponseValidationError):
        await _gen(client)
    await client.close()
    assert _engine(client).requests == 1


async def test_malformed_sse_raises(make_client: Any) -> None:
    client = make_client.sandbox(faults=["malformed_sse"])
    with pytest.raises(imagewright.APIResponseValidationError, match="malformed"):
        await client.stream("stream_generate", "x", partial_images=1, quality="low")
    await client.close()


async def test_error_event_in_stream_raises_stream_error(make_client: Any) -> None:
    client = make_client.sandbox(faults=["stream_error"])
    with pytest.raises(imagewright.StreamError) as info:
        await client.stream("stream_generate", "x", partial_images=1, quality="low")
    await client.close()
    assert info.value.code == "server_error"


async def test_content_policy_is_typed_and_not_retried(make_client: Any) -> None:
    client = make_client.sandbox(faults=["moderation", None])
    with pytest.raises(imagewright.ContentPolicyError) as info:
        await _gen(client)
    await client.close()
    assert info.value.code == "moderation_blocked"
    assert _engine(client).requests == 1


async def test_fault_probability_with_retries_still_bills_each_image_once(make_client: Any) -> None:
    client = make_client.sandbox(fault_rates={"503": 0.4}, seed=3)
    for i in range(8):
        await client.generate(
            f"poster {i}",
            quality="low",
            max_retries=6,
            extra_headers={"X-Sandbox-Retry-After": "0.001"},
        )
    await client.close()
    sb = _engine(client)
    assert sb.billed_images == 8
    assert sb.requests > 8  # some 503s really happened and were retried


async def test_per_request_fault_header(make_client: Any) -> None:
    client = make_client.sandbox()
    with pytest.raises(imagewright.InternalServerError):
        await _gen(client, max_retries=0, extra_headers={"X-Sandbox-Fault": "500"})
    result = await _gen(client)
    await client.close()
    assert result.output.size == (1024, 1024)


async def test_latency_is_applied(make_client: Any) -> None:
    client = make_client.sandbox(latency=0.2)
    result = await _gen(client)
    await client.close()
    assert result.timings.elapsed_s >= 0.2


@pytest.mark.parametrize("leakage", [0.0, 0.05])
async def test_masked_edit_changes_only_the_mask_unless_leaking(
    make_client: Any, leakage: float
) -> None:
    client = make_client.sandbox(leakage=leakage, leakage_delta=9)
    source = png_bytes((256, 192), (40, 90, 160))
    mask = Mask.box((256, 192), (32, 32, 128, 96))
    result = await client.edit(
        EditRequest(source, 'a lantern that says "OPEN"', mask=mask), output_format="png"
    )
    await client.close()
    before = np.asarray(
        imagewright.images.load_image(source).to_pil().convert("RGB"), dtype=np.int16
    )
    after = np.asarray(result.output.image.convert("RGB"), dtype=np.int16)
    editable = mask.to_array() > 0
    changed = (before != after).any(axis=2)
    assert changed[editable].mean() > 0.5  # the edit is visible inside
    protected = ~editable
    assert changed[protected].sum() == round(leakage * protected.sum())
    if leakage:
        assert np.abs(before - after)[protected & changed].max() == 9
