"""Regenerate the pictures in ``docs/img`` by running the examples on the sandbox.

Every picture in the docs comes from an example run offline, so none goes stale:
``tests/test_examples.py`` regenerates them and compares them with the committed ones.

    python examples/make_pictures.py                # writes docs/img/*.png
    python examples/make_pictures.py /tmp/pictures  # somewhere else
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
PICTURES = (
    "poster.png",
    "poster-steps.png",
    "masked-edit.png",
    "mask-preview.png",
    "contact-sheet.png",
    "conversation-filmstrip.png",
    "session-filmstrip.png",
)
"""Every picture this script writes."""


def make(target: Path) -> list[Path]:
    """Run the examples on the sandbox and write every picture into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI"))}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            ["poster.py", str(target / "poster.png"), "--steps", str(target / "poster-steps.png")],
            ["masked_edit.py", "masked-edit", "--pictures", str(target)],
            ["campaign.py", "campaign", "--pictures", str(target)],
            ["conversation.py", "conversation"],
            ["session.py", "session"],
        ]
        for script, *args in runs:
            subprocess.run(
                [sys.executable, str(HERE / script), *args], cwd=tmp, env=env, check=True
            )
        shutil.copyfile(
            Path(tmp) / "conversation" / "filmstrip.png", target / "conversation-filmstrip.png"
        )
        shutil.copyfile(Path(tmp) / "session" / "filmstrip.png", target / "session-filmstrip.png")
    return [target / name for name in PICTURES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", default=str(HERE.parent / "docs" / "img"))
    for path in make(Path(parser.parse_args().target).resolve()):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
