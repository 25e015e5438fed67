"""``examples/conversation.py`` runs offline on the sandbox and writes what it says it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imagewright

EXAMPLE = Path(__file__).parent.parent / "examples" / "conversation.py"


def test_example_runs_on_the_sandbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI"))}
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
    assert "history after the undo: 3 turns" in done.stdout
    assert "wrote out/" in done.stdout
    conv = imagewright.Conversation.load(imagewright.Client("unused"), tmp_path / "out")
    assert len(conv.history) == 3
    assert conv.history[-1].prompt_text == "Give the shop a green awning instead"
    assert conv.history[-1].preservation is not None
    assert conv.history[-1].preservation.passed
    assert (tmp_path / "out" / "filmstrip.png").stat().st_size > 0
