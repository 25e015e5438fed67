"""A gig poster from a Layout: the model paints the art, imagewright sets the type.

The layout places a headline, a subheading, a key visual, a call to action and a date line.
With ``text="overlay"`` the prompt asks the model to keep the text areas clean, and the
client's finishing step crops the output to the exact deliverable and draws every text with a
real font, fitted to its box. Text that could not fit, or a character the font cannot draw,
stops the call before anything is sent.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost),
and on the real API when it is::

    python examples/poster.py                          # writes poster.png
    python examples/poster.py docs/img/poster.png --steps docs/img/poster-steps.png

The steps picture shows the layout's wireframe (its guide image), the model's raw output and
the finished poster side by side.
"""

from __future__ import annotations

import argparse
import os

from PIL import Image

from imagewright import Client
from imagewright.layout import Layout, TextBlock
from imagewright.prompt import Prompt


def build_layout() -> Layout:
    """The poster: a preset, one extra text block, and the rest of the brief as a Prompt."""
    layout = Layout.poster(
        "Jazz on the Roof",
        subhead="Summer concert series",
        cta="Tickets at the door",
        image="a jazz trio playing on a rooftop at dusk, city skyline behind",
        style="screen-printed gig poster, bold flat shapes",
        background="deep blue dusk sky fading to warm orange at the horizon",
        prompt=Prompt(lighting="warm string lights", avoid=["photorealism"]),
        color="#FFF4E0",
        outline=3,
        outline_color="#1B1F3B",
        text="overlay",
        size="11x17in@100dpi",  # a tabloid print: 1100x1700 px, not a size the API makes
    )
    date = TextBlock(
        "Fridays in July · 8 pm",
        (0.2, 0.79, 0.6, 0.05),
        role="label",
        color="#FFF4E0",
        outline=2,
        outline_color="#1B1F3B",
        max_lines=1,
    )
    return layout.with_regions(date)


def side_by_side(images: list[Image.Image], height: int = 512) -> Image.Image:
    """The images scaled to one height, in a row with a small gap."""
    scaled = [
        im.convert("RGB").resize((round(im.width * height / im.height), height)) for im in images
    ]
    gap = 16
    sheet = Image.new(
        "RGB", (sum(im.width for im in scaled) + gap * (len(scaled) + 1), height + 2 * gap), "white"
    )
    x = gap
    for im in scaled:
        sheet.paste(im, (x, gap))
        x += im.width + gap
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="poster.png", help="where to write the poster")
    parser.add_argument("--steps", help="also write guide | raw model output | finished poster")
    args = parser.parse_args()

    layout = build_layout()
    print(layout.compile(model="gpt-image-2"))
    print(f"\nrequested size: {layout.planned_size('gpt-image-2')}, deliverable: {layout.size}")

    live = bool(os.environ.get("OPENAI_API_KEY"))
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    with Client() if live else Client.sandbox() as client:
        result = client.generate(layout, model="gpt-image-2", quality="low")
    output = result.output
    output.save(args.out)
    print(f"wrote {args.out} ({output.width}x{output.height})")

    if args.steps:
        from io import BytesIO

        raw = Image.open(BytesIO(output.raw or output.data))
        side_by_side([layout.guide_image(), raw, output.image]).save(args.steps)
        print(f"wrote {args.steps}")


if __name__ == "__main__":
    main()
