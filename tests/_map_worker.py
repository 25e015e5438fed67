"""A process that runs one ``map`` batch against a sandbox server, for crash and sharing tests.

Usage: ``python tests/_map_worker.py URL LEDGER N CONCURRENCY``; prints one line per outcome
(``ok``, or the failure's status), then the summary as ``summary sent=.. reused=..``.
"""

from __future__ import annotations

import sys

import imagewright


def main() -> None:
    url, ledger, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    requests = [f"request {i}" for i in range(n)]
    with imagewright.Client(api_key="sandbox", base_url=url) as client:
        run = client.map(
            requests, ledger=ledger, concurrency=concurrency, quality="low", progress=False
        )
        for outcome in run:
            status = "ok" if isinstance(outcome, imagewright.Result) else outcome.status
            print(status, flush=True)
        s = run.summary
        print(f"summary sent={s.sent} reused={s.reused} ambiguous={s.ambiguous}", flush=True)


if __name__ == "__main__":
    main()
