"""The mutation runner itself: stale rows are caught, a mutant is killed or survives honestly,
and the working tree is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutation import run
from tests.mutation.mutants import MUTANTS, Mutant

SRC = run.ROOT / "src"


def test_every_mutant_matches_the_current_source_exactly_once() -> None:
    # Fails as soon as a change to the code moves a mutated line: update mutants.py with it.
    assert run.stale(MUTANTS, SRC) == []


def test_a_find_text_that_moved_or_repeats_is_stale() -> None:
    gone = Mutant("Z1", "models", "if max(w, h) > self.max_edge_px:", "if False:", "gone")
    twice = Mutant("Z2", "models", "return []", "return None", "ambiguous")
    nowhere = Mutant("Z3", "no_such_module", "x", "y", "missing module")
    problems = run.stale([gone, twice, nowhere], SRC)
    assert [p.split(":")[0] for p in problems] == ["Z1", "Z2", "Z3"]
    assert "not found" in problems[0]
    assert "ambiguous" in problems[1]
    with pytest.raises(ValueError, match="stale"):
        run.apply(gone, (SRC / "imagewright" / "models.py").read_text())


def test_the_command_refuses_to_run_with_a_stale_mutant(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = Mutant("Z1", "models", "no such text", "x", "gone")
    monkeypatch.setattr(run, "MUTANTS", (*MUTANTS, gone))
    assert run.main(["--check"]) == 2
    assert "Z1: find text not found" in capsys.readouterr().err


def _by_id(mutant_id: str) -> Mutant:
    return next(m for m in MUTANTS if m.id == mutant_id)


def test_a_known_mutant_is_killed_and_a_harmless_change_survives() -> None:
    before = (SRC / "imagewright" / "models.py").read_bytes()
    v2 = _by_id("V2")  # the longest-edge check deleted
    test = "tests/test_validation.py::test_generate_rules[4 size longest edge over 3840]"
    killed = run.run_mutant(Mutant(v2.id, v2.module, v2.find, v2.replace, v2.reason, (test,)))
    assert killed.status == "killed"
    assert "test_generate_rules" in killed.detail
    harmless = Mutant("H1", "models", v2.find, v2.find + "  # a comment", "no-op", (test,))
    assert run.run_mutant(harmless).status == "survived"
    assert (SRC / "imagewright" / "models.py").read_bytes() == before  # never the working tree


def test_equivalent_mutants_are_listed_not_run_and_the_score_ignores_them() -> None:
    eq = next(m for m in MUTANTS if m.equivalent)
    outcome = run.run_mutant(eq, src=Path("/nonexistent"))
    assert (outcome.status, outcome.detail) == ("equivalent", eq.equivalent)
    outcomes = [
        outcome,
        run.Outcome(MUTANTS[0], "killed"),
        run.Outcome(MUTANTS[1], "killed"),
        run.Outcome(MUTANTS[2], "survived"),
    ]
    assert run.score(outcomes) == (2, 1, 1, pytest.approx(2 / 3))
    assert "| R3 | _transport | survived |" in run.table(outcomes, markdown=True)
