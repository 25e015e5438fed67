"""Saving a session to a folder and loading it back: one result folder per step, a manifest.

Machinery for :meth:`imagewright.session.BaseSession.save` / ``load``. The folder holds
``session.json`` (the tree, the branches, and the sha256 of the source and of every step's
receipt), ``source.<ext>`` and ``step-001/``, ``step-002/``... each written by
:meth:`Result.save`, whose receipt holds the sha256 of every file in it. Names are generated,
never taken from user strings (branch names live only inside the manifest), and a name read
back that is not one of ours is refused, so nothing is read or removed outside the folder.
Nothing is pickled.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._files import atomic_write, dumps, ext_for, read_checked, sha256
from ._receipts import RECEIPT_NAME, receipt
from ._session_step import SessionStep
from .errors import IntegrityError

if TYPE_CHECKING:
    from .session import BaseSession

__all__ = ["MANIFEST", "SCHEMA", "load_session", "save_session"]

SCHEMA = "imagewright.session/1"
"""The saved session format."""
MANIFEST = "session.json"
_STEP_FOLDER = re.compile(r"step-\d{3,6}")
_SOURCE_FILE = re.compile(r"source\.[a-z]{2,4}")


def _manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest in ``folder``, or ``None`` when there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not an imagewright session ({SCHEMA})")
    return data


def _saved_options(options: dict[str, Any]) -> dict[str, Any]:
    """The session's body options (transport options do not change the picture, and a
    timeout object has no JSON form)."""
    from .client import _split

    body, _ = _split(options)
    return body


def save_session(
    session: BaseSession, folder: Path, *, overwrite: bool = False, pictures: bool | None = None
) -> Path:
    """Write ``session`` into ``folder``; steps already saved there unchanged are kept, the
    manifest goes last."""
    from ._folders import refuse_older

    folder.mkdir(parents=True, exist_ok=True)
    old = _manifest(folder)
    same = old is not None and old.get("session_id") == session.session_id
    if not overwrite and not same:
        if old is not None:
            raise FileExistsError(
                f"{folder}/ holds another session ({MANIFEST}); pass overwrite=True to replace "
                "it (only the step folders it wrote are removed), or save to another folder"
            )
        refuse_older(folder)
    origin = session.origin
    source = {
        "file": "source" + ext_for(origin.format),
        "sha256": sha256(origin.data),
        "format": origin.format,
    }
    path = folder / source["file"]
    if not path.is_file() or sha256(path.read_bytes()) != source["sha256"]:
        atomic_write(path, origin.data)
    before = {str(e.get("folder")): e for e in (old or {}).get("steps", [])}
    steps = []
    for step in session.steps:
        name = f"step-{step.number:03d}"
        digest = sha256(dumps(receipt(step.result, pictures=pictures)))
        written = folder / name / RECEIPT_NAME
        kept = (
            same
            and before.get(name, {}).get("receipt_sha256") == digest
            and written.is_file()
            and sha256(written.read_bytes()) == digest
        )
        if not kept:
            step.result.save(folder / name, overwrite=True, pictures=pictures)
            digest = sha256(written.read_bytes())
        steps.append(
            {
                "number": step.number,
                "parent": step.parent_number,
                "branch": step.branch,
                "folder": name,
                "receipt_sha256": digest,
            }
        )
    from ._version import __version__

    manifest = {
        "schema": SCHEMA,
        "imagewright": __version__,
        "session_id": session.session_id,
        "model": session.model,
        "options": _saved_options(session.options),
        "source": source,
        "steps": steps,
        "branches": session.branches,
        "branch": session.branch_name,
    }
    atomic_write(folder / MANIFEST, dumps(manifest))
    now = {s["folder"] for s in steps}
    for name in sorted(set(before) - now):
        if _STEP_FOLDER.fullmatch(name) and (folder / name).is_dir():
            shutil.rmtree(folder / name)
    return folder


def load_session(session: BaseSession, folder: Path, client: Any) -> None:
    """Fill the empty ``session`` from ``folder``, checking every sha256 and that each step
    edits its parent's image."""
    from .images import load_image
    from .results import Result
    from .session import BaseSession

    manifest = _manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder / MANIFEST} not found: not a saved session")
    if not _SOURCE_FILE.fullmatch(str(manifest["source"]["file"])):
        raise ValueError(f"manifest names an unsafe source file: {manifest['source']['file']!r}")
    source = read_checked(folder, manifest["source"])
    options = dict(manifest.get("options") or {})
    BaseSession.__init__(session, client, source, model=manifest.get("model"), **options)
    session.session_id = str(manifest["session_id"])
    made: dict[int, SessionStep] = {}
    for number, entry in enumerate(manifest["steps"], start=1):
        name = str(entry["folder"])
        if not _STEP_FOLDER.fullmatch(name):
            raise ValueError(f"manifest names an unsafe step folder: {name!r}")
        if int(entry["number"]) != number:
            raise ValueError(f"{MANIFEST}: step {entry['number']!r} is out of order")
        data = (folder / name / RECEIPT_NAME).read_bytes()
        if sha256(data) != entry["receipt_sha256"]:
            raise IntegrityError(f"{name}/{RECEIPT_NAME} does not match the manifest's sha256")
        result = Result.load(folder / name)
        parent_number = int(entry["parent"])
        if not 0 <= parent_number < number:
            raise ValueError(f"{MANIFEST}: step {number} names parent {parent_number}")
        parent = made.get(parent_number)
        edited = parent.output.data if parent is not None else session.origin.data
        sent = result.call.images[0].data if result.call.images else b""
        if sha256(sent) != sha256(load_image(edited, param=name).data):
            raise ValueError(
                f"{name} does not edit the image of step {parent_number}: the step folders "
                "were mixed or edited"
            )
        made[number] = SessionStep(number, result, parent, str(entry["branch"]), session.origin)
    session._steps = [made[n] for n in sorted(made)]
    branches = manifest["branches"]
    if not isinstance(branches, dict) or manifest["branch"] not in branches:
        raise ValueError(f"{MANIFEST}: the branches do not name the current branch")
    heads: dict[str, SessionStep | None] = {}
    for name, head in branches.items():
        if not isinstance(head, int) or not 0 <= head <= len(made):
            raise ValueError(f"{MANIFEST}: branch {name!r} points at no step ({head!r})")
        heads[str(name)] = made.get(head)
    session._branches = heads
    session._branch = str(manifest["branch"])
