"""Client configuration, lifecycle, headers, Azure, streaming and error mapping, on both clients."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import httpx2
import pytest

import imagewright
from imagewright import EditRequest

from ._capture import (
    CaptureServer,
    Reply,
    error_body,
    images_response,
    sse,
    stream_events,
    tiny_png,
)
from .conftest import AnyClient

KEY = "sk-live-SECRET-0123456789"


# ---- configuration ----------------------------------------------------------------------------


async def test_env_vars_configure_the_client(
    make_client: Any, capture: CaptureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", capture.url)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-env")
    client = make_client()
    await client.generate("x", model="gpt-image-2")
    await client.close()
    h = capture.requests[0].headers
    assert h["authorization"] == "Bearer sk-from-env"
    assert h["openai-organization"] == "org-env"
    assert h["openai-project"] == "proj-env"
    assert h["user-agent"] == f"imagewright/{imagewright.__version__}"


async def test_arguments_win_over_env(
    make_client: Any, capture: CaptureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    client = make_client(api_key="sk-arg", base_url=capture.url, organization="org-arg")
    await client.generate("x", model="gpt-image-2")
    await client.close()
    h = capture.requests[0].headers
    assert h["authorization"] == "Bearer sk-arg"
    assert h["openai-organization"] == "org-arg"
    assert "openai-project" not in h


async def test_missing_key_is_a_clear_error_before_sending(
    make_client: Any, capture: CaptureServer
) -> None:
    client = make_client(base_url=capture.url)
    with pytest.raises(imagewright.ConfigurationError, match="OPENAI_API_KEY"):
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert capture.requests == []


async def test_default_model_and_per_call_model(make_client: Any, capture: CaptureServer) -> None:
    client = make_client(api_key="k", base_url=capture.url, default_model="gpt-image-1.5")
    await client.generate("x")
    await client.generate("x", model="gpt-image-2")
    await client.close()
    assert [r.json()["model"] for r in capture.requests] == ["gpt-image-1.5", "gpt-image-2"]


async def test_one_default_model_live_and_on_the_sandbox(
    make_client: Any, capture: CaptureServer
) -> None:
    """The README's offline snippet runs unchanged with a key: both default to gpt-image-2."""
    live = make_client(api_key="k", base_url=capture.url)
    sandbox = make_client.sandbox()
    await live.generate('A sign that says "OPEN"', size="1024x1024")
    result = await sandbox.generate('A sign that says "OPEN"', size="1024x1024")
    await live.close()
    await sandbox.close()
    assert capture.requests[0].json()["model"] == "gpt-image-2"
    assert result.model == "gpt-image-2"
    assert live.client.default_model == sandbox.client.default_model == "gpt-image-2"


def test_default_timeout_is_sized_for_slow_images() -> None:
    client = imagewright.Client("k")
    assert client.settings.timeout.read == 600
    assert client.settings.timeout.connect == 5
    assert client.settings.max_retries == 2


async def test_per_call_timeout_reaches_the_request(
    make_client: Any, capture: CaptureServer
) -> None:
    client = make_client(api_key="k", base_url=capture.url)
    await client.generate("x", model="gpt-image-2", timeout=42)
    await client.generate("x", model="gpt-image-2")
    await client.close()
    assert [r.headers["x-imagewright-read-timeout"] for r in capture.requests] == ["42", "600"]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(imagewright.ConfigurationError, match="max_retries"):
        imagewright.Client("k", max_retries=-1)
    with pytest.raises(imagewright.ConfigurationError, match="timeout"):
        imagewright.Client("k", timeout=0)


async def test_with_options_returns_a_configured_copy(
    make_client: Any, capture: CaptureServer
) -> None:
    client = make_client(api_key="k", base_url=capture.url)
    fast = client.client.with_options(max_retries=0, default_model="gpt-image-1.5", timeout=7)
    assert fast.settings.max_retries == 0
    assert client.client.settings.max_retries == 2
    assert fast.http is client.client.http  # one shared connection pool
    copy = type(client)(fast)
    await copy.generate("x")
    await client.close()
    assert capture.requests[0].json()["model"] == "gpt-image-1.5"
    with pytest.raises(TypeError, match="nonsense"):
        client.client.with_options(nonsense=1)


def test_injected_http_client_is_never_closed() -> None:
    http = httpx2.Client()
    with imagewright.Client("k", http_client=http) as client:
        assert client.http is http
    assert not http.is_closed
    http.close()


async def test_async_injected_http_client_is_never_closed() -> None:
    http = httpx2.AsyncClient()
    async with imagewright.AsyncClient("k", http_client=http) as client:
        assert client.http is http
    assert not http.is_closed
    await http.aclose()


def test_own_http_client_is_closed() -> None:
    with imagewright.Client("k") as client:
        http = client.http
    assert http.is_closed


# ---- the key never leaks --------------------------------------------------------------------


async def test_key_never_in_repr_logs_or_errors(
    make_client: Any, capture: CaptureServer, caplog: pytest.LogCaptureFixture
) -> None:
    capture.push(Reply(401, {}, error_body("Incorrect API key provided")))
    client = make_client(api_key=KEY, base_url=capture.url, max_retries=0)
    with caplog.at_level(logging.DEBUG), pytest.raises(imagewright.AuthenticationError) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    err = info.value
    texts = [
        repr(client.client),
        repr(client.client.settings),
        str(err),
        repr(err),
        repr(err.body),
        caplog.text,
    ]
    call = client.client.compile_generate("x", model="gpt-image-2")
    texts += [repr(call), call.to_curl()]
    for text in texts:
        assert KEY not in text
    assert "$OPENAI_API_KEY" in call.to_curl()
    # httpx masks Authorization in a repr of headers, so read the header values themselves.
    assert capture.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    for request in (err.request, err.response.request):
        assert "authorization" not in request.headers
        assert not any(KEY in value for value in request.headers.values())


# ---- Azure ----------------------------------------------------------------------------------


async def test_azure_rewrites_the_path_and_uses_api_key(
    capture: CaptureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    endpoint = capture.url.removesuffix("/v1")
    client = imagewright.Client.azure(
        endpoint=endpoint, api_version="2026-10-01", deployment="img-dep"
    )
    client.generate("x", model="gpt-image-2")
    client.edit(EditRequest(tiny_png((32, 32)), "y"), model="gpt-image-2")
    client.close()
    gen, ed = capture.requests
    assert gen.path == "/openai/deployments/img-dep/images/generations"
    assert ed.path == "/openai/deployments/img-dep/images/edits"
    assert gen.query == {"api-version": ["2026-10-01"]}
    assert gen.headers["api-key"] == "azure-key"
    assert "authorization" not in gen.headers


async def test_azure_bearer_token_and_model_as_deployment(capture: CaptureServer) -> None:
    endpoint = capture.url.removesuffix("/v1")
    client = imagewright.AsyncClient.azure(
        endpoint=endpoint, api_version="v1", azure_ad_token="tok"
    )
    await client.generate("x", model="gpt-image-2")
    await client.aclose()
    req = capture.requests[0]
    assert req.path == "/openai/deployments/gpt-image-2/images/generations"
    assert req.headers["authorization"] == "Bearer tok"


def test_azure_missing_key_names_the_azure_variable() -> None:
    client = imagewright.Client.azure(endpoint="https://x.openai.azure.com", api_version="v1")
    with pytest.raises(imagewright.ConfigurationError, match="AZURE_OPENAI_API_KEY"):
        client.generate("x", model="gpt-image-2")


# ---- results and errors --------------------------------------------------------------------


async def test_result_carries_effective_values(make_client: Any, capture: CaptureServer) -> None:
    body = images_response(n=2, size=(24, 16))
    body["quality"] = "high"
    capture.push(Reply(body=body, headers={"x-request-id": "req_abc"}))
    client = make_client(api_key="k", base_url=capture.url)
    result = await client.generate("a fox", model="gpt-image-2", n=2, quality="auto")
    await client.close()
    assert len(result.outputs) == 2
    assert result.output.size == (24, 16)
    assert result.output.image.size == (24, 16)
    assert (result.size, result.quality, result.output_format) == ("24x16", "high", "png")
    assert result.request_id == "req_abc"
    assert result.usage is not None
    assert result.usage.input_tokens_details.text_tokens == 10
    assert result.prompt_text == "a fox"
    assert result.call.params["quality"] == "auto"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, imagewright.BadRequestError),
        (401, imagewright.AuthenticationError),
        (403, imagewright.PermissionDeniedError),
        (404, imagewright.NotFoundError),
        (422, imagewright.UnprocessableEntityError),
        (413, imagewright.APIStatusError),
    ],
)
async def test_status_errors_are_typed(
    make_client: Any, capture: CaptureServer, status: int, cls: type
) -> None:
    capture.push(
        Reply(status, {"x-request-id": "req_e"}, error_body("nope", code="c1", param="size"))
    )
    client = make_client(api_key="k", base_url=capture.url, max_retries=0)
    with pytest.raises(cls) as info:
        await client.generate("x", model="gpt-image-2")
    await client.close()
    err = info.value
    assert type(err) is cls
    assert (err.status_code, err.code, err.param, err.type, err.request_id) == (
        status,
        "c1",
        "size",
        "invalid_request_error",
        "req_e",
    )
    assert err.body == error_body("nope", code="c1", param="size")["error"]


async def test_malformed_json_is_a_response_validation_error(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(Reply(200, {}, b"{not json"))
    client = make_client(api_key="k", base_url=capture.url)
    with pytest.raises(imagewright.APIResponseValidationError):
        await client.generate("x", model="gpt-image-2")
    await client.close()
    assert len(capture.requests) == 1  # a 200 was billed: never retried


async def test_empty_success_is_an_error_not_an_empty_result(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(Reply(body={"created": 1, "data": []}))
    client = make_client(api_key="k", base_url=capture.url)
    with pytest.raises(imagewright.APIResponseValidationError, match="without any image"):
        await client.generate("x", model="gpt-image-2")
    await client.close()


# ---- streaming --------------------------------------------------------------------------------


async def test_stream_yields_partials_then_the_result(
    make_client: Any, capture: CaptureServer
) -> None:
    client = make_client(api_key="k", base_url=capture.url)
    events = await client.stream("stream_generate", "x", model="gpt-image-2", partial_images=2)
    await client.close()
    assert [type(e).__name__ for e in events] == ["PartialImage", "PartialImage", "Result"]
    assert [e.index for e in events[:2]] == [0, 1]
    result = events[-1]
    assert result.partial_images == tuple(events[:2])
    assert result.usage.total_tokens == 246
    assert capture.requests[0].json()["stream"] is True


async def test_stream_edit_multipart_carries_stream_true(
    make_client: Any, capture: CaptureServer, image_files: list[Path]
) -> None:
    client = make_client(api_key="k", base_url=capture.url)
    events = await client.stream(
        "stream_edit", EditRequest(image_files[0], "x"), model="gpt-image-2"
    )
    await client.close()
    assert isinstance(events[-1], imagewright.Result)
    fields = {p["name"]: p["content"] for p in capture.requests[0].parts()}
    assert fields["stream"] == b"true"


async def test_error_event_inside_the_stream_raises(
    make_client: Any, capture: CaptureServer
) -> None:
    events = stream_events("image_generation", partials=1)[:1]
    events.append(b'data: {"error": {"message": "generation failed", "code": "server_error"}}\n\n')
    capture.push(Reply(action="sse", events=events))
    client = make_client(api_key="k", base_url=capture.url)
    with pytest.raises(imagewright.StreamError, match="generation failed") as info:
        await client.stream("stream_generate", "x", model="gpt-image-2", partial_images=1)
    await client.close()
    assert info.value.code == "server_error"


async def test_partial_is_never_taken_for_the_final_image(
    make_client: Any, capture: CaptureServer
) -> None:
    capture.push(Reply(action="sse", events=stream_events("image_generation", partials=2)[:2]))
    client = make_client(api_key="k", base_url=capture.url)
    with pytest.raises(
        imagewright.APIResponseValidationError, match="before the completed event"
    ) as info:
        await client.stream("stream_generate", "x", model="gpt-image-2", partial_images=2)
    await client.close()
    assert len(info.value.partial_images) == 2  # what was paid for is kept on the error


async def test_malformed_sse_raises(make_client: Any, capture: CaptureServer) -> None:
    capture.push(Reply(action="sse", events=[b"data: {broken\n\n"]))
    client = make_client(api_key="k", base_url=capture.url)
    with pytest.raises(imagewright.APIResponseValidationError, match="malformed"):
        await client.stream("stream_generate", "x", model="gpt-image-2")
    await client.close()


async def test_a_last_event_without_its_blank_line_still_ends_in_the_result(
    make_client: Any, capture: CaptureServer
) -> None:
    events = stream_events("image_generation", partials=1)
    events[-1] = events[-1].rstrip(b"\n")  # the server closed right after the data line
    capture.push(Reply(action="sse", events=events))
    client = make_client(api_key="k", base_url=capture.url)
    got = await client.stream("stream_generate", "x", model="gpt-image-2", partial_images=1)
    await client.close()
    assert [type(e).__name__ for e in got] == ["PartialImage", "Result"]
    assert got[-1].output.size == (16, 16)
    assert got[-1].usage.total_tokens == 246


async def test_stream_with_done_marker_and_n_2(make_client: Any, capture: CaptureServer) -> None:
    b64 = base64.b64encode(tiny_png()).decode()
    done = {
        "type": "image_generation.completed",
        "b64_json": b64,
        "output_format": "png",
        "size": "16x16",
        "quality": "low",
        "background": "opaque",
        "created_at": 5,
        "usage": {
            "input_tokens": 1,
            "output_tokens": 2,
            "total_tokens": 3,
            "input_tokens_details": {"text_tokens": 1, "image_tokens": 0},
        },
    }
    capture.push(Reply(action="sse", events=[sse(done), sse(done), b"data: [DONE]\n\n"]))
    client = make_client(api_key="k", base_url=capture.url)
    events = await client.stream("stream_generate", "x", model="gpt-image-2", n=2)
    await client.close()
    (result,) = events
    assert len(result.outputs) == 2
    assert result.usage.total_tokens == 6


def test_stream_validation_errors_raise_eagerly() -> None:
    client = imagewright.Client("k")
    with pytest.raises(imagewright.ValidationError, match="stream"):
        client.stream_generate("x", model="gpt-image-2", output_format="gif")


def test_api_call_repr_and_json() -> None:
    call = imagewright.Client("k").compile_generate(
        "x" * 100, model="gpt-image-2", size="1024x1024"
    )
    assert "..." in repr(call)
    assert json.loads(json.dumps(call.json_body())) == call.json_body()


async def test_a_failing_finish_step_never_loses_the_paid_image(make_client: Any) -> None:
    class Brittle:
        def compile(self) -> str:
            return "a fox"

        def finish(self, image: Any) -> Any:
            raise RuntimeError("font vanished")

    client = make_client.sandbox()
    with pytest.warns(imagewright.FinishWarning, match="font vanished"):
        result = await client.generate(Brittle(), quality="low", size="1024x1024")
    await client.close()
    assert result.output.size == (1024, 1024)
    assert result.output.raw is None  # returned exactly as the API sent it


# ---- found in review ----------------------------------------------------------------------------


async def test_an_abandoned_stream_counts_as_paid_and_closes(make_client: Any) -> None:
    client = make_client.sandbox(budget=1.0)
    it = client.client.stream_generate("x", quality="high", size="1024x1024", partial_images=2)
    if client.is_async:
        async for _event in it:
            break
        await it.aclose()
    else:
        for _event in it:
            break
        it.close()
    budget = client.client.budget
    await client.close()
    assert client.client.sandbox_engine.requests == 1
    assert budget.pending_usd == 0
    assert budget.spent_usd > 0.15  # the server may have made the image: it is counted


async def test_a_stream_never_iterated_sends_and_reserves_nothing(make_client: Any) -> None:
    client = make_client.sandbox(budget=1.0)
    client.client.stream_generate("x", quality="high")
    await client.close()
    assert client.client.sandbox_engine.requests == 0
    assert client.client.budget.pending_usd == 0


def test_send_stream_refuses_a_call_not_compiled_for_streaming() -> None:
    client = imagewright.Client.sandbox()
    gif = client.compile_generate("p", output_format="gif", frame_count=4)
    with pytest.raises(ValueError, match="not compiled for streaming"):
        client.send_stream(gif)
    with pytest.raises(imagewright.ValidationError, match="stream"):
        gif.with_params(stream=True)  # changing a call re-validates it
    client.close()


def test_unknown_and_legacy_options_are_refused() -> None:
    client = imagewright.Client.sandbox()
    with pytest.raises(TypeError, match="qualty"):
        client.compile_generate("p", qualty="high")  # type: ignore[call-arg]
    with pytest.raises(imagewright.ValidationError, match="style"):
        client.compile_generate("p", style="vivid")  # type: ignore[call-arg]
    with pytest.raises(imagewright.ValidationError, match="shut down"):
        client.compile_generate("p", extra_body={"model": "gpt-image-1"})
    client.close()


def test_partial_images_zero_without_stream_is_harmless() -> None:
    call = imagewright.Client("k").compile_generate("p", model="gpt-image-2", partial_images=0)
    assert call.params["partial_images"] == 0


@pytest.mark.parametrize("cls", [imagewright.Client, imagewright.AsyncClient])
async def test_azure_key_is_scrubbed_from_errors_and_budget_works(
    capture: CaptureServer, cls: Any
) -> None:
    capture.push(Reply(400, {}, error_body("bad")))
    endpoint = capture.url.removesuffix("/v1")
    client = cls.azure(
        endpoint=endpoint, api_version="v1", deployment="d", api_key="AZURE-SECRET-KEY", budget=2.0
    )
    assert client.budget is not None
    any_client = AnyClient(client)
    with pytest.raises(imagewright.BadRequestError) as info:
        await any_client.generate("x", model="gpt-image-2", max_retries=0)
    await any_client.close()
    assert capture.requests[0].headers["api-key"] == "AZURE-SECRET-KEY"  # it was sent
    err = info.value
    for request in (err.request, err.response.request):
        assert "api-key" not in request.headers
        assert not any("AZURE-SECRET-KEY" in value for value in request.headers.values())
    assert "AZURE-SECRET-KEY" not in repr(vars(err))


def test_with_options_base_url_trailing_slash() -> None:
    client = imagewright.Client("k").with_options(base_url="https://example.com/v1/")
    assert (
        client.settings.url_for("/images/edits", None)[0] == "https://example.com/v1/images/edits"
    )


async def test_stream_error_keeps_partials_and_bad_base64_is_typed(
    make_client: Any, capture: CaptureServer
) -> None:
    events = stream_events("image_generation", partials=2)[:2]
    events.append(b'data: {"error": {"message": "boom", "code": "server_error"}}\n\n')
    capture.push(
        Reply(action="sse", events=events),
        Reply(
            action="sse",
            events=[sse({"type": "image_generation.partial_image", "b64_json": "!!!"})],
        ),
    )
    client = make_client(api_key="k", base_url=capture.url)
    with pytest.raises(imagewright.StreamError) as info:
        await client.stream("stream_generate", "x", model="gpt-image-2", partial_images=2)
    assert len(info.value.partial_images) == 2
    with pytest.raises(imagewright.APIResponseValidationError, match="base64"):
        await client.stream("stream_generate", "x", model="gpt-image-2", partial_images=1)
    await client.close()


def test_a_sync_http_client_is_refused_by_the_async_client() -> None:
    http = httpx2.Client()
    with pytest.raises(imagewright.ConfigurationError, match=r"httpx2\.AsyncClient, got httpx2"):
        imagewright.AsyncClient("k", http_client=http)
    http.close()


def test_every_setting_is_a_client_keyword_and_a_with_options_change() -> None:
    import inspect

    from imagewright.settings import Settings

    names = Settings.names()
    assert "api_key" in names
    assert "default_model" in names
    assert "azure" not in names
    for cls in (imagewright.Client, imagewright.AsyncClient):
        assert set(names) <= set(inspect.signature(cls).parameters)
    client = imagewright.Client("k")
    copy = client.with_options(**{n: getattr(client.settings, n) for n in names if n != "api_key"})
    assert copy.settings.base_url == client.settings.base_url
    with pytest.raises(TypeError, match="the settings are: api_key, base_url"):
        client.with_options(retries=3)


async def test_a_white_editable_mask_image_is_sent_transparent_exactly_where_white(
    make_client: Any, capture: CaptureServer
) -> None:
    import io

    import numpy as np
    from PIL import Image

    white = Image.new("L", (64, 48), 0)
    white.paste(255, (8, 4, 40, 30))
    client = make_client(api_key="k", base_url=capture.url)
    await client.edit(
        EditRequest(tiny_png((64, 48)), "x", mask=white, editable="white"), model="gpt-image-2"
    )
    await client.close()
    (mask,) = [p for p in capture.requests[0].parts() if p["name"] == "mask"]
    alpha = np.asarray(Image.open(io.BytesIO(mask["content"])).convert("RGBA"))[..., 3]
    assert ((alpha == 0) == (np.asarray(white) == 255)).all()
    assert set(np.unique(alpha)) == {0, 255}


async def test_a_negative_per_call_max_retries_is_refused_before_sending(
    make_client: Any, capture: CaptureServer
) -> None:
    client = make_client(api_key="k", base_url=capture.url)
    with pytest.raises(imagewright.ConfigurationError, match="max_retries must be a non-negative"):
        await client.generate("x", model="gpt-image-2", max_retries=-1)
    await client.close()
    assert capture.requests == []
