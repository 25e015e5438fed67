"""``map`` with a ledger across processes: a SIGKILL mid-batch, and two processes at once.

The sandbox server runs here, in the test process, so its billed counter sees every process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imagewright import Failure, NotResentError, Result
from imagewright.ledger import Ledger
from imagewright.sandbox import SandboxServer

from .conftest import AnyClient
from .test_map import run_map

_ROOT = Path(__file__).resolve().parents[1]
_WORKER = [sys.executable, str(_ROOT / "tests" / "_map_worker.py")]
_ENV = {**os.environ, "PYTHONPATH": str(_ROOT / "src")}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(latency=0.03) as running:
        yield running


def worker(server: SandboxServer, ledger: Path, n: int, concurrency: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_WORKER, server.url, str(ledger), str(n), str(concurrency)],
        stdout=subprocess.PIPE,
        env=_ENV,
        text=True,
    )


def requests(n: int) -> list[str]:
    return [f"request {i}" for i in range(n)]


async def test_sigkill_mid_batch_then_resume_pays_nothing_twice(
    make_client: Any, server: SandboxServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "batch.ledger"
    proc = worker(server, ledger, 200, 8)
    assert proc.stdout is not None
    for _ in range(40):  # let 40 outcomes through, then kill it mid-batch
        assert proc.stdout.readline().strip() == "ok"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    time.sleep(0.2)  # the server finishes reading what was already sent
    billed_before = server.sandbox.billed_images
    with Ledger(ledger) as book:
        counts = book.counts()
    done, in_flight = counts["done"], counts.get("sending", 0)
    assert done >= 40
    assert done <= billed_before <= done + in_flight  # what the killed process may have paid

    client = AnyClient(make_client(api_key="k", base_url=server.url).client)
    outs, summary = await run_map(
        client, requests(200), ledger=ledger, concurrency=8, quality="low"
    )
    await client.close()
    assert summary.reused == done
    assert summary.sent == 200 - done - in_flight  # only what was missing
    assert summary.ambiguous == in_flight  # killed while in flight: may be billed, not resent
    ambiguous = [o for o in outs if isinstance(o, Failure)]
    assert all(isinstance(f.error, NotResentError) for f in ambiguous)
    assert sum(isinstance(o, Result) for o in outs) == 200 - in_flight
    # No request was paid twice: each one is billed at most once over both runs.
    assert server.sandbox.billed_images == billed_before + summary.sent <= 200


def test_two_processes_sharing_a_ledger_never_send_a_request_twice(
    server: SandboxServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "shared.ledger"
    procs = [worker(server, ledger, 80, 6) for _ in range(2)]
    lines = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        lines.append(out.splitlines())
    sent = [int(ls[-1].split("sent=")[1].split()[0]) for ls in lines]
    assert server.sandbox.billed_images == 80
    assert server.sandbox.requests == 80  # not one duplicate request on the wire
    assert sum(sent) == 80
    assert min(sent) > 0  # both took part
    for ls in lines:  # each process still has every result: its own, or the other's from disk
        assert ls[:-1] == ["ok"] * 80
