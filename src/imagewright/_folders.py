"""Result folders that never mix two runs: what an earlier save wrote, and clearing only that.

``Result.save``, ``Diff.save`` and the CLI's ``--out`` share these rules:

* an empty or new folder is used as is;
* a folder holding an earlier result (its ``result.json`` or ``diff.json``) is refused unless
  ``overwrite`` is given; then the new files are written first and only the files the earlier
  receipt names (and the receipt) are removed afterwards. Files imagewright did not write are
  never deleted: they are left in place, and the CLI says so;
* the CLI also refuses any other non-empty ``--out`` folder without ``--overwrite``, and for its
  default folders (``imagewright-result``, ``imagewright-diff``) picks a fresh name instead
  (``imagewright-result-2``...);
* a folder named after a caller's string (``map``'s ``key``, a batch line's ``custom_id``)
  must pass :func:`unsafe_name`: one plain, portable name that stays inside its parent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import Problem, ValidationError

__all__ = [
    "RECEIPTS",
    "earlier_files",
    "fresh_folder",
    "prepare_out",
    "refuse_older",
    "remove_stale",
    "unsafe_name",
]

RECEIPTS = ("result.json", "diff.json")
"""The receipts whose presence marks a folder as holding a saved result or diff."""


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SAFE_NAME_RULE = "1-128 characters: letters, digits, '.', '_' or '-', not starting with '.' or '-'"
"""What :func:`unsafe_name` accepts, in words."""
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)


def unsafe_name(name: object) -> str | None:
    """Why ``name`` cannot name a folder inside another one (``None`` when it can).

    Only a plain name of letters, digits, ``.``, ``_`` and ``-`` passes: no separator, no
    ``..``, no absolute path, no NUL, at most 128 characters; and, so that a ledger or an
    output folder can move to Windows, no trailing ``.`` and no device name (``CON``,
    ``NUL``, ``COM1``..., also with an extension).
    """
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        return SAFE_NAME_RULE
    if name.endswith("."):
        return "not ending with '.' (Windows drops it, so two names would meet)"
    if name.split(".")[0].lower() in _RESERVED:
        return "not a device name Windows reserves (CON, PRN, AUX, NUL, COM0-9, LPT0-9)"
    return None


def _named_files(data: Any) -> set[str]:
    """Every file name a receipt mentions (``file``, ``raw_file``, ``pictures``, ``files``)."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("file", "raw_file") and isinstance(value, str):
                found.add(value)
            elif key in ("pictures", "files"):
                found |= set(_strings(value))
            else:
                found |= _named_files(value)
    elif isinstance(data, list):
        for item in data:
            found |= _named_files(item)
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def earlier_files(folder: Path) -> set[str] | None:
    """The files an earlier imagewright save wrote into ``folder`` (receipt included), or
    ``None`` when it holds no receipt. Only plain names inside the folder are returned."""
    names: set[str] | None = None
    for receipt in RECEIPTS:
        path = folder / receipt
        if not path.is_file():
            continue
        names = (names or set()) | {receipt}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        names |= {n for n in _named_files(data) if Path(n).name == n and not n.startswith(".")}
    return names


def refuse_older(folder: Path) -> None:
    """``FileExistsError`` when ``folder`` holds an earlier result or diff (its receipt)."""
    for receipt in RECEIPTS:
        if (folder / receipt).exists():
            raise FileExistsError(
                f"{folder}/ holds an earlier result ({receipt}); pass overwrite=True to replace "
                "it (only the files that result wrote are removed), or save to another folder"
            )


def remove_stale(folder: Path, before: set[str] | None, now: set[str]) -> None:
    """After a save with ``overwrite``: remove what the earlier save wrote and this one did not."""
    for name in sorted((before or set()) - now):
        (folder / name).unlink(missing_ok=True)


def fresh_folder(folder: Path) -> Path:
    """``folder`` if it is new or empty, else the first free ``folder-2``, ``folder-3``..."""
    k = 2
    candidate = folder
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        candidate = folder.with_name(f"{folder.name}-{k}")
        k += 1
    return candidate


def prepare_out(out: str | None, default: str, *, overwrite: bool) -> tuple[Path, list[str]]:
    """The folder a CLI command writes to, and notes to print about the choice.

    Raises:
        ValidationError: ``--out`` names a non-empty folder and ``--overwrite`` was not given.
    """
    folder = Path(out if out is not None else default)
    notes: list[str] = []
    if not folder.is_dir() or not any(folder.iterdir()):
        return folder, notes
    held = sorted(p.name for p in folder.iterdir())
    ours = earlier_files(folder) or set()
    if overwrite:
        others = [n for n in held if n not in ours]
        if others:
            shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            notes.append(
                f"note: --overwrite replaces only an earlier imagewright result in {folder}/; "
                f"kept {len(others)} other file(s): {shown}"
            )
        return folder, notes
    if out is None:
        fresh = fresh_folder(folder)
        notes.append(f"note: {folder}/ is not empty; writing to {fresh}/ instead")
        return fresh, notes
    what = "an earlier result" if ours else f"{len(held)} file(s)"
    raise ValidationError(
        Problem(
            "--out",
            str(folder),
            f"the folder is not empty (it holds {what}), and results are never mixed",
            "a new or empty folder, or --overwrite to replace the earlier result "
            "(files imagewright did not write are kept)",
        )
    )
