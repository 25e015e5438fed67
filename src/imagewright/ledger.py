"""``Ledger``: an on-disk record of many requests, shared safely by processes.

One SQLite file (standard library, WAL journal) with one row per request fingerprint (the
compiled :class:`~imagewright.calls.ApiCall`'s ``fingerprint``). A row says where the
request stands, what it cost and where its result folder is. ``client.map(..., ledger=path)``
uses it to resume after a crash and to share one batch between processes; anything else that
sends requests (a Dask helper, a queue worker) can use the same protocol.

Row states::

    claimed    one owner holds it and has not sent it yet          (crash -> claimable again)
    sending    the owner is sending it: it may be billed from now  (crash -> ambiguous)
    done       the result is saved in ``folder``; never sent again
    failed     it failed and was certainly not billed              (claimable again)
    ambiguous  it failed after the body was sent, or its owner died while sending:
               it may have been billed, so it is only resent with ``retry_ambiguous=True``

The claim protocol (every step is one ``BEGIN IMMEDIATE`` transaction, so two processes can
never both win the same row):

1. :meth:`Ledger.claim` inserts the row as ``claimed`` by this ledger's :attr:`~Ledger.owner`,
   or takes over a ``failed`` row (or an ``ambiguous`` one with ``retry_ambiguous``), or a row
   whose owner is dead. It answers with a :class:`Claim`: ``won``, or why not (``done``,
   ``ambiguous``, ``busy``).
2. :meth:`Ledger.sending` marks the row just before the request goes out.
3. :meth:`Ledger.done`, :meth:`Ledger.failed` or :meth:`Ledger.release` ends the claim.

An owner is ``host:pid:token``. A claim carries a lease (``lease`` seconds, renewed by
:meth:`Ledger.heartbeat`); the owner is dead when its lease ran out, or at once when it ran on
this host and its process no longer exists. A dead owner's ``claimed`` rows are claimable
again; its ``sending`` rows become ``ambiguous``, because the request may have been billed.
SQLite commits survive a ``kill -9`` of the writer (the WAL is replayed on the next open).

Example:
    >>> import tempfile, os
    >>> from imagewright.ledger import Ledger
    >>> with Ledger(os.path.join(tempfile.mkdtemp(), "run.ledger")) as ledger:
    ...     claim = ledger.claim("fp1")
    ...     ledger.sending("fp1")
    ...     ledger.done("fp1", folder="out/0", cost_usd=0.04)
    ...     claim.won, ledger.claim("fp1").status, ledger.counts()
    (True, 'done', {'done': 1})
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

__all__ = ["Claim", "Entry", "Ledger", "LedgerStatus"]

LedgerStatus = Literal["claimed", "sending", "done", "failed", "ambiguous"]
"""Where one request stands in a ledger (see the module docstring)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    fingerprint TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    owner       TEXT,
    lease_until REAL,
    key         TEXT,
    folder      TEXT,
    cost_usd    REAL,
    error       TEXT,
    sends       INTEGER NOT NULL DEFAULT 0,
    updated     REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Entry:
    """One ledger row.

    Attributes:
        fingerprint: The request's fingerprint (the row's key).
        status: Where it stands (see :data:`LedgerStatus`).
        owner: ``host:pid:token`` of the process holding it, if claimed or sending.
        key: The caller's name for the request, if any.
        folder: The saved result folder, once done.
        cost_usd: What it cost, once done.
        error: Why it failed (``Type: message``), if it did.
        sends: How many times it was marked ``sending`` (more than 1 only after retries of
            unbilled failures, or with ``retry_ambiguous``).
    """

    fingerprint: str
    status: LedgerStatus
    owner: str | None
    key: str | None
    folder: str | None
    cost_usd: float | None
    error: str | None
    sends: int


@dataclass(frozen=True)
class Claim:
    """The answer to :meth:`Ledger.claim`.

    Attributes:
        status: ``"won"`` (this owner holds the row now and may send), ``"done"`` (already
            paid for; read :attr:`entry`), ``"ambiguous"`` (may have been billed; not resent
            without ``retry_ambiguous``) or ``"busy"`` (a live owner holds it; ask again later).
        entry: The row as it is after the claim.
    """

    status: Literal["won", "done", "ambiguous", "busy"]
    entry: Entry

    @property
    def won(self) -> bool:
        """True when this owner may send the request now."""
        return self.status == "won"


class Ledger:
    """An on-disk record of requests by fingerprint, safe to share between processes.

    Args:
        path: The SQLite file (created with its folder if missing).
        lease: Seconds a claim stays valid without a :meth:`heartbeat`; another process takes
            over a claim whose lease ran out.

    Thread safe: one connection, used under a lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, lease: float = 60.0) -> None:
        if not lease > 0:
            raise ValueError(f"lease={lease!r}: must be a number of seconds > 0")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lease = float(lease)
        self.host = socket.gethostname()
        self.owner = f"{self.host}:{os.getpid()}:{secrets.token_hex(4)}"
        """This ledger object's owner id, ``host:pid:token``."""
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=60.0, isolation_level=None, check_same_thread=False
        )
        self._open(deadline=time.monotonic() + 60.0)

    def _open(self, *, deadline: float) -> None:
        """Switch to WAL and make the table, retrying while another process does the same.

        SQLite answers "database is locked" at once, without its busy handler, when two
        connections switch a new database to WAL together; so this waits and tries again."""
        delay = 0.01
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    # ---- the claim protocol ----------------------------------------------------------------

    def claim(
        self, fingerprint: str, key: str | None = None, *, retry_ambiguous: bool = False
    ) -> Claim:
        """Try to take the request ``fingerprint`` for this owner (see the module docstring)."""
        now = time.time()
        with self._transaction() as db:
            row = self._row(db, fingerprint)
            if row is None:
                db.execute(
                    "INSERT INTO requests (fingerprint, status, owner, lease_until, key, updated) "
                    "VALUES (?, 'claimed', ?, ?, ?, ?)",
                    (fingerprint, self.owner, now + self.lease, key, now),
                )
                return Claim("won", self._row(db, fingerprint))  # type: ignore[arg-type]
            status = row.status
            if status in ("claimed", "sending") and row.owner != self.owner:
                if not self._is_dead(row.owner, db, fingerprint, now):
                    return Claim("busy", row)
                if status == "sending":
                    self._set(db, fingerprint, "ambiguous", error=_DIED)
                    status = "ambiguous"
            elif status in ("claimed", "sending"):
                return Claim("busy", row)
            if status == "done":
                return Claim("done", row)
            if status == "ambiguous" and not retry_ambiguous:
                return Claim("ambiguous", self._row(db, fingerprint))  # type: ignore[arg-type]
            db.execute(
                "UPDATE requests SET status='claimed', owner=?, lease_until=?, "
                "key=COALESCE(?, key), updated=? WHERE fingerprint=?",
                (self.owner, now + self.lease, key, now, fingerprint),
            )
            return Claim("won", self._row(db, fingerprint))  # type: ignore[arg-type]

    def sending(self, fingerprint: str) -> None:
        """Mark a claimed request as being sent: from now on a crash leaves it ambiguous."""
        with self._transaction() as db:
            self._own(db, fingerprint)
            db.execute(
                "UPDATE requests SET status='sending', sends=sends+1, lease_until=?, updated=? "
                "WHERE fingerprint=?",
                (time.time() + self.lease, time.time(), fingerprint),
            )

    def done(self, fingerprint: str, *, folder: str, cost_usd: float | None = None) -> None:
        """Record the request as paid for, with its saved result folder."""
        with self._transaction() as db:
            self._own(db, fingerprint)
            self._set(db, fingerprint, "done", folder=folder, cost_usd=cost_usd)

    def failed(
        self, fingerprint: str, error: BaseException | str, *, may_have_been_billed: bool
    ) -> None:
        """Record a failure: ``ambiguous`` when it may have been billed, else ``failed``."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        status = "ambiguous" if may_have_been_billed else "failed"
        with self._transaction() as db:
            self._own(db, fingerprint)
            self._set(db, fingerprint, status, error=text[:2000])

    def release(self, fingerprint: str) -> None:
        """Give back a claim that was never sent (the row is removed if it was new)."""
        with self._transaction() as db:
            row = self._row(db, fingerprint)
            if row is None or row.owner != self.owner or row.status != "claimed":
                return
            if row.sends == 0 and row.error is None:
                db.execute("DELETE FROM requests WHERE fingerprint=?", (fingerprint,))
            else:
                self._set(db, fingerprint, "failed", error=row.error)

    def heartbeat(self) -> int:
        """Renew the lease of every row this owner holds; returns how many."""
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE requests SET lease_until=? WHERE owner=? AND status IN ('claimed','sending')",
                (time.time() + self.lease, self.owner),
            )
            return cur.rowcount

    # ---- reading ---------------------------------------------------------------------------

    def get(self, fingerprint: str) -> Entry | None:
        """The row of ``fingerprint``, or ``None``."""
        with self._lock:
            return self._row(self._db, fingerprint)

    def entries(self) -> Iterator[Entry]:
        """Every row, oldest change first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM requests ORDER BY updated").fetchall()
        return iter([_entry(r) for r in rows])

    def counts(self) -> dict[str, int]:
        """How many rows are in each status (absent statuses are left out)."""
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status")
            return {str(s): int(n) for s, n in rows.fetchall()}

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r}, owner={self.owner!r})"

    # ---- machinery -------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    def _row(self, db: sqlite3.Connection, fingerprint: str) -> Entry | None:
        row = db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE fingerprint=?", (fingerprint,)
        ).fetchone()
        return None if row is None else _entry(row)

    def _own(self, db: sqlite3.Connection, fingerprint: str) -> None:
        row = self._row(db, fingerprint)
        if row is None or row.owner != self.owner:
            holder = "nobody" if row is None else row.owner
            raise LookupError(
                f"ledger row {fingerprint[:12]} is held by {holder}, not by {self.owner}; "
                "claim() it first"
            )

    def _set(self, db: sqlite3.Connection, fingerprint: str, status: str, **fields: object) -> None:
        names = ", ".join(f"{name}=?" for name in fields)
        db.execute(
            f"UPDATE requests SET status=?, {names + ', ' if names else ''}updated=? "
            "WHERE fingerprint=?",
            (status, *fields.values(), time.time(), fingerprint),
        )

    def _is_dead(
        self, owner: str | None, db: sqlite3.Connection, fingerprint: str, now: float
    ) -> bool:
        lease = db.execute(
            "SELECT lease_until FROM requests WHERE fingerprint=?", (fingerprint,)
        ).fetchone()[0]
        if lease is None or lease < now or owner is None:
            return True
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        return host == self.host and pid.isdigit() and not _pid_alive(int(pid))


_DIED = "its owner stopped while the request was being sent; it may have been billed"
_COLUMNS = "fingerprint, status, owner, key, folder, cost_usd, error, sends"


def _entry(row: tuple[object, ...]) -> Entry:
    fp, status, owner, key, folder, cost, error, sends = row
    return Entry(
        str(fp),
        status,  # type: ignore[arg-type]
        None if owner is None else str(owner),
        None if key is None else str(key),
        None if folder is None else str(folder),
        None if cost is None else float(cost),  # type: ignore[arg-type]
        None if error is None else str(error),
        int(sends),  # type: ignore[call-overload]
    )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) still answers kill(0): ask /proc.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK``) under the ledger's lock."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def __enter__(self) -> sqlite3.Connection:
        self.ledger._lock.acquire()
        try:
            self.ledger._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.ledger._lock.release()
            raise
        return self.ledger._db

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.ledger._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.ledger._lock.release()
