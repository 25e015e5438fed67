"""The edit verbs as a new user types them: ``edit(image, prompt, mask=...)`` and
``edit(EditRequest(...))``, on both clients and on the stream variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import imagewright
from imagewright import EditRequest, Mask

from ._capture import CaptureServer


def _parts(capture: CaptureServer, i: int = 0) -> list[tuple[str, bytes]]:
    return [(p["name"], p["content"]) for p in capture.requests[i].parts()]


async def test_plain_arguments_send_the_same_call_as_an_edit_request(
    make_client: Any, capture: CaptureServer, image_files: list[Path]
) -> None:
    client = make_client(api_key="k", base_url=capture.url, default_model="gpt-image-2")
    mask = Mask.box((64, 48), (8, 8, 40, 30))
    await client.edit(image_files[0], "make the sky red", mask=mask, quality="low")
    await client.edit(EditRequest(image_files[0], "make the sky red", mask=mask), quality="low")
    await client.close()
    assert _parts(capture, 0) == _parts(capture, 1)
    names = [name for name, _ in _parts(capture, 0)]
    assert names.count("image") == 1
    assert "mask" in names
    assert dict(_parts(capture, 0))["prompt"] == b"make the sky red"


async def test_a_list_of_images_goes_as_image_array_parts(
    make_client: Any, capture: CaptureServer, image_files: list[Path]
) -> None:
    client = make_client(api_key="k", base_url=capture.url, default_model="gpt-image-2")
    result = await client.edit(image_files[:2], "merge them", editable="white", n=1)
    await client.close()
    assert [n for n, _ in _parts(capture) if n.startswith("image")] == ["image[]", "image[]"]
    assert result.call.prompt == "merge them"


async def test_stream_edit_takes_the_plain_form_too(
    make_client: Any, capture: CaptureServer, image_files: list[Path]
) -> None:
    client = make_client(api_key="k", base_url=capture.url, default_model="gpt-image-2")
    events = await client.stream("stream_edit", image_files[0], "x", partial_images=1)
    await client.close()
    assert isinstance(events[-1], imagewright.Result)
    assert dict(_parts(capture))["stream"] == b"true"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((EditRequest("a.png", "x"), "another prompt"), {}, "EditRequest and also prompt"),
        ((EditRequest("a.png", "x"),), {"mask": Mask.full((4, 4))}, "EditRequest and also mask"),
        (("photo.png",), {}, r'needs a prompt after the image\(s\): edit\("photo.png"'),
    ],
)
async def test_mixing_the_two_forms_is_a_type_error_before_sending(
    make_client: Any, capture: CaptureServer, args: tuple[Any, ...], kwargs: Any, message: str
) -> None:
    client = make_client(api_key="k", base_url=capture.url, default_model="gpt-image-2")
    with pytest.raises(TypeError, match=message):
        await client.edit(*args, **kwargs)
    await client.close()
    assert capture.requests == []


def test_compile_edit_and_stream_edit_name_themselves_in_the_error() -> None:
    client = imagewright.Client("k", default_model="gpt-image-2")
    with pytest.raises(TypeError, match=r"^compile_edit\(\) needs a prompt"):
        client.compile_edit("photo.png")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^stream_edit\(\) got an EditRequest and also"):
        client.stream_edit(EditRequest("a.png", "x"), "y")  # type: ignore[call-overload]


def test_the_verbs_use_the_clients_compile_step(image_files: list[Path]) -> None:
    """A subclass that changes compile_edit changes what edit() sends (no bypass)."""
    seen: list[str] = []

    class Logged(imagewright.Client):
        def compile_edit(self, *args: Any, **kwargs: Any) -> Any:
            call = super().compile_edit(*args, **kwargs)
            seen.append(call.prompt)
            return call

    with Logged.sandbox() as client:
        client.edit(image_files[0], "first", quality="low")
        list(client.stream_edit(image_files[0], "second", quality="low"))
    assert seen == ["first", "second"]
