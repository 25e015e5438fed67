"""The Batch API: product photos edited at half the price, collected when the batch is done.

Two product photos are each placed in a few scenes with a mask that protects the product, and
a few posters are generated. ``client.batches.submit`` compiles every request first (any bad
one is reported before anything is uploaded), uploads each photo and mask once, writes the
JSONL files and creates the batches; ``job.wait()`` polls until they end, and
``job.results()`` gives one ``Result`` or ``BatchLineError`` per request, in the order given,
with the edits' proof that the product was not touched. The handle is saved, so another
process can collect the same job later (``BatchJob.load``).

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost):
there the batches finish after ``--delay`` seconds and one line fails on cue, to show a
failure. On the real API (when the key is set) a batch finishes within 24 hours::

    python examples/batch_api.py                    # writes batch/
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from PIL import Image, ImageDraw

import imagewright
from imagewright import BatchLineError, EditRequest, Mask

SIZE = (1024, 1024)
PRODUCT = (352, 352, 672, 672)  # where the product sits; the mask protects it
PRODUCTS = {"mug": (200, 60, 40), "lamp": (40, 120, 200)}
SCENES = {"counter": "on a marble kitchen counter", "desk": "on a wooden desk by a window"}


def requests(live: bool) -> list[tuple[str, object]]:
    """``(custom_id, request)`` pairs: an edit per product and scene, then two posters."""
    scene_mask = ~Mask.box(SIZE, PRODUCT)  # everything but the product may change
    out: list[tuple[str, object]] = []
    for name, colour in PRODUCTS.items():
        photo = Image.new("RGB", SIZE, (128, 128, 128))
        ImageDraw.Draw(photo).ellipse(PRODUCT, fill=colour)
        for scene, where in SCENES.items():
            edit = EditRequest(photo, f"Place the product {where}", mask=scene_mask)
            out.append((f"{name}-{scene}", edit))
    out.append(("poster-sale", 'a shop window poster that says "SALE"'))
    out.append(("poster-open", 'a shop door sign that says "OPEN"'))
    if not live:  # the sandbox fails a line whose prompt says so, to show what a failure is
        out.append(("poster-fails", "a poster (sandbox:fail)"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="batch", help="folder to write")
    parser.add_argument("--delay", type=float, default=2.0, help="sandbox batch time (seconds)")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with client:
        if client.sandbox_engine is not None:
            client.sandbox_engine.batches.configure(delay=args.delay)
        job = client.batches.submit(requests(live), quality="low", metadata={"run": "example"})
        job.save(out / "job.json")  # collect later, elsewhere: BatchJob.load("batch/job.json")
        print(f"submitted {job}, estimate ${job.estimate_usd:.4f} (the Batch price)")
        if client.sandbox_engine is not None:  # each photo and the mask once, one JSONL a batch
            print(f"files uploaded: {client.sandbox_engine.files.uploads}")
        status = job.wait(progress=False, poll=0.5 if not live else 30.0, max_poll=600.0)
        print(f"{status.status}: {status.completed} done, {status.failed} failed")
        failures = []
        for custom_id, item in zip(job.custom_ids, job.results(), strict=True):
            if isinstance(item, BatchLineError):
                print(f"{custom_id:14} failed: {item.code}: {item.message}")
                failures.append(
                    {"custom_id": custom_id, "code": item.code, "message": item.message}
                )
                continue
            verdict = "generated"
            if item.preservation is not None:
                verdict = "product untouched" if item.preserved else "product changed!"
            print(f"{custom_id:14} {item.output.size[0]}x{item.output.size[1]} {verdict}")
            item.save(out / custom_id, overwrite=True)
    (out / "failures.jsonl").write_text("".join(json.dumps(f) + "\n" for f in failures))
    print(f"wrote {out}/ (one folder per request, failures.jsonl, job.json)")


if __name__ == "__main__":
    main()
