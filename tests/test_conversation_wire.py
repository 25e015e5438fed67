"""Wire conformance for conversations: the same turns through imagewright and through the
official ``openai==3.51.0`` ``responses.create`` (sync, async, streaming) reach one loopback
capture server, and the requests must be equal (method, path, query, content type, auth and
the JSON body)."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
import pytest

import imagewright
from imagewright import EditRequest, ImageOptions, Mask, TurnResult

from ._capture import CaptureServer, Reply, sse, tiny_png
from .conftest import png_bytes
from .test_wire_conformance import normalise

KEY = "sk-conformance"
PNG = tiny_png((16, 16))
B64 = base64.b64encode(PNG).decode()
TOOL_USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"image_tokens": 40, "text_tokens": 10},
    "output_tokens": 196,
    "total_tokens": 246,
}
PHOTO = png_bytes((64, 48), (30, 120, 90))
PHOTO_URL = "data:image/png;base64," + base64.b64encode(PHOTO).decode()


def response_body(n: int) -> dict[str, Any]:
    """A complete Response with a reasoning item, an image call and a message."""
    return {
        "id": f"resp_{n}",
        "object": "response",
        "created_at": 1_760_000_000,
        "status": "completed",
        "model": "gpt-5",
        "output": [
            {"type": "reasoning", "id": f"rs_{n}", "summary": [], "encrypted_content": f"enc{n}"},
            {
                "type": "image_generation_call",
                "id": f"ig_{n}",
                "status": "completed",
                "result": B64,
                "revised_prompt": f"revised {n}",
                "size": "16x16",
                "quality": "low",
                "output_format": "png",
                "background": "opaque",
            },
            {
                "type": "message",
                "id": f"msg_{n}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "done", "annotations": []}],
            },
        ],
        "parallel_tool_calls": True,
        "tool_choice": {"type": "image_generation"},
        "tools": [{"type": "image_generation"}],
        "usage": {
            "input_tokens": 20,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 8,
            "output_tokens_details": {"reasoning_tokens": 4},
            "total_tokens": 28,
        },
        "tool_usage": {"image_gen": TOOL_USAGE, "web_search": {"num_requests": 0}},
    }


def stream_reply(n: int, partials: int = 2) -> Reply:
    events = [
        {
            "type": "response.image_generation_call.partial_image",
            "sequence_number": k,
            "item_id": f"ig_{n}",
            "output_index": 1,
            "partial_image_index": k,
            "partial_image_b64": B64,
        }
        for k in range(partials)
    ]
    events.append(
        {"type": "response.completed", "sequence_number": partials, "response": response_body(n)}
    )
    return Reply(action="sse", events=[sse(e) for e in events])


def _mask_url() -> str:
    call = (
        imagewright.Client("k")
        .conversation("gpt-5")
        .compile(EditRequest(PHOTO, "x", mask=Mask.box((64, 48), (8, 8, 32, 24))))
    )
    url: str = call.params["tools"][0]["input_image_mask"]["image_url"]
    return url


def _user(text: str, *images: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
    content += [{"type": "input_image", "image_url": url} for url in images]
    return {"role": "user", "content": content}


FORCE = {"type": "image_generation"}


@dataclass
class Case:
    """Turns made by imagewright, and the same calls written by hand for the official SDK."""

    name: str
    conversation: dict[str, Any]
    turns: list[tuple[Any, dict[str, Any]]]
    theirs: Callable[[], list[dict[str, Any]]]
    stream: bool = False


CASES = [
    Case(
        "one-turn-all-tool-options",
        {
            "image": ImageOptions(
                model="gpt-image-2",
                action="generate",
                size="1536x864",
                quality="high",
                background="opaque",
                output_format="webp",
                output_compression=80,
                moderation="low",
                complexity="high",
            )
        },
        [('a lighthouse with the text "OPEN"', {})],
        lambda: [
            {
                "model": "gpt-5",
                "input": [_user('a lighthouse with the text "OPEN"')],
                "tools": [
                    {
                        "type": "image_generation",
                        "model": "gpt-image-2",
                        "action": "generate",
                        "size": "1536x864",
                        "quality": "high",
                        "background": "opaque",
                        "output_format": "webp",
                        "output_compression": 80,
                        "moderation": "low",
                        "complexity": "high",
                    }
                ],
                "tool_choice": FORCE,
            }
        ],
    ),
    Case(
        "three-turns-previous-response-id-and-mask",
        {"image": ImageOptions(quality="low"), "instructions": "Keep the style."},
        [
            (EditRequest(PHOTO, "put a lamp on the table"), {}),
            ("make the lamp red", {"mask": Mask.box((16, 16), (2, 2, 10, 10))}),
            ("add a cat", {"quality": "medium"}),
        ],
        lambda: [
            {
                "model": "gpt-5",
                "input": [_user("put a lamp on the table", PHOTO_URL)],
                "tools": [{"type": "image_generation", "quality": "low"}],
                "tool_choice": FORCE,
                "instructions": "Keep the style.",
            },
            {
                "model": "gpt-5",
                "input": [_user("make the lamp red")],
                "tools": [
                    {
                        "type": "image_generation",
                        "quality": "low",
                        "input_image_mask": {"image_url": _small_mask_url()},
                    }
                ],
                "tool_choice": FORCE,
                "instructions": "Keep the style.",
                "previous_response_id": "resp_0",
            },
            {
                "model": "gpt-5",
                "input": [_user("add a cat")],
                "tools": [{"type": "image_generation", "quality": "medium"}],
                "tool_choice": FORCE,
                "instructions": "Keep the style.",
                "previous_response_id": "resp_1",
            },
        ],
    ),
    Case(
        "store-false-replay",
        {"image": ImageOptions(quality="low"), "store": False},
        [("a kite", {}), ("make it blue", {})],
        lambda: [
            {
                "model": "gpt-5",
                "input": [_user("a kite")],
                "tools": [{"type": "image_generation", "quality": "low"}],
                "tool_choice": FORCE,
                "store": False,
                "include": ["reasoning.encrypted_content"],
            },
            {
                "model": "gpt-5",
                "input": [
                    _user("a kite"),
                    {"type": "reasoning", "id": "rs_0", "summary": [], "encrypted_content": "enc0"},
                    {
                        "type": "image_generation_call",
                        "id": "ig_0",
                        "status": "completed",
                        "result": B64,
                    },
                    {
                        "type": "message",
                        "id": "msg_0",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "output_text", "text": "done", "annotations": []}],
                    },
                    _user("make it blue"),
                ],
                "tools": [{"type": "image_generation", "quality": "low"}],
                "tool_choice": FORCE,
                "store": False,
                "include": ["reasoning.encrypted_content"],
            },
        ],
    ),
    Case(
        "conversation-id-and-tool-choice-auto",
        {"conversation": "conv_abc", "force_tool": False, "image": ImageOptions(size="auto")},
        [("a bridge", {})],
        lambda: [
            {
                "model": "gpt-5",
                "input": [_user("a bridge")],
                "tools": [{"type": "image_generation", "size": "auto"}],
                "conversation": "conv_abc",
            }
        ],
    ),
    Case(
        "streaming-with-partials",
        {"image": ImageOptions(quality="low", partial_images=2)},
        [("a boat", {}), ("stormy sea", {})],
        lambda: [
            {
                "model": "gpt-5",
                "input": [_user("a boat")],
                "tools": [{"type": "image_generation", "quality": "low", "partial_images": 2}],
                "tool_choice": FORCE,
                "stream": True,
            },
            {
                "model": "gpt-5",
                "input": [_user("stormy sea")],
                "tools": [{"type": "image_generation", "quality": "low", "partial_images": 2}],
                "tool_choice": FORCE,
                "previous_response_id": "resp_0",
                "stream": True,
            },
        ],
        stream=True,
    ),
]


def _small_mask_url() -> str:
    from imagewright._responses import data_url
    from imagewright.images import load_image
    from imagewright.masks import prepare_mask

    enc = prepare_mask(Mask.box((16, 16), (2, 2, 10, 10)), image=load_image(PNG))
    return data_url(enc)


def _push(capture: CaptureServer, n: int, stream: bool) -> None:
    capture.push(stream_reply(n) if stream else Reply(body=response_body(n)))


async def _ours(make_client: Any, capture: CaptureServer, case: Case) -> list[TurnResult]:
    client = make_client(api_key=KEY, base_url=capture.url, max_retries=0)
    conv = client.client.conversation("gpt-5", **case.conversation)
    out = []
    for n, (prompt, options) in enumerate(case.turns):
        _push(capture, n, case.stream)
        if case.stream:
            it = conv.stream(prompt, **options)
            events = [e async for e in it] if client.is_async else list(it)
            out.append(events[-1])
        else:
            result = conv.send(prompt, **options)
            out.append(await result if client.is_async else result)
    await client.close()
    return out


async def _theirs(kind: str, capture: CaptureServer, case: Case) -> None:
    bodies = case.theirs()
    if kind == "async":
        sdk_async = openai.AsyncOpenAI(api_key=KEY, base_url=capture.url, max_retries=0)
        for n, body in enumerate(bodies):
            _push(capture, n, case.stream)
            got = await sdk_async.responses.create(**body)
            if case.stream:
                events = [e async for e in got]  # type: ignore[union-attr]
                assert events[-1].type == "response.completed"
        await sdk_async.close()
        return
    sdk = openai.OpenAI(api_key=KEY, base_url=capture.url, max_retries=0)
    for n, body in enumerate(bodies):
        _push(capture, n, case.stream)
        got = sdk.responses.create(**body)
        if case.stream:
            events = list(got)  # type: ignore[call-overload]
            assert events[-1].type == "response.completed"
    sdk.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_same_turns_on_the_wire(case: Case, capture: CaptureServer, make_client: Any) -> None:
    results = await _ours(make_client, capture, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        await _theirs(make_client.kind, capture, case)
    ours, theirs = capture.requests[: len(case.turns)], capture.requests[len(case.turns) :]
    assert len(ours) == len(theirs) == len(case.turns)
    for a, b in zip(ours, theirs, strict=True):
        assert a.path == "/v1/responses"
        assert normalise(a) == normalise(b)
    for n, result in enumerate(results):
        assert result.response_id == f"resp_{n}"
        assert result.item_id == f"ig_{n}"
        assert result.revised_prompt == f"revised {n}"
        assert result.usage is not None
        assert result.usage.total_tokens == 246
        assert result.text_usage is not None
        assert result.text_usage.reasoning_tokens == 4
        assert result.output.data == PNG
        if case.stream:
            assert len(result.partial_images) == 2


async def test_moderation_blocked_item_raises_content_policy_error(
    capture: CaptureServer, make_client: Any
) -> None:
    body = response_body(0)
    body["output"][1] = {
        "type": "image_generation_call",
        "id": "ig_0",
        "status": "failed",
        "result": None,
        "error": {
            "code": "moderation_blocked",
            "message": "blocked",
            "param": None,
            "type": "image_generation_user_error",
            "moderation_details": {
                "categories": ["violence", "new-category"],
                "moderation_stage": "output",
            },
        },
    }
    capture.push(Reply(body=body))
    client = make_client(api_key=KEY, base_url=capture.url, max_retries=0)
    conv = client.client.conversation("gpt-5")

    async def send() -> None:
        result = conv.send("x")
        if client.is_async:
            await result

    with pytest.raises(imagewright.ContentPolicyError) as err:
        await send()
    assert err.value.categories == ["violence", "new-category"]
    assert err.value.moderation_stage == "output"
    assert len(capture.requests) == 1  # never retried
    await client.close()


def test_request_body_is_json_serialisable_and_compact() -> None:
    call = imagewright.Client("k").conversation("gpt-5").compile("a fox")
    assert json.loads(json.dumps(call.json_body())) == call.params
    assert _mask_url().startswith("data:image/png;base64,")


def test_azure_turn_matches_the_official_azure_client(capture: CaptureServer) -> None:
    endpoint = capture.url.removesuffix("/v1")
    capture.push(Reply(body=response_body(0)), Reply(body=response_body(0)))
    with imagewright.Client.azure(endpoint=endpoint, api_version="v1", api_key="az-key") as c:
        c.conversation("my-gpt5-deployment", image=ImageOptions(quality="low")).send("a fox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdk = openai.AzureOpenAI(azure_endpoint=endpoint, api_version="v1", api_key="az-key")
        sdk.responses.create(
            model="my-gpt5-deployment",
            input=[_user("a fox")],  # type: ignore[list-item]
            tools=[{"type": "image_generation", "quality": "low"}],
            tool_choice=FORCE,  # type: ignore[arg-type]
        )
    ours, theirs = capture.requests
    assert ours.path == "/openai/responses"
    assert normalise(ours) == normalise(theirs)
    assert ours.headers["api-key"] == theirs.headers["api-key"] == "az-key"
