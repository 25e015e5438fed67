"""imagewright's tests.

respx intercepts the ``httpx`` module. Make that name resolve to httpx2 (what imagewright sends
with) before anything imports it, so respx's mocks see imagewright's requests. This package is
imported before any test module or conftest; respx's own pytest plugin, which would import
httpx earlier, is turned off in pyproject.toml.
"""

import httpx2

httpx2.alias_httpx()
