"""A product catalogue edited on the workers of a Dask cluster, sharing one ledger.

Every product photo is placed in a few scenes, with a mask that protects the product. The
edits run as ``client.map`` chunks on a local Dask cluster (two worker processes); the ledger
makes sure no request is paid for twice, even if a worker dies or the script is run again
(a second run finds everything done and sends nothing).

Without ``OPENAI_API_KEY`` it runs offline: an in-process sandbox server on 127.0.0.1 plays
the API, and the workers are pointed at it through their environment.

Run: ``python examples/catalogue_dask.py [OUT]`` (needs ``pip install 'imagewright[dask]'``).
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path

from PIL import Image, ImageDraw

from imagewright import EditRequest, Mask
from imagewright.distributed import ClientSpec, dask_map
from imagewright.ledger import Ledger

PRODUCTS = {"mug": (200, 60, 40), "lamp": (40, 120, 200), "vase": (60, 160, 90)}
SCENES = ["on a marble kitchen counter", "on a wooden desk by a window"]
SIZE = (816, 816)
PRODUCT_BOX = (280, 280, 536, 536)  # where the product sits; the mask protects it


def photos(folder: Path) -> dict[str, Path]:
    """Plain product shots (a coloured shape on grey), written to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, colour in PRODUCTS.items():
        image = Image.new("RGB", SIZE, (128, 128, 128))
        ImageDraw.Draw(image).ellipse(PRODUCT_BOX, fill=colour)
        path = folder / f"{name}.png"
        image.save(path)
        out[name] = path
    return out


def main(out: Path) -> None:
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    server = None
    with ExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            print("using the OpenAI API (OPENAI_API_KEY is set)")
            spec = ClientSpec()
        else:
            from imagewright.sandbox import SandboxServer

            server = stack.enter_context(SandboxServer())
            os.environ["OPENAI_API_KEY"] = "sandbox"  # the workers inherit it
            spec = ClientSpec(base_url=server.url)
            print(f"no OPENAI_API_KEY: using the offline sandbox at {server.url}")

        shots = photos(out / "photos")
        # Everything outside the product may change; the product itself is protected.
        editable = ~Mask.box(SIZE, PRODUCT_BOX)
        requests = [
            {
                "request": EditRequest(str(path), f"Place the product {scene}", mask=editable),
                "key": f"{name}-{i}",
            }
            for name, path in shots.items()
            for i, scene in enumerate(SCENES)
        ]
        # Dask's worker profiler samples sys._current_frames() every 10 ms, which can deadlock
        # a worker on CPython 3.11 (a garbage collection inside that call); it is not needed.
        import dask.config

        stack.enter_context(dask.config.set({"distributed.worker.profile.enabled": False}))
        cluster = stack.enter_context(
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        )
        dask = stack.enter_context(DaskClient(cluster))
        outcomes = dask_map(
            requests,
            ledger=out / "catalogue.ledger",
            save_to=out / "results",
            dask_client=dask,
            client=spec,
            chunk_size=2,
            quality="low",
        )
        print(f"{'request':<10} {'status':<8} protected area")
        for item, outcome in zip(requests, outcomes, strict=True):
            verdict = "-"
            if outcome.ok:
                result = outcome.result()
                verdict = "kept" if result.preserved else "CHANGED"
            print(f"{item['key']:<10} {outcome.status:<8} {verdict}")
        with Ledger(out / "catalogue.ledger") as ledger:
            print(f"ledger: {ledger.counts()}")
        if server is not None:
            print(f"sandbox billed {server.sandbox.billed_images} images this run")
        print(f"wrote {out}/results/")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "catalogue-out"))
