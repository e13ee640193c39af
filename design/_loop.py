"""The closed design loop: propose → submit → poll → record → refit → … within a budget.

:func:`run_study` drives one study stored in a :class:`~scalinglaws.design._ledger.Ledger`:

1. **reconcile** (every start, so a killed driver resumes): every ``proposed`` trial is submitted
   again with the same trial id (the executors launch at most one job per trial id, so a trial
   launched just before a crash is not launched twice) and marked running; every ``running``
   trial is polled, which records runs that finished while the driver was down.
2. **poll** every running trial; a finished one is recorded with :meth:`Ledger.complete` (its
   JSON result must hold the law's outputs as finite numbers, and ``cost`` if present must be a
   non-negative number) or :meth:`Ledger.fail` with a one-line reason (non-zero exit, timeout,
   garbage output, missing output).
3. **refit** when the completed set changed and a prediction is wanted (progress bar or
   ``stop_width``): a multistart fit, its Laplace posterior and the 90% interval of every
   target configuration. The stopping rule fires when the widest interval is below
   ``stop_width``.
4. **fill free executor slots**: first retries of failed configurations (a new ledger trial for
   the same ``config_key``, at most ``retries`` per configuration), then new proposals from
   :func:`scalinglaws.design._propose.propose` (the design's one acquisition/budget routine)
   with ``batch`` = free slots, the completed trials as observed runs and the proposed+running
   trials as in flight. The proposal step is seeded with ``(seed, completed + failed)`` so a
   resumed driver proposes what the killed one would have.

Every state change is written to the ledger *before* it is acted on externally: the trial row
(which reserves its predicted cost) before the job is submitted, the job id right after. A
SIGKILL between any two steps is repaired by step 1.

Budget. A run is proposed only if ``ledger.committed() + predicted cost <= budget``, where
``committed`` counts finished runs (measured cost when the command reports one, else predicted)
and the predicted cost of runs in flight, so the loop never plans past its budget. A command
that reports a measured cost higher than predicted can still make ``spent`` overshoot by that
difference; nothing is launched afterwards.

The loop ends when nothing is in flight and nothing more can be launched (budget spent, pool
exhausted, stopping rule fired, or the last ``max_failures`` runs this driver recorded all
failed: a broken command should not spend the budget on failures) or, after a Ctrl-C (SIGINT),
at the next safe point: runs in flight keep running detached and are recorded by the next
``run_study`` on the same ledger.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglaws._errors import ScalingLawsError
from scalinglaws._law import Law, get_law

from ._acquisition import METHODS
from ._budget import DesignError, parse_budget
from ._costs import CostModel, cost_model, is_fitted_spec
from ._executors import Executor, ExecutorError, LocalExecutor, SubmititExecutor, format_command
from ._ledger import Ledger, Trial
from ._propose import _costs_of, propose, resolve_target

__all__ = ["Study", "StudyResult", "config_key", "run_study"]

EXECUTORS = ("local", "submitit")
INTERVAL = 0.9  # the prediction interval shown and used by the stopping rule
_FIT_STARTS = 32
_DRAWS = 400


@dataclasses.dataclass
class StudyResult:
    """What :func:`run_study` ends with.

    ``reason``: ``"budget"`` (no affordable run left), ``"pool"`` (every configuration tried),
    ``"stop-width"`` (the stopping rule fired), ``"failures"`` (the last ``max_failures`` runs
    recorded failed; ``last_failure`` says why the last one did), ``"interrupted"`` (Ctrl-C) or
    ``"max-iterations"``.
    ``status``: :meth:`Ledger.status`. ``prediction``: the latest target prediction (see
    :meth:`Study.prediction`) or None. ``iterations``: loop iterations run by this call.
    """

    reason: str
    status: dict[str, Any]
    prediction: dict[str, Any] | None
    iterations: int
    last_failure: str | None = None


def config_key(law: Law, row: dict[str, Any]) -> str:
    """A configuration's identity: the law's inputs to 12 significant digits, ``N=1e+07,D=2e+08``.

    Matches how :func:`~scalinglaws.design._propose.propose` recognises observed configurations.
    """
    return ",".join(f"{k}={float(row[k]):.12g}" for k in law.inputs)


def _plain(value: Any) -> Any:
    """A pool cell as a JSON value (numpy scalars to Python, NaN dropped by the caller)."""
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _row_inputs(row: pd.Series) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        v = _plain(v)
        if isinstance(v, float) and not math.isfinite(v):
            continue
        out[str(k)] = v
    return out


def _sha(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()[:16]


class Study:
    """One closed-loop study over a ledger; :meth:`run` drives it (see the module docstring).

    Args:
        ledger: path of the SQLite ledger (created on first use; resumed otherwise).
        pool: candidate configurations (the law's input columns at least; other columns may be
            used by the command template and the cost expression).
        law: a law or law name. cost: a cost expression (``"6*N*D"``) or a pool column.
        budget: ``"10%"`` of the pool's total cost or an absolute cost.
        command: shell command template with ``{column}`` placeholders and optionally
            ``{result}``; it prints a JSON object as its last stdout line.
        target: configurations to predict (a table), ``"top:k"``, or None for the most costly
            5% of the pool.
        parallel: executor slots. timeout: seconds per run (None: no limit).
        retries: extra attempts for a configuration whose run failed.
        executor: ``"local"`` or ``"submitit"`` (or an :class:`Executor` instance).
        method, gamma, seed: acquisition settings (see :func:`propose`).
        stop_width: stop launching once the widest 90% interval over the target is narrower.
        workdir: executor work directory (default ``<ledger>.runs``). rundir: directory
            commands run in (default: the current one).
        predict: refit and predict the target after each completion (default: when
            ``stop_width`` is set). fit_starts: multistart size of that fit.
        max_failures: stop launching once this many runs in a row (as this driver records
            them) have failed; default ``max(5, 2 * parallel)``. Not part of the study's
            settings: a resumed driver counts afresh, so a fixed environment can carry on.
    """

    def __init__(
        self,
        ledger: str | Path,
        pool: pd.DataFrame,
        law: Law | str,
        *,
        cost: str | CostModel,
        budget: str | float,
        command: str,
        target: pd.DataFrame | str | int | None = None,
        parallel: int = 2,
        timeout: float | None = None,
        retries: int = 1,
        executor: str | Executor = "local",
        method: str = "mspe",
        gamma: float = 0.4,
        seed: int = 0,
        stop_width: float | None = None,
        workdir: str | Path | None = None,
        rundir: str | Path | None = None,
        predict: bool | None = None,
        fit_starts: int = _FIT_STARTS,
        max_failures: int | None = None,
    ) -> None:
        self.law = get_law(law)
        if method not in METHODS:
            raise DesignError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        if int(parallel) < 1:
            raise DesignError(f"--parallel is {parallel}; give at least 1")
        if int(retries) < 0:
            raise DesignError(f"--retries is {retries}; give 0 or more")
        if max_failures is not None and int(max_failures) < 1:
            raise DesignError(f"--max-failures is {max_failures}; give at least 1")
        if stop_width is not None and not (float(stop_width) > 0):
            raise DesignError(f"--stop-width is {stop_width}; give a positive interval width")
        if pool is None or len(pool) == 0:
            raise DesignError(
                "the candidate pool is empty; give a pool table with at least one row"
            )
        missing = [c for c in self.law.inputs if c not in pool.columns]
        if missing:
            raise DesignError(
                f"the pool lacks column(s) {', '.join(missing)} needed by law "
                f"{self.law.name!r}; its columns are {', '.join(map(str, pool.columns))}"
            )
        self.pool = pool.reset_index(drop=True)
        if is_fitted_spec(cost):
            raise DesignError(
                f"cost {cost!r} is fitted to the measured costs of observed runs, which a study "
                "needs before its first launch; give a cost expression (6*N*D) or a pool column"
            )
        self.cm = cost_model(cost, self.pool.columns)
        self.pool_cost = self.cm(self.pool, what="pool")
        self.total = float(self.pool_cost.sum())
        self.limit = parse_budget(budget, self.total)
        self.keys = [config_key(self.law, r) for _, r in self.pool.iterrows()]
        dup = pd.Series(self.keys).duplicated()
        if dup.any():
            i = int(np.argmax(dup.to_numpy()))
            raise DesignError(
                f"pool row {i + 1} repeats configuration {self.keys[i]}; every pool row must be "
                "a distinct configuration of the law's inputs"
            )
        self.target_df, target_desc = self._resolve_target(target)
        self.command = str(command)
        format_command(self.command, _row_inputs(self.pool.iloc[0]))  # fail fast on bad templates
        self.method, self.gamma, self.seed = method, float(gamma), int(seed)
        self.retries = int(retries)
        self.stop_width = None if stop_width is None else float(stop_width)
        self.predict = (self.stop_width is not None) if predict is None else bool(predict)
        self.fit_starts = int(fit_starts)
        self.max_failures = max(5, 2 * int(parallel)) if max_failures is None else int(max_failures)
        self._streak = 0  # runs failed in a row, as this driver recorded them
        self._last_failure: str | None = None
        self.ledger = Ledger(ledger)
        self.rundir = Path(rundir) if rundir is not None else Path.cwd()
        exec_name = executor if isinstance(executor, str) else type(executor).__name__
        self.config: dict[str, Any] = {
            "law": self.law.name,
            "pool": _sha(self.pool),
            "pool_rows": len(self.pool),
            "target": target_desc,
            "cost": self.cm.spec,
            "budget": self.limit,
            "budget_spec": str(budget),
            "command": self.command,
            "method": method,
            "gamma": self.gamma,
            "seed": self.seed,
            "retries": self.retries,
            "executor": exec_name,
        }
        self.ledger.init_study(self.config)
        self.workdir = Path(workdir) if workdir is not None else Path(f"{self.ledger.path}.runs")
        if isinstance(executor, str):
            if executor == "local":
                self.ex: Executor = LocalExecutor(int(parallel), timeout, self.workdir)
            elif executor == "submitit":
                self.ex = SubmititExecutor(self.workdir, int(parallel), timeout)
            else:
                raise DesignError(f"unknown executor {executor!r}; use local or submitit")
        else:
            self.ex = executor
        self._stop = False
        self._children: list[Any] = []
        self._vanished: dict[int, int] = {}
        self._fitted_n = -1
        self._prediction: dict[str, Any] | None = None

    # ------------------------------------------------------------------ setup helpers
    def _resolve_target(self, target: Any) -> tuple[pd.DataFrame, str]:
        """The target configurations and their description in the study's settings."""
        tx, k = resolve_target(target, self.pool, self.pool_cost, self.law.inputs)
        return tx, ("table:" + _sha(tx)) if k is None else f"top:{k}"

    # ------------------------------------------------------------------ executor steps
    def _launch(self, trial: Trial) -> bool:
        """Submit a proposed trial (idempotent) and mark it running; False if no slot is free."""
        cmd = format_command(self.command, trial.inputs)
        try:
            job = self.ex.submit(trial.id, cmd, self.rundir)
            child = getattr(self.ex, "_procs", {}).get(job)
            if child is not None:
                self._children.append(child)
        except ExecutorError:
            if self.ex.slots() <= 0:
                return False  # e.g. resumed with a smaller --parallel: launch it later
            raise
        log = self.ex.log_path(job) if hasattr(self.ex, "log_path") else None
        self.ledger.mark_running(trial.id, job, log)
        return True

    def _record(self, trial: Trial) -> None:
        """Poll one running trial and record its outcome if it finished."""
        status = self.ex.poll(str(trial.job_id))
        if status.state == "running":
            return
        if status.state == "failed":
            reason = status.reason or "failed"
            if reason.startswith("process vanished") and isinstance(self.ex, LocalExecutor):
                # seen under SIGKILL soaks: a job just launched can look vanished once; confirm
                # with a fresh executor (which re-reads pid files) on the next round before
                # recording a failure
                self._vanished[trial.id] = self._vanished.get(trial.id, 0) + 1
                if self._vanished[trial.id] < 3:
                    ex = self.ex
                    self.ex = LocalExecutor(ex.max_parallel, ex.timeout, ex.workdir, ex.env)
                    return
            self._failed(trial, reason)
            return
        result = dict(status.result or {})
        problem = self._check_result(result)
        if problem:
            self._failed(trial, problem)
            return
        cost = result.get("cost")
        self.ledger.complete(trial.id, result, None if cost is None else float(cost))
        self._streak = 0

    def _failed(self, trial: Trial, reason: str) -> None:
        self.ledger.fail(trial.id, reason)
        self._streak += 1
        self._last_failure = f"trial {trial.id}: {reason}"

    def _reap(self) -> None:
        """Keep our child handles until they exit (no zombie, no ResourceWarning).

        :class:`LocalExecutor` forgets its ``Popen`` once the job's exit code file exists, which
        can be a moment before the wrapper shell exits.
        """
        self._children = [p for p in self._children if p.poll() is None]

    def _check_result(self, result: dict[str, Any]) -> str | None:
        for out in self.law.outputs:
            v = result.get(out)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                shown = json.dumps(result)
                shown = shown if len(shown) <= 120 else shown[:117] + "..."
                return (
                    f"result {shown} has no finite number {out!r} (an output of law "
                    f"{self.law.name!r}); print e.g. {{{json.dumps(out)}: 3.21}}"
                )
        cost = result.get("cost")
        if cost is not None and (
            isinstance(cost, bool)
            or not isinstance(cost, (int, float))
            or not (math.isfinite(cost) and cost >= 0)
        ):
            return f"result cost {cost!r} is not a finite non-negative number"
        return None

    # ------------------------------------------------------------------ tables
    def _frame(self, trials: list[Trial], outputs: bool) -> pd.DataFrame | None:
        if not trials:
            return None
        rows = []
        for t in trials:
            rec = dict(t.inputs)
            if outputs:
                rec.update({k: (t.outcome or {}).get(k) for k in self.law.outputs})
            rows.append(rec)
        return pd.DataFrame.from_records(rows)

    def _retry_candidates(self) -> list[Trial]:
        """Failed trials whose configuration has attempts left (latest attempt failed)."""
        latest: dict[str, Trial] = {}
        for t in self.ledger.trials():
            if t.state != "abandoned" and (
                t.config_key not in latest or t.attempt > latest[t.config_key].attempt
            ):
                latest[t.config_key] = t
        return [t for t in latest.values() if t.state == "failed" and t.attempt <= self.retries]

    # ------------------------------------------------------------------ prediction
    def prediction(self) -> dict[str, Any] | None:
        """Refit on the completed runs (when they changed) and predict the target.

        Returns ``{"n": completed runs, "median", "lo", "hi": (T,) arrays of the first output,
        "width": max(hi - lo), "worst": index of the widest target}`` or None when too few runs
        or the fit failed.
        """
        done = self.ledger.trials("completed")
        if len(done) == self._fitted_n:
            return self._prediction
        self._fitted_n = len(done)
        self._prediction = None
        if len(done) < self.law.n_params + 1:
            return None
        import jax
        import jax.numpy as jnp

        from scalinglaws import fit, laplace, prepare_runs

        df = self._frame(done, outputs=True)
        try:
            runs = prepare_runs(df, self.law, source="completed runs")
            res = fit(self.law, runs, starts=self.fit_starts, key=self.seed)
            draws = laplace(res).sample(_DRAWS, self.seed)
        except (ScalingLawsError, ValueError, np.linalg.LinAlgError):
            return None
        xs = {k: jnp.asarray(self.target_df[k].to_numpy(np.float64)) for k in self.law.inputs}
        pred = np.asarray(jax.vmap(lambda th: self.law.apply(th, xs))(jnp.asarray(draws)))[..., 0]
        pred = pred[np.all(np.isfinite(pred), axis=1)]
        if len(pred) < 10:
            return None
        a = (1 - INTERVAL) / 2
        lo, med, hi = np.quantile(pred, [a, 0.5, 1 - a], axis=0)
        widths = hi - lo
        self._prediction = {
            "n": len(done),
            "median": med,
            "lo": lo,
            "hi": hi,
            "width": float(widths.max()),
            "worst": int(np.argmax(widths)),
        }
        return self._prediction

    # ------------------------------------------------------------------ proposing
    def _fill(self, free: int) -> int:
        """Launch up to ``free`` runs (retries first, then proposals); return how many."""
        launched = 0
        for t in self._retry_candidates():
            if launched >= free:
                return launched
            if self.ledger.committed() + t.predicted_cost > self.limit * (1 + 1e-12):
                continue
            tid = self.ledger.propose(t.inputs, t.predicted_cost, t.config_key)
            if not self._launch(self.ledger.trial(tid)):
                return launched
            launched += 1
        if launched >= free:
            return launched
        picks = self._proposals(free - launched)
        for _, row in picks.iterrows():
            i = int(row["_row"])
            c = float(self.pool_cost[i])
            if self.ledger.committed() + c > self.limit * (1 + 1e-12):
                break  # never plan past the budget, counting runs in flight
            tid = self.ledger.propose(_row_inputs(self.pool.iloc[i]), c, self.keys[i])
            if not self._launch(self.ledger.trial(tid)):
                break
            launched += 1
        return launched

    def _available(self) -> np.ndarray:
        """Pool rows never tried (failed configurations are retried explicitly, not re-proposed)."""
        tried = {t.config_key for t in self.ledger.trials() if t.state != "abandoned"}
        return np.array([k not in tried for k in self.keys], dtype=bool)

    def _proposals(self, batch: int) -> pd.DataFrame:
        """Up to ``batch`` new pool rows from :func:`propose` within the remaining budget."""
        empty = pd.DataFrame({"_row": []})
        free = self._available()
        remaining = self.limit - self.ledger.committed()
        if not free.any() or remaining < float(self.pool_cost[free].min()) * (1 - 1e-12):
            return empty
        done = self.ledger.trials("completed")
        fly = self.ledger.trials("proposed") + self.ledger.trials("running")
        runs = self._frame(done, outputs=True)
        in_flight = self._frame(fly, outputs=False)
        # propose() counts observed + in-flight runs at the cost model's price; the ledger also
        # charges failed runs and measured costs: shift the budget so both agree on what is left
        seen = sum(
            float(_costs_of(self.cm, f, "runs").sum()) for f in (runs, in_flight) if f is not None
        )
        n_done = len(done) + self.ledger.counts()["failed"]
        out = propose(
            self.pool[free], self.law, cost=self.cm, budget=remaining + seen, runs=runs,
            in_flight=in_flight, target=self.target_df, method=self.method, batch=batch,
            gamma=self.gamma, seed=self.seed * 1_000_003 + n_done,
        )  # fmt: skip
        if len(out) == 0:
            return empty
        where = {k: i for i, k in enumerate(self.keys)}
        out["_row"] = [where[config_key(self.law, r)] for _, r in out.iterrows()]
        return out

    # ------------------------------------------------------------------ driving
    def reconcile(self) -> None:
        """Launch trials left ``proposed`` by a killed driver and record finished running ones."""
        for t in self.ledger.trials("proposed"):
            if not self._launch(t):
                break
        for t in self.ledger.trials("running"):
            self._record(t)

    def stop(self) -> None:
        """Ask :meth:`run` to return at its next safe point (what Ctrl-C does)."""
        self._stop = True

    def run(
        self,
        *,
        max_iterations: int | None = None,
        poll_interval: float = 1.0,
        progress: bool | Callable[[Study], None] = False,
        handle_sigint: bool = True,
    ) -> StudyResult:
        """Drive the loop until done (see the module docstring); resumable after any crash.

        Args:
            max_iterations: return after this many poll rounds (tests).
            poll_interval: seconds between poll rounds.
            progress: True for a tqdm bar on stderr, or a callback called every round.
            handle_sigint: make Ctrl-C stop at the next safe point (main thread only); a second
                Ctrl-C interrupts immediately.
        """
        old = None
        if handle_sigint and threading.current_thread() is threading.main_thread():

            def _on_sigint(signum: int, frame: Any) -> None:
                if self._stop:
                    raise KeyboardInterrupt
                self._stop = True

            old = signal.signal(signal.SIGINT, _on_sigint)
        bar = _Bar(self) if progress is True else None
        callback = progress if callable(progress) else None
        try:
            return self._run(max_iterations, poll_interval, bar, callback)
        finally:
            if bar is not None:
                bar.close()
            if old is not None:
                signal.signal(signal.SIGINT, old)

    def _run(self, max_iterations, poll_interval, bar, callback) -> StudyResult:
        self.reconcile()
        self._streak = 0  # failures recorded while the driver was down do not count
        iterations = 0
        reason = "max-iterations"
        stopping = None  # why no more runs are launched
        while True:
            if self._stop:
                reason = "interrupted"
                break
            for t in self.ledger.trials("running"):
                self._record(t)
            pred = self.prediction() if self.predict else None
            if (
                stopping is None
                and self.stop_width is not None
                and pred is not None
                and pred["width"] < self.stop_width
            ):
                stopping = "stop-width"
            if stopping is None and self._streak >= self.max_failures:
                stopping = "failures"  # a broken command or environment: stop spending
            for t in self.ledger.trials("proposed"):  # committed but not launched yet
                if not self._launch(t):
                    break
            if stopping is None and not self._stop:
                for t in self.ledger.trials("running"):  # finished during the refit
                    self._record(t)
                free = self.ex.slots() - len(self.ledger.trials("proposed"))
                if free > 0:
                    self._fill(free)
            self._reap()
            counts = self.ledger.counts()
            in_flight = counts["proposed"] + counts["running"]
            if bar is not None:
                bar.update(pred)
            if callback is not None:
                callback(self)
            iterations += 1
            if in_flight == 0:
                reason = stopping or self._why_idle()
                break
            if max_iterations is not None and iterations >= max_iterations:
                break
            time.sleep(poll_interval)
        return StudyResult(
            reason, self.ledger.status(self.limit), self._prediction, iterations,
            self._last_failure,
        )  # fmt: skip

    def _why_idle(self) -> str:
        free = self._available()
        if not free.any() and not self._retry_candidates():
            return "pool"
        return "budget"

    def close(self) -> None:
        """Close the ledger (and reap finished child processes)."""
        for p in self._children:
            with contextlib.suppress(Exception):
                p.wait(timeout=5)
        self._children = []
        self.ledger.close()


class _Bar:
    """tqdm bar: budget spent (with committed), runs in flight, target prediction."""

    def __init__(self, study: Study) -> None:
        import sys

        from tqdm import tqdm

        self.study = study
        self.bar = tqdm(
            total=100.0,
            file=sys.stderr,
            bar_format="{desc} {percentage:3.0f}%|{bar}|{postfix}",
            desc="budget",
            dynamic_ncols=True,
        )

    def update(self, pred: dict[str, Any] | None) -> None:
        s = self.study.ledger.status(self.study.limit)
        self.bar.n = min(100.0, 100.0 * s["spent"] / self.study.limit)
        post = (
            f" spent {s['spent']:.3g}/{self.study.limit:.3g}, in flight {s['proposed'] + s['running']}"
            f", done {s['completed']}, failed {s['failed']}"
        )
        if pred is not None:
            i = pred["worst"]
            post += (
                f", target {pred['median'][i]:.4g} [{pred['lo'][i]:.4g}, {pred['hi'][i]:.4g}]"
                f" (90%, width {pred['width']:.3g})"
            )
        self.bar.set_postfix_str(post, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def run_study(
    ledger: str | Path,
    pool: pd.DataFrame,
    law: Law | str,
    *,
    cost: str | CostModel,
    budget: str | float,
    command: str,
    max_iterations: int | None = None,
    poll_interval: float = 1.0,
    progress: bool | Callable[[Study], None] = False,
    **kwargs: Any,
) -> StudyResult:
    """Run (or resume) a closed-loop study; keyword arguments as :class:`Study`.

    Example::

        res = run_study("study.db", pool, "chinchilla", cost="6*N*D", budget="10%",
                        command="python train.py --N {N} --D {D}", target="top:3", parallel=2)
        res.status  # {"completed": ..., "failed": ..., "spent": ..., "budget": ...}
    """
    study = Study(ledger, pool, law, cost=cost, budget=budget, command=command, **kwargs)
    try:
        return study.run(
            max_iterations=max_iterations, poll_interval=poll_interval, progress=progress
        )
    finally:
        with contextlib.suppress(Exception):
            study.close()
