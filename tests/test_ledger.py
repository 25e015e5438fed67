"""The ledger's claim protocol: one winner per request, dead owners handled, kill -9 safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagewright.ledger import Ledger

_SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_two_owners_never_both_win(tmp_path: Path) -> None:
    a, b = Ledger(tmp_path / "l.db"), Ledger(tmp_path / "l.db")
    assert a.claim("fp").won
    assert b.claim("fp").status == "busy"
    a.sending("fp")
    assert b.claim("fp").status == "busy"
    a.done("fp", folder="out/fp", cost_usd=0.5)
    claim = b.claim("fp")
    assert claim.status == "done"
    assert (claim.entry.folder, claim.entry.cost_usd, claim.entry.sends) == ("out/fp", 0.5, 1)
    a.close()
    b.close()


def test_failed_rows_are_claimable_again_ambiguous_only_on_request(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as a, Ledger(tmp_path / "l.db") as b:
        a.claim("x")
        a.sending("x")
        a.failed("x", ValueError("refused"), may_have_been_billed=False)
        a.claim("y")
        a.sending("y")
        a.failed("y", "read timeout", may_have_been_billed=True)
        assert b.claim("x").won
        assert b.claim("y").status == "ambiguous"
        assert b.claim("y", retry_ambiguous=True).won
        assert b.get("y").error == "read timeout"  # type: ignore[union-attr]


def test_only_the_owner_can_finish_a_row(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as a, Ledger(tmp_path / "l.db") as b:
        a.claim("x")
        with pytest.raises(LookupError, match="claim\\(\\) it first"):
            b.done("x", folder="f")


def test_released_claim_leaves_no_trace(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as a:
        a.claim("x")
        a.release("x")
        assert a.get("x") is None


def test_expired_lease_is_taken_over(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db", lease=0.05) as a, Ledger(tmp_path / "l.db") as b:
        a.claim("unsent")
        a.claim("inflight")
        a.sending("inflight")
        assert b.claim("unsent").status == "busy"
        time.sleep(0.1)
        assert b.claim("unsent").won  # never sent: safe to send
        assert b.claim("inflight").status == "ambiguous"  # may have been billed


def test_heartbeat_keeps_a_claim(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db", lease=0.2) as a, Ledger(tmp_path / "l.db") as b:
        a.claim("x")
        for _ in range(4):
            time.sleep(0.08)
            assert a.heartbeat() == 1
        assert b.claim("x").status == "busy"


_HOLDER = """
import sys, time
from imagewright.ledger import Ledger
l = Ledger(sys.argv[1], lease=3600)
l.claim("unsent"); l.claim("inflight"); l.sending("inflight")
l.claim("paid"); l.sending("paid"); l.done("paid", folder="f", cost_usd=1.0)
print("ready", flush=True)
i = 0
while True:  # keep writing, so the kill lands mid-write
    i += 1
    l.claim(f"busy{i}"); l.sending(f"busy{i}")
"""


def test_kill_9_keeps_commits_and_frees_a_dead_owners_claims(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    env = {**os.environ, "PYTHONPATH": _SRC}
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    with Ledger(path) as ledger:  # the lease is an hour: the dead pid is what frees the rows
        assert ledger.claim("paid").status == "done"
        assert ledger.claim("unsent").won
        assert ledger.claim("inflight").status == "ambiguous"
        counts = ledger.counts()
        assert counts["done"] == 1
        assert counts.get("sending", 0) > 0


_OPEN_AT_ONCE = """
import sys, time
from imagewright.ledger import Ledger
start = float(sys.argv[2])
while time.time() < start:
    pass
ledger = Ledger(sys.argv[1])
print(ledger.claim(sys.argv[3]).status, flush=True)
# Stay alive while the others claim: a dead owner's claim is rightly taken over.
time.sleep(max(0.0, start + 4 - time.time()))
"""


def test_processes_opening_a_new_ledger_at_once_all_succeed(tmp_path: Path) -> None:
    # SQLite refuses a second connection's switch to WAL at once ("database is locked"),
    # without waiting: several workers starting on a new ledger together must still all open it.
    for attempt in range(2):
        path = tmp_path / f"new-{attempt}.ledger"
        start = time.time() + 1.5
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT_ONCE, str(path), str(start), "fp"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
        statuses = sorted(out.strip() for out, _ in results)
        # One claim, however they raced (each stays alive until all have asked).
        assert statuses == ["busy"] * 5 + ["won"]
