"""Tests for the SQLite study ledger."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from scalinglaws._errors import FileFormatError, ScalingLawsError
from scalinglaws.design._ledger import Ledger, LedgerError

CONFIG = {"law": "chinchilla", "budget": 0.05, "seed": 0, "command": "train --N {N}"}


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "study.db") as led:
        led.init_study(CONFIG)
        yield led


def test_state_machine_happy_path_and_events(ledger):
    tid = ledger.propose({"N": 1e6, "D": 2e7}, 0.01, "N=1e6,D=2e7")
    assert ledger.trial(tid).state == "proposed"
    ledger.mark_running(tid, "job-1", "/tmp/log")
    ledger.mark_running(tid, "job-1", "/tmp/log")  # same job id: idempotent no-op
    ledger.complete(tid, {"loss": 3.2}, measured_cost=0.012)
    t = ledger.trial(tid)
    assert (t.state, t.job_id, t.outcome, t.measured_cost, t.attempt) == (
        "completed",
        "job-1",
        {"loss": 3.2},
        0.012,
        1,
    )
    assert [e["to_state"] for e in ledger.events(tid)] == ["proposed", "running", "completed"]


@pytest.mark.parametrize(
    "setup, action",
    [
        ("completed", lambda led, t: led.complete(t, {"loss": 1.0}, 1.0)),
        ("completed", lambda led, t: led.fail(t, "again")),
        ("failed", lambda led, t: led.complete(t, {"loss": 1.0}, 1.0)),
        ("failed", lambda led, t: led.mark_running(t, "j2", None)),
        ("abandoned", lambda led, t: led.mark_running(t, "j2", None)),
        ("proposed", lambda led, t: led.complete(t, {"loss": 1.0}, 1.0)),
        ("running", lambda led, t: led.abandon(t, "nope")),
        ("running", lambda led, t: led.mark_running(t, "other-job", None)),
    ],
)
def test_illegal_transitions_raise(ledger, setup, action):
    tid = ledger.propose({"N": 1}, 1.0, "k")
    if setup in ("running", "completed", "failed"):
        ledger.mark_running(tid, "j1", None)
    if setup == "completed":
        ledger.complete(tid, {"loss": 2.0}, 1.0)
    elif setup == "failed":
        ledger.fail(tid, "boom")
    elif setup == "abandoned":
        ledger.abandon(tid, "skip")
    before = ledger.trial(tid)
    n_events = len(ledger.events())
    with pytest.raises(LedgerError, match=f"trial #{tid} is '{setup}'"):
        action(ledger, tid)
    assert ledger.trial(tid) == before
    assert len(ledger.events()) == n_events


def test_unknown_trial_and_bad_values(ledger):
    with pytest.raises(LedgerError, match="#99 does not exist"):
        ledger.fail(99, "x")
    with pytest.raises(LedgerError, match="predicted cost"):
        ledger.propose({"N": 1}, float("nan"), "k")
    tid = ledger.propose({"N": 1}, 1.0, "k")
    ledger.mark_running(tid, "j", None)
    with pytest.raises(LedgerError, match="finite"):
        ledger.complete(tid, {"loss": float("inf")}, 1.0)
    assert ledger.trial(tid).state == "running"
    assert isinstance(LedgerError("x"), ScalingLawsError)


def test_attempts_and_active_duplicate(ledger):
    t1 = ledger.propose({"N": 1}, 1.0, "k")
    with pytest.raises(LedgerError, match="already has trial"):
        ledger.propose({"N": 1}, 1.0, "k")
    ledger.mark_running(t1, "j1", None)
    ledger.fail(t1, "oom")
    t2 = ledger.propose({"N": 1}, 1.0, "k")
    assert ledger.trial(t2).attempt == 2
    assert ledger.attempts("k") == 2
    assert ledger.attempts("other") == 0


def test_resume_same_config_is_noop_and_mismatch_names_key(tmp_path):
    path = tmp_path / "s.db"
    with Ledger(path) as led:
        led.init_study(CONFIG)
        led.propose({"N": 1}, 1.0, "k")
    with Ledger(path) as led:
        led.init_study(dict(CONFIG))  # resume
        assert led.config() == CONFIG
        assert led.counts()["proposed"] == 1
        with pytest.raises(FileFormatError) as info:
            led.init_study({**CONFIG, "budget": 0.1})
        msg = str(info.value)
        assert "key 'budget' is 0.1 here but 0.05 in the ledger" in msg
        assert "\n" not in msg and "--ledger" in msg
        with pytest.raises(FileFormatError, match="key 'extra' is 1 here but absent"):
            led.init_study({**CONFIG, "extra": 1})
        assert led.config() == CONFIG


def test_spent_committed_status(ledger):
    a = ledger.propose({"N": 1}, 1.0, "a")  # completed, measured 1.5
    b = ledger.propose({"N": 2}, 2.0, "b")  # failed, no measurement -> predicted 2.0
    c = ledger.propose({"N": 3}, 4.0, "c")  # running
    d = ledger.propose({"N": 4}, 8.0, "d")  # proposed
    e = ledger.propose({"N": 5}, 16.0, "e")  # abandoned: free
    for t in (a, b, c):
        ledger.mark_running(t, f"job{t}", None)
    ledger.complete(a, {"loss": 1.0}, 1.5)
    ledger.fail(b, "exit code 1")
    ledger.abandon(e, "over budget")
    assert ledger.spent() == pytest.approx(3.5)
    assert ledger.committed() == pytest.approx(3.5 + 4.0 + 8.0)
    st = ledger.status()
    assert st == {
        "proposed": 1,
        "running": 1,
        "completed": 1,
        "failed": 1,
        "abandoned": 1,
        "spent": pytest.approx(3.5),
        "committed": pytest.approx(15.5),
        "budget": 0.05,
    }
    assert ledger.status(budget=20)["budget"] == 20.0
    assert [t.id for t in ledger.trials("proposed")] == [d]


def test_export_completed(ledger):
    assert list(ledger.export_completed().columns) == ["trial_id", "attempt", "config_key", "cost"]
    t = ledger.propose({"N": 100, "D": 1000}, 1.0, "x")
    ledger.mark_running(t, "j", None)
    ledger.complete(t, {"loss": 2.5, "N": 96, "cost": 9.0}, 0.9)
    u = ledger.propose({"N": 200, "D": 1000}, 2.0, "y")
    ledger.mark_running(u, "j2", None)
    ledger.complete(u, {"loss": 2.0, "N": 192}, None)
    df = ledger.export_completed()
    assert list(df.columns[:3]) == ["trial_id", "attempt", "config_key"]
    assert list(df.columns[3:5]) == ["D", "N"]  # inputs (keys sorted), then outcome, then cost
    assert set(df.columns[5:-1]) == {"loss", "outcome_N", "outcome_cost"}
    assert df.columns[-1] == "cost"
    assert df["loss"].tolist() == [2.5, 2.0]
    assert df["cost"].tolist() == [0.9, 2.0]
    assert df["outcome_N"].tolist() == [96, 192]


def test_concurrent_writer_from_second_connection(tmp_path):
    path = tmp_path / "s.db"
    with Ledger(path) as a, Ledger(path) as b:
        a.init_study(CONFIG)
        t = a.propose({"N": 1}, 1.0, "k")
        b.mark_running(t, "j", None)
        with pytest.raises(LedgerError, match="'running' and cannot become 'running'"):
            a.mark_running(t, "other", None)
        # a second *process* completes the trial while `a` holds the file open
        code = textwrap.dedent(
            f"""
            from scalinglaws.design._ledger import Ledger
            with Ledger({str(path)!r}) as led:
                led.complete({t}, {{"loss": 1.25}}, 0.5)
            """
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        assert a.trial(t).outcome == {"loss": 1.25}
        with pytest.raises(LedgerError, match="'completed'"):
            b.complete(t, {"loss": 9.0}, 0.5)
        assert a.spent() == 0.5
        # a writer holding the lock only delays the other writer (busy timeout), never corrupts
        slow = Ledger(path, timeout=0.2)
        raw = sqlite3.connect(str(path), isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        with pytest.raises(LedgerError, match="locked by another process"):
            slow.propose({"N": 2}, 1.0, "k2")
        raw.execute("ROLLBACK")
        raw.close()
        assert slow.propose({"N": 2}, 1.0, "k2") > t
        slow.close()


def test_not_a_ledger(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(FileFormatError, match="not a usable SQLite ledger"):
        Ledger(bad)
    with pytest.raises(FileFormatError, match="is a directory"):
        Ledger(tmp_path)
