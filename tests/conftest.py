from __future__ import annotations

import inspect
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import imagewright

from ._capture import CaptureServer

_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_VERSION",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's real credentials or endpoints."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


def png_bytes(
    size: tuple[int, int] = (64, 48), color: Any = (10, 120, 200), mode: str = "RGB"
) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def image_files(tmp_path: Path) -> list[Path]:
    """Three small PNG files of one size, with distinct pixels."""
    paths = []
    for i, color in enumerate([(200, 10, 10), (10, 200, 10), (10, 10, 200)]):
        p = tmp_path / f"src{i}.png"
        p.write_bytes(png_bytes(color=color))
        paths.append(p)
    return paths


class AnyClient:
    """One awaitable interface over ``Client`` and ``AsyncClient``, so behaviour tests run on both."""

    def __init__(self, client: imagewright.Client | imagewright.AsyncClient) -> None:
        self.client = client
        self.is_async = isinstance(client, imagewright.AsyncClient)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        out = getattr(self.client, name)(*args, **kwargs)
        return await out if inspect.isawaitable(out) else out

    async def generate(self, *args: Any, **kwargs: Any) -> imagewright.Result:
        result: imagewright.Result = await self._call("generate", *args, **kwargs)
        return result

    async def edit(self, *args: Any, **kwargs: Any) -> imagewright.Result:
        result: imagewright.Result = await self._call("edit", *args, **kwargs)
        return result

    async def stream(self, name: str, *args: Any, **kwargs: Any) -> list[Any]:
        it = getattr(self.client, name)(*args, **kwargs)
        if self.is_async:
            return [ev async for ev in it]
        return list(it)

    async def close(self) -> None:
        if self.is_async:
            await self.client.aclose()  # type: ignore[union-attr]
        else:
            self.client.close()  # type: ignore[union-attr]


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``make_client(**kwargs)`` builds a Client or an AsyncClient (the test runs for both)."""
    made: list[AnyClient] = []
    cls = imagewright.AsyncClient if request.param == "async" else imagewright.Client

    def factory(**kwargs: Any) -> AnyClient:
        client = AnyClient(cls(**kwargs))
        made.append(client)
        return client

    def sandbox(**behaviour: Any) -> AnyClient:
        client = AnyClient(cls.sandbox(**behaviour))
        made.append(client)
        return client

    factory.sandbox = sandbox  # type: ignore[attr-defined]
    factory.kind = request.param  # type: ignore[attr-defined]
    yield factory
    for c in made:
        if c.is_async:
            continue  # async clients are closed by their tests or the event loop's end
        c.client.close()  # type: ignore[union-attr]
