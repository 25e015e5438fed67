"""``imagewright batch submit | status | collect``: the Batch API from a shell.

``submit`` takes JSONL files of requests (one object a line: ``prompt``, optional ``images``
and ``mask`` paths relative to the file, ``custom_id`` and body options such as ``quality``)
and folders of images (each edited with ``--prompt``), and saves the job's handle
(``--save``, default ``imagewright-batch.json``). ``status`` and ``collect`` take that handle,
so another process or machine can collect the job later. ``collect`` writes one result folder
per request under ``--out`` (named by its ``custom_id``, or ``request-<hash>`` when the id is not
a safe folder name: a path, ``..``, a NUL, a device name, over 128 characters) and the failed
lines to ``failures.jsonl``; it exits 1 when any line failed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .masks import Editable

__all__ = ["add_batch_command"]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_OPTION_KEYS = ("size", "quality", "background", "output_format", "output_compression", "n")


def _requests_from(path: Path, prompt: str | None, mask: str | None) -> list[tuple[str, Any]]:
    from .edit import EditRequest
    from .errors import Problem, ValidationError

    if path.is_dir():
        if not prompt:
            raise ValidationError(
                Problem("--prompt", None, "a folder of images needs --prompt", "--prompt TEXT")
            )
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not images:
            raise ValidationError(
                Problem(str(path), "no images", "the folder holds no image", "*.png, *.jpg, *.webp")
            )
        editable: Editable | None = "white" if mask else None
        return [(p.stem, EditRequest(str(p), prompt, mask=mask, editable=editable)) for p in images]
    out: list[tuple[str, Any]] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip():
            continue
        doc = json.loads(raw)
        custom_id = str(doc.pop("custom_id", f"{path.stem}-{number}"))
        text = doc.pop("prompt", prompt)
        images = doc.pop("images", None)
        mask_path = doc.pop("mask", None)
        if doc:
            raise ValidationError(
                Problem(
                    f"{path.name}:{number}",
                    sorted(doc),
                    "unknown keys (put body options on the command line)",
                    "prompt, images, mask, custom_id",
                )
            )
        if images:
            files = [
                str(path.parent / i) for i in ([images] if isinstance(images, str) else images)
            ]
            m = str(path.parent / mask_path) if mask_path else mask
            white: Editable | None = "white" if m else None
            out.append((custom_id, EditRequest(files, text, mask=m, editable=white)))
        else:
            out.append((custom_id, text))
    return out


def _submit(args: argparse.Namespace) -> int:
    from ._commands import _client, _options

    requests: list[tuple[str, Any]] = []
    for source in args.sources:
        requests += _requests_from(Path(source), args.prompt, args.mask)
    with _client(args) as client:
        job = client.batches.submit(requests, budget=args.budget, **_options(args))
        saved = job.save(args.save)
    print(f"submitted {len(job)} requests in {len(job.ids)} batch(es): {', '.join(job.ids)}")
    print(f"estimate (Batch price, high): ${job.estimate_usd:.4f}")
    print(f"handle saved to {saved}; collect with: imagewright batch collect {saved} --out DIR")
    return 0


def _status(args: argparse.Namespace) -> int:
    from ._commands import _client

    with _client(args) as client:
        if not Path(args.job).exists() and args.job.startswith("batch_"):
            one = client.batches.retrieve(args.job)  # a bare id: that one batch
            print(f"status     {one['status']}\nrequests   {one.get('request_counts')}")
            return 0
        status = client.batches.load(args.job).status()
    print(f"status     {status.status}")
    print(f"requests   {status.total}  completed {status.completed}  failed {status.failed}")
    for batch in status.batches:
        print(f"  {batch['id']}  {batch['status']}")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from ._commands import _client
    from .results import Result

    out = Path(args.out)
    with _client(args) as client:
        job = client.batches.load(args.job)
        if args.wait:
            job.wait(progress=not args.quiet, poll=args.poll)
        items = job.results()
    out.mkdir(parents=True, exist_ok=True)
    failures = []
    used: set[str] = set()
    for custom_id, item in zip(job.custom_ids, items, strict=True):
        if isinstance(item, Result):
            name = _folder_name(custom_id, used)
            if name != custom_id:
                shown = json.dumps(custom_id)[:80]
                print(f"note: custom_id {shown} cannot name its folder here; saved as {name}")
            item.save(out / name, overwrite=True)
        else:
            failures.append({"custom_id": custom_id, "code": item.code, "message": item.message})
    if failures:
        lines = "".join(json.dumps(f) + "\n" for f in failures)
        (out / "failures.jsonl").write_text(lines)
    print(f"collected {len(items) - len(failures)} results into {out}, {len(failures)} failed")
    return 1 if failures else 0


def _folder_name(custom_id: str, used: set[str]) -> str:
    """The result folder of a line: its ``custom_id`` when that is a safe, plain name (not
    ``failures.jsonl``, and not one a case-insensitive disk would merge with an earlier one),
    else ``request-`` and a hash of it, so no id can leave ``--out`` or replace another's."""
    import hashlib

    from ._folders import unsafe_name

    name = custom_id
    if unsafe_name(name) is not None or name == "failures.jsonl" or name.lower() in used:
        digest = hashlib.sha256(custom_id.encode("utf-8", "surrogatepass")).hexdigest()
        name = "request-" + digest[:16]
    used.add(name.lower())
    return name


def add_batch_command(sub: Any) -> None:
    """Add ``batch submit``, ``batch status`` and ``batch collect`` to the CLI."""
    from ._commands import _common, _send_flags

    batch = sub.add_parser("batch", help="the Batch API: submit, status, collect (half price)")
    verbs = batch.add_subparsers(dest="batch_command", metavar="VERB", required=True)

    submit = verbs.add_parser("submit", help="submit JSONL files of requests or image folders")
    submit.add_argument("sources", nargs="+", metavar="FILE.jsonl|DIR")
    submit.add_argument("--prompt", help="the prompt for folders (and lines without one)")
    submit.add_argument("--mask", help="a mask image for every edit (white = editable)")
    submit.add_argument("--save", default="imagewright-batch.json", help="where to save the handle")
    _common(submit, out=None)
    _send_flags(submit)
    submit.set_defaults(func=_submit)

    status = verbs.add_parser("status", help="show a saved job's status")
    status.add_argument(
        "job", metavar="JOB.json|ID", help="the handle saved by submit, or a batch id"
    )
    status.set_defaults(func=_status, budget=None, sandbox=False)

    collect = verbs.add_parser("collect", help="write a job's results, one folder per request")
    collect.add_argument("job", metavar="JOB.json", help="the handle saved by submit")
    collect.add_argument("--out", required=True, help="folder for the results")
    collect.add_argument("--wait", action="store_true", help="wait for the job to end first")
    collect.add_argument("--poll", type=float, default=5.0, help="seconds between polls (grows)")
    collect.add_argument("--quiet", action="store_true", help="no progress bar")
    collect.set_defaults(func=_collect, budget=None, sandbox=False)
