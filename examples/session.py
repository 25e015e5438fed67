"""An iterative editing session: several masked edits, an undo, a branch, saved with a filmstrip.

A room is generated, then refined step by step with ``client.session(source)``: each edit
edits the image the last one made, and each step proves that what it protected stayed as it
was, against its parent and against the original source. One step is undone (it stays in
``session.steps``: it was paid for), a second idea is tried on a branch, and the session is
saved as a folder ``Session.load`` reads back, with a filmstrip of the history.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost),
and on the real API when it is::

    python examples/session.py                      # writes session/
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import imagewright
from imagewright import Mask, Prompt, Session


def run(client: imagewright.Client) -> Session:
    """A session with five steps: three on ``main`` (one undone) and one on ``lamp``."""
    room = client.generate(
        Prompt(subject="a bare living room with a window and a sofa", style="interior photo"),
        size="1024x1024",
        quality="low",
    )
    session = client.session(room, quality="low")
    w, h = session.size
    window = Mask.box((w, h), (0.55, 0.1, 0.95, 0.5)).feather(4)  # the window may change
    floor = Mask.box((w, h), (0.0, 0.75, 1.0, 1.0)).feather(4)  # so may the floor
    session.edit("Show a snowy mountain view through the window", mask=window)
    session.edit("Lay a red patterned rug on the floor", mask=floor)
    session.edit("Make the rug bright green", mask=floor)
    session.undo()  # back to the red rug; the green one stays in session.steps
    session.branch("lamp")  # try a second idea from here, keeping main as it is
    corner = Mask.box((w, h), (0.0, 0.2, 0.3, 0.75)).feather(4)
    session.edit("Add a tall brass floor lamp in the corner", mask=corner)
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="session", help="folder to write")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    with client:
        session = run(client)
    print(session.summary())
    print(f"branches: {session.branches} (on {session.branch_name!r})")
    print(f"history: {len(session.history)} steps; paid for: {len(session.steps)} steps")
    print(f"cost ${session.cost_usd:.4f}")
    out = Path(args.out)
    session.save(out, overwrite=True)
    session.filmstrip(height=200).save(out / "filmstrip.png")
    print(f"wrote {out}/ (session.json, source, step-001/... and filmstrip.png)")


if __name__ == "__main__":
    main()
