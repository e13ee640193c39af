"""A crash-safe trial ledger: one SQLite file per study, stdlib :mod:`sqlite3`, no server.

The ledger is the single source of truth for a budget-aware design loop. It records the study
configuration, every proposed trial, its state, its predicted and measured cost and its outcome,
plus an append-only audit log of every state change.

Schema
------
- ``study(key TEXT PRIMARY KEY, value TEXT)``: the study configuration, one JSON value per key
  (law, pool hash, target, cost model, budget, acquisition, seed, command, ...).
- ``trials(...)``: one row per *attempt* at a configuration; ``(config_key, attempt)`` is unique.
- ``events(...)``: append-only audit log ``(trial_id, from_state, to_state, time, detail)``.

State machine
-------------
::

    proposed --mark_running--> running --complete--> completed
        |                         |
        |                         +------fail------> failed
        +---------fail---------------------------> failed
        +--------abandon-------------------------> abandoned

``completed``, ``failed`` and ``abandoned`` are terminal: any further transition raises
:class:`LedgerError`, so nothing is ever recorded twice. ``abandoned`` means *never launched*
(it costs nothing); a launched run that is cancelled must be recorded with :meth:`Ledger.fail`
because it consumed compute. Calling :meth:`Ledger.mark_running` again on a running trial with
the *same* job id is a no-op (convenient when reconciling after a restart); a different job id
raises. A retry is a *new* trial row with the same ``config_key`` and ``attempt + 1``.

Budget accounting
-----------------
``spent()`` sums, over completed **and failed** trials, the measured cost when known and the
predicted cost otherwise: a launched run costs money even if it failed. ``committed()`` adds the
predicted cost of proposed and running trials, i.e. money the loop has promised but not yet
seen. A driver must check ``committed() + predicted_cost <= budget`` before :meth:`propose`.

Crash-safety protocol
---------------------
Every state change is one ``BEGIN IMMEDIATE`` transaction (the check of the current state and the
write happen under the same write lock), the database runs in WAL mode with a busy timeout, so a
driver may be SIGKILLed between any two statements and the file is always consistent. A driver
should follow this order::

    tid = ledger.propose(inputs, predicted_cost, config_key)   # 1. budget committed, durable
    job = executor.submit(tid, command, workdir)               # 2. launch (idempotent per tid)
    ledger.mark_running(tid, job, log_path)                    # 3. job id durable
    ... executor.poll(job) ...                                 # 4. until it finishes
    ledger.complete(tid, outcome, cost) / ledger.fail(tid, reason)

A restarted driver reconciles before proposing anything new:

- trials in ``proposed`` were committed but may or may not have been launched (crash between 1
  and 3). Submit them again with the *same trial id*: the executors in
  :mod:`scalinglaws.design._executors` make ``submit`` idempotent per trial id (a second submit
  returns the existing job id instead of launching a second run), and no new budget is
  committed. Alternatively :meth:`Ledger.abandon` them.
- trials in ``running`` carry a ``job_id`` that an executor (a new instance over the same work
  directory / folder) can re-poll until the job finishes.

Keep the ledger on a local disk: SQLite's WAL mode needs shared memory and does not work on NFS.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from scalinglaws._errors import FileFormatError, ScalingLawsError

__all__ = ["STATES", "Ledger", "LedgerError", "Trial"]

SCHEMA_VERSION = 1

STATES: tuple[str, ...] = ("proposed", "running", "completed", "failed", "abandoned")

# allowed transitions: from_state -> set of to_states
_TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"running", "failed", "abandoned"}),
    "running": frozenset({"completed", "failed"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "abandoned": frozenset(),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS study (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    config_key TEXT NOT NULL,
    inputs TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('proposed', 'running', 'completed', 'failed', 'abandoned')),
    predicted_cost REAL NOT NULL,
    measured_cost REAL,
    outcome TEXT,
    attempt INTEGER NOT NULL,
    error TEXT,
    job_id TEXT,
    log_path TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS trials_config_attempt ON trials (config_key, attempt);
CREATE INDEX IF NOT EXISTS trials_state ON trials (state);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    trial_id INTEGER NOT NULL REFERENCES trials (id),
    from_state TEXT,
    to_state TEXT NOT NULL,
    time REAL NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_trial ON events (trial_id);
"""

_COLUMNS = (
    "id, config_key, inputs, state, predicted_cost, measured_cost, outcome, attempt, error, "
    "job_id, log_path, created, updated"
)


class LedgerError(ScalingLawsError, RuntimeError):
    """An illegal ledger operation: a forbidden state transition, an unknown trial, a bad cost."""


@dataclass(frozen=True)
class Trial:
    """One row of the ``trials`` table, JSON columns decoded."""

    id: int
    config_key: str
    inputs: dict[str, Any]
    state: str
    predicted_cost: float
    measured_cost: float | None
    outcome: dict[str, Any] | None
    attempt: int
    error: str | None
    job_id: str | None
    log_path: str | None
    created: float
    updated: float

    @property
    def cost(self) -> float:
        """Measured cost when known, predicted cost otherwise."""
        return self.measured_cost if self.measured_cost is not None else self.predicted_cost


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise LedgerError(
            f"{what} is not JSON-serialisable with finite numbers ({err}); "
            "pass plain dicts of str/int/float/bool/list values"
        ) from None


def _normalise(value: Any, what: str) -> Any:
    """JSON round-trip so that tuples/lists, int/float keys etc. compare like stored values."""
    return json.loads(_dumps(value, what))


def _check_cost(value: Any, what: str) -> float:
    try:
        cost = float(value)
    except (TypeError, ValueError):
        raise LedgerError(f"{what} is {value!r}; pass a finite non-negative number") from None
    if not math.isfinite(cost) or cost < 0:
        raise LedgerError(f"{what} is {value!r}; pass a finite non-negative number")
    return cost


class Ledger:
    """A study ledger stored in one SQLite file (created on first use).

    Safe to open from several processes at once (WAL mode, busy timeout, one ``BEGIN IMMEDIATE``
    transaction per state change). See the module docstring for the crash-safety protocol.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._timeout = float(timeout)
        if self.path.is_dir():
            raise FileFormatError(
                f"ledger {self.path} is a directory; pass a file path such as {self.path}/study.db"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._transaction():
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise FileFormatError(
                        f"ledger {self.path} has schema version {version} but this scalinglaws "
                        f"reads version {SCHEMA_VERSION}; upgrade scalinglaws"
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._check_schema()
        except sqlite3.DatabaseError as err:
            with contextlib.suppress(Exception):
                self._conn.close()
            raise FileFormatError(
                f"ledger {self.path} is not a usable SQLite ledger ({err}); "
                "pass a new --ledger path or restore the file"
            ) from None

    # ------------------------------------------------------------------ plumbing

    def _check_schema(self) -> None:
        cols = {row[1] for row in self._conn.execute("PRAGMA table_info(trials)")}
        expected = {c.strip() for c in _COLUMNS.split(",")}
        missing = expected - cols
        if missing:
            raise FileFormatError(
                f"ledger {self.path} has a 'trials' table without columns {sorted(missing)}; "
                "it was not written by scalinglaws, pass a new --ledger path"
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction taken with ``BEGIN IMMEDIATE`` (read-check-write is atomic)."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise
            raise LedgerError(
                f"ledger {self.path} stayed locked by another process for {self._timeout:g} s; "
                "stop the other driver writing to it, or retry"
            ) from None
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (the file stays consistent whether or not this is called)."""
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    # ------------------------------------------------------------------ study configuration

    def init_study(self, config: dict[str, Any]) -> None:
        """Store the study configuration, or check it against the stored one (resume).

        An empty ledger stores ``config``. A ledger holding the same configuration is left
        untouched (resume). A different configuration raises :class:`FileFormatError` naming the
        first differing key.
        """
        if not isinstance(config, dict):
            raise LedgerError(f"study configuration is a {type(config).__name__}; pass a dict")
        new = {str(k): _normalise(v, f"study configuration key {k!r}") for k, v in config.items()}
        with self._transaction() as conn:
            stored = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM study")}
            if not stored:
                conn.executemany(
                    "INSERT INTO study (key, value) VALUES (?, ?)",
                    [(k, _dumps(v, k)) for k, v in new.items()],
                )
                return
            for key in sorted(set(new) | set(stored)):
                here = _describe(new, key)
                there = _describe(stored, key)
                if new.get(key, _MISSING) != stored.get(key, _MISSING):
                    raise FileFormatError(
                        f"ledger {self.path} was created with a different configuration: key "
                        f"{key!r} is {here} here but {there} in the ledger; use a new --ledger "
                        "path or the original options"
                    )

    def config(self) -> dict[str, Any]:
        """The stored study configuration (``{}`` before :meth:`init_study`)."""
        rows = self._conn.execute("SELECT key, value FROM study ORDER BY key").fetchall()
        return {k: json.loads(v) for k, v in rows}

    # ------------------------------------------------------------------ transitions

    def propose(self, inputs: dict[str, Any], predicted_cost: float, config_key: str) -> int:
        """Record a new trial in state ``proposed`` and return its id.

        ``attempt`` is one more than the highest previous attempt of ``config_key``. Raises
        :class:`LedgerError` if ``config_key`` already has a proposed or running trial (reconcile
        that one instead of proposing it twice).
        """
        cost = _check_cost(predicted_cost, f"predicted cost of {config_key!r}")
        inputs_json = _dumps(dict(inputs), f"inputs of {config_key!r}")
        now = time.time()
        with self._transaction() as conn:
            active = conn.execute(
                "SELECT id, state FROM trials WHERE config_key = ? "
                "AND state IN ('proposed', 'running') ORDER BY id LIMIT 1",
                (config_key,),
            ).fetchone()
            if active is not None:
                raise LedgerError(
                    f"config {config_key!r} already has trial #{active[0]} in state {active[1]!r}; "
                    "wait for it, or fail/abandon it before proposing it again"
                )
            (previous,) = conn.execute(
                "SELECT COALESCE(MAX(attempt), 0) FROM trials WHERE config_key = ?", (config_key,)
            ).fetchone()
            cur = conn.execute(
                "INSERT INTO trials (config_key, inputs, state, predicted_cost, attempt, created, "
                "updated) VALUES (?, ?, 'proposed', ?, ?, ?, ?)",
                (config_key, inputs_json, cost, previous + 1, now, now),
            )
            trial_id = int(cur.lastrowid)
            self._event(conn, trial_id, None, "proposed", now, f"predicted_cost={cost:g}")
        return trial_id

    def mark_running(self, trial_id: int, job_id: str, log_path: str | Path | None = None) -> None:
        """``proposed -> running`` with the executor's job id (no-op if already running it)."""
        now = time.time()
        job_id = str(job_id)
        with self._transaction() as conn:
            state, current_job = self._state(conn, trial_id, "job_id")
            if state == "running" and current_job == job_id:
                return
            self._check_transition(trial_id, state, "running")
            conn.execute(
                "UPDATE trials SET state = 'running', job_id = ?, log_path = ?, updated = ? "
                "WHERE id = ?",
                (job_id, None if log_path is None else str(log_path), now, trial_id),
            )
            self._event(conn, trial_id, state, "running", now, f"job_id={job_id}")

    def complete(
        self, trial_id: int, outcome: dict[str, Any], measured_cost: float | None = None
    ) -> None:
        """``running -> completed`` with the parsed outcome and (if known) the measured cost."""
        if not isinstance(outcome, dict):
            raise LedgerError(
                f"outcome of trial #{trial_id} is a {type(outcome).__name__}; pass a dict"
            )
        outcome_json = _dumps(outcome, f"outcome of trial #{trial_id}")
        cost = (
            None
            if measured_cost is None
            else _check_cost(measured_cost, f"measured cost of trial #{trial_id}")
        )
        now = time.time()
        with self._transaction() as conn:
            (state,) = self._state(conn, trial_id)
            self._check_transition(trial_id, state, "completed")
            conn.execute(
                "UPDATE trials SET state = 'completed', outcome = ?, measured_cost = ?, "
                "updated = ? WHERE id = ?",
                (outcome_json, cost, now, trial_id),
            )
            detail = "measured_cost=" + ("unknown" if cost is None else f"{cost:g}")
            self._event(conn, trial_id, state, "completed", now, detail)

    def fail(self, trial_id: int, reason: str, measured_cost: float | None = None) -> None:
        """``proposed|running -> failed``. A failed trial is charged (see module docstring)."""
        cost = (
            None
            if measured_cost is None
            else _check_cost(measured_cost, f"measured cost of trial #{trial_id}")
        )
        now = time.time()
        with self._transaction() as conn:
            (state,) = self._state(conn, trial_id)
            self._check_transition(trial_id, state, "failed")
            conn.execute(
                "UPDATE trials SET state = 'failed', error = ?, measured_cost = ?, updated = ? "
                "WHERE id = ?",
                (str(reason), cost, now, trial_id),
            )
            self._event(conn, trial_id, state, "failed", now, str(reason))

    def abandon(self, trial_id: int, reason: str) -> None:
        """``proposed -> abandoned``: the trial was never launched and costs nothing."""
        now = time.time()
        with self._transaction() as conn:
            (state,) = self._state(conn, trial_id)
            self._check_transition(trial_id, state, "abandoned")
            conn.execute(
                "UPDATE trials SET state = 'abandoned', error = ?, updated = ? WHERE id = ?",
                (str(reason), now, trial_id),
            )
            self._event(conn, trial_id, state, "abandoned", now, str(reason))

    def _state(self, conn: sqlite3.Connection, trial_id: int, *extra: str) -> tuple[Any, ...]:
        cols = ", ".join(("state", *extra))
        row = conn.execute(f"SELECT {cols} FROM trials WHERE id = ?", (int(trial_id),)).fetchone()
        if row is None:
            raise LedgerError(
                f"trial #{trial_id} does not exist in ledger {self.path}; "
                "use an id returned by propose()"
            )
        return tuple(row)

    @staticmethod
    def _check_transition(trial_id: int, state: str, to: str) -> None:
        if to not in _TRANSITIONS[state]:
            allowed = sorted(_TRANSITIONS[state]) or ["nothing (terminal state)"]
            raise LedgerError(
                f"trial #{trial_id} is {state!r} and cannot become {to!r}; from {state!r} it can "
                f"only become {', '.join(allowed)}"
            )

    @staticmethod
    def _event(
        conn: sqlite3.Connection,
        trial_id: int,
        from_state: str | None,
        to_state: str,
        when: float,
        detail: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO events (trial_id, from_state, to_state, time, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (trial_id, from_state, to_state, when, detail),
        )

    # ------------------------------------------------------------------ queries

    def trial(self, trial_id: int) -> Trial:
        """One trial by id."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM trials WHERE id = ?", (int(trial_id),)
        ).fetchone()
        if row is None:
            raise LedgerError(
                f"trial #{trial_id} does not exist in ledger {self.path}; "
                "use an id returned by propose()"
            )
        return _row_to_trial(row)

    def trials(self, state: str | None = None) -> list[Trial]:
        """All trials (or those in ``state``), ordered by id."""
        if state is None:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM trials ORDER BY id").fetchall()
        else:
            if state not in STATES:
                raise LedgerError(f"trial state {state!r} is unknown; use one of {list(STATES)}")
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM trials WHERE state = ? ORDER BY id", (state,)
            ).fetchall()
        return [_row_to_trial(r) for r in rows]

    def events(self, trial_id: int | None = None) -> list[dict[str, Any]]:
        """The audit log (optionally for one trial), oldest first."""
        sql = "SELECT id, trial_id, from_state, to_state, time, detail FROM events"
        args: tuple[Any, ...] = ()
        if trial_id is not None:
            sql += " WHERE trial_id = ?"
            args = (int(trial_id),)
        keys = ("id", "trial_id", "from_state", "to_state", "time", "detail")
        return [
            dict(zip(keys, r, strict=True)) for r in self._conn.execute(sql + " ORDER BY id", args)
        ]

    def counts(self) -> dict[str, int]:
        """Number of trials in each state (every state present, zero if none)."""
        out = dict.fromkeys(STATES, 0)
        for state, n in self._conn.execute("SELECT state, COUNT(*) FROM trials GROUP BY state"):
            out[state] = int(n)
        return out

    def spent(self) -> float:
        """Cost of launched-and-finished trials: completed + failed, measured else predicted."""
        (value,) = self._conn.execute(
            "SELECT COALESCE(SUM(COALESCE(measured_cost, predicted_cost)), 0.0) FROM trials "
            "WHERE state IN ('completed', 'failed')"
        ).fetchone()
        return float(value)

    def committed(self) -> float:
        """:meth:`spent` plus the predicted cost of proposed and running trials."""
        with self._read() as conn:
            (spent,) = conn.execute(
                "SELECT COALESCE(SUM(COALESCE(measured_cost, predicted_cost)), 0.0) FROM trials "
                "WHERE state IN ('completed', 'failed')"
            ).fetchone()
            (pending,) = conn.execute(
                "SELECT COALESCE(SUM(predicted_cost), 0.0) FROM trials "
                "WHERE state IN ('proposed', 'running')"
            ).fetchone()
        return float(spent) + float(pending)

    def attempts(self, config_key: str) -> int:
        """How many trials (any state) have been recorded for ``config_key``."""
        (n,) = self._conn.execute(
            "SELECT COUNT(*) FROM trials WHERE config_key = ?", (config_key,)
        ).fetchone()
        return int(n)

    def status(self, budget: float | None = None) -> dict[str, Any]:
        """Counts per state, ``spent``, ``committed`` and ``budget`` (default: the study's)."""
        if budget is None:
            budget = self.config().get("budget")
        with self._read():
            out: dict[str, Any] = dict(self.counts())
            out["spent"] = self.spent()
            out["committed"] = self.committed()
        out["budget"] = None if budget is None else float(budget)
        return out

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read snapshot (nested use is fine)."""
        if self._conn.in_transaction:
            yield self._conn
            return
        self._conn.execute("BEGIN")
        try:
            yield self._conn
        finally:
            self._conn.execute("COMMIT")

    def export_completed(self) -> pd.DataFrame:
        """Completed trials as a table: trial_id, attempt, config_key, inputs, outcome, cost.

        Input keys become columns as-is. Outcome keys become columns too; an outcome key that
        collides with an input or a bookkeeping column is prefixed ``outcome_`` (for example
        the LM workload's measured ``N`` becomes ``outcome_N`` next to the requested ``N``).
        ``cost`` is the measured cost when known, the predicted cost otherwise.
        """
        trials = self.trials("completed")
        base = ["trial_id", "attempt", "config_key"]
        input_keys: list[str] = []
        for t in trials:
            input_keys += [k for k in t.inputs if k not in input_keys]
        taken = set(base) | set(input_keys) | {"cost"}
        outcome_keys: list[str] = []
        for t in trials:
            outcome_keys += [k for k in (t.outcome or {}) if k not in outcome_keys]
        rename = {k: (f"outcome_{k}" if k in taken else k) for k in outcome_keys}
        records = []
        for t in trials:
            rec: dict[str, Any] = {
                "trial_id": t.id,
                "attempt": t.attempt,
                "config_key": t.config_key,
            }
            rec.update({k: t.inputs.get(k) for k in input_keys})
            rec.update({rename[k]: (t.outcome or {}).get(k) for k in outcome_keys})
            rec["cost"] = t.cost
            records.append(rec)
        columns = base + input_keys + [rename[k] for k in outcome_keys] + ["cost"]
        return pd.DataFrame.from_records(records, columns=columns)


_MISSING = object()


def _describe(config: dict[str, Any], key: str) -> str:
    if key not in config:
        return "absent"
    return json.dumps(config[key], sort_keys=True)


def _row_to_trial(row: tuple[Any, ...]) -> Trial:
    (tid, key, inputs, state, pred, meas, outcome, attempt, error, job, log, created, upd) = row
    return Trial(
        id=int(tid),
        config_key=key,
        inputs=json.loads(inputs),
        state=state,
        predicted_cost=float(pred),
        measured_cost=None if meas is None else float(meas),
        outcome=None if outcome is None else json.loads(outcome),
        attempt=int(attempt),
        error=error,
        job_id=job,
        log_path=log,
        created=float(created),
        updated=float(upd),
    )
