"""Wire conformance: the official ``openai==3.51.0`` SDK against the sandbox server on 127.0.0.1.

The sandbox is only useful if the real SDK believes it: every answer must parse into the SDK's
own types, and every error must become the SDK's own exception with the right attributes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from PIL import Image

from imagewright.pricing import output_tokens
from imagewright.sandbox import SandboxServer
from imagewright.sandbox._usage import image_input_tokens


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(retry_after=0.01) as running:
        yield running


@pytest.fixture
def sdk(server: SandboxServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-sandbox", base_url=server.url, max_retries=0)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def picture(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


SOURCE = Image.fromarray(
    np.random.default_rng(1).integers(0, 256, (384, 512, 3), dtype=np.uint8), "RGB"
)


def file(name: str, image: Image.Image) -> tuple[str, bytes, str]:
    return (name, png(image), "image/png")


def test_generate_parses_into_images_response(sdk: openai.OpenAI) -> None:
    result = sdk.images.generate(
        model="gpt-image-2", prompt='"HELLO"', size="1536x1024", quality="low", n=2
    )
    assert isinstance(result, openai.types.ImagesResponse)
    assert (result.size, result.quality, result.output_format, result.background) == (
        "1536x1024",
        "low",
        "png",
        "opaque",
    )
    assert result.data is not None
    assert [picture(d.b64_json).size for d in result.data] == [(1536, 1024)] * 2
    assert result.usage is not None
    assert result.usage.output_tokens == 2 * output_tokens("gpt-image-2", 1536, 1024, "low")
    assert result.usage.input_tokens_details.text_tokens > 0


def test_edit_with_one_image_and_a_mask(sdk: openai.OpenAI) -> None:
    mask = Image.new("RGBA", SOURCE.size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 384))
    result = sdk.images.edit(
        model="gpt-image-2",
        prompt='say "HI"',
        image=file("a.png", SOURCE),
        mask=file("m.png", mask),
    )
    assert result.data is not None
    out = np.asarray(picture(result.data[0].b64_json).convert("RGB"))
    assert result.size == "512x384"
    assert (out[:, 256:] == np.asarray(SOURCE)[:, 256:]).all()
    assert (out[:, :256] != np.asarray(SOURCE)[:, :256]).any(axis=2).mean() > 0.9


def test_edit_with_three_images(sdk: openai.OpenAI, server: SandboxServer) -> None:
    images = [file(f"{i}.png", SOURCE) for i in range(3)]
    result = sdk.images.edit(
        model="gpt-image-2", prompt="combine", image=images, size="1024x1024", quality="low"
    )
    assert result.usage is not None
    assert result.usage.input_tokens_details.image_tokens == 3 * image_input_tokens(512, 384) == 765
    assert result.size == "1024x1024"
    # The SDK sent a list, so the parts are repeated image[] (the reference's section 4).
    assert result.data is not None
    assert picture(result.data[0].b64_json).size == (1024, 1024)


def test_streamed_generation_and_edit(sdk: openai.OpenAI) -> None:
    stream = sdk.images.generate(
        model="gpt-image-2", prompt="x", stream=True, partial_images=2, quality="low"
    )
    events = list(stream)
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + [
        "image_generation.completed"
    ]
    assert [getattr(e, "partial_image_index", None) for e in events] == [0, 1, None]
    done = events[-1]
    assert isinstance(done, openai.types.ImageGenCompletedEvent)
    assert done.usage.output_tokens == 196 + 200
    edits = list(
        sdk.images.edit(
            model="gpt-image-2",
            prompt="x",
            image=file("a.png", SOURCE),
            stream=True,
            partial_images=1,
        )
    )
    assert [type(e).__name__ for e in edits] == [
        "ImageEditPartialImageEvent",
        "ImageEditCompletedEvent",
    ]
    assert picture(edits[-1].b64_json).size == SOURCE.size


def test_validation_error_becomes_bad_request_error(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(model="gpt-image-2", prompt="x", size="1000x1000")
    assert (info.value.status_code, info.value.code, info.value.param) == (
        400,
        "invalid_value",
        "size",
    )
    assert info.value.request_id is not None
    assert str(info.value).startswith("Error code: 400 - Invalid value: '1000x1000'")


def test_unauthenticated_and_unknown_model(server: SandboxServer) -> None:
    locked = SandboxServer(api_key="only-this")
    with locked:
        wrong = openai.OpenAI(api_key="other", base_url=locked.url, max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.images.generate(model="gpt-image-2", prompt="x")
    sdk = openai.OpenAI(api_key="k", base_url=server.url, max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        sdk.images.generate(model="dall-e-3", prompt="x")
    assert info.value.code == "model_not_found"


def test_rate_limit_is_retried_then_raised(server: SandboxServer) -> None:
    sdk = openai.OpenAI(api_key="k", base_url=server.url, max_retries=2)
    with pytest.raises(openai.RateLimitError) as info:
        sdk.images.generate(
            model="gpt-image-2", prompt="x", extra_headers={"X-Sandbox-Fault": "429"}
        )
    assert info.value.code == "rate_limit_exceeded"
    retries = [r.headers.get("x-stainless-retry-count") for r in list(server.sandbox.history)[-3:]]
    assert retries == ["0", "1", "2"]


def test_script_fails_twice_then_succeeds_and_bills_once() -> None:
    with SandboxServer(faults=["500", "503", None]) as server:
        sdk = openai.OpenAI(api_key="k", base_url=server.url, max_retries=2)
        sdk = sdk.with_options(timeout=10)
        # 500/503 carry no retry-after, so the SDK backs off ~0.4 s then ~0.8 s.
        result = sdk.images.generate(model="gpt-image-2", prompt="x", quality="low")
        assert result.data is not None
        assert [r.status for r in server.sandbox.history] == [500, 503, 200]
        assert server.sandbox.billed_images == 1


def test_moderation_and_stream_error(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(
            model="gpt-image-2", prompt="x", extra_headers={"X-Sandbox-Fault": "moderation"}
        )
    assert info.value.code == "moderation_blocked"
    stream = sdk.images.generate(
        model="gpt-image-2",
        prompt="x",
        stream=True,
        partial_images=1,
        extra_headers={"X-Sandbox-Fault": "stream_error"},
    )
    with pytest.raises(openai.APIError) as streamed:
        list(stream)
    assert not isinstance(streamed.value, openai.APIStatusError)
    assert streamed.value.code == "server_error"


def test_dropped_and_stalled_connections(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        sdk.images.generate(
            model="gpt-image-2", prompt="x", extra_headers={"X-Sandbox-Fault": "reset_after"}
        )
    with pytest.raises(openai.APIConnectionError):
        sdk.images.generate(
            model="gpt-image-2", prompt="x", extra_headers={"X-Sandbox-Fault": "reset_before"}
        )
    with pytest.raises(openai.APITimeoutError):
        sdk.with_options(timeout=0.3).images.generate(
            model="gpt-image-2", prompt="x", extra_headers={"X-Sandbox-Fault": "stall"}
        )


async def test_async_sdk(server: SandboxServer) -> None:
    async with openai.AsyncOpenAI(api_key="k", base_url=server.url, max_retries=0) as sdk:
        result = await sdk.images.generate(
            model="gpt-image-2", prompt="x", quality="low", background="transparent"
        )
        assert result.background == "transparent"
        assert result.data is not None
        assert np.asarray(picture(result.data[0].b64_json).convert("RGBA"))[..., 3].min() == 0
        stream = await sdk.images.generate(
            model="gpt-image-2", prompt="x", stream=True, quality="low"
        )
        assert [e.type async for e in stream] == ["image_generation.completed"]
