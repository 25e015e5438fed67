"""A product shot whose label must read exactly "ORCHARD GOLD": checked by OCR, repaired if not.

The label text is a ``Text`` element of the prompt, so it is quoted in the prompt and becomes
an expected string of the text check. ``verify_text=True`` reads the output with OCR after the
call; if a word came out wrong, ``client.repair_text`` redraws only that word with masked
edits and proves every other pixel untouched.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost),
and on the real API when it is. Needs the OCR extra: ``pip install 'imagewright[ocr]'``::

    python examples/product_shot.py                 # writes product-shot/
"""

from __future__ import annotations

import argparse
import os

import imagewright
from imagewright import Prompt, Text

LABEL = "ORCHARD GOLD"


def brief() -> Prompt:
    """The product shot, in layers; the label is the one text the image must show."""
    return Prompt(
        subject="a glass bottle of cold-pressed apple juice on a light oak table",
        style="studio product photography, shallow depth of field",
        lighting="soft window light from the left",
        palette="warm golds and creams",
        text=[Text(LABEL, role="label", placement="on the bottle's paper label, centred")],
        avoid=["any other text", "logos"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="product-shot", help="folder to write")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    with client:
        result = client.generate(brief(), size="1024x1024", quality="medium", verify_text=True)
        report = result.text_check()
        print(report.summary())
        if not report.passed:
            repair = client.repair_text(result, max_attempts=2, budget=0.50)
            print(repair)
            result = repair.result
    (label,) = result.text_check().strings
    print(
        f"label {label.expected!r}: {'found' if label.found else 'NOT found'} (read {label.match!r})"
    )
    folder = result.save(args.out, overwrite=True)
    print(f"wrote {folder}/ (output-0.png, result.json with the text check and the cost)")


if __name__ == "__main__":
    main()
