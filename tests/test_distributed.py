"""dask_map on a real Dask LocalCluster (2 worker processes) against ``imagewright serve``:
100 requests, one worker killed mid-run, every request billed exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import imagewright
from imagewright.ledger import Ledger

distributed = pytest.importorskip("distributed")

SRC = str(Path(__file__).resolve().parents[1] / "src")
KEY = "sk-sandbox-dask"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _counters(url: str) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{url}/sandbox/counters", headers={"Authorization": f"Bearer {KEY}"}
    )
    with urllib.request.urlopen(req, timeout=5) as answer:
        data: dict[str, Any] = json.loads(answer.read())
    return data


@pytest.fixture
def served() -> Any:
    """``imagewright serve`` in a subprocess, with a little latency so a run takes a while."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imagewright",
            "serve",
            "--port",
            str(port),
            "--quiet",
            "--latency",
            "0.05",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 20
    while True:
        try:
            _counters(url)
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_dask_map_bills_each_request_once_after_a_worker_is_killed(
    served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    from imagewright.distributed import ClientSpec, dask_map

    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # workers read their own key; none is pickled
    monkeypatch.setenv("PYTHONPATH", SRC)
    # Dask's worker profiler calls sys._current_frames() every 10 ms; on CPython 3.11 a
    # garbage collection inside that call can deadlock the worker (seen once in CI: every
    # thread waiting for the GIL). The profiler is off for the workers (env and config).
    monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")
    import dask

    monkeypatch.setitem(dask.config.config["distributed"]["worker"]["profile"], "enabled", False)
    prompts = [f'a label that says "{i}"' for i in range(100)]
    ledger = tmp_path / "run.ledger"
    killed: list[int] = []

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        DaskClient(cluster) as dc,
    ):
        pids = list(dc.run(os.getpid).values())
        assert len(pids) == 2

        def kill_one_mid_run() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if _counters(served)["billed_images"] >= 25:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                    return
                time.sleep(0.02)

        killer = threading.Thread(target=kill_one_mid_run, daemon=True)
        killer.start()
        outcomes = dask_map(
            prompts,
            ledger=ledger,
            dask_client=dc,
            client=ClientSpec(base_url=served, max_retries=2),
            chunk_size=25,
            concurrency=8,
            retry_ambiguous=True,
            quality="low",
            size="1024x1024",
        )
        killer.join(timeout=5)

    counters = _counters(served)
    assert killed, "a worker was killed while the run was going"
    assert [o.index for o in outcomes] == list(range(100))
    assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok][:3]
    assert counters["billed_images"] == 100, "every request billed exactly once"
    with Ledger(ledger) as book:
        assert book.counts() == {"done": 100}
    result = outcomes[42].result()
    assert isinstance(result, imagewright.Result)
    assert result.prompt_text == prompts[42]


def test_bad_input_is_refused_before_any_task(tmp_path: Path) -> None:
    from imagewright.distributed import dask_map

    with pytest.raises(imagewright.ValidationError, match="size"):
        dask_map(["fine", "also fine"], ledger=tmp_path / "l", dask_client=object(), size="7x7")
