"""The client makes its HTTP pool once, on first use, even when threads race for it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import imagewright


@pytest.mark.parametrize("cls", [imagewright.Client, imagewright.AsyncClient])
def test_threads_asking_at_once_get_one_pool(
    cls: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = cls("k", base_url="http://127.0.0.1:9/v1")
    made: list[object] = []
    real = client._make_http
    start = threading.Barrier(8)

    def slow_make() -> Any:
        http = real()
        made.append(http)
        return http

    monkeypatch.setattr(client, "_make_http", slow_make)
    seen: list[object] = []

    def ask() -> None:
        start.wait()
        seen.append(client.http)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(made) == 1  # one pool, no sockets leaked by a second one
    assert len(seen) == 8
    assert all(h is made[0] for h in seen)
