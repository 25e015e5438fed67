"""A catalogue batch: 1,000 product images through ``client.map``, with a ledger that resumes.

Every product gets a shelf label that names it. ``client.map`` sends the requests with bounded,
adaptive concurrency (halved on a 429, raised again once they stop); ``ledger=`` records each
request by fingerprint, and ``save_to=`` writes one result folder per product, named by its
key. Running the batch a second time (or after a crash, a Ctrl-C, a kernel restart) sends
nothing that was already paid for: the results come back from the ledger and their folders.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost),
and on the real API when it is (mind the bill: try ``--n 10`` first)::

    python examples/catalogue.py                    # writes catalogue/
    python examples/catalogue.py catalogue --n 60
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import imagewright
from imagewright import Failure, Prompt

COLOURS = ["red", "green", "blue", "yellow", "black", "white", "orange", "purple"]
THINGS = ["mug", "lamp", "vase", "chair", "kettle", "clock", "bowl", "stool"]


def catalogue(n: int) -> list[dict[str, object]]:
    """``n`` requests, each with a key that names its result folder (``sku-0001``...)."""
    requests: list[dict[str, object]] = []
    for i in range(n):
        colour, thing = COLOURS[i % len(COLOURS)], THINGS[i // len(COLOURS) % len(THINGS)]
        prompt = Prompt(
            subject=f"a {colour} {thing} on a plain studio backdrop",
            text=[f"SKU {i + 1:04d}"],
            style="clean product photo",
        )
        requests.append({"request": prompt, "key": f"sku-{i + 1:04d}"})
    return requests


def run(client: imagewright.Client, n: int, out: Path) -> imagewright.MapSummary:
    """Send the batch (or resume it) and return what this run did."""
    batch = client.map(
        catalogue(n),
        ledger=out / "catalogue.ledger",
        save_to=out / "results",
        concurrency=16,
        progress=False,
        size="1024x1024",
        quality="low",
    )
    failures = [o for o in batch if isinstance(o, Failure)]
    for failure in failures[:5]:
        print(f"  {failure.key}: {failure.status}: {failure.error}")
    return batch.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="catalogue", help="folder to write")
    parser.add_argument("--n", type=int, default=1000, help="how many products (default 1000)")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    out = Path(args.out)
    with client:
        print("first run:")
        first = run(client, args.n, out)
        print(first)
        print("second run (the same batch again):")
        second = run(client, args.n, out)
        print(second)
    print(f"re-run sent {second.sent} new requests; {second.reused} came from the ledger")
    print(f"wrote {out}/ (results/ one folder per product, catalogue.ledger)")


if __name__ == "__main__":
    main()
