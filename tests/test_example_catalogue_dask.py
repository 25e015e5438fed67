"""``examples/catalogue_dask.py`` runs offline on a local Dask cluster and proves its edits."""

from __future__ import annotations

from pathlib import Path

import pytest

import imagewright
from tests.test_examples import run_example

pytest.importorskip("distributed")


def test_catalogue_runs_on_the_sandbox_over_dask(tmp_path: Path) -> None:
    stdout = run_example("catalogue_dask.py", "out", cwd=tmp_path)
    assert "ledger: {'done': 6}" in stdout
    assert "sandbox billed 6 images this run" in stdout
    assert stdout.count(" kept") == 6, stdout
    result = imagewright.Result.load(tmp_path / "out" / "results" / "lamp-1")
    assert result.preserved
    assert "wooden desk" in result.prompt_text
