"""What a session adds on top of its edits: the proof since the source, save, load, display.

A session of ``--steps`` masked edits of a ``--size`` image runs on the in-process sandbox (no
sockets; its leakage switched on, so every diff has leaked pixels to find). Then, each timed
once on fresh objects where caching would otherwise hide the cost:

- ``edits``: the edits themselves (sandbox painting + client), per step;
- ``proof per step``: a step's own diff and verdict plus its diff against the source (what
  ``summary()`` and the notebook view need), per step;
- ``summary`` once the proof is cached; ``filmstrip``;
- ``save`` (every step's result folder), ``re-save`` after one more edit (only the new step is
  written), ``load`` (every sha256 checked, the chain verified).

Run: ``python bench/bench_session.py [--size 1024] [--steps 10]`` (prints a table).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

import imagewright
from imagewright import Mask, Session


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    side, steps = args.size, args.steps
    source = Image.effect_noise((side, side), 40).convert("RGB")
    mask = Mask.box((side, side), (0.1, 0.1, 0.5, 0.6))
    rows: list[tuple[str, float, str]] = []
    with imagewright.Client.sandbox(leakage=0.001) as client:
        session = client.session(source, quality="low")
        took, _ = _timed(lambda: [session.edit(f"step {i}", mask=mask) for i in range(steps)])
        rows.append(("edits", took / steps, "per step"))
        took, _ = _timed(lambda: [(s.preservation, s.since_source) for s in session.history])
        rows.append(("proof per step (own + since source)", took / steps, "per step"))
        took, _ = _timed(session.summary)
        rows.append(("summary (proof cached)", took, "once"))
        took, _ = _timed(session.filmstrip)
        rows.append(("filmstrip", took, "once"))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "s"
            took, _ = _timed(lambda: session.save(folder))
            rows.append(("save", took, f"{steps} steps"))
            session.edit("one more", mask=mask)
            session.head.since_source  # noqa: B018  (the proof is not what re-save measures)
            took, _ = _timed(lambda: session.save(folder))
            rows.append(("re-save after one more edit", took, "1 new step"))
            took, loaded = _timed(lambda: Session.load(folder))
            rows.append(("load (sha256 + chain checked)", took, f"{len(loaded.steps)} steps"))
    load = os.getloadavg()
    print(f"session of {steps} masked edits at {side}x{side}, in-process sandbox")
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared 2-core machine)")
    print(f"{'what':40} {'seconds':>9}  {'':10}")
    for what, seconds, unit in rows:
        print(f"{what:40} {seconds:9.3f}  {unit}")


if __name__ == "__main__":
    main()
