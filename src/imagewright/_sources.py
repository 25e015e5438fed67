"""Downloading the inputs of an edit made by reference, so that its diff can be computed.

An edit whose images were named by ``FileRef`` / ``ImageURL`` has no local source: the
:class:`~imagewright.results.Result` says so (``result.source_is_local``), and
``client.fetch_source(result)`` (or ``edit(..., proof=True)``) downloads the inputs. A
``file_id`` is read from the Files API; a URL on the API's own origin is read with the API's
credentials; any other URL is fetched without them, through the SSRF guard
(:mod:`imagewright._ssrf`), each redirect checked again.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from . import _transport
from ._rest import Flow, Req
from ._ssrf import MAX_REDIRECTS, check_url
from .errors import Problem, UnsafeURLError, ValidationError

if TYPE_CHECKING:
    from .client import BaseClient
    from .results import Result

__all__ = ["fetch_source_flow"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def fetch_url_flow(client: BaseClient, url: str, allow_private: bool) -> Flow[bytes]:
    """The bytes at ``url``: ``data:`` decoded locally, the API's own URLs with its credentials,
    any other URL through the SSRF guard, following at most five checked redirects."""
    if url.startswith("data:"):
        return base64.b64decode(url.partition(",")[2])
    base = client.base_url.rstrip("/")
    if url.startswith(base + "/"):
        data: bytes = yield Req("GET", url[len(base) :], raw=True)
        return data
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, allow_private=allow_private)
        response = yield Req("GET", url=url)
        if response.is_redirect and "location" in response.headers:
            url = urljoin(url, response.headers["location"])
            continue
        if response.status_code >= 400:
            raise _transport.status_error(response, response.content)
        return bytes(response.content)
    raise UnsafeURLError(Problem("url", url, f"more than {MAX_REDIRECTS} redirects"))


def fetch_source_flow(client: BaseClient, result: Result, allow_private: bool) -> Flow[Result]:
    """``result`` with local copies of the inputs of its edit by reference."""
    from .images import load_image

    call = result.call
    if not call.by_reference or call.images:
        return result
    refs: list[Any] = list(call.params.get("images") or [])
    mask_ref = call.params.get("mask")
    blobs: list[bytes] = []
    for ref in [*refs, mask_ref] if mask_ref else refs:
        if not isinstance(ref, Mapping):
            raise ValidationError(
                Problem("images", ref, "not an image reference", "FileRef/ImageURL")
            )
        if "file_id" in ref:
            blobs.append((yield Req("GET", f"/files/{ref['file_id']}/content", raw=True)))
        else:
            blobs.append((yield from fetch_url_flow(client, str(ref["image_url"]), allow_private)))
    images = [load_image(b, param=f"images[{i}]") for i, b in enumerate(blobs[: len(refs)])]
    mask = load_image(blobs[-1], param="mask", filename="mask.png") if mask_ref else None
    return dataclasses.replace(result, call=call.with_sources(images, mask))
