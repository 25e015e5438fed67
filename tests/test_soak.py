"""The soak's short version: 1,000 generate calls at concurrency 128 through ``AsyncClient``
against ``imagewright serve`` in a subprocess (``bench/soak.py`` runs 10,000 and AsyncOpenAI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SOAK = Path(__file__).parent.parent / "bench" / "soak.py"


def _soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_soak", SOAK)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_soak_1000_calls_leak_nothing_and_bill_each_call_once() -> None:
    result = _soak().run_soak(1_000, 128, openai=False)
    row = result["imagewright"]
    assert row["ok"] + row["failed"] == 1_000  # every call accounted for
    assert row["failed"] == 0, row["failures"]
    assert row["billed"] == row["ok"] == 1_000  # the server billed each call exactly once
    assert row["fd_delta"] <= 2
    assert row["sockets_after"] <= row["sockets_before"]  # the closed client left no socket
    assert row["rss_delta"] < 50  # MB, from 10 % to 100 % of the calls
    assert result["openai"] is None
