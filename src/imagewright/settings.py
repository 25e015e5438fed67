"""Resolved client configuration: arguments first, then environment variables, then defaults.

The API key is held in a :class:`Secret`, whose ``repr`` and ``str`` never show it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import httpx2

from ._version import __version__
from .errors import ConfigurationError
from .models import DEFAULT_MODEL

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AzureConfig",
    "Secret",
    "Settings",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = httpx2.Timeout(600.0, connect=5.0)
"""600 s to read (high-quality images take minutes), 5 s to connect: the official SDK's values."""
DEFAULT_MAX_RETRIES = 2
USER_AGENT = f"imagewright/{__version__}"


class Secret:
    """A credential whose ``repr``/``str`` never reveal it; ``reveal()`` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Callable[[], str]) -> None:
        self._value = value

    def reveal(self) -> str:
        """The credential itself (a callable provider is called each time)."""
        return self._value() if callable(self._value) else self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class AzureConfig:
    """Azure OpenAI routing: deployment path rewrite and ``api-version`` query parameter.

    Attributes:
        api_version: Sent as ``?api-version=`` on every call.
        deployment: The deployment to call; when ``None``, the call's ``model`` is used, as the
            official SDK does.
        use_bearer: Send the credential as ``Authorization: Bearer`` (an Entra ID token)
            instead of the ``api-key`` header.
    """

    api_version: str
    deployment: str | None = None
    use_bearer: bool = False


# Set by the client's constructors (``Client.azure``), not by keyword.
_INTERNAL = frozenset({"azure", "key_env"})


@dataclass(frozen=True)
class Settings:
    """Everything a client needs to send a call; built by :meth:`resolve`."""

    api_key: Secret | None
    base_url: str
    organization: str | None = None
    project: str | None = None
    timeout: httpx2.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_ambiguous: bool = False
    default_model: str = DEFAULT_MODEL
    default_headers: Mapping[str, str] = field(default_factory=dict)
    azure: AzureConfig | None = None
    key_env: str = "OPENAI_API_KEY"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings a user sets (client keyword arguments, ``with_options`` changes)."""
        return tuple(f.name for f in fields(cls) if f.name not in _INTERNAL)

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | Callable[[], str] | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: float | httpx2.Timeout | None = None,
        max_retries: int | None = None,
        retry_ambiguous: bool = False,
        default_model: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        azure: AzureConfig | None = None,
        key_env: str = "OPENAI_API_KEY",
        env: Mapping[str, str] | None = None,
    ) -> Settings:
        """Combine arguments with ``OPENAI_*`` environment variables (arguments win)."""
        env = os.environ if env is None else env
        key = api_key if api_key is not None else env.get(key_env) or None
        if max_retries is None:
            max_retries = DEFAULT_MAX_RETRIES
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigurationError(
                f"max_retries must be a non-negative integer, got {max_retries!r}"
            )
        return cls(
            api_key=Secret(key) if key else None,
            base_url=(base_url or env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            organization=organization or env.get("OPENAI_ORG_ID") or None,
            project=project or env.get("OPENAI_PROJECT_ID") or None,
            timeout=to_timeout(timeout) if timeout is not None else DEFAULT_TIMEOUT,
            max_retries=max_retries,
            retry_ambiguous=retry_ambiguous,
            default_model=default_model or DEFAULT_MODEL,
            default_headers=dict(default_headers or {}),
            azure=azure,
            key_env=key_env,
        )

    def copy(self, **changes: Any) -> Settings:
        """A copy with some fields replaced."""
        if "timeout" in changes and changes["timeout"] is not None:
            changes["timeout"] = to_timeout(changes["timeout"])
        if changes.get("base_url"):
            changes["base_url"] = str(changes["base_url"]).rstrip("/")
        if "api_key" in changes and changes["api_key"] is not None:
            key = changes["api_key"]
            changes["api_key"] = key if isinstance(key, Secret) else Secret(key)
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def auth_headers(self) -> dict[str, str]:
        """The credential headers; raises :class:`ConfigurationError` naming the env var."""
        if self.api_key is None:
            raise ConfigurationError(
                f"no API key: pass api_key=... to the client or set the {self.key_env} "
                "environment variable (or use Client.sandbox() to work offline)"
            )
        value = self.api_key.reveal()
        if self.azure is not None and not self.azure.use_bearer:
            return {"api-key": value}
        return {"Authorization": f"Bearer {value}"}

    def headers(self) -> dict[str, str]:
        """Every header sent on each call, the credential included."""
        out = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.organization:
            out["OpenAI-Organization"] = self.organization
        if self.project:
            out["OpenAI-Project"] = self.project
        out.update(self.default_headers)
        out.update(self.auth_headers())
        return out

    def url_for(self, endpoint: str, model: str | None) -> tuple[str, dict[str, str]]:
        """The URL and query parameters for an endpoint (Azure deployment rewrite included)."""
        if self.azure is None:
            return self.base_url + endpoint, {}
        if not endpoint.startswith("/images/"):
            # As the official Azure client does: only the images endpoints (among ours) take
            # a deployment path; /responses names its deployment in the body's model.
            return self.base_url + endpoint, {"api-version": self.azure.api_version}
        deployment = self.azure.deployment or model
        if not deployment:
            raise ConfigurationError("Azure calls need a deployment (or a model to use as one)")
        return (
            f"{self.base_url}/deployments/{deployment}{endpoint}",
            {"api-version": self.azure.api_version},
        )

    def __repr__(self) -> str:
        key = "set" if self.api_key else "missing"
        return (
            f"Settings(base_url={self.base_url!r}, api_key={key}, organization={self.organization!r}, "
            f"project={self.project!r}, max_retries={self.max_retries}, timeout={self.timeout!r})"
        )


def to_timeout(value: float | httpx2.Timeout) -> httpx2.Timeout:
    """A number means the overall read timeout, with the default 5 s connect timeout."""
    if isinstance(value, httpx2.Timeout):
        return value
    as_dict = getattr(value, "as_dict", None)
    if type(value).__name__ == "Timeout" and callable(as_dict):
        # A legacy ``httpx.Timeout`` has the same fields: take it as the httpx2 one.
        return httpx2.Timeout(**as_dict())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {value!r}")
    return httpx2.Timeout(float(value), connect=min(5.0, float(value)))


_LOCAL_SUFFIXES = (".localhost", ".invalid", ".test")


def warn_if_insecure(base_url: str, stacklevel: int = 3) -> bool:
    """Warn (``InsecureURLWarning``) when ``base_url`` is plain http to another machine.

    The key travels in a header, so over ``http://`` anyone on the path can read it. Loopback
    addresses, ``localhost`` and the reserved names that never leave the machine or never
    resolve (``*.localhost``, ``*.invalid``, ``*.test``) are quiet. Returns whether it warned.
    """
    import ipaddress
    import warnings
    from urllib.parse import urlsplit

    from .errors import InsecureURLWarning

    parts = urlsplit(base_url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return False
    try:
        if ipaddress.ip_address(host).is_loopback:
            return False
    except ValueError:
        pass
    warnings.warn(
        f"base_url {base_url!r} is plain http to {host!r}, which is not this machine: the API "
        "key would cross the network unencrypted. Use https:// (or a loopback address for a "
        "local server).",
        InsecureURLWarning,
        stacklevel=stacklevel,
    )
    return True
