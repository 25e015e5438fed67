"""The sandbox engine through its in-process httpx2 transport (sync and async): wire shapes,
validation, pictures, usage, idempotency and every fault mode."""

from __future__ import annotations

import base64
import io
import json
import threading
from typing import Any

import httpx2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from imagewright.errors import ValidationError
from imagewright.sandbox import Behaviour, Sandbox, SandboxTransport, _paint, _usage

AUTH = {"Authorization": "Bearer test-key"}
GEN = "/v1/images/generations"
EDIT = "/v1/images/edits"


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def client(sandbox: Sandbox, **kw: Any) -> httpx2.Client:
    return httpx2.Client(transport=SandboxTransport(sandbox), base_url="http://sandbox", **kw)


def generate(
    sandbox: Sandbox, headers: dict[str, str] | None = None, **body: Any
) -> httpx2.Response:
    body = {"model": "gpt-image-2", "prompt": "a lighthouse", "quality": "low", **body}
    with client(sandbox) as http:
        return http.post(GEN, json=body, headers={**AUTH, **(headers or {})})


def edit(
    sandbox: Sandbox,
    images: list[Image.Image],
    *,
    mask: Image.Image | None = None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx2.Response:
    data = {"model": "gpt-image-2", "prompt": 'put "OPEN" on the sign', "quality": "low", **fields}
    name = "image" if len(images) == 1 else "image[]"
    files = [(name, (f"{i}.png", png(im), "image/png")) for i, im in enumerate(images)]
    if mask is not None:
        files.append(("mask", ("mask.png", png(mask), "image/png")))
    with client(sandbox) as http:
        return http.post(
            EDIT,
            data={k: str(v) for k, v in data.items()},
            files=files,
            headers={**AUTH, **(headers or {})},
        )


def source(width: int = 1024, height: int = 1024) -> Image.Image:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), box)
    return mask


def error_of(response: httpx2.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


def sse_events(text: str) -> list[tuple[str, str]]:
    events = []
    for block in text.split("\n\n"):
        if block.strip():
            lines = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append((lines["event"], lines["data"]))
    return events


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"n": 0}, 400, "n", "integer_below_min_value"),
        ({"n": 11}, 400, "n", "integer_above_max_value"),
        ({"n": "2"}, 400, "n", "invalid_type"),
        ({"size": "1000x1000"}, 400, "size", "invalid_value"),
        ({"size": "512x512"}, 400, "size", "invalid_value"),
        ({"quality": "xhigh"}, 400, "quality", "invalid_value"),
        ({"quality": "hd"}, 400, "quality", "invalid_value"),
        (
            {"background": "transparent", "output_format": "jpeg"},
            400,
            "background",
            "invalid_value",
        ),
        ({"output_compression": 50}, 400, "output_compression", "unsupported_parameter"),
        ({"partial_images": 2}, 400, "partial_images", "unsupported_parameter"),
        ({"style": "vivid"}, 400, "style", "unsupported_parameter"),
        ({"response_format": "url"}, 400, "response_format", "unsupported_parameter"),
        ({"output_format": "gif"}, 400, "output_format", "feature_not_available"),
        ({"svg": {"model": "x"}}, 400, "svg", "unsupported_parameter"),
        ({"prompt": ""}, 400, "prompt", "empty_string"),
        ({"prompt": "x" * 32_001}, 400, "prompt", "string_above_max_length"),
        ({"prompt": None}, 400, "prompt", "missing_required_parameter"),
        ({"model": None}, 400, "model", "missing_required_parameter"),
        ({"model": "gpt-image-1"}, 404, "model", "model_not_found"),
        ({"model": "dall-e-3"}, 404, "model", "model_not_found"),
        ({"model": "no-such-model"}, 404, "model", "model_not_found"),
        ({"frobnicate": 1}, 400, "frobnicate", "unknown_parameter"),
    ],
)
def test_generation_is_validated_like_the_api(
    body: dict[str, Any], status: int, param: str, code: str
) -> None:
    sandbox = Sandbox()
    response = generate(sandbox, **body)
    assert response.status_code == status
    error = error_of(response)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert sandbox.billed_images == 0


def test_model_rules_come_from_the_model_table() -> None:
    sandbox = Sandbox()
    assert generate(sandbox, model="gpt-image-2.5-flare", quality="xhigh").status_code == 200
    assert generate(sandbox, model="gpt-image-1.5", size="1536x864").status_code == 400
    assert generate(sandbox, model="gpt-image-1.5", size="1536x1024").status_code == 200
    retired = error_of(generate(sandbox, model="gpt-image-1"))
    assert "2026-10-23" in retired["message"]
    assert "gpt-image-2.5" in retired["message"]


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"moderation": "low"}, "moderation", "unknown_parameter"),
        ({"input_fidelity": "high"}, "input_fidelity", "unsupported_parameter"),
        ({"n": "two"}, "n", "invalid_type"),
        ({"stream": "maybe"}, "stream", "invalid_type"),
    ],
)
def test_edit_fields_are_validated(fields: dict[str, Any], param: str, code: str) -> None:
    response = edit(Sandbox(), [source(256, 256)], size="1024x1024", **fields)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["param"], error["code"]) == (param, code)


def test_edit_files_are_validated() -> None:
    sandbox = Sandbox()
    image = source(256, 256)
    wrong_size = edit(sandbox, [image], mask=box_mask((128, 128), (0, 0, 10, 10)))
    assert (error_of(wrong_size)["param"], wrong_size.status_code) == ("mask", 400)
    assert "128x128" in error_of(wrong_size)["message"]
    no_alpha = edit(sandbox, [image], mask=Image.new("RGB", (256, 256)))
    assert error_of(no_alpha)["param"] == "mask"
    with client(sandbox) as http:
        raw = http.post(
            EDIT,
            data={"model": "gpt-image-2", "prompt": "x"},
            files={"image": png(image)},
            headers=AUTH,
        )
        missing = http.post(
            EDIT,
            data={"model": "gpt-image-2", "prompt": "x"},
            files={"mask": ("m.png", png(image), "image/png")},
            headers=AUTH,
        )
        json_edit = http.post(EDIT, json={"model": "gpt-image-2", "prompt": "x"}, headers=AUTH)
        markup = http.post(
            EDIT,
            data={"model": "gpt-image-2", "prompt": "x"},
            files=[
                ("image", ("a.png", png(image), "image/png")),
                ("markup", ("m.png", png(box_mask((256, 256), (0, 0, 9, 9))), "image/png")),
            ],
            headers=AUTH,
        )
    # Bare bytes go out as application/octet-stream, which the API refuses.
    assert (error_of(raw)["code"], error_of(raw)["param"]) == ("invalid_image_format", "image")
    assert "application/octet-stream" in error_of(raw)["message"]
    assert (error_of(missing)["code"], error_of(missing)["param"]) == (
        "missing_required_parameter",
        "image",
    )
    assert json_edit.status_code == 400
    assert error_of(markup)["param"] == "markup"
    assert sandbox.billed_images == 0


def test_authentication_routes_and_body_errors() -> None:
    sandbox = Sandbox(api_key="right-key")
    with client(sandbox) as http:
        body = {"model": "gpt-image-2", "prompt": "x"}
        missing = http.post(GEN, json=body)
        wrong = http.post(GEN, json=body, headers={"Authorization": "Bearer wrong-key-123"})
        right = http.post(
            "/images/generations", json=body, headers={"Authorization": "Bearer right-key"}
        )
        unknown = http.post(
            "/v1/images/nope", json=body, headers={"Authorization": "Bearer right-key"}
        )
        variations = http.post(
            "/v1/images/variations", json=body, headers={"Authorization": "Bearer right-key"}
        )
        method = http.get(GEN, headers={"Authorization": "Bearer right-key"})
        broken = http.post(
            GEN,
            content=b'{"model": ',
            headers={"Authorization": "Bearer right-key", "content-type": "application/json"},
        )
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert error_of(wrong)["code"] == "invalid_api_key"
    assert "wrong-key-123" not in wrong.text
    assert (unknown.status_code, variations.status_code, method.status_code) == (404, 404, 405)
    assert "no longer accepts requests" in error_of(variations)["message"]
    assert broken.status_code == 400
    assert "parse the JSON body" in error_of(broken)["message"]
    for response in (missing, wrong, right, unknown, method, broken):
        assert response.headers["x-imagewright-sandbox"] == "1"
        assert response.headers["x-request-id"].startswith("req_")
    assert all("authorization" not in record.headers for record in sandbox.history)
    assert "right-key" not in repr(sandbox.behaviour) + repr(list(sandbox.history))
    assert "right-key" not in repr(sandbox.plan("POST", GEN, {"Authorization": "Bearer right-key"}))


# -- answers and pictures ---------------------------------------------------------------------


def test_generation_answer_has_the_wire_shape() -> None:
    response = generate(
        Sandbox(), size="1536x1024", quality="medium", n=2, safety_identifier="user-1"
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "created",
        "background",
        "output_format",
        "quality",
        "size",
        "data",
        "usage",
        "safety_identifier",
    }
    assert (body["background"], body["output_format"], body["quality"], body["size"]) == (
        "opaque",
        "png",
        "medium",
        "1536x1024",
    )
    assert body["safety_identifier"] == "user-1"
    first, second = (decode(d["b64_json"]) for d in body["data"])
    assert first.size == (1536, 1024)
    assert first.tobytes() != second.tobytes()
    usage = body["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"]["text_tokens"] == usage["input_tokens"]


def test_same_request_gives_the_same_bytes() -> None:
    a, b = Sandbox(clock=lambda: 1_800_000_000), Sandbox(clock=lambda: 1_800_000_000)
    assert generate(a).content == generate(b).content
    assert generate(a).json()["data"] != generate(a, prompt="a different lighthouse").json()["data"]
    image = source(320, 320)
    mask = box_mask((320, 320), (50, 50, 200, 150))
    assert edit(a, [image], mask=mask).content == edit(b, [image], mask=mask).content


def test_quoted_text_is_drawn_legibly_in_the_middle() -> None:
    prompt = 'a poster that says "GRAND OPENING" and “Friday”'
    assert _paint.quoted_strings(prompt) == ["GRAND OPENING", "Friday"]
    body = generate(Sandbox(), prompt=prompt).json()
    drawn = np.asarray(decode(body["data"][0]["b64_json"]).convert("RGB")).astype(int)
    bare = np.asarray(
        _paint.paint_scene(prompt, 1024, 1024, index=0, transparent=False, texts=[]).convert("RGB")
    ).astype(int)
    changed = (drawn != bare).any(axis=2)
    ys, xs = np.nonzero(changed)
    # The text plates sit in the centre band, wide and dark-on-light.
    assert 0.3 * 1024 < ys.mean() < 0.7 * 1024
    assert xs.max() - xs.min() > 0.5 * 1024
    assert (drawn[changed] < 40).all(axis=1).mean() > 0.1


def test_wrong_text_changes_only_the_drawn_text() -> None:
    assert _paint.apply_typos("HELLO", 0.0, 1) == "HELLO"
    typo = _paint.apply_typos("HELLO", 0.2, 1)
    assert typo != "HELLO"
    assert sum(a != b for a, b in zip(typo, "HELLO", strict=True)) == 1
    right = generate(Sandbox(), prompt='sign "HELLO"').json()["data"][0]["b64_json"]
    wrong = generate(
        Sandbox(), prompt='sign "HELLO"', headers={"X-Sandbox-Wrong-Text": "0.2"}
    ).json()["data"][0]["b64_json"]
    assert right != wrong
    assert (
        generate(Sandbox(wrong_text=0.2), prompt='sign "HELLO"').json()["data"][0]["b64_json"]
        == wrong
    )


def test_every_image_has_the_corner_mark() -> None:
    image = np.asarray(decode(generate(Sandbox()).json()["data"][0]["b64_json"]).convert("RGB"))
    corner = image[-40:, -160:]
    assert ((corner == (255, 214, 0)).all(axis=2)).sum() > 20


def test_transparent_background_really_has_alpha() -> None:
    body = generate(Sandbox(), background="transparent", output_format="webp").json()
    assert body["background"] == "transparent"
    image = decode(body["data"][0]["b64_json"])
    assert image.format == "WEBP"
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    assert alpha[:50, :50].max() == 0
    assert alpha.max() == 255


@pytest.mark.parametrize(("fmt", "pil"), [("jpeg", "JPEG"), ("webp", "WEBP"), ("png", "PNG")])
def test_output_formats(fmt: str, pil: str) -> None:
    extra = {"output_compression": 40} if fmt != "png" else {}
    body = generate(Sandbox(), output_format=fmt, **extra).json()
    assert decode(body["data"][0]["b64_json"]).format == pil
    assert body["output_format"] == fmt


def test_masked_edit_changes_only_the_editable_area() -> None:
    image = source(512, 384)
    mask = box_mask(image.size, (100, 80, 300, 240))
    body = edit(Sandbox(), [image], mask=mask).json()
    out = np.asarray(decode(body["data"][0]["b64_json"]).convert("RGB"))
    editable = np.asarray(mask)[..., 3] == 0
    changed = (out != np.asarray(image)).any(axis=2)
    assert not changed[~editable].any()
    assert changed[editable].mean() > 0.9
    assert body["size"] == "512x384"
    assert body["usage"]["input_tokens_details"]["image_tokens"] == _usage.image_input_tokens(
        512, 384
    )


@pytest.mark.parametrize("via_header", [False, True])
def test_leakage_changes_the_configured_share_outside_the_mask(via_header: bool) -> None:
    image = source(256, 256)
    mask = box_mask(image.size, (64, 64, 128, 128))
    if via_header:
        response = edit(
            Sandbox(),
            [image],
            mask=mask,
            headers={"X-Sandbox-Leakage": "0.05", "X-Sandbox-Leakage-Delta": "9"},
        )
    else:
        response = edit(Sandbox(leakage=0.05, leakage_delta=9), [image], mask=mask)
    out = np.asarray(decode(response.json()["data"][0]["b64_json"]).convert("RGB")).astype(int)
    protected = np.asarray(mask)[..., 3] != 0
    diff = np.abs(out - np.asarray(image).astype(int))[protected]
    changed = diff.any(axis=1)
    assert changed.sum() == round(0.05 * protected.sum())
    assert set(np.unique(diff[changed])) == {9}


def test_edit_without_mask_changes_the_whole_picture() -> None:
    image = source(256, 256)
    out = np.asarray(decode(edit(Sandbox(), [image]).json()["data"][0]["b64_json"]).convert("RGB"))
    assert (out != np.asarray(image)).any(axis=2).mean() > 0.9


def test_edit_sizes_follow_the_input_or_the_request() -> None:
    image = source(600, 400)
    auto = edit(Sandbox(), [image]).json()
    assert auto["size"] == "600x400"
    assert decode(auto["data"][0]["b64_json"]).size == (600, 400)
    mask = box_mask(image.size, (0, 0, 300, 400))
    resized = edit(Sandbox(), [image], mask=mask, size="1536x1024").json()
    out = np.asarray(decode(resized["data"][0]["b64_json"]).convert("RGB"))
    expected = np.asarray(
        image.convert("RGBA").resize((1536, 1024), Image.Resampling.LANCZOS).convert("RGB")
    )
    assert out.shape == (1024, 1536, 3)
    assert (out[:, 800:] == expected[:, 800:]).all()
    assert (out[:, :760] != expected[:, :760]).any(axis=2).mean() > 0.9


def test_multi_image_edit_bills_input_tokens_per_image() -> None:
    images = [
        source(256, 256),
        Image.new("RGB", (256, 256), (255, 0, 0)),
        Image.new("RGB", (256, 256), (0, 0, 255)),
    ]
    one = edit(Sandbox(), images[:1]).json()["usage"]
    three = edit(Sandbox(), images).json()["usage"]
    per_image = _usage.image_input_tokens(256, 256)
    assert (
        three["input_tokens_details"]["image_tokens"]
        == 3 * per_image
        == 3 * one["input_tokens_details"]["image_tokens"]
    )


def test_usage_scales_with_size_and_quality() -> None:
    sandbox = Sandbox()
    out = {
        q: generate(sandbox, quality=q).json()["usage"]["output_tokens"]
        for q in ("low", "medium", "high")
    }
    assert out == {"low": 196, "medium": 1756, "high": 7024}
    wide = generate(sandbox, quality="high", size="1536x1024").json()["usage"]["output_tokens"]
    assert wide == 5488  # the guide's figure for 1536x1024 at high quality
    xhigh = generate(sandbox, model="gpt-image-2.5-sunburst", quality="xhigh").json()["usage"][
        "output_tokens"
    ]
    assert xhigh > out["high"]
    text = generate(sandbox, prompt="x" * 400).json()["usage"]["input_tokens_details"][
        "text_tokens"
    ]
    assert text == 100
    assert sandbox.billed_tokens > 0


@given(
    st.sampled_from(list(_usage.OUTPUT_TOKENS_1024)),
    st.integers(1, 60),
    st.integers(1, 60),
    st.integers(16, 64),
    st.integers(1, 64),
)
def test_output_tokens_grow_with_area_at_fixed_aspect(
    quality: str, a: int, b: int, unit: int, extra: int
) -> None:
    # sizes a*unit x b*unit and a*(unit+extra) x b*(unit+extra) have exactly the same aspect
    # (rounding a scaled size would move the aspect, and the estimate rightly follows it)
    w, h = a * unit, b * unit
    bigger = _usage.output_tokens(a * (unit + extra), b * (unit + extra), quality)
    assert bigger >= _usage.output_tokens(w, h, quality) - 1 >= 0
    assert _usage.image_input_tokens(w, h) >= 85 + 170


# -- streaming ----------------------------------------------------------------------------------


def test_streaming_sends_partials_then_completed_with_usage() -> None:
    response = generate(Sandbox(), stream=True, partial_images=3, n=2)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [(name, json.loads(data).get("partial_image_index")) for name, data in events]
    partials = [("image_generation.partial_image", i) for i in range(3)]
    assert kinds == [
        *partials,
        ("image_generation.completed", None),
        *partials,
        ("image_generation.completed", None),
    ]
    first_done, second_done = (json.loads(d) for n, d in events if n.endswith("completed"))
    assert set(first_done) == {
        "type",
        "b64_json",
        "background",
        "created_at",
        "output_format",
        "quality",
        "size",
        "usage",
    }
    assert first_done["usage"]["input_tokens"] > 0 == second_done["usage"]["input_tokens"]
    assert first_done["usage"]["output_tokens"] == 196 + 3 * _usage.PARTIAL_IMAGE_TOKENS
    assert "output_tokens_details" not in first_done["usage"]


def test_streamed_edit_uses_edit_event_types() -> None:
    response = edit(Sandbox(), [source(256, 256)], stream="true", partial_images="1")
    assert [name for name, _ in sse_events(response.text)] == [
        "image_edit.partial_image",
        "image_edit.completed",
    ]


# -- idempotency ----------------------------------------------------------------------------------


def test_idempotency_key_replays_without_billing() -> None:
    sandbox = Sandbox()
    key = {"Idempotency-Key": "abc"}
    first = generate(sandbox, headers=key)
    second = generate(sandbox, headers=key)
    assert first.content == second.content
    assert second.headers["idempotent-replayed"] == "true"
    assert (sandbox.billed_images, sandbox.replays, sandbox.requests) == (1, 1, 2)
    reused = generate(sandbox, headers=key, prompt="something else")
    assert error_of(reused)["code"] == "idempotency_key_reused"
    assert sandbox.billed_images == 1


def test_the_idempotency_store_is_bounded_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from imagewright.sandbox import _engine

    sandbox = Sandbox()
    one = len(generate(sandbox, headers={"Idempotency-Key": "k0"}).content)
    # Room for about two answers: big answers (2048x2048) must not pile up in memory.
    monkeypatch.setattr(_engine, "_IDEMPOTENCY_BYTES", int(one * 2.5))
    for i in range(1, 5):
        generate(sandbox, headers={"Idempotency-Key": f"k{i}"})
    assert sandbox._stored_bytes <= one * 2.5
    assert list(sandbox._stored) == ["k3", "k4"]
    # The newest still replays without billing; an evicted key is a new request.
    billed = sandbox.billed_images
    assert generate(sandbox, headers={"Idempotency-Key": "k4"}).headers["idempotent-replayed"]
    assert sandbox.billed_images == billed
    generate(sandbox, headers={"Idempotency-Key": "k0"})
    assert sandbox.billed_images == billed + 1


def test_concurrent_requests_with_one_key_bill_once() -> None:
    sandbox = Sandbox()
    threads = [
        threading.Thread(target=generate, args=(sandbox, {"Idempotency-Key": "same"}))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (
        sandbox.billed_images,
        sandbox.replays,
        sandbox.requests_by_endpoint["generations"],
    ) == (1, 3, 4)


# -- behaviour configuration -------------------------------------------------------------------


def test_behaviour_is_validated() -> None:
    with pytest.raises(ValidationError) as info:
        Behaviour(leakage=2.0, faults=("explode",), latency=(0.5, 0.1))
    assert set(info.value.params) == {"leakage", "faults", "latency"}
    bad = generate(Sandbox(), headers={"X-Sandbox-Fault": "explode"})
    assert (bad.status_code, error_of(bad)["code"]) == (400, "invalid_sandbox_header")


def test_fault_script_then_rates_are_deterministic() -> None:
    def statuses(sandbox: Sandbox, count: int) -> list[int]:
        return [
            generate(sandbox, headers={"X-Sandbox-Stall": "0"}).status_code for _ in range(count)
        ]

    assert statuses(Sandbox(faults=["429", "500", None, "503"], retry_after=0), 5) == [
        429,
        500,
        200,
        503,
        200,
    ]
    a = statuses(Sandbox(fault_rates={"500": 0.5}, seed=3), 12)
    assert a == statuses(Sandbox(fault_rates={"500": 0.5}, seed=3), 12)
    assert {500, 200} <= set(a)
    sandbox = Sandbox(faults=["500"])
    assert generate(sandbox, headers={"X-Sandbox-Fault": "none"}).status_code == 200
    assert sandbox.fault_script_left == ("500",)
    sandbox.configure(faults=["503"])
    assert generate(sandbox).status_code == 503


def test_latency_range_is_seeded() -> None:
    first = [Sandbox(latency=(0.1, 0.3), seed=5).plan("POST", GEN, {}).latency for _ in range(2)]
    sandbox = Sandbox(latency=(0.1, 0.3), seed=5)
    draws = [sandbox.plan("POST", GEN, {}).latency for _ in range(20)]
    assert first[0] == first[1] == draws[0]
    assert all(0.1 <= d <= 0.3 for d in draws)
    assert len(set(draws)) > 10


def test_markup_edit_changes_the_box_around_the_strokes() -> None:
    image = source(256, 256)
    markup = Image.new("RGBA", image.size, (0, 0, 0, 0))
    markup.paste((255, 0, 0, 255), (40, 50, 60, 52))
    markup.paste((255, 0, 0, 255), (100, 120, 102, 140))
    files = [
        ("image", ("a.png", png(image), "image/png")),
        ("markup", ("m.png", png(markup), "image/png")),
    ]
    with client(Sandbox()) as http:
        response = http.post(
            EDIT, data={"model": "gpt-image-2.5-flare", "prompt": "x"}, files=files, headers=AUTH
        )
    out = np.asarray(decode(response.json()["data"][0]["b64_json"]).convert("RGB"))
    changed = (out != np.asarray(image)).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (40, 50, 101, 139)


def test_form_svg_fields_and_jpeg_sources() -> None:
    sandbox = Sandbox()
    buffer = io.BytesIO()
    source(128, 128).save(buffer, "JPEG")
    files = [("image", ("a.jpg", buffer.getvalue(), "image/jpeg"))]
    with client(sandbox) as http:
        svg = http.post(
            EDIT,
            data={
                "model": "gpt-image-2",
                "prompt": "x",
                "output_format": "svg",
                "svg[model]": "m",
                "svg[reasoning][effort]": "low",
            },
            files=files,
            headers=AUTH,
        )
        ok = http.post(
            EDIT,
            data={"model": "gpt-image-2", "prompt": "x", "output_format": "webp"},
            files=files,
            headers=AUTH,
        )
    assert error_of(svg)["code"] == "feature_not_available"
    assert ok.status_code == 200
    assert decode(ok.json()["data"][0]["b64_json"]).size == (128, 128)


def test_transparent_source_keeps_its_transparency() -> None:
    image = Image.new("RGBA", (128, 128), (10, 200, 30, 0))
    mask = box_mask(image.size, (0, 0, 64, 64))
    body = edit(Sandbox(), [image], mask=mask).json()
    assert body["background"] == "transparent"
    alpha = np.asarray(decode(body["data"][0]["b64_json"]).convert("RGBA"))[..., 3]
    assert alpha[100:, 100:].max() == 0
