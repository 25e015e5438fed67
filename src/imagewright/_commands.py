"""The work behind ``imagewright generate | edit | estimate | diff``.

Each command writes a result folder (images, ``result.json``) and prints a short table. The
exit code says what happened: 0 done, 1 done but a check failed, 2 refused before sending,
3 the API or the connection failed, 4 not configured.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._files import write_json
from ._folders import prepare_out
from .client import Client
from .edit import EditRequest
from .errors import ConfigurationError, Problem, ValidationError
from .masks import Mask, read_mask
from .results import Result

__all__ = ["add_commands"]

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1


def _box(text: str) -> tuple[float, ...]:
    """``x0,y0,x1,y1``: pixels when all are integers, else 0..1 fractions of the image."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"{text!r}: expected x0,y0,x1,y1")
    try:
        if all(p.lstrip("-").isdigit() for p in parts):
            return tuple(int(p) for p in parts)
        return tuple(float(p) for p in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: expected four numbers") from exc


def _client(args: argparse.Namespace) -> Client:
    """The real API when a key is set (unless ``--sandbox``), else refuse, naming the way out."""
    if args.sandbox:
        return Client.sandbox(budget=args.budget)
    if not os.environ.get("OPENAI_API_KEY"):
        raise ConfigurationError(
            "no API key: set OPENAI_API_KEY, or pass --sandbox to run offline on the sandbox"
        )
    return Client(budget=args.budget)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    names = ("size", "quality", "background", "output_format", "output_compression", "n")
    out = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.model:
        out["model"] = args.model
    if getattr(args, "verify_text", False):
        out["verify_text"] = True
    return out


def _table(rows: Iterable[tuple[str, Any]]) -> str:
    rows = [(k, "" if v is None else str(v)) for k, v in rows]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _writable(folder: Path) -> Path:
    """Refuse an output folder that cannot be written, before anything is paid for."""
    if folder.exists() and not folder.is_dir():
        raise ValidationError(Problem("--out", str(folder), "exists and is not a folder"))
    existing = next(p for p in (folder, *folder.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise ValidationError(Problem("--out", str(folder), f"{existing} is not writable"))
    return folder


def _out(args: argparse.Namespace) -> Path:
    """The folder to write: ``--out`` (refused when not empty, unless ``--overwrite``), or a
    fresh default folder; checked for writing before anything is paid for."""
    folder, notes = prepare_out(args.out, args.default_out, overwrite=args.overwrite)
    for note in notes:
        print(note, file=sys.stderr)
    return _writable(folder)


def _report(result: Result, folder: Path) -> int:
    """Save ``result`` to ``folder``, print its summary, return the exit code.

    The result is paid for: if ``folder`` cannot be written after all, it goes to a new
    temporary folder instead, and the command says where.
    """
    try:
        result.save(folder, overwrite=True)  # the folder was checked by _out()
    except OSError as exc:
        fallback = Path(tempfile.mkdtemp(prefix="imagewright-result-"))
        result.save(fallback)
        print(
            f"warning: could not write {folder}/ ({exc}); saved to {fallback}/ instead",
            file=sys.stderr,
        )
        folder = fallback
    print(result.summary())
    print(f"saved to {folder}/")
    return EXIT_OK if result.checks_passed and result.preserved else EXIT_CHECKS_FAILED


def _generate(args: argparse.Namespace) -> int:
    folder = _out(args)
    with _client(args) as client:
        result = client.generate(args.prompt, **_options(args))
    return _report(result, folder)


def _mask_for(args: argparse.Namespace, first: str) -> Any:
    if args.mask and (args.box or args.keep):
        raise ValidationError(Problem("--mask", args.mask, "use --mask or --box/--keep, not both"))
    if args.mask:
        return args.mask
    if not args.box and not args.keep:
        return None
    from .images import load_image

    size = load_image(first, param="image").size
    mask = Mask.boxes(size, args.box) if args.box else Mask.full(size)
    if args.keep:
        mask = mask - Mask.boxes(size, args.keep)
    return mask


def _edit(args: argparse.Namespace) -> int:
    mask = _mask_for(args, args.images[0])
    request = EditRequest(
        args.images if len(args.images) > 1 else args.images[0],
        args.prompt,
        mask=mask,
        editable=args.editable if args.mask else None,
    )
    folder = _out(args)
    with _client(args) as client:
        result = client.edit(request, **_options(args))
    return _report(result, folder)


def _estimate(args: argparse.Namespace) -> int:
    # Estimating sends nothing, so the answer must not depend on whether a key is set.
    with Client("estimate-only", default_model="gpt-image-2") as client:
        options = _options(args)
        if args.images:
            request = EditRequest(
                args.images if len(args.images) > 1 else args.images[0], args.prompt
            )
            call = client.compile_edit(request, **options)
        else:
            call = client.compile_generate(args.prompt, **options)
        est = client.estimate(call)
    n = call.n
    per = f" ({est.output_tokens.expected // n:,} per image)" if n > 1 else ""
    rows = [
        ("model", call.model),
        ("endpoint", call.endpoint),
        ("images (n)", n),
        ("input text tokens", f"{est.text_tokens.expected:,}"),
        ("input image tokens", f"{est.image_input_tokens.expected:,}"),
        ("output tokens", f"{est.output_tokens.expected:,} for the call{per}"),
        ("expected", f"${est.expected_usd:.4f} for the call"),
        ("range", f"${est.low_usd:.4f} .. ${est.high_usd:.4f}"),
    ]
    rows += [("assumes", a) for a in est.assumptions]
    print(_table(rows))
    if args.out:
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "estimate.json", {"call": call.params, "estimate": est.to_dict()})
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from .diff import compute_diff
    from .images import load_image

    before = load_image(args.a, param="A").to_pil()
    after = load_image(args.b, param="B").to_pil()
    mask = None
    if args.mask:
        # The same rule as `edit --mask`: alpha 0 = editable unless --editable says otherwise.
        read = read_mask(args.mask, editable=args.editable, param="--mask")
        mask = read.resize(after.size).to_array() > 0
    diff = compute_diff(before, after, mask)
    folder = diff.save(_out(args), overwrite=True)
    rows: list[tuple[str, Any]] = []
    if diff.source_resized:
        (aw, ah), (bw, bh) = before.size, after.size
        rows.append(("resized", f"A {aw}x{ah} was resized to B's {bw}x{bh} (Lanczos) to compare"))
    for name, metrics in (
        ("all", diff.overall),
        ("inside mask", diff.inside),
        ("outside mask", diff.outside),
    ):
        if metrics is None:
            continue
        psnr = "inf" if metrics.psnr == float("inf") else f"{metrics.psnr:.2f} dB"
        rows.append(
            (
                name,
                f"changed {metrics.changed_fraction:.2%}, MAE {metrics.mae:.2f}, "
                f"PSNR {psnr}, SSIM {metrics.ssim:.4f}",
            )
        )
    pres = diff.preservation
    if pres is not None:
        rows.append(("preservation", str(pres)))
    rows.append(("saved to", f"{folder}/"))
    print(_table(rows))
    return EXIT_OK if pres is None or pres.passed else EXIT_CHECKS_FAILED


def _common(p: argparse.ArgumentParser, *, out: str | None) -> None:
    p.add_argument("--model", help="model (default gpt-image-2, live and on the sandbox)")
    p.add_argument("--size", help="auto, WxH")
    p.add_argument("--quality", help="low, medium, high, auto (xhigh, max on 2.5)")
    p.add_argument("--background", help="transparent, opaque, auto")
    p.add_argument("--format", dest="output_format", help="png, jpeg, webp")
    p.add_argument("--compression", dest="output_compression", type=int, help="0..100 (jpeg, webp)")
    p.add_argument("-n", dest="n", type=int, help="number of images (1..10)")
    _out_flags(p, out)


def _out_flags(p: argparse.ArgumentParser, default: str | None) -> None:
    if default is None:
        p.add_argument("--out", help="folder for estimate.json")
        return
    p.add_argument(
        "--out",
        help=f"result folder, new or empty (default {default}, or {default}-2... if it is taken)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier result in --out (files imagewright did not write are kept)",
    )
    p.set_defaults(default_out=default)


def _send_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", action="store_true", help="run offline on the sandbox")
    p.add_argument("--budget", type=float, help="refuse calls estimated above this many USD")
    p.add_argument(
        "--verify-text",
        action="store_true",
        help="check the quoted text with OCR (needs imagewright[ocr]); exit 1 if it is wrong",
    )


def add_commands(sub: Any) -> None:
    """Add ``generate``, ``edit``, ``estimate`` and ``diff`` to the CLI's subparsers."""
    gen = sub.add_parser("generate", help="generate images from a prompt")
    gen.add_argument("prompt", help="the prompt")
    _common(gen, out="imagewright-result")
    _send_flags(gen)
    gen.set_defaults(func=_generate)

    edit = sub.add_parser("edit", help="edit images, optionally inside a mask")
    edit.add_argument("images", nargs="+", help="source images (the mask applies to the first)")
    edit.add_argument("--prompt", "-p", required=True, help="what to change")
    edit.add_argument("--mask", help="a mask image")
    edit.add_argument(
        "--editable",
        choices=["white", "black", "transparent"],
        help="which pixels of --mask are editable (default: OpenAI's, transparent)",
    )
    edit.add_argument(
        "--box",
        type=_box,
        action="append",
        default=[],
        help="editable rectangle x0,y0,x1,y1 (pixels or 0..1); repeatable",
    )
    edit.add_argument(
        "--keep",
        type=_box,
        action="append",
        default=[],
        help="rectangle that must not change; repeatable",
    )
    _common(edit, out="imagewright-result")
    _send_flags(edit)
    edit.set_defaults(func=_edit)

    est = sub.add_parser("estimate", help="estimate what a call would cost (sends nothing)")
    est.add_argument("prompt", help="the prompt")
    est.add_argument(
        "--image",
        dest="images",
        action="append",
        default=[],
        help="an input image (makes it an edit); repeatable",
    )
    _common(est, out=None)
    est.set_defaults(func=_estimate)

    diff = sub.add_parser("diff", help="compare two images, inside and outside a mask")
    diff.add_argument("a", help="the image before")
    diff.add_argument("b", help="the image after")
    diff.add_argument("--mask", help="a mask image (editable area)")
    diff.add_argument(
        "--editable",
        choices=["white", "black", "transparent"],
        help="which pixels of --mask are editable (default: OpenAI's, transparent)",
    )
    _out_flags(diff, "imagewright-diff")
    diff.set_defaults(func=_diff)
