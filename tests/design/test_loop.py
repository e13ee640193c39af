"""Tests for the closed design loop (``run_study``, ``sl run/status/export``)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scalinglaws import ScalingLawsError
from scalinglaws.cli._main import cli
from scalinglaws.design._ledger import Ledger
from scalinglaws.design._loop import Study, run_study

PY = shlex.quote(sys.executable)
ROOT = Path(__file__).resolve().parents[2]

FAKE = r"""
import json, os, sys, time
N, D, mode = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
marker = os.path.join(os.environ["SL_JOB_DIR"], "..", f"flaky-{N!r}")
if mode == "exit":
    print("boom", file=sys.stderr)
    sys.exit(3)
if mode == "hang":
    time.sleep(60)
if mode == "garbage":
    print("loss is about three")
    sys.exit(0)
if mode == "noloss":
    print(json.dumps({"val": 1.0}))
    sys.exit(0)
if mode == "flaky" and not os.path.exists(marker):
    open(marker, "w").close()
    sys.exit(1)
time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
print("step 1 loss 9.9")
print(json.dumps({"loss": 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28}))
"""


def _loss(n, d):
    return 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28


@pytest.fixture
def fake(tmp_path):
    path = tmp_path / "fake.py"
    path.write_text(FAKE)
    return f"{PY} -S {path} {{N}} {{D}} {{mode}}"


def _pool(modes):
    n = np.geomspace(1e6, 1e8, len(modes))
    return pd.DataFrame({"N": n, "D": 20 * n, "mode": modes})


def test_faults_are_failed_retried_and_never_recorded(tmp_path, fake):
    modes = ["ok", "exit", "hang", "garbage", "noloss", "flaky", "ok", "ok"]
    pool = _pool(modes)
    res = run_study(
        tmp_path / "s.db", pool, "chinchilla", cost="6*N*D", budget="1000%", command=fake,
        method="cheapest", parallel=4, timeout=1.0, retries=1, poll_interval=0.05,
        rundir=tmp_path, target="top:1", max_failures=100,
    )  # fmt: skip
    assert res.reason == "pool"
    with Ledger(tmp_path / "s.db") as led:
        trials = led.trials()
        out = led.export_completed()
        status = led.status()
    by_mode: dict[str, list] = {}
    for t in trials:
        by_mode.setdefault(t.inputs["mode"], []).append(t)
    # every bad configuration ran 1 + retries times, all failed with the reason
    reasons = {"exit": "exit code 3", "hang": "timed out after 1 s", "garbage": "no JSON"}
    reasons["noloss"] = "no finite number 'loss'"
    for mode, why in reasons.items():
        ts = by_mode[mode]
        assert [t.attempt for t in ts] == [1, 2]
        assert all(t.state == "failed" and why in t.error for t in ts), [t.error for t in ts]
    assert "boom" in by_mode["exit"][0].error  # stderr tail in the reason
    flaky = by_mode["flaky"]
    assert [(t.attempt, t.state) for t in flaky] == [(1, "failed"), (2, "completed")]
    # results: only the good configurations, each once, with the law's value
    assert sorted(out["mode"]) == ["flaky", "ok", "ok", "ok"]
    assert np.allclose(out["loss"], _loss(out["N"], out["D"]), rtol=1e-12)
    assert status["failed"] == 9 and status["completed"] == 4
    # failed runs are charged: spent = all launched runs at their predicted cost
    assert status["spent"] == pytest.approx(sum(6 * t.inputs["N"] * t.inputs["D"] for t in trials))


def test_a_broken_command_stops_after_max_failures_in_a_row(tmp_path, fake):
    """Runs that all fail stop the loop after ``max_failures`` of them (plus the runs already in
    flight), not after spending the budget on failures; a resumed driver counts afresh; and a
    completion between failures resets the count."""
    pool = _pool(["exit"] * 12)
    kw = dict(cost="6*N*D", budget="1000%", command=fake, method="cheapest", parallel=2,
              retries=0, poll_interval=0.02, rundir=tmp_path, target="top:1", max_failures=3)  # fmt: skip
    res = run_study(tmp_path / "s.db", pool, "chinchilla", **kw)
    assert res.reason == "failures" and "exit code 3" in res.last_failure
    assert 3 <= res.status["failed"] <= 3 + 2 and res.status["completed"] == 0
    again = run_study(tmp_path / "s.db", pool, "chinchilla", **kw)  # after "fixing" nothing
    assert again.reason == "failures"
    assert res.status["failed"] + 3 <= again.status["failed"] <= res.status["failed"] + 5
    # failures between completions never reach 2 in a row
    mixed = run_study(tmp_path / "m.db", _pool(["exit", "ok"] * 4), "chinchilla",
                      **{**kw, "max_failures": 2, "parallel": 1})  # fmt: skip
    assert mixed.reason == "pool" and mixed.status["completed"] == 4
    # the CLI says why it stopped and exits 1
    pool.to_csv(tmp_path / "pool.csv", index=False)
    r = CliRunner().invoke(cli, [
        "run", "--ledger", str(tmp_path / "c.db"), "--pool", str(tmp_path / "pool.csv"),
        "--law", "chinchilla", "--cost", "6*N*D", "--budget", "1000%", "--command", fake,
        "--method", "cheapest", "--max-failures", "2", "--poll-interval", "0.02", "--no-progress",
    ])  # fmt: skip
    assert r.exit_code == 1, r.output
    assert "stopped: the last runs all failed" in r.output
    assert "2 runs in a row failed; the last: trial" in r.output and "exit code 3" in r.output
    with pytest.raises(ScalingLawsError, match="--max-failures is 0"):
        Study(tmp_path / "x.db", pool, "chinchilla", cost="6*N*D", budget="10%", command=fake,
              max_failures=0)  # fmt: skip


def test_budget_never_exceeded_counting_in_flight(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FAKE_SLEEP", "0.1")
    pool = _pool(["ok"] * 16)
    seen = []

    def check(study: Study) -> None:
        committed = study.ledger.committed()
        seen.append(study.ledger.counts()["running"])
        assert committed <= study.limit * (1 + 1e-12)

    res = run_study(
        tmp_path / "s.db", pool, "chinchilla", cost="6*N*D", budget="30%", command=fake,
        method="random", parallel=3, poll_interval=0.02, progress=check, rundir=tmp_path,
    )  # fmt: skip
    assert res.reason == "budget"
    assert max(seen) >= 2  # several runs really were in flight together
    assert res.status["spent"] <= res.status["budget"]
    # no further affordable configuration was left out
    with Ledger(tmp_path / "s.db") as led:
        used = {t.config_key for t in led.trials()}
        left = [r for _, r in pool.iterrows() if f"N={r.N:.12g},D={r.D:.12g}" not in used]
    assert all(6 * r.N * r.D > res.status["budget"] - res.status["spent"] for r in left)


def test_resume_records_runs_finished_while_down(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FAKE_SLEEP", "0.3")
    pool = _pool(["ok"] * 6)
    kw = dict(
        cost="6*N*D", budget="100%", command=fake, method="cheapest", parallel=2,
        poll_interval=0.02, rundir=tmp_path, target="top:1",
    )  # fmt: skip
    first = run_study(tmp_path / "s.db", pool, "chinchilla", max_iterations=1, **kw)
    assert first.reason == "max-iterations" and first.status["running"] == 2
    import time

    time.sleep(1.0)  # both runs finish while no driver is running
    done = run_study(tmp_path / "s.db", pool, "chinchilla", **kw)
    assert done.reason == "pool" and done.status["completed"] == 6
    with Ledger(tmp_path / "s.db") as led:
        assert [t.attempt for t in led.trials()] == [1] * 6  # nothing re-launched
    # a different configuration is refused, naming the key
    with pytest.raises(ScalingLawsError, match="'budget'"):
        run_study(tmp_path / "s.db", pool, "chinchilla", **{**kw, "budget": "50%"})


def test_stop_width_and_interrupt(tmp_path, fake):
    pool = _pool(["ok"] * 12)
    study = Study(
        tmp_path / "s.db", pool, "chinchilla", cost="6*N*D", budget="100%", command=fake,
        method="cheapest", parallel=2, rundir=tmp_path, target="top:1", stop_width=1e3,
    )  # fmt: skip
    res = study.run(poll_interval=0.02)
    assert res.reason == "stop-width"  # noise-free law: the interval collapses after 6 runs
    assert res.prediction["width"] < 1e3 and res.status["completed"] < 12
    study.close()
    study = Study(
        tmp_path / "t.db", pool, "chinchilla", cost="6*N*D", budget="100%", command=fake,
        method="cheapest", parallel=2, rundir=tmp_path, target="top:1",
    )  # fmt: skip
    study.stop()
    assert study.run(poll_interval=0.02).reason == "interrupted"
    study.close()


def test_crash_safety_under_sigkill(tmp_path):
    # the soak harness forks drivers from a process that has not started JAX (not pytest's):
    # 20 SIGKILLs at random moments, restarts, then exactly-once / no-rerun / spent checks
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/crash_soak.py"), "--kills", "20", "--seed", "1",
         "--max-delay", "0.5", "--fresh-every", "0", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(out.stdout.splitlines()[-2])
    assert summary["kills"] >= 20
    assert "violations: 0" in out.stdout


def test_cli_run_status_export(tmp_path, fake):
    _pool(["ok"] * 6).to_csv(tmp_path / "pool.csv", index=False)
    runner = CliRunner()
    db = str(tmp_path / "s.db")
    args = [
        "run", "--ledger", db, "--pool", str(tmp_path / "pool.csv"), "--target", "top:1",
        "--law", "chinchilla", "--cost", "6*N*D", "--budget", "10%", "--command", fake,
        "--method", "random", "--poll-interval", "0.02", "--no-progress",
    ]  # fmt: skip
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "budget spent" in r.output
    r = runner.invoke(cli, ["status", db, "--json"])
    s = json.loads(r.output)
    assert {"completed", "failed", "running", "abandoned", "spent", "budget"} <= set(s)
    assert s["spent"] <= s["budget"] and s["completed"] >= 1
    r = runner.invoke(cli, ["export", db, "-o", str(tmp_path / "runs.csv")])
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == s["completed"]
    assert {"N", "D", "loss", "cost", "attempt"} <= set(runs.columns)
    # a directory that does not exist: one line, exit 2 (pandas raises a bare OSError)
    r = runner.invoke(cli, ["export", db, "-o", str(tmp_path / "nowhere" / "runs.csv")])
    assert r.exit_code == 2 and r.output.startswith("error: ") and "nowhere" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = runner.invoke(cli, [*args, "--budget", "20%"])  # mismatch (last --budget wins)
    assert r.exit_code == 2 and r.output.startswith("error: ") and "'budget'" in r.output
    r = runner.invoke(cli, ["status", str(tmp_path / "missing.db")])
    assert r.exit_code == 2 and "does not exist" in r.output
    # a cost fitted to measured costs needs runs before the first launch: refused, one line
    r = runner.invoke(cli, [*args, "--ledger", str(tmp_path / "fit.db"), "--cost", "fit:cost"])
    assert r.exit_code == 2 and r.output.startswith("error: cost 'fit:cost' is fitted to the")
    assert not (tmp_path / "fit.db").exists()
