"""A masked edit with its proof: what changed inside the mask, nothing outside, then a paste-back.

A street scene is generated, then only its sky is edited. The result carries a diff split
inside and outside the mask and a verdict on the protected area. A live model usually touches
a few protected pixels (re-encoding, colour drift), so ``paste_back`` puts the source's exact
pixels back outside the mask, and the new result's diff proves the protected area identical.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost),
and on the real API when it is::

    python examples/masked_edit.py                  # writes masked-edit/
    python examples/masked_edit.py --pictures docs/img
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import imagewright
from imagewright import EditRequest, Mask, Prompt, Result


def run(client: imagewright.Client) -> tuple[Result, Mask, Result]:
    """The source, the mask and the (pasted-back) edit."""
    source = client.generate(
        Prompt(subject="a quiet street of terraced houses", lighting="flat noon light"),
        size="1024x1024",
        quality="low",
    )
    sky = Mask.box(source.output.size, (0.0, 0.0, 1.0, 0.3)).feather(6)
    edit = client.edit(
        EditRequest(
            source.output.data,
            Prompt.edit("Make the sky a stormy sunset", preserve=["framing", "lighting"]),
            mask=sky,
        ),
        quality="low",
    )
    return source, sky, edit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="masked-edit", help="folder to write")
    parser.add_argument("--pictures", help="also write masked-edit.png and mask-preview.png here")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    with client:
        source, sky, edit = run(client)
    inside, outside = edit.diffs[0].inside, edit.diffs[0].outside  # split by the mask
    assert inside is not None
    assert outside is not None
    print(f"inside the mask:  {inside.changed_fraction:.1%} of pixels changed")
    print(f"outside the mask: {outside.changed_fraction:.1%} changed, SSIM {outside.ssim:.4f}")
    print(edit.preservation)
    exact = edit.paste_back(feather=4)
    after = exact.diffs[0].outside
    assert after is not None
    print(f"after paste-back: {after.changed_fraction:.1%} changed outside the mask")
    folder = exact.save(args.out, overwrite=True)
    print(f"wrote {folder}/ (source, mask, output, diff heatmap, comparison, result.json)")
    if args.pictures:
        pictures = Path(args.pictures)
        pictures.mkdir(parents=True, exist_ok=True)
        exact.comparison(height=320).save(pictures / "masked-edit.png")
        sky.preview(source.output.image, max_side=480).save(pictures / "mask-preview.png")
        print(f"wrote {pictures}/masked-edit.png and {pictures}/mask-preview.png")


if __name__ == "__main__":
    main()
