"""The guard on every URL imagewright fetches itself (server-side request forgery).

A URL handed to the SDK (an :class:`~imagewright.refs.ImageURL` whose source is downloaded for
a diff, say) could point at a cloud metadata service or an admin page on the user's network.
Before fetching, the host is resolved and every address it resolves to must be public; the
scheme must be http or https. Redirects are followed by hand, each hop checked the same way.
``allow_private_urls=True`` lifts the address rule (the scheme rule stays).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from .errors import Problem, UnsafeURLError

__all__ = ["MAX_REDIRECTS", "check_url", "private_reason"]

MAX_REDIRECTS = 5

Resolver = Callable[[str, int], Iterable[str]]
"""Host and port to the IP addresses they resolve to."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def private_reason(address: str) -> str | None:
    """Why an IP address is not public (``"loopback"``, ``"private"``...), or ``None``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return reason
    return None


def _refuse(url: str, message: str, allowed: str) -> UnsafeURLError:
    return UnsafeURLError(Problem("url", url, message, allowed))


def check_url(
    url: str,
    *,
    allow_private: bool = False,
    trusted_origins: Iterable[str] = (),
    resolve: Resolver = _resolve,
) -> None:
    """Refuse a URL imagewright should not fetch; return quietly when it may.

    Args:
        url: The URL about to be fetched.
        allow_private: Also allow private, loopback and link-local addresses.
        trusted_origins: ``scheme://host[:port]`` origins always allowed (the API's own, such
            as the in-process sandbox), without resolving their host.
        resolve: How to resolve a host (tests pass a fake).

    Raises:
        UnsafeURLError: The scheme is not http(s), the host is missing or does not resolve, or
            an address it resolves to is not public.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse(url, f"imagewright does not fetch {scheme or 'scheme-less'} URLs", "http(s)")
    host = parts.hostname
    if not host:
        raise _refuse(url, "the URL has no host", "http(s)://host/...")
    origin = f"{scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"
    if origin in {o.rstrip("/").lower() for o in trusted_origins}:
        return
    if allow_private:
        return
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        addresses = list(resolve(host, port))
    except OSError as exc:
        raise _refuse(url, f"the host does not resolve ({exc})", "a public host name") from exc
    for address in addresses:
        reason = private_reason(address)
        if reason is not None:
            raise _refuse(
                url,
                f"{host} resolves to {address}, a {reason} address",
                "a public address (pass allow_private_urls=True to fetch it anyway)",
            )
