"""What ``import imagewright`` costs and refuses, checked in fresh interpreters (no timing here:
bench/bench_client.py measures the import time)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_loads_no_heavy_or_legacy_modules() -> None:
    out = _run(
        """
        import json, sys
        import imagewright
        heavy = ["numpy", "tqdm", "tenacity", "PIL.ImageFont", "httpx", "httpcore",
                 "imagewright.sandbox"]
        after_import = [m for m in heavy if m in sys.modules]
        # What a script that sends plain prompts touches: still none of them.
        imagewright.Client, imagewright.AsyncClient, imagewright.EditRequest
        imagewright.Result, imagewright.Prompt, imagewright.ApiCall, imagewright.errors
        print(json.dumps([after_import, [m for m in heavy if m in sys.modules]]))
        """
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [[], []]


def test_public_names_still_import_from_the_root() -> None:
    out = _run(
        """
        import imagewright
        missing = [n for n in imagewright.__all__ if not hasattr(imagewright, n)]
        from imagewright import Diff, results_grid, compute_diff, Mask, sandbox
        print(missing)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_legacy_httpx_client_is_refused_with_what_to_pass() -> None:
    out = _run(
        """
        import httpx
        import imagewright
        for cls, http in ((imagewright.Client, httpx.Client()),
                          (imagewright.AsyncClient, httpx.AsyncClient())):
            try:
                cls("k", http_client=http)
            except imagewright.ConfigurationError as exc:
                print(exc)
            else:
                print("accepted")
        # A legacy Timeout is the same thing under another module: taken as is.
        client = imagewright.Client("k", timeout=httpx.Timeout(7.0))
        print(client.settings.timeout.read)
        """
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "http_client must be an httpx2.Client, got httpx.Client" in lines[0]
    assert "httpx2.Client(...)" in lines[0]
    assert "http_client must be an httpx2.AsyncClient, got httpx.AsyncClient" in lines[1]
    assert lines[2] == "7.0"
