"""The sandbox's ``POST /v1/responses``, seen by the official SDK with strict response
validation: its answers must parse as ``openai==3.51.0``'s own types."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from imagewright.sandbox import SandboxServer

TOOL = {"type": "image_generation", "quality": "low", "size": "1024x1024"}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer() as srv:
        yield srv


@pytest.fixture
def sdk(server: SandboxServer) -> Iterator[openai.OpenAI]:
    with _sdk(server) as client:
        yield client


def _sdk(server: SandboxServer) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="any", base_url=server.url, max_retries=0, _strict_response_validation=True
    )


def test_official_sdk_parses_a_turn_and_continues_it(
    server: SandboxServer, sdk: openai.OpenAI
) -> None:
    first = sdk.responses.create(model="gpt-5", input="a red kite", tools=[TOOL])  # type: ignore[list-item]
    kinds = [item.type for item in first.output]
    assert kinds == ["reasoning", "image_generation_call", "message"]
    call = first.output[1]
    assert call.type == "image_generation_call"
    assert call.status == "completed"
    assert call.result is not None
    assert base64.b64decode(call.result).startswith(b"\x89PNG")
    assert "not a language model" in first.output_text
    assert first.tool_usage is not None
    assert first.tool_usage.image_gen.output_tokens == 196
    second = sdk.responses.create(
        model="gpt-5",
        input="make it blue",
        tools=[TOOL],  # type: ignore[list-item]
        previous_response_id=first.id,
    )
    assert second.output[1].action == "edit"  # type: ignore[union-attr]
    assert server.sandbox.billed_images == 2


def test_streamed_turn_has_the_responses_event_sequence(
    server: SandboxServer, sdk: openai.OpenAI
) -> None:
    events = list(
        sdk.responses.create(
            model="gpt-5",
            input="a boat",
            tools=[{**TOOL, "partial_images": 2}],  # type: ignore[list-item]
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert kinds.count("response.image_generation_call.partial_image") == 2
    assert kinds.index("response.image_generation_call.completed") > kinds.index(
        "response.image_generation_call.partial_image"
    )
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)


def test_unknown_previous_response_and_unstored_ones_are_refused(
    server: SandboxServer, sdk: openai.OpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(
            model="gpt-5",
            input="x",
            tools=[TOOL],  # type: ignore[list-item]
            previous_response_id="resp_nope",
        )
    assert err.value.code == "previous_response_not_found"
    unstored = sdk.responses.create(model="gpt-5", input="x", tools=[TOOL], store=False)  # type: ignore[list-item]
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(
            model="gpt-5",
            input="y",
            tools=[TOOL],  # type: ignore[list-item]
            previous_response_id=unstored.id,
        )


def test_replay_needs_the_reasoning_item(server: SandboxServer, sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(
        model="gpt-5",
        input="a fox",
        tools=[TOOL],  # type: ignore[list-item]
        store=False,
        include=["reasoning.encrypted_content"],
    )
    reasoning, call = first.output[0], first.output[1]
    assert reasoning.type == "reasoning"
    assert reasoning.encrypted_content
    image_call: dict[str, Any] = {
        "type": "image_generation_call",
        "id": call.id,
        "status": "completed",
        "result": call.result,  # type: ignore[union-attr]
    }
    user = {"role": "user", "content": "make it blue"}
    with pytest.raises(openai.BadRequestError, match="reasoning"):
        sdk.responses.create(
            model="gpt-5",
            input=[image_call, user],
            tools=[TOOL],
            store=False,  # type: ignore[list-item]
        )
    paired = reasoning.model_dump(exclude_none=True)
    ok = sdk.responses.create(
        model="gpt-5",
        input=[paired, image_call, user],  # type: ignore[list-item]
        tools=[TOOL],  # type: ignore[list-item]
        store=False,
        include=["reasoning.encrypted_content"],
    )
    assert ok.output[1].action == "edit"  # type: ignore[union-attr]


def test_moderation_cue_fails_the_image_call_not_the_request() -> None:
    with SandboxServer(faults=["moderation"]) as server:
        with _sdk(server) as sdk:
            response = sdk.responses.create(model="gpt-5", input="x", tools=[TOOL])  # type: ignore[list-item]
        assert server.sandbox.billed_images == 0
    call = response.output[1]
    assert call.status == "failed"  # type: ignore[union-attr]
    error = call.error  # type: ignore[union-attr]
    assert error is not None
    assert error.code == "moderation_blocked"
    assert error.moderation_details is not None
    assert error.moderation_details.categories == ["sandbox-cue"]


def test_tool_options_are_validated_like_the_images_api(
    server: SandboxServer, sdk: openai.OpenAI
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for bad, param in [
            ({"n": 2}, "tools[0].n"),
            ({"markup": "x"}, "tools[0].markup"),
            ({"quality": "ultra"}, "tools[0].quality"),
            ({"action": "edit"}, "tools[0].action"),
        ]:
            with pytest.raises(openai.BadRequestError) as err:
                sdk.responses.create(model="gpt-5", input="x", tools=[{**TOOL, **bad}])  # type: ignore[list-item]
            assert err.value.param == param
    assert server.sandbox.billed_images == 0
