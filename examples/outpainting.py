"""Outpainting: a square picture widened to 16:9, the model painting only the new sides.

``Mask.outpaint`` pads the image (repeating its edge pixels, which gives the model colour
context) and returns the canvas with a mask covering exactly the new area, plus a small overlap
so the seam can blend. The edit is sent at the canvas's size, and the diff proves the original
picture kept outside the overlap.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost),
and on the real API when it is::

    python examples/outpainting.py                  # writes outpainting/
"""

from __future__ import annotations

import argparse
import os

import imagewright
from imagewright import EditRequest, Mask, Prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="outpainting", help="folder to write")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    with client:
        square = client.generate(
            Prompt(subject="a lighthouse on a rocky point", style="watercolour"),
            size="1024x1024",
            quality="low",
        )
        # 1024 + 2 x 400 = 1824 wide: 1824x1024 is 16:9 and a size gpt-image-2 accepts.
        canvas, new_area = Mask.outpaint(square.output.image, left=400, right=400, overlap=16)
        print(f"canvas {canvas.size[0]}x{canvas.size[1]}, new area {new_area.coverage:.0%}")
        wide = client.edit(
            EditRequest(
                canvas,
                Prompt.edit(
                    "Extend the scene to the left and right: more coastline and sea, "
                    "same watercolour style",
                    preserve=["lighting"],
                ),
                mask=new_area,
            ),
            size=f"{canvas.size[0]}x{canvas.size[1]}",
            quality="low",
        )
    print(f"output {wide.size}; {wide.preservation}")
    folder = wide.paste_back().save(args.out, overwrite=True)
    print(f"wrote {folder}/ (the padded canvas, the mask, the widened picture, result.json)")


if __name__ == "__main__":
    main()
