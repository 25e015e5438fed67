"""Run the targeted mutation campaign: ``python -m tests.mutation.run``.

Each mutant in :mod:`tests.mutation.mutants` is applied to a fresh temporary copy of
``src/imagewright`` (never the working tree); the tests that hold the guarantee it breaks are
run against that copy (``PYTHONPATH`` points at it, no bytecode is written), and the mutant is
*killed* when they fail, *survived* when they pass. Mutants marked equivalent are not run.

Before anything runs, every mutant is checked against the current source: a find text that is
no longer there (the code moved) or is there more than once (ambiguous) is *stale*, and the
run stops with exit status 2 so the table gets updated instead of silently shrinking.

Usage::

    python -m tests.mutation.run                 # every mutant, then a summary
    python -m tests.mutation.run R2 W4           # only these ids (or modules: --module diff)
    python -m tests.mutation.run --check         # stale check only (fast)
    python -m tests.mutation.run --markdown      # the table as Markdown (for the docs)

Exit status: 0 when every non-equivalent mutant was killed, 1 when one survived, 2 when a
mutant is stale or the unmutated tree fails its own tests (the baseline).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .mutants import MUTANTS, TESTS_FOR, Mutant

ROOT = Path(__file__).resolve().parents[2]
"""The repository (worktree) the campaign runs in."""
PACKAGE = "imagewright"
TIMEOUT_S = 300.0
"""A mutant whose tests run longer than this is counted as killed (it hung)."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one mutant."""

    mutant: Mutant
    status: str
    """``killed``, ``survived`` or ``equivalent``."""
    seconds: float = 0.0
    detail: str = ""
    """The first failing test (killed), or why it is equivalent."""


def source_path(mutant: Mutant, src: Path) -> Path:
    """The file a mutant changes, under the ``src`` directory given."""
    return src / PACKAGE / f"{mutant.module.replace('.', '/')}.py"


def stale(mutants: Iterable[Mutant], src: Path) -> list[str]:
    """Why each stale mutant is stale: its find text is absent, or present more than once."""
    problems: list[str] = []
    seen: set[str] = set()
    for m in mutants:
        if m.id in seen:
            problems.append(f"{m.id}: duplicate id")
        seen.add(m.id)
        path = source_path(m, src)
        if not path.is_file():
            problems.append(f"{m.id}: no module {path}")
            continue
        count = path.read_text(encoding="utf-8").count(m.find)
        if count != 1:
            where = "not found" if count == 0 else f"found {count} times (ambiguous)"
            problems.append(f"{m.id}: find text {where} in {m.module}.py: {m.find[:60]!r}")
        if m.find == m.replace:
            problems.append(f"{m.id}: the replacement equals the find text")
        if not m.equivalent and not tests_for(m):
            problems.append(f"{m.id}: no tests mapped for module {m.module}")
    return problems


def apply(mutant: Mutant, text: str) -> str:
    """``text`` with the mutant's one change made; ``ValueError`` when it is stale."""
    if text.count(mutant.find) != 1:
        raise ValueError(f"mutant {mutant.id} is stale: its find text is not in the source once")
    return text.replace(mutant.find, mutant.replace, 1)


def tests_for(mutant: Mutant) -> tuple[str, ...]:
    """The test files or node ids that must kill ``mutant``."""
    return mutant.tests or TESTS_FOR.get(mutant.module, ())


def _copy_tree(src: Path, dest: Path) -> Path:
    target = dest / "src"
    shutil.copytree(src / PACKAGE, target / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _env(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutated module must never leave a .pyc behind
    return env


def _pytest(tests: Sequence[str], src: Path, timeout: float) -> tuple[int | None, str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    try:
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            env=_env(src),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, "timed out"
    return proc.returncode, proc.stdout + proc.stderr


_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
_SECTION = re.compile(r"^_{3,} (\S+(?: \S+)*?) _{3,}$", re.MULTILINE)  # "___ test_x ___"


def run_mutant(mutant: Mutant, *, src: Path | None = None, timeout: float = TIMEOUT_S) -> Outcome:
    """Apply ``mutant`` to a temporary copy of the source and run its tests there."""
    if mutant.equivalent:
        return Outcome(mutant, "equivalent", detail=mutant.equivalent)
    src = src or ROOT / "src"
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.id}-") as tmp:
        copy = _copy_tree(src, Path(tmp))
        path = source_path(mutant, copy)
        path.write_text(apply(mutant, path.read_text(encoding="utf-8")), encoding="utf-8")
        t0 = time.monotonic()
        code, output = _pytest(tests_for(mutant), copy, timeout)
        seconds = time.monotonic() - t0
    if code == 0:
        return Outcome(mutant, "survived", seconds)
    if code == 3 and re.search(r"\b\d+ failed\b", output):
        # A plugin broke while reporting a real failure (hypothesis writing its patch): the
        # tests did fail, so the mutant was caught.
        code = 1
    if code in (3, 4, 5):  # internal/usage error, nothing collected: the mapping is wrong
        raise RuntimeError(f"{mutant.id}: pytest exit {code} on {tests_for(mutant)}:\n{output}")
    failed = _FAILED.search(output) or _SECTION.search(output)
    detail = failed.group(1) if failed else ("timed out" if code is None else f"exit {code}")
    return Outcome(mutant, "killed", seconds, detail)


def baseline(mutants: Sequence[Mutant], src: Path | None = None) -> tuple[bool, str]:
    """Run every mapped test on an unmutated copy: a red baseline would kill every mutant."""
    tests = sorted({t for m in mutants if not m.equivalent for t in tests_for(m)})
    src = src or ROOT / "src"
    with tempfile.TemporaryDirectory(prefix="mutant-baseline-") as tmp:
        copy = _copy_tree(src, Path(tmp))
        probe = subprocess.run(
            [sys.executable, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"],
            cwd=ROOT,
            env=_env(copy),
            capture_output=True,
            text=True,
            check=False,
        )
        if not probe.stdout.strip().startswith(str(copy)):
            return False, f"the tests would not import the copy: {probe.stdout}{probe.stderr}"
        code, output = _pytest(tests, copy, TIMEOUT_S * 4)
    return code == 0, output[-3000:]


def score(outcomes: Sequence[Outcome]) -> tuple[int, int, int, float]:
    """``(killed, survived, equivalent, score)``; the score is killed / non-equivalent."""
    killed = sum(o.status == "killed" for o in outcomes)
    survived = sum(o.status == "survived" for o in outcomes)
    equivalent = sum(o.status == "equivalent" for o in outcomes)
    live = killed + survived
    return killed, survived, equivalent, (killed / live if live else 1.0)


def table(outcomes: Sequence[Outcome], markdown: bool = False) -> str:
    """The outcomes as a plain or Markdown table."""
    rows = [
        (o.mutant.id, o.mutant.module, o.status, f"{o.seconds:.1f}", o.mutant.reason, o.detail)
        for o in outcomes
    ]
    head = ("id", "module", "outcome", "s", "mutation", "killed by / why equivalent")
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            cells = [c.replace("|", "\\|") for c in r]
            cells[4], cells[5] = cells[4], f"`{cells[5]}`" if r[2] == "killed" else cells[5]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    widths[4] = min(widths[4], 60)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:5]) + "  {}"
    return "\n".join(
        fmt.format(*(c if i != 4 else c[:60] for i, c in enumerate(r))) for r in [head, *rows]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.mutation.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("ids", nargs="*", help="mutant ids to run (default: all)")
    parser.add_argument("--module", action="append", default=[], help="only mutants of this module")
    parser.add_argument("--check", action="store_true", help="only check for stale mutants")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="mutants run at once (default 1)")
    args = parser.parse_args(argv)

    chosen = [
        m
        for m in MUTANTS
        if (not args.ids or m.id in args.ids) and (not args.module or m.module in args.module)
    ]
    unknown = set(args.ids) - {m.id for m in MUTANTS}
    if unknown:
        print(f"unknown mutant id(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    problems = stale(MUTANTS, ROOT / "src")
    if problems:
        print("STALE MUTANTS (update tests/mutation/mutants.py):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{len(MUTANTS)} mutants, none stale")
        return 0
    t0 = time.monotonic()
    if not args.no_baseline:
        ok, output = baseline(chosen)
        if not ok:
            print("the unmutated tree fails its mapped tests:\n" + output, file=sys.stderr)
            return 2
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = []
        for outcome in pool.map(run_mutant, chosen):
            outcomes.append(outcome)
            print(
                f"{outcome.mutant.id:>5} {outcome.status:<10} {outcome.seconds:5.1f} s  "
                f"{outcome.detail[:90]}",
                file=sys.stderr,
                flush=True,
            )
    killed, survived, equivalent, rate = score(outcomes)
    print(table(outcomes, markdown=args.markdown))
    print(
        f"\n{len(outcomes)} mutants: {killed} killed, {survived} survived, {equivalent} "
        f"equivalent; score {rate:.1%} of non-equivalent ({killed}/{killed + survived}), "
        f"{killed / len(outcomes):.1%} of all; {time.monotonic() - t0:.0f} s wall"
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
