"""Connection errors name the URL tried and the proxy in use (issue 16)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

import imagewright


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_connection_names_the_url(make_client: Any) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    client = make_client(api_key="sk-secret-key", base_url=url, max_retries=0)
    with pytest.raises(imagewright.APIConnectionError) as info:
        await client.generate("a fox")
    err = info.value
    assert err.url == f"{url}/images/generations"
    assert f"[POST {url}/images/generations]" in str(err)
    assert err.proxy is None
    assert "sk-secret-key" not in str(err)
    await client.close()


async def test_the_proxy_is_named_without_its_credentials(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_port = _closed_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:hunter2@127.0.0.1:{proxy_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = make_client(api_key="k", base_url="http://api.example.test/v1", max_retries=0)
    with pytest.raises(imagewright.APIConnectionError) as info:
        await client.generate("a fox")
    err = info.value
    assert err.proxy == f"http://127.0.0.1:{proxy_port}"
    assert f"via proxy http://127.0.0.1:{proxy_port}]" in str(err)
    assert "hunter2" not in str(err)
    await client.close()
