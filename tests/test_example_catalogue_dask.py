"""``examples/catalogue_dask.py`` runs offline on a local Dask cluster and proves its edits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import imagewright

pytest.importorskip("distributed")

EXAMPLE = Path(__file__).parent.parent / "examples" / "catalogue_dask.py"
SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_catalogue_runs_on_the_sandbox_over_dask(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI"))}
    env["PYTHONPATH"] = SRC
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "offline sandbox" in done.stdout
    assert "ledger: {'done': 6}" in done.stdout
    assert "sandbox billed 6 images this run" in done.stdout
    assert done.stdout.count(" kept") == 6, done.stdout
    result = imagewright.Result.load(tmp_path / "out" / "results" / "lamp-1")
    assert result.preserved
    assert "wooden desk" in result.prompt_text
