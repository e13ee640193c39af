"""Crash soak for the closed loop: SIGKILL the ``run_study`` driver at random moments, restart it,
and check that the ledger stays exact.

Each *study* is a fresh ledger over a small chinchilla pool whose runs are a fast fake command
(``python -S fake_run.py``) that logs its launch, sleeps 20-250 ms and prints
``{"loss": L(N, D), "trial": id}``; some configurations always fail (``exit 1``) and some fail on
their first attempt only. A driver is started (forked from a process that already imported
scalinglaws, so restarts take milliseconds; with ``--fresh-every k`` every k-th driver is a new
Python interpreter instead), killed with SIGKILL after a uniform random delay, and restarted,
until the study finishes on its own; then the invariants are checked:

- every run whose command finished successfully is recorded exactly once, with its own outcome;
- no trial was launched twice; a configuration has several trials only if all but its last failed
  (retries), and at most ``1 + retries`` of them;
- spent budget == summed predicted cost of the launched runs, and never above the budget;
- nothing is left proposed or running.

Usage: ``python benchmarks/crash_soak.py --kills 200 [--seed 0] [--max-delay 0.6]
[--fresh-every 25] [--dir DIR]``. Prints one line per study and a summary; exit status 1 on any
violation. ``soak(...)`` is also used by ``tests/design/test_loop.py`` (with fewer kills).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FAKE_RUN = r"""
import json, os, random, sys, time
N, D, mode, logdir = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
tid = os.environ["SL_TRIAL_ID"]
def log(name, line):
    fd = os.open(os.path.join(logdir, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (line + "\n").encode())
    os.close(fd)
log("launches.log", f"{tid} {N!r} {D!r}")
time.sleep(random.Random(int(tid) * 7919 + int(N) % 1000).uniform(0.02, 0.25))
marker = os.path.join(logdir, f"flaky-{N!r}-{D!r}")
if mode == "fail" or (mode == "flaky" and not os.path.exists(marker)):
    open(marker, "w").close()
    print("simulated failure", file=sys.stderr)
    sys.exit(1)
loss = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
log("finished.log", f"{tid} {loss!r}")
print(json.dumps({"loss": loss, "trial": int(tid)}))
"""

RETRIES = 1
PARALLEL = 3


def make_study(root: Path, n_configs: int = 12) -> dict[str, Any]:
    """Write the fake run script and the pool into ``root``; return the run_study arguments."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "fake_run.py").exists():  # a running job may be reading it
        (root / "fake_run.py").write_text(FAKE_RUN)
    sizes = np.geomspace(1e6, 1e8, n_configs // 2)
    N = np.repeat(sizes, 2)[:n_configs]
    D = N * np.tile([10.0, 30.0], n_configs)[:n_configs]
    mode = ["ok"] * n_configs
    mode[1], mode[4], mode[7] = "fail", "flaky", "flaky"
    pool = pd.DataFrame({"N": N, "D": D, "mode": mode})
    command = f"{sys.executable} -S {root / 'fake_run.py'} {{N}} {{D}} {{mode}} {root}"
    return dict(
        ledger=str(root / "study.db"), pool=pool, law="chinchilla", cost="6*N*D",
        budget="70%", command=command, method="random", parallel=PARALLEL, retries=RETRIES,
        target="top:2", seed=0,
    )  # fmt: skip


def _drive(kwargs: dict[str, Any]) -> None:
    from scalinglaws.design._loop import run_study

    run_study(poll_interval=0.01, **kwargs)
    os._exit(0)


def _drive_fresh(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--drive", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def check(root: Path, kwargs: dict[str, Any]) -> list[str]:
    """The invariants (see the module docstring); returns the violations (empty if none)."""
    from scalinglaws.design._ledger import Ledger

    problems: list[str] = []
    with Ledger(kwargs["ledger"]) as led:
        trials = led.trials()
        status = led.status()
        limit = float(led.config()["budget"])
    launches = [ln.split() for ln in _lines(root / "launches.log")]
    finished = {int(a): float(b) for a, b in (ln.split() for ln in _lines(root / "finished.log"))}
    per_trial = Counter(int(t) for t, _, _ in launches)
    by_id = {t.id: t for t in trials}
    for tid, n in per_trial.items():
        if n > 1:
            problems.append(f"trial {tid} was launched {n} times")
        if tid not in by_id:
            problems.append(f"launched trial {tid} is not in the ledger")
    for t in trials:
        launched = per_trial.get(t.id, 0)
        if t.state in ("proposed", "running"):
            problems.append(f"trial {t.id} left {t.state}")
        if t.state == "abandoned":
            problems.append(f"trial {t.id} abandoned")
        if t.state == "completed":
            if t.id not in finished:
                problems.append(f"trial {t.id} completed but its command did not finish")
            elif (t.outcome or {}).get("trial") != t.id or t.outcome["loss"] != finished[t.id]:
                problems.append(f"trial {t.id} recorded outcome {t.outcome} not its own")
        if t.state in ("completed", "failed") and launched != 1:
            problems.append(f"trial {t.id} {t.state} but launched {launched} times")
    for tid in finished:
        if tid not in by_id or by_id[tid].state != "completed":
            problems.append(f"trial {tid} finished successfully but is not recorded as completed")
    groups: dict[str, list] = defaultdict(list)
    for t in trials:
        groups[t.config_key].append(t)
    for key, ts in groups.items():
        ts.sort(key=lambda t: t.attempt)
        if any(t.state != "failed" for t in ts[:-1]):
            problems.append(f"config {key} re-ran after a non-failed attempt")
        if len(ts) > 1 + RETRIES:
            problems.append(f"config {key} has {len(ts)} attempts (retries={RETRIES})")
    launched_cost = sum(6 * float(n) * float(d) for _, n, d in launches)
    if abs(status["spent"] - launched_cost) > 1e-9 * max(1.0, launched_cost):
        problems.append(f"spent {status['spent']!r} != launched cost {launched_cost!r}")
    if status["spent"] > limit * (1 + 1e-12):
        problems.append(f"spent {status['spent']!r} exceeds the budget {limit!r}")
    return problems


def _lines(path: Path) -> list[str]:
    try:
        return [ln for ln in path.read_text().splitlines() if ln.strip()]
    except FileNotFoundError:
        return []


def soak(
    root: Path,
    kills: int,
    *,
    seed: int = 0,
    max_delay: float = 0.6,
    fresh_every: int = 0,
    log: Any = None,
) -> dict[str, Any]:
    """Kill drivers until ``kills`` SIGKILLs hit a live driver; check every study; report."""
    rng = np.random.default_rng(seed)
    ctx = mp.get_context("fork")
    done_kills = studies = starts = 0
    problems: list[str] = []
    t0 = time.time()
    while done_kills < kills:
        sdir = root / f"study-{studies:03d}"
        kwargs = make_study(sdir)
        study_kills = 0
        while True:
            starts += 1
            fresh = fresh_every > 0 and starts % fresh_every == 0
            proc: Any = _drive_fresh(sdir) if fresh else ctx.Process(target=_drive, args=(kwargs,))
            if not fresh:
                proc.start()
            delay = rng.uniform(0.0, max_delay) + (2.5 if fresh else 0.0)  # + interpreter start
            deadline = time.time() + delay
            while time.time() < deadline and _alive(proc):
                time.sleep(0.002)
            if not _alive(proc) or done_kills >= kills:
                _wait(proc)  # finished on its own (or enough kills): the study ran to its end
                if _alive(proc) is False and _exitcode(proc) != 0:
                    problems.append(f"{sdir.name}: driver exited with {_exitcode(proc)}")
                break
            os.kill(proc.pid, signal.SIGKILL)
            _wait(proc)
            done_kills += 1
            study_kills += 1
        # make sure the study is finished: one last uninterrupted driver
        final = ctx.Process(target=_drive, args=(kwargs,))
        final.start()
        final.join()
        found = check(sdir, kwargs)
        problems += [f"{sdir.name}: {p}" for p in found]
        from scalinglaws.design._ledger import Ledger

        with Ledger(kwargs["ledger"]) as led:
            st = led.status()
        line = (
            f"{sdir.name}: {study_kills} kills, completed {st['completed']}, failed {st['failed']},"
            f" spent {st['spent']:.4g} of {st['budget']:.4g}, "
            f"{'OK' if not found else 'VIOLATIONS ' + '; '.join(found)}"
        )
        if log is not None:
            print(line, file=log, flush=True)
        studies += 1
    return {
        "kills": done_kills,
        "studies": studies,
        "driver_starts": starts,
        "problems": problems,
        "seconds": time.time() - t0,
    }


def _alive(proc: Any) -> bool:
    return proc.poll() is None if isinstance(proc, subprocess.Popen) else proc.is_alive()


def _wait(proc: Any) -> None:
    if isinstance(proc, subprocess.Popen):
        proc.wait()
    else:
        proc.join()


def _exitcode(proc: Any) -> int | None:
    return proc.returncode if isinstance(proc, subprocess.Popen) else proc.exitcode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=0.6)
    parser.add_argument("--fresh-every", type=int, default=25)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--drive", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import scalinglaws.design._loop  # noqa: F401  (import once; forked drivers start fast)

    if args.drive:
        from scalinglaws.design._loop import run_study

        kwargs = make_study(Path(args.drive))
        run_study(poll_interval=0.01, **kwargs)
        return 0
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="crash-soak-"))
    rep = soak(root, args.kills, seed=args.seed, max_delay=args.max_delay,
               fresh_every=args.fresh_every, log=sys.stdout)  # fmt: skip
    print(json.dumps({k: v for k, v in rep.items() if k != "problems"}))
    print(f"violations: {len(rep['problems'])}")
    for p in rep["problems"]:
        print("  " + p)
    return 1 if rep["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
