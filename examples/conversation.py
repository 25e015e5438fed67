"""A three-turn image conversation through the Responses API, with a masked turn and an undo.

A text model runs each turn and calls the ``image_generation`` tool; every turn comes back as
a result whose source is the previous image, so you can see what each instruction changed.
The conversation is saved as one folder per turn plus a manifest, and a filmstrip of the turns.

Runs offline on the sandbox when ``OPENAI_API_KEY`` is not set (no key, no network, no cost;
the sandbox's "text model" is a stand-in that says so), and on the real API when it is::

    python examples/conversation.py                 # writes conversation-out/
    OPENAI_API_KEY=sk-... python examples/conversation.py out --text-model gpt-5
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import imagewright
from imagewright import ImageOptions, Mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="conversation-out", help="folder to write")
    parser.add_argument("--text-model", default="gpt-5", help="the model that runs each turn")
    args = parser.parse_args()

    live = bool(os.environ.get("OPENAI_API_KEY"))
    client = imagewright.Client() if live else imagewright.Client.sandbox()
    print("on the real API" if live else "on the offline sandbox (set OPENAI_API_KEY for real)")
    with client:
        conv = client.conversation(
            model=args.text_model, image=ImageOptions(quality="low", size="1024x1024")
        )
        turns = [conv.send('A corner bakery with a wooden sign that says "BREAD"')]
        turns.append(conv.send("Now make it evening, with the shop lights on"))
        w, h = turns[-1].output.size
        awning = Mask.box((w, h), (0.0, 0.0, 1.0, 0.35))
        turns.append(conv.send("Give the shop a red striped awning", mask=awning))
        conv.undo()
        turns.append(conv.send("Give the shop a green awning instead", mask=awning))

        for i, turn in enumerate(turns, 1):
            changed = turn.diff.changed_fraction if turn.diff is not None else 1.0
            verdict = f", {turn.preservation}" if turn.preservation is not None else ""
            print(
                f"turn {i}: {turn.prompt_text!r} -> {turn.item_id} "
                f"({changed:.0%} changed, image {turn.cost}, "
                f"text model {turn.text_usage.total_tokens if turn.text_usage else '?'} tokens"
                f"{verdict})"
            )
        print(f"history after the undo: {len(conv.history)} turns")

        out = conv.save(args.out)
        strip = Path(out) / "filmstrip.png"
        conv.filmstrip().save(strip)
    print(f"wrote {out}/ (one folder per turn, conversation.json) and {strip}")


if __name__ == "__main__":
    main()
