"""Edits by reference: FileRef / ImageURL compile to the JSON form of /images/edits, the
sandbox answers them, the result says it has no local source until it is fetched, and every
URL the SDK fetches itself passes the SSRF guard."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

import imagewright
from imagewright import EditRequest, FileRef, ImageURL, Mask, UnsafeURLError, ValidationError
from imagewright._compile import compile_edit
from imagewright._ssrf import check_url
from imagewright.sandbox import SandboxServer

from ._capture import Reply
from .conftest import png_bytes

GOLDEN_JSON_EDIT = (
    '{"prompt":"Replace the sky with a sunset",'
    '"images":[{"file_id":"file-abc123"},{"image_url":"https://example.com/ref.png"}],'
    '"mask":{"file_id":"file-mask01"},"model":"gpt-image-2","quality":"high","size":"1024x1024"}'
)


def test_json_edit_body_golden() -> None:
    request = EditRequest(
        [FileRef("file-abc123"), ImageURL("https://example.com/ref.png")],
        "Replace the sky with a sunset",
        mask=FileRef("file-mask01"),
    )
    call = compile_edit(request, model="gpt-image-2", quality="high", size="1024x1024")
    body = call.to_httpx()
    assert list(body) == ["json"], "an edit by reference is sent as JSON, never multipart"
    assert json.dumps(body["json"], separators=(",", ":")) == GOLDEN_JSON_EDIT
    # Compiling twice gives the same call and fingerprint.
    again = compile_edit(request, model="gpt-image-2", quality="high", size="1024x1024")
    assert again.fingerprint == call.fingerprint
    assert '"Content-Type: application/json"' in call.to_curl()


def test_mixing_local_and_references_says_how_to_fix() -> None:
    with pytest.raises(ValidationError) as info:
        compile_edit(EditRequest([FileRef("file-a"), png_bytes()], "x"), model="gpt-image-2")
    text = str(info.value)
    assert "cannot mix" in text
    assert "client.files.upload" in text
    with pytest.raises(ValidationError, match="mask by reference too"):
        compile_edit(
            EditRequest(FileRef("file-a"), "x", mask=Mask.box((64, 48), (0, 0, 8, 8))),
            model="gpt-image-2",
        )


def test_bad_references_are_refused_before_sending() -> None:
    with pytest.raises(ValidationError, match="not a file id"):
        FileRef("abc")
    with pytest.raises(ValidationError, match="not an image URL"):
        ImageURL("ftp://example.com/a.png")
    with pytest.raises(ValidationError, match="too many images"):
        compile_edit(EditRequest([FileRef("file-a")] * 17, "x"), model="gpt-image-2")


def _fake_dns(address: str):  # type: ignore[no-untyped-def]
    return lambda host, port: [address]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("fe80::1", "link-local"),
    ],
)
def test_ssrf_guard_refuses_private_addresses(address: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason) as info:
        check_url("https://images.example.com/a.png", resolve=_fake_dns(address))
    assert "allow_private_urls=True" in str(info.value)
    check_url("https://images.example.com/a.png", resolve=_fake_dns(address), allow_private=True)


def test_ssrf_guard_refuses_other_schemes_and_allows_public_hosts() -> None:
    for url in ("file:///etc/passwd", "gopher://x/", "ftp://example.com/a"):
        with pytest.raises(UnsafeURLError, match="does not fetch"):
            check_url(url, allow_private=True)
    check_url("https://images.example.com/a.png", resolve=_fake_dns("93.184.216.34"))


async def test_edit_by_file_id_on_the_sandbox(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    files = client.client.files
    source = png_bytes((96, 64), (200, 40, 40))
    up = files.upload(source)
    file = await up if client.is_async else up
    mask = Mask.box((96, 64), (0, 0, 48, 64)).to_openai((96, 64))
    up_mask = files.upload(mask)
    mask_file = await up_mask if client.is_async else up_mask

    result = await client.edit(
        EditRequest(file.ref, "paint it blue", mask=mask_file.ref), quality="low"
    )
    assert result.call.by_reference
    assert not result.source_is_local
    assert result.source is None
    assert result.diff is None
    assert "not local" in result.summary()

    fetched = await client._call("fetch_source", result)
    assert fetched.source_is_local
    assert fetched.source.size == (96, 64)
    assert fetched.mask is not None
    assert fetched.preservation is not None
    assert fetched.call.fingerprint == result.call.fingerprint, "the wire call did not change"

    proved = await client.edit(EditRequest(file.ref, "paint it blue"), quality="low", proof=True)
    assert proved.diff is not None
    assert client.client.sandbox_engine.billed_images == 2


async def test_image_url_resolves_only_to_the_sandboxes_own_files(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    up = client.client.files.upload(png_bytes((64, 64)))
    file = await up if client.is_async else up
    own = ImageURL(f"{client.client.base_url}/files/{file.id}/content")
    result = await client.edit(own, "make it red", quality="low", proof=True)
    assert result.source.size == (64, 64)

    data_url = "data:image/png;base64," + base64.b64encode(png_bytes((32, 32))).decode()
    result = await client.edit(ImageURL(data_url), "make it red", quality="low", proof=True)
    assert result.source.size == (32, 32)

    with pytest.raises(imagewright.BadRequestError, match="never fetches the network"):
        await client.edit(ImageURL("https://example.com/a.png"), "x", quality="low")


async def test_fetch_source_guards_urls_it_fetches_itself(make_client, capture) -> None:  # type: ignore[no-untyped-def]
    """A URL outside the API (here a loopback server) is refused unless allowed, then read."""
    server = SandboxServer().start()
    client = make_client(api_key="sk-test", base_url=server.url)
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes((40, 40))).decode()
    result = await client.edit(ImageURL(data_url), "x", quality="low")
    outside = f"{capture.url}/images/a.png"
    call = replace(result.call, params={**result.call.params, "images": [{"image_url": outside}]})
    by_url = replace(result, call=call)

    with pytest.raises(UnsafeURLError, match="loopback"):
        await client._call("fetch_source", by_url)
    assert capture.requests == [], "nothing was fetched"

    capture.push(
        Reply(302, headers={"location": "/v1/elsewhere.png"}), Reply(body=png_bytes((40, 40)))
    )
    fetched = await client._call("fetch_source", by_url, allow_private_urls=True)
    assert fetched.source.size == (40, 40)
    assert [r.path for r in capture.requests] == ["/v1/images/a.png", "/v1/elsewhere.png"]
    assert all("authorization" not in r.headers for r in capture.requests), "no key leaves the API"
    await client.close()
    server.stop()


async def test_an_uploaded_file_object_is_a_reference(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client.sandbox()
    up = client.client.files.upload(png_bytes((64, 64)))
    file = await up if client.is_async else up
    result = await client.edit(file, "make it red", quality="low")
    assert result.call.json_body()["images"] == [{"file_id": file.id}]
    with pytest.raises(imagewright.ImageInputError, match=r"pass FileRef\('file-"):
        await client.edit(file.id, "make it red", quality="low")
