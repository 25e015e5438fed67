"""A campaign: one layout, delivered at many sizes, with a contact sheet of every result.

The layout's regions are fractions of the canvas, so the same design is re-targeted to each
deliverable with ``dataclasses.replace(layout, canvas=...)``. For each one the size planner
picks a size the model accepts with the same aspect, and the client crops the output to the
exact deliverable and sets the type locally (``text="overlay"``), so every size carries the
same exact words. A text that cannot fit at some size stops that call before anything is sent.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost),
and on the real API when it is::

    python examples/campaign.py                     # writes campaign/
    python examples/campaign.py --pictures docs/img
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

import imagewright
from imagewright import Layout, Prompt, Result

SIZES = {
    "square post": "1080x1080",
    "story": "1080x1920",
    "banner": "1200x628",
    "wide header": "1500x500",
    "print poster": "11x17in@100dpi",
}


def design() -> Layout:
    """The campaign's one design."""
    return Layout.poster(
        "Harvest Market",
        subhead="Saturdays · Riverside Hall",
        cta="Free entry",
        image="a stall piled with apples, pumpkins and bread, autumn leaves",
        style="bright flat illustration",
        background="warm cream paper",
        prompt=Prompt(palette="orange, deep green, cream"),
        color="auto",  # dark or light per box, whichever reads against the picture
        text="overlay",
    )


def run(client: imagewright.Client) -> dict[str, Result]:
    """One result per deliverable."""
    layout = design()
    results = {}
    for name, size in SIZES.items():
        sized = dataclasses.replace(layout, canvas=size)
        plan = sized.plan("gpt-image-2")
        results[name] = result = client.generate(sized, quality="low")
        w, h = result.output.size
        print(f"{name:13} {w}x{h} (requested {plan.api_size}) {result.cost}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="campaign", help="folder to write")
    parser.add_argument("--pictures", help="also write contact-sheet.png here")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    with client:
        results = run(client)
    out = Path(args.out)
    for name, result in results.items():
        result.save(out / name.replace(" ", "-"), overwrite=True)
    sheet = imagewright.results_grid(list(results.values()), columns=len(results), cell=240)
    sheet.save(out / "contact-sheet.png")
    print(f"wrote {out}/ (one folder per size, contact-sheet.png)")
    if args.pictures:
        Path(args.pictures).mkdir(parents=True, exist_ok=True)
        sheet.save(Path(args.pictures) / "contact-sheet.png")
        print(f"wrote {args.pictures}/contact-sheet.png")


if __name__ == "__main__":
    main()
