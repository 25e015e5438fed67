"""Connection errors that say where they tried to go: the URL, and the proxy when one is used.

"Connection refused" alone leaves a user guessing whether the base URL, a proxy or the network
is wrong. :func:`locate` adds the request's method and URL and the proxy the HTTP client routes
it through (never a proxy's credentials: httpx keeps them in a header, not in the URL).
"""

from __future__ import annotations

from typing import Any

from .errors import APIConnectionError

__all__ = ["locate", "proxy_for"]


def proxy_for(http: Any, url: Any) -> str | None:
    """The proxy ``http`` (an httpx client) sends ``url`` through, as ``scheme://host:port``."""
    pick = getattr(http, "_transport_for_url", None)
    if pick is None:
        return None
    try:
        transport = pick(url)
    except Exception:  # pragma: no cover - an unusual client; the URL alone still helps
        return None
    proxy = getattr(getattr(transport, "_pool", None), "_proxy_url", None)
    if proxy is None:
        return None
    scheme = getattr(proxy, "scheme", b"")
    host = getattr(proxy, "host", b"")
    port = getattr(proxy, "port", None)
    as_text = [
        v.decode("ascii", "replace") if isinstance(v, bytes) else str(v) for v in (scheme, host)
    ]
    return f"{as_text[0]}://{as_text[1]}" + (f":{port}" if port else "")


def locate(error: APIConnectionError, http: Any) -> None:
    """Name the URL tried (and the proxy) in ``error``'s message, once."""
    request = error.request
    if request is None or getattr(error, "url", None) is not None:
        return
    url = request.url.copy_with(query=None) if request.url.query else request.url
    error.url = str(url)
    error.proxy = proxy_for(http, request.url)
    where = f"{request.method} {error.url}"
    if error.proxy:
        where += f" via proxy {error.proxy}"
    error.message = f"{error.message.rstrip()} [{where}]"
    error.args = (error.message, *error.args[1:])
