"""The main job: one complete directed workflow, end to end.

1. A layout-driven poster: a ``Layout`` compiles into the prompt and the size; the text is set
   locally with real fonts (``text="overlay"``), so it is spelled and placed exactly.
2. A masked edit of that poster: only the key visual's area may change; the diff proves what
   changed inside and outside the mask.
3. A streamed edit: partial previews arrive first, then the final image.

It runs on the real API when ``OPENAI_API_KEY`` is set and on the offline sandbox otherwise,
and says which, loudly. Everything is written to one folder with a ``receipt.json``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .client import Client
from .diff import compute_diff
from .edit import EditRequest
from .layout import Layout
from .masks import Mask
from .results import PartialImage, Result

__all__ = ["run_demo"]

MODEL = "gpt-image-2"


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _summary(result: Result) -> dict[str, Any]:
    usage = result.usage.model_dump() if result.usage else None
    return {
        "kind": result.kind,
        "model": result.model,
        "prompt": result.prompt_text,
        "params": {k: v for k, v in result.call.params.items() if k != "prompt"},
        "fingerprint": result.call.fingerprint,
        "inputs_sha256": [img.sha256 for img in result.call.images],
        "mask_sha256": result.call.mask.sha256 if result.call.mask else None,
        "size": result.size,
        "quality": result.quality,
        "usage": usage,
        "elapsed_s": round(result.timings.elapsed_s, 3),
        "attempts": result.timings.attempts,
        "request_id": result.request_id,
        "outputs": [
            {"format": o.format, "size": list(o.size), "bytes": len(o.data)} for o in result.outputs
        ],
    }


def run_demo(out: str | os.PathLike[str] = "imagewright-demo", *, quiet: bool = False) -> int:
    """Run the demo workflow and write its results to ``out``; returns an exit code."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    live = bool(os.environ.get("OPENAI_API_KEY"))
    if live:
        banner = "LIVE: using the real OpenAI API (OPENAI_API_KEY is set); this costs money."
        client = Client(default_model=MODEL)
    else:
        banner = "OFFLINE: OPENAI_API_KEY is not set, so this runs on the imagewright sandbox (not a model)."
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
    receipt: dict[str, Any] = {"mode": "live" if live else "sandbox", "steps": []}
    steps = tqdm(total=3, desc="demo", unit="step", disable=quiet, file=sys.stdout)
    with client:
        # 1. the poster
        started = time.time()
        poster = client.generate(layout, quality="low")
        _write(folder / "1-poster.png", poster.output.data)
        _write(folder / "1-poster-guide.png", _png(layout.guide_image()))
        receipt["steps"].append({"step": "poster", **_summary(poster)})
        steps.update()

        # 2. a masked edit: only the key visual may change
        w, h = poster.output.size
        visual = layout.box("key visual", (w, h))
        mask = Mask.box((w, h), visual)
        edit = client.edit(
            EditRequest(
                poster.output.data, 'Add a glowing paper lantern that says "OPEN"', mask=mask
            ),
            quality="low",
        )
        _write(folder / "2-edit.png", edit.output.data)
        _write(folder / "2-mask-preview.png", _png(mask.preview(poster.output.image)))
        diff = compute_diff(poster.output.image, edit.output.image, mask.to_array() > 0)
        _write(folder / "2-diff.png", _png(diff.heatmap))
        receipt["steps"].append({"step": "masked edit", **_summary(edit), "diff": diff.to_dict()})
        steps.update()

        # 3. a streamed edit of the edit
        partials = 0
        final: Result | None = None
        for event in client.stream_edit(
            EditRequest(edit.output.data, 'Make it a rainy night; keep the text "Night Market"'),
            partial_images=2,
            quality="low",
        ):
            if isinstance(event, PartialImage):
                partials += 1
                _write(folder / f"3-partial-{event.index}.png", event.data)
            else:
                final = event
        assert final is not None
        _write(folder / "3-streamed.png", final.output.data)
        receipt["steps"].append({"step": "streamed edit", "partials": partials, **_summary(final)})
        steps.update()
    steps.close()

    receipt["elapsed_s"] = round(time.time() - started, 3)
    _write(folder / "receipt.json", json.dumps(receipt, indent=2, default=str).encode())
    outside = diff.outside
    _say(
        quiet,
        f"poster: {poster.output.size[0]}x{poster.output.size[1]}, "
        f"{poster.usage.total_tokens if poster.usage else '?'} tokens",
    )
    if outside is not None:
        _say(
            quiet,
            f"masked edit: {outside.changed_fraction:.2%} of protected pixels changed "
            f"(SSIM outside the mask {outside.ssim:.4f})",
        )
    _say(quiet, f"streamed edit: {partials} partial previews, then the final image")
    _say(quiet, f"wrote {len(list(folder.iterdir()))} files to {folder}/")
    return 0


def _png(image: Any) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
