"""The main job: one complete directed workflow, end to end.

1. A layout-driven poster: a ``Layout`` compiles into the prompt and the size; the text is set
   locally with real fonts (``text="overlay"``), so it is spelled and placed exactly.
2. A masked edit of that poster: only the key visual's area may change; the diff proves what
   changed inside and outside the mask.
3. A streamed edit: partial previews arrive first, then the final image.

It runs on the real API when ``OPENAI_API_KEY`` is set and on the offline sandbox otherwise,
and says which, loudly. Each step is saved as a result folder (outputs, source, mask, diff
heatmap, side-by-side comparison, ``result.json`` receipt) and ``receipt.json`` sums it up.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ._files import write_json
from .client import Client
from .edit import EditRequest
from .layout import Layout
from .masks import Mask
from .results import PartialImage, Result

__all__ = ["run_demo"]

MODEL = "gpt-image-2"


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def _step(name: str, folder: Path, result: Result, **extra: Any) -> dict[str, Any]:
    """Save one step's result and return its line in the demo's receipt."""
    result.save(folder)
    entry: dict[str, Any] = {
        "step": name,
        "folder": folder.name,
        "model": result.model,
        "size": result.size,
        "tokens": result.usage.total_tokens if result.usage else None,
        "cost_usd": round(result.cost.total_usd, 6) if result.cost else None,
        "elapsed_s": round(result.timings.elapsed_s, 3),
        "checks_passed": result.checks_passed,
        "preserved": result.preserved,
        **extra,
    }
    if result.diff is not None:
        entry["diff"] = result.diff.to_dict()
    return entry


def run_demo(out: str | os.PathLike[str] = "imagewright-demo", *, quiet: bool = False) -> int:
    """Run the demo workflow and write its results to ``out``; returns an exit code."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    live = bool(os.environ.get("OPENAI_API_KEY"))
    if live:
        banner = "LIVE: using the real OpenAI API (OPENAI_API_KEY is set); this costs money."
        client = Client(default_model=MODEL)
    else:
        banner = (
            "OFFLINE: OPENAI_API_KEY is not set, so this runs on the imagewright sandbox "
            "(deterministic pictures, not a model)."
        )
        client = Client.sandbox()
    line = "=" * len(banner)
    _say(quiet, f"{line}\n{banner}\n{line}")

    layout = Layout.poster(
        "Night Market",
        subhead="Street food, music and lanterns",
        cta="Fridays from 6 pm",
        image="a lantern-lit street market at dusk, steam rising from food stalls",
        size="1024x1536",
        text="overlay",
    )
    started = time.time()
    steps: list[dict[str, Any]] = []
    progress = tqdm(total=3, desc="demo", unit="step", disable=quiet, file=sys.stdout)
    with client:
        # 1. the poster: the layout gives the prompt and the size; the type is set locally
        poster = client.generate(layout, quality="low")
        layout.guide_image().save(folder / "poster-guide.png")
        steps.append(_step("layout poster", folder / "1-poster", poster))
        progress.update()

        # 2. a masked edit: only the key visual may change
        size = poster.output.size
        mask = Mask.box(size, layout.box("key visual", size))
        edit = client.edit(
            EditRequest(
                poster.output.data, 'Add a glowing paper lantern that says "OPEN"', mask=mask
            ),
            quality="low",
        )
        steps.append(_step("masked edit", folder / "2-masked-edit", edit))
        progress.update()

        # 3. a streamed edit: previews first, then the final image
        partials = 0
        final: Result | None = None
        for event in client.stream_edit(
            EditRequest(edit.output.data, 'Make it a rainy night; keep the text "Night Market"'),
            partial_images=2,
            quality="low",
        ):
            if isinstance(event, PartialImage):
                partials += 1
            else:
                final = event
        assert final is not None  # a stream always ends with its result, or raises
        steps.append(_step("streamed edit", folder / "3-streamed-edit", final, partials=partials))
        progress.update()
    progress.close()

    receipt = {
        "mode": "live" if live else "sandbox",
        "elapsed_s": round(time.time() - started, 3),
        "total_cost_usd": round(sum(s["cost_usd"] or 0 for s in steps), 6),
        "steps": steps,
    }
    write_json(folder / "receipt.json", receipt)

    outside = edit.diff.outside if edit.diff is not None else None
    _say(quiet, f"1. poster: {size[0]}x{size[1]}, text set locally, {steps[0]['tokens']} tokens")
    if outside is not None:
        verdict = "stayed in its lane" if edit.preservation else "LEAKED outside the mask"
        _say(
            quiet,
            f"2. masked edit: {verdict}: {outside.changed_fraction:.2%} of protected pixels "
            f"changed, SSIM outside the mask {outside.ssim:.4f}",
        )
    _say(quiet, f"3. streamed edit: {partials} partial previews, then the final image")
    _say(quiet, f"cost ${receipt['total_cost_usd']:.4f}; results in {folder}/")
    return 0 if all(s["checks_passed"] and s["preserved"] for s in steps) else 1
