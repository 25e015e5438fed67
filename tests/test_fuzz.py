"""Fuzzing the input side: what compile raises, what it sends, and what the sandbox answers.

Three properties, each over hypothesis-generated inputs:

1. compile raises nothing but ``ValidationError`` (``ImageInputError`` and ``MaskError``
   are subclasses) for any option values, prompts, masks, layouts and image bytes;
2. whatever compiles is accepted by the sandbox's independent validator (the API's rules),
   so imagewright never sends a request the API would reject for a reason imagewright checks;
3. the sandbox never crashes on any body: it answers 4xx with the API's error shape.

``FUZZ_EXAMPLES`` (environment) raises the example count for a longer run.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from typing import Any

import httpx2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imagewright import EditRequest, Layout, Mask
from imagewright._compile import compile_edit, compile_generate
from imagewright.calls import ApiCall
from imagewright.errors import ImageInputError, ValidationError
from imagewright.images import load_image
from imagewright.sandbox import Sandbox, SandboxTransport
from imagewright.sandbox._protocol import Refusal
from imagewright.sandbox._validate import parse_request

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MODELS = ["gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-1.5", "gpt-image-1-mini"]
# Values near and on every boundary the API has, plus junk of the wrong type.
ints = st.one_of(st.integers(-3, 20), st.sampled_from([0, 1, 2, 3, 9, 10, 11, 16, 100, 101]))
junk = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True), st.text(max_size=8))
sizes = st.one_of(
    st.sampled_from(["auto", "1024x1024", "1536x1024", "1024x1536", "256x256", "3840x2160"]),
    st.builds(lambda w, h: f"{w}x{h}", st.integers(0, 5000), st.integers(0, 5000)),
    st.text(max_size=12),
)
OPTIONS: dict[str, Any] = {
    "size": sizes,
    "quality": st.sampled_from(["low", "medium", "high", "xhigh", "max", "auto", "hd", "ultra"]),
    "background": st.sampled_from(["transparent", "opaque", "auto", "clear"]),
    "output_format": st.sampled_from(["png", "jpeg", "webp", "gif", "svg", "bmp"]),
    "output_compression": ints,
    "n": ints,
    "partial_images": ints,
    "stream": st.booleans(),
    "moderation": st.sampled_from(["low", "auto", "none"]),
    "complexity": st.sampled_from(["low", "medium", "high", "extreme"]),
    "safety_identifier": st.text(max_size=20),
}
options = st.fixed_dictionaries({}, optional={k: st.one_of(v, junk) for k, v in OPTIONS.items()})
prompts = st.one_of(st.text(max_size=60), st.just(""), st.just("x" * 32_001))

# A refusal that is not imagewright's to make: preview-only output formats the sandbox does
# not paint (their parameters are still validated first).
NOT_OURS = {"feature_not_available"}


def _wire(call: ApiCall) -> tuple[str, bytes]:
    request = httpx2.Request("POST", "http://sandbox/v1/" + call.endpoint, **call.to_httpx())
    return request.headers["content-type"], request.read()


def _sandbox_accepts(call: ApiCall, source: bytes | None = None) -> None:
    endpoint = call.endpoint.rsplit("/", 1)[-1]
    ctype, body = _wire(call)
    try:
        parse_request(endpoint, ctype, body)
    except Refusal as exc:
        refusal: Refusal | None = exc
    else:
        refusal = None
    if refusal is not None:
        if source is not None and "could not be decoded" in refusal.message:
            # Damaged pixel data inside an intact file is found only by a full decode, which
            # imagewright does on request (``verify=True``; the API refuses it unbilled).
            with pytest.raises(ImageInputError):
                load_image(source, verify=True)
            return
        assert refusal.code in NOT_OURS, (
            f"imagewright compiled a call the API refuses: {refusal.status} {refusal.code} "
            f"({refusal.param}): {refusal.message}\n{call.params}"
        )


def _quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@FUZZ
@given(model=st.sampled_from(MODELS), prompt=prompts, opts=options)
def test_generate_compiles_or_raises_validation_error_and_the_api_accepts_it(
    model: str, prompt: str, opts: dict[str, Any]
) -> None:
    try:
        call = _quiet(compile_generate, prompt, model=model, **opts)
    except ValidationError as exc:
        problems = exc.problems
    else:
        _sandbox_accepts(call)
        return
    assert problems  # every refusal names what was wrong


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


image_sizes = st.tuples(st.integers(1, 48), st.integers(1, 48))
edit_opts = st.fixed_dictionaries(
    {},
    optional={
        k: st.one_of(v, junk)
        for k, v in OPTIONS.items()
        if k in ("size", "quality", "background", "output_format", "n", "input_fidelity")
    },
)


@st.composite
def masks(draw: st.DrawFn, size: tuple[int, int]) -> Any:
    w, h = size
    kind = draw(st.sampled_from(["box", "ellipse", "polygon", "array", "alpha_png", "bytes"]))
    coords = st.integers(-10, 60)
    # Constructors are called later, inside the test's ``try``: they may refuse (MaskError).
    if kind == "box":
        box = [draw(coords) for _ in range(4)]
        return lambda: Mask.box(size, box)
    if kind == "ellipse":
        box = [draw(coords) for _ in range(4)]
        return lambda: Mask.ellipse(size, box)
    if kind == "polygon":
        points = draw(st.lists(st.tuples(coords, coords), max_size=6))
        return lambda: Mask.polygon(size, points)
    if kind == "array":
        mw, mh = draw(image_sizes) if draw(st.booleans()) else (w, h)
        return np.asarray(
            draw(st.lists(st.booleans(), min_size=mw * mh, max_size=mw * mh))
        ).reshape(mh, mw)
    if kind == "alpha_png":
        alpha = draw(st.sampled_from([0, 128, 255]))
        return _png(np.full((h, w, 4), alpha, dtype=np.uint8))
    return draw(st.binary(max_size=64))


@st.composite
def images(draw: st.DrawFn) -> bytes:
    """Valid PNGs, valid ones cut or corrupted at random points, and random bytes."""
    w, h = draw(image_sizes)
    data = _png(np.full((h, w, 3), draw(st.integers(0, 255)), dtype=np.uint8))
    how = draw(st.sampled_from(["valid", "cut", "flip", "random"]))
    if how == "cut":
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip":
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
    if how == "random":
        return draw(st.binary(max_size=200))
    return data


@FUZZ
@given(
    model=st.sampled_from(MODELS),
    data=st.data(),
    first=images(),
    prompt=prompts,
    opts=edit_opts,
)
def test_edit_compiles_or_raises_validation_error_and_the_api_accepts_it(
    model: str, data: st.DataObject, first: bytes, prompt: str, opts: dict[str, Any]
) -> None:
    size = (16, 16)
    try:
        with Image.open(io.BytesIO(first)) as im:
            size = im.size
    except Exception:
        pass
    mask = data.draw(st.one_of(st.none(), masks(size)))
    try:
        request = EditRequest(
            images=[first], prompt=prompt, mask=mask() if callable(mask) else mask
        )
        call = _quiet(compile_edit, request, model=model, **opts)
    except ValidationError as exc:
        problems = exc.problems
    else:
        _sandbox_accepts(call, first)
        return
    assert problems


@FUZZ
@given(
    preset=st.sampled_from(["poster", "square_post", "story", "banner"]),
    title=st.text(max_size=40),
    model=st.sampled_from(MODELS),
)
def test_layouts_compile_or_raise_validation_error(preset: str, title: str, model: str) -> None:
    try:
        layout = _quiet(getattr(Layout, preset), title=title)
        call = _quiet(compile_generate, layout, model=model, quality="low")
    except ValidationError:
        return
    except TypeError:
        return  # a preset without a title= keyword: not a fuzz target
    _sandbox_accepts(call)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
bodies = st.one_of(
    st.dictionaries(
        st.sampled_from([*OPTIONS, "prompt", "model", "svg", "image", "mask", "x"]),
        json_values,
        max_size=8,
    ).map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=300),
)


@FUZZ
@given(
    endpoint=st.sampled_from(["generations", "edits"]),
    ctype=st.sampled_from(
        ["application/json", "multipart/form-data; boundary=xyz", "text/plain", ""]
    ),
    body=bodies,
)
def test_the_sandbox_never_crashes_it_refuses_with_the_api_error_shape(
    endpoint: str, ctype: str, body: bytes
) -> None:
    try:
        parse_request(endpoint, ctype, body)
    except Refusal as exc:
        status, message = exc.status, exc.message
    else:
        return
    assert status in (400, 404)
    assert message


def test_a_garbage_body_over_http_gets_the_api_error_shape() -> None:
    sandbox = Sandbox()
    with httpx2.Client(transport=SandboxTransport(sandbox), base_url="http://sandbox/v1") as http:
        for body in (b"\x00\xff", b"{", b'{"model": 3}', b"[]", b'{"prompt": "x", "n": "2"}'):
            r = http.post(
                "/images/generations",
                content=body,
                headers={"Authorization": "Bearer k", "content-type": "application/json"},
            )
            assert r.status_code == 400
            err = r.json()["error"]
            assert set(err) == {"message", "type", "param", "code"}


def test_wrong_types_the_api_refuses_are_caught_before_sending() -> None:
    """Found by the fuzzer: ``stream=0.0`` and ``safety_identifier=False`` used to be sent."""
    for option, value in (("stream", 0.0), ("safety_identifier", False), ("user", 3)):
        with pytest.raises(ValidationError) as info:
            compile_generate("a fox", model="gpt-image-2", **{option: value})
        assert info.value.problems[0].param == option
        assert repr(value) in str(info.value)
