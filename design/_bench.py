"""ScaleBench replay: the paper's protocol (datasets/scalebench/README.md) for any task folder.

For each law, seed and method, per group: start with nothing observed; propose runs and pay
their cost until the spend reaches the checkpoint fraction of the group's total pool cost (a
proposal that would overshoot waits for the next checkpoint); at each checkpoint refit the law on
the launched runs (multistart) and score R² = 1 − SS_res/SS_tot on the concatenated target rows
of every group, clipped to [−1, 1]. As the paper's ``evaluate_global``, a group with no fit (no
run yet) or whose fit predicts a non-finite value is left out of the score (−1 if none is left);
each row counts the groups scored (``groups_scored`` of ``groups``). Model-based methods
refit between acquisitions on a geometric schedule: batches of ``q = max(1, ⌊ρ·n⌋)`` proposals
(covariance conditioned on the pending picks) followed by one warm-started refit, so a trajectory
of n runs costs O(log n / log(1+ρ)) refits instead of n.

``hedge`` (ours) differs from ``mspe`` in the protocol in two ways. How it spends: it proposes
only runs that fit the *current* checkpoint's remaining budget (no proposal is ever deferred),
starting from one run, the cheapest, where the paper's methods start from ⌈2.5p/k⌉ cheap runs.
How it predicts at a checkpoint: its checkpoint fit weights each run by its nearness to the
target region (:meth:`DesignLoop.final_fit`, ``localize``), and it predicts with the median
over the optima the data cannot tell apart from the best of those whose target predictions are
plausible (within 10 observed ranges of the observed outcomes), or, for a law affine in its
parameters, with the MAP under the design's weak bounds prior (:meth:`DesignLoop.final_predict`);
the other methods fit every run alike and use the best optimum alone, as the paper.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import dataclasses
import io
import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglaws._law import get_law
from scalinglaws.datasets import load, task_cost

from ._acquisition import METHODS, MODEL_METHODS
from ._budget import DesignError
from ._propose import CHECKPOINT_STARTS, DesignLoop, checkpoint_schedule

__all__ = ["BENCH_METHODS", "PAPER_TABLE2", "bench", "run_law", "summarize", "worker_pool"]

BENCH_METHODS = (*METHODS, "all-data")
# Methods whose picks do not depend on the seed: their replay fits with seed 0 whatever the
# trajectory's seed, so every seed gives the same rows and :func:`run_law` replays them once.
SEED_FREE = ("cheapest", "all-data")
COLUMNS = [
    "task",
    "law",
    "method",
    "seed",
    "budget_fraction",
    "r2",
    "cost_spent",
    "n_runs",
    "groups_scored",
    "groups",
    "seconds",
]
# Added after the first results files were written: a partial CSV from before has no such
# column, and --resume keeps its rows with the value missing.
LATER_COLUMNS = ("groups_scored", "groups")


def scored_on_subset(df: pd.DataFrame) -> pd.Series:
    """Rows whose R² covers some but not all of their task's groups (see ``groups_scored``)."""
    return (df["groups_scored"] > 0) & (df["groups_scored"] < df["groups"])


def _r2(preds: list[np.ndarray], trues: list[np.ndarray]) -> float:
    if not preds:
        return -1.0
    p, y = np.concatenate(preds), np.concatenate(trues)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot < 1e-300:
        return -1.0
    r2 = 1.0 - float(np.sum((y - p) ** 2)) / ss_tot
    return float(np.clip(r2, -1.0, 1.0)) if np.isfinite(r2) else -1.0


@dataclasses.dataclass
class _Group:
    x: dict[str, np.ndarray]
    y: np.ndarray  # pool outcomes, then NaN for the target rows
    y_test: np.ndarray
    costs: np.ndarray
    m: int
    t: int
    total: float


def _groups(task: Any, law: Any) -> list[_Group]:
    tr, te = task.train, task.test
    keys = [None] if task.group is None else list(pd.unique(tr[task.group]))
    out = []
    for g in keys:
        a = tr if g is None else tr[tr[task.group] == g]
        b = te if g is None else te[te[task.group] == g]
        c = task_cost(task, a)
        x = {
            k: np.concatenate([a[k].to_numpy(np.float64), b[k].to_numpy(np.float64)])
            for k in law.inputs
        }
        ya = a[list(law.outputs)].to_numpy(np.float64)
        y = np.vstack([ya, np.full((len(b), ya.shape[1]), np.nan)])
        yt = b[list(law.outputs)].to_numpy(np.float64)
        out.append(
            _Group(x, y, yt, np.concatenate([c, np.ones(len(b))]), len(a), len(b), float(c.sum()))
        )
    return out


def run_trajectory(
    task: Any,
    law: Any,
    groups: list[_Group],
    method: str,
    seed: int,
    *,
    gamma: float = 0.4,
    growth: float = 0.1,
    fit_starts: int = 16,
    cold_start: str = "cheapest",
    final_starts: int = CHECKPOINT_STARTS,
    final_polish: int | Sequence[int] | None = None,
    final_screen: int | Sequence[int] | None = None,
    localize: float | None = None,
) -> list[dict[str, Any]]:
    """One (law, method, seed) replay of the protocol; one row per checkpoint.

    The checkpoint fits screen ``final_starts`` starts for ``final_screen`` iterations and polish
    the best ``final_polish`` (see :func:`fit_multistart`); by default
    :func:`~scalinglaws.design._propose.checkpoint_schedule`.

    dopt, vopt and mspe start with the paper's initial design, the ⌈2.5p/k⌉ cheapest runs within
    2% of the pool cost, asked for at once. ``hedge`` starts from one run, the cheapest
    (:data:`~scalinglaws.design._propose.HEDGE_INIT_RUNS`), and chooses every later run with
    its score (on moe at 1%, 5 seeds: one run 0.37, the ten
    cheapest 0.37, a ten-run cost-aware maximin design −0.09).

    The methods of :data:`SEED_FREE` pick the same runs for every seed, so their checkpoint
    fits use seed 0 too: the seed would only reshuffle the fit's random starts, which is the
    fitter's noise, not the method's.

    ``localize``: the exponent of the checkpoint fits' target-localised weights (see
    :meth:`DesignLoop.final_fit`); None: the method's own (``hedge`` 1, the others 0).
    """
    polish, screen = checkpoint_schedule(law)
    final_polish = polish if final_polish is None else final_polish
    final_screen = screen if final_screen is None else final_screen
    fracs = sorted(task.budget_fractions) or [0.01, 0.05, 0.1]
    t0 = time.perf_counter()
    loops = design_loops(
        law,
        groups,
        method,
        seed,
        gamma=gamma,
        fit_starts=fit_starts,
        cold_start=cold_start,
        localize=localize,
    )
    spent: list[float] = [0.0] * len(groups)
    pending: list[list[int]] = [[] for _ in groups]
    rows = []
    for cp in fracs:
        preds, trues, n_runs, cost = [], [], 0, 0.0
        for gi, (g, loop) in enumerate(zip(groups, loops, strict=False)):
            if method == "all-data":
                if not loop.observed:
                    loop.observe(range(g.m))
                    spent[gi] = g.total
            else:
                _advance(loop, g, cp, fracs[-1], method, spent, pending, gi, growth)
            theta = loop.final_fit(
                final_starts,
                seed=(0 if method in SEED_FREE else seed) * 31 + gi,
                polish=final_polish,
                screen_iter=final_screen,
            )
            n_runs += len(loop.observed)
            cost += spent[gi]
            if theta is None:
                continue
            pr = loop.final_predict({k: v[g.m :] for k, v in g.x.items()})
            if np.all(np.isfinite(pr)):
                preds.append(pr.ravel())
                trues.append(g.y_test.ravel())
        rows.append(dict(
            task=task.name, law=law.name.split(":")[-1], method=method, seed=seed,
            budget_fraction=cp, r2=_r2(preds, trues),
            cost_spent=cost / sum(g.total for g in groups), n_runs=n_runs,
            groups_scored=len(preds), groups=len(groups), seconds=time.perf_counter() - t0,
        ))  # fmt: skip
    return rows


def design_loops(law: Any, groups: list[_Group], method: str, seed: int, **kw: Any) -> list:
    """One :class:`DesignLoop` per group, as the replay sets them up (``kw``: gamma,
    fit_starts, cold_start, localize)."""
    return [
        DesignLoop(
            law,
            g.x,
            g.y,
            g.costs,
            np.arange(g.m),
            np.arange(g.m, g.m + g.t),
            g.total,
            method=method if method != "all-data" else "cheapest",
            seed=seed * 100_003 + gi,
            init_budget=0.02 * g.total,
            **kw,
        )
        for gi, g in enumerate(groups)
    ]


def _advance(loop, g, cp, final, method, spent, pending, gi, growth) -> None:
    target = cp * g.total
    if pending[gi]:  # runs that waited: launched now if they fit this checkpoint, else wait on
        fits = []
        for r in pending[gi]:
            if spent[gi] + float(g.costs[r]) <= target * (1 + 1e-12):
                fits.append(r)
                spent[gi] += float(g.costs[r])
        if fits:
            loop.observe(fits)
            pending[gi] = [r for r in pending[gi] if r not in fits]
            if method in MODEL_METHODS:
                loop.refit()
        if pending[gi]:
            return
    model = method in MODEL_METHODS
    while spent[gi] < target * (1 - 1e-12):
        limit = target if method == "hedge" else final * g.total
        if loop.cold:  # the cold-start design, whole
            q = loop.n_init
        else:
            q = max(1, int(growth * len(loop.observed))) if model else 1
        picks = loop.propose(q, limit - spent[gi])
        if not picks:
            break
        deferred = []
        for r, _ in picks:
            c = float(g.costs[r])
            if deferred or spent[gi] + c > target * (1 + 1e-12):
                deferred.append(r)
            else:
                loop.observe([r])
                spent[gi] += c
        if deferred:
            loop.launch(deferred)
            pending[gi] = pending[gi] + deferred
            break
        if model:
            loop.refit()


def run_law(
    task_name: str,
    law_name: str,
    pairs: Sequence[tuple[str, int]],
    opts: dict,
    partial: str | Path | None = None,
    copied: dict[str, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """The (method, seed) replays ``pairs`` of one law of one task (one worker job).

    With ``partial``, each finished trajectory's rows are appended to that CSV at once (one
    ``write`` on an append-mode file), so an interrupted job keeps its finished trajectories.
    A method of :data:`SEED_FREE` is replayed once; its other seeds copy the rows (``seconds``
    0: they cost nothing). ``copied``: such methods' rows from an earlier, interrupted run (one
    seed's), copied to the seeds of ``pairs`` rather than replayed again.
    """
    task = load(task_name)
    law = get_law(f"{task_name}:{law_name}")
    groups = _groups(task, law)
    rows: list[dict[str, Any]] = []
    once: dict[str, list[dict[str, Any]]] = dict(copied or {})
    try:
        for method, seed in pairs:
            if method in once:
                new = [dict(r, seed=seed, seconds=0.0) for r in once[method]]
            else:
                new = run_trajectory(task, law, groups, method, seed, **opts)
                if method in SEED_FREE:
                    once[method] = new
            if partial is not None:
                _append_rows(partial, new)
            rows += new
    finally:
        _release_compiled()
    return rows


def _release_compiled() -> None:
    """Drop the compiled kernels of the law just replayed.

    XLA keeps each compiled executable in its own memory mappings, and one law's replay compiles
    a few hundred (row buckets × kernels): about 6,000 mappings for a vocab law. A worker that
    kept them across laws reached the kernel's limit of 65,530 mappings after some ten laws and
    died ("LLVM compilation error: Cannot allocate memory", `sl bench --task all`, 2026-11-23).
    The next law compiles its own kernels anyway (the persistent cache makes that cheap). The
    fits kept for identical calls (:func:`clear_fit_memo`) are the law's too.
    """
    import gc

    import jax

    from scalinglaws._fit import _compiled

    from ._acquisition import _kernel, clear_fit_memo

    _compiled.cache_clear()
    _kernel.cache_clear()
    clear_fit_memo()
    jax.clear_caches()
    gc.collect()


def _append_rows(path: str | Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    csv.DictWriter(buf, COLUMNS, lineterminator="\n").writerows(rows)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, buf.getvalue().encode())
    finally:
        os.close(fd)


def _finished(path: str | Path) -> pd.DataFrame:
    """The complete trajectories of a partial results CSV (a torn last line or a trajectory
    with missing checkpoints, from a killed run, is dropped)."""
    old = pd.read_csv(path, on_bad_lines="skip").reindex(columns=COLUMNS)
    old = old.dropna(subset=[c for c in COLUMNS if c not in LATER_COLUMNS])
    old["seed"] = old["seed"].astype(int)
    n = old.groupby(["task", "law", "method", "seed"])["budget_fraction"].transform("size")
    return old[n == n.groupby(old["task"]).transform("max")].reset_index(drop=True)


def cpu_sets(workers: int) -> list[set[int]] | None:
    """The CPUs this process may use, split into one disjoint set per worker (round robin when
    there are more workers than CPUs); None when there is nothing to split (one worker, one CPU,
    or a platform without CPU affinity).

    Each bench worker is pinned to its set: XLA sizes its CPU thread pool by the CPUs a process
    may run on, so unpinned workers each start a pool as wide as the machine and preempt each
    other. With :data:`WORKER_ENV`, a sample of the bench (lr_bsz and vocab, sl_3 and sl_6,
    random, mspe and hedge, seeds 1–2, 2 workers on 2 cores, warm cache) took 54.2–57.6 s of wall
    time with neither, 45.8 s with one BLAS thread per worker and 41.8–42.0 s with both, every
    row the same; the whole benchmark 1 h 07 min 37 s before and 55 min 31 s after, where one
    trajectory of 5,200 took another path (benchmarks/scalebench.md, "Speed").
    """
    if workers <= 1 or not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    if workers >= len(cpus):
        return [{cpus[i % len(cpus)]} for i in range(workers)]
    return [set(map(int, part)) for part in np.array_split(cpus, workers)]


# Set in the bench workers' environment when they start (unless already set): numpy loads its
# BLAS while a worker unpickles its first task, before any initializer runs, and an OpenBLAS pool
# as wide as the machine in each worker costs more than it gives (see :func:`cpu_sets`).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def _worker_env() -> Iterator[None]:
    """:data:`WORKER_ENV` in ``os.environ`` (the user's settings kept) while a
    :func:`worker_pool` is open and spawns its workers; then only the variables it added are
    removed. (Not ``mock.patch.dict``: it restores the whole environment, so it would also undo
    whatever else set a variable during the bench, for which the pool stays open.)"""
    added = {k: v for k, v in WORKER_ENV.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[cf.ProcessPoolExecutor]:
    """A spawn-context process pool whose workers are set up as the bench's: each pinned to its
    own CPU set (:func:`cpu_sets`) and started with :data:`WORKER_ENV`. For any script that runs
    bench replays in parallel (e.g. ``benchmarks/law_committee.py``)."""
    ctx = mp.get_context("spawn")
    sets, pins = cpu_sets(workers), None
    if sets is not None:
        pins = ctx.Queue()
        for cs in sets:
            pins.put(cs)
    with (
        _worker_env(),  # the workers start as jobs are submitted: the environment stays set
        cf.ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(pins,)
        ) as ex,
    ):
        yield ex


def _init_worker(cpus: Any = None) -> None:
    """Pins a bench worker to one CPU set of the queue ``cpus`` (:func:`cpu_sets`), before its
    first computation sizes XLA's thread pool."""
    if cpus is not None:
        try:
            os.sched_setaffinity(0, cpus.get(timeout=10))
        except queue.Empty:  # a worker beyond the sets handed out: left unpinned
            pass


def bench(
    task: str | Path,
    *,
    methods: Sequence[str] = (
        "random",
        "cheapest",
        "inverse-cost",
        "dopt",
        "vopt",
        "mspe",
        "hedge",
    ),
    seeds: int | Sequence[int] = 10,
    laws: Sequence[str] | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    partial: str | Path | None = None,
    resume: bool = False,
    **opts: Any,
) -> pd.DataFrame:
    """Replay the protocol on ``task`` (a bundled name or a task folder); one row per checkpoint.

    Returns a DataFrame with columns ``task, law, method, seed, budget_fraction, r2, cost_spent
    (fraction of the pool's total cost), n_runs, groups_scored, groups, seconds``:
    ``groups_scored`` of the task's ``groups`` entered the R² (the protocol leaves out a group
    whose checkpoint fit is missing or predicts a non-finite value). With ``partial``, every
    finished trajectory (one law, method and seed) has its rows appended to that CSV as it ends;
    with ``resume``, the trajectories already complete in ``partial`` are kept (whatever their
    task) and only the others run. ``progress(done, total)`` is called with ``done = 0`` once
    the tasks and laws are checked and the jobs (one per law) counted, then after each job.
    """
    tasks = [str(t) for t in (task if isinstance(task, (list, tuple)) else [task])]
    bad = [m for m in methods if m not in BENCH_METHODS]
    if bad:
        raise DesignError(f"unknown method {bad[0]!r}; choose from {', '.join(BENCH_METHODS)}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise DesignError("--seeds must be >= 1")
    old = pd.DataFrame(columns=COLUMNS)
    if partial is not None and resume and Path(partial).exists():
        old = _finished(partial)
    if partial is not None:  # the complete trajectories only, then appended to
        old[COLUMNS].to_csv(partial, index=False)
    have = set(zip(old["task"], old["law"], old["method"], old["seed"], strict=True))
    jobs, keep = [], []
    for t in tasks:
        tk = load(t)
        names = list(laws) if laws else list(tk.law_names)
        unknown = [n for n in names if n not in tk.law_names]
        if unknown:
            raise DesignError(
                f"task {tk.name!r} has no law {unknown[0]!r}; its laws are {', '.join(tk.law_names)}"
            )
        # one job per law (its missing methods and seeds), so a worker compiles each law's
        # kernels once; its weight estimates its cost (residuals × parameters of the largest fit)
        for n in names:
            pairs = [(m, s) for m in methods for s in seed_list if (tk.name, n, m, s) not in have]
            sel = old[(old["task"] == tk.name) & (old["law"] == n)]
            keep.append(sel[sel["method"].isin(methods) & sel["seed"].isin(seed_list)])
            if pairs:
                p = get_law(f"{t}:{n}").n_params
                # a seed-free method finished for one seed before an interruption: copied
                copied = {
                    m: g[g["seed"] == g["seed"].min()].to_dict("records")
                    for m, g in sel[sel["method"].isin(SEED_FREE)].groupby("method")
                }
                jobs.append((len(tk.train) * len(tk.targets) * p, t, n, pairs, copied))
    # costliest first (longest-processing-time order), so the workers end together; the
    # costliest last would leave one worker alone with the longest law (log weight vs measured
    # law time: r = 0.96 over the 65 laws of scalebench.csv)
    jobs.sort(key=lambda j: -j[0])
    rows: list[dict[str, Any]] = pd.concat(keep).to_dict("records") if keep else []
    done = 0
    if progress:
        progress(0, len(jobs))
    workers = min(workers, max(len(jobs), 1))  # a worker per job at most: each is pinned
    if workers <= 1:
        for _, t, n, pairs, copied in jobs:
            rows.extend(run_law(t, n, pairs, opts, partial, copied))
            done += 1
            if progress:
                progress(done, len(jobs))
    else:
        with worker_pool(workers) as ex:
            futs = [
                ex.submit(run_law, t, n, pairs, opts, partial, copied)
                for _, t, n, pairs, copied in jobs
            ]
            for fut in cf.as_completed(futs):
                try:
                    rows.extend(fut.result())
                except cf.BrokenExecutor as err:
                    kept = f"; the finished trajectories are in {partial}" if partial else ""
                    raise DesignError(
                        f"a bench worker died ({err}){kept}: rerun the same command with "
                        "--resume to continue"
                    ) from err
                done += 1
                if progress:
                    progress(done, len(jobs))
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.sort_values(["task", "law", "method", "seed", "budget_fraction"]).reset_index(
        drop=True
    )


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds (averaged over laws, as the paper): per task, method, checkpoint.

    The std is the mean over laws of the per-law std over seeds.
    """
    per_law = df.groupby(["task", "method", "budget_fraction", "law"])["r2"].agg(["mean", "std"])
    out = per_law.groupby(["task", "method", "budget_fraction"]).mean().reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


# Table 2 of the paper (MSPE row and the baselines), mean R² per task and checkpoint index.
PAPER_TABLE2: dict[str, dict[str, tuple[float, float, float]]] = {
    "random": {
        "lr_bsz": (-0.65, -0.45, -0.33),
        "domain": (-0.36, 0.41, 0.70),
        "vocab": (0.54, 0.53, 0.59),
        "parallel": (-1.00, 0.27, 0.19),
        "moe": (-0.47, 0.01, 0.26),
        "data_con": (-0.74, -0.36, 0.12),
        "sparsity": (-0.25, 0.37, 0.38),
        "farseer": (-0.77, 0.78, 0.79),
    },
    "cheapest": {
        "lr_bsz": (-0.92, -0.88, -0.80),
        "domain": (-0.36, 0.41, 0.70),
        "vocab": (0.30, 0.53, 0.55),
        "parallel": (-1.00, 0.42, 0.42),
        "moe": (0.30, 0.74, 0.81),
        "data_con": (-0.58, -0.56, -0.40),
        "sparsity": (-0.95, 0.04, 0.32),
        "farseer": (-0.89, 0.41, 0.68),
    },
    "inverse-cost": {
        "lr_bsz": (-0.89, -0.79, -0.79),
        "domain": (-0.36, 0.41, 0.70),
        "vocab": (0.86, 0.89, 0.83),
        "parallel": (-1.00, 0.03, 0.53),
        "moe": (-0.11, 0.68, 0.78),
        "data_con": (-0.38, -0.39, -0.22),
        "sparsity": (-0.41, -0.06, 0.12),
        "farseer": (-0.25, 0.56, 0.74),
    },
    "dopt": {
        "lr_bsz": (-0.92, -0.66, -0.53),
        "domain": (0.14, 0.81, 0.88),
        "vocab": (0.95, 0.97, 0.97),
        "parallel": (-1.00, 0.70, 0.99),
        "moe": (0.34, 0.55, 0.74),
        "data_con": (0.71, 0.80, 0.77),
        "sparsity": (-0.07, 0.23, 0.19),
        "farseer": (-0.11, 0.49, 0.87),
    },
    "vopt": {
        "lr_bsz": (-0.70, -0.06, 0.18),
        "domain": (0.57, 0.91, 0.95),
        "vocab": (0.96, 0.97, 0.98),
        "parallel": (-1.00, 0.69, 0.99),
        "moe": (0.67, 0.80, 0.80),
        "data_con": (0.58, 0.83, 0.85),
        "sparsity": (0.12, 0.39, 0.51),
        "farseer": (0.67, 0.87, 0.92),
    },
    "mspe": {
        "lr_bsz": (-0.66, 0.00, 0.22),
        "domain": (0.64, 0.89, 0.95),
        "vocab": (0.96, 0.98, 0.98),
        "parallel": (-1.00, 0.77, 0.99),
        "moe": (0.59, 0.65, 0.83),
        "data_con": (0.73, 0.85, 0.86),
        "sparsity": (0.31, 0.44, 0.53),
        "farseer": (0.60, 0.88, 0.93),
    },
    "all-data": {
        "lr_bsz": (0.04, 0.04, 0.04),
        "domain": (0.81, 0.81, 0.81),
        "vocab": (0.93, 0.93, 0.93),
        "parallel": (0.99, 0.99, 0.99),
        "moe": (0.81, 0.81, 0.81),
        "data_con": (0.79, 0.79, 0.79),
        "sparsity": (0.37, 0.37, 0.37),
        "farseer": (0.91, 0.91, 0.91),
    },
}
SHORT = {
    "lr_bsz_scaling_law": "lr_bsz", "domain_mixture_scaling_law": "domain",
    "vocab_scaling_law": "vocab", "parallel_scaling_law": "parallel", "moe_scaling_law": "moe",
    "data_constrained_scaling_law": "data_con", "sparsity_scaling_law": "sparsity",
    "farseer_scaling_law": "farseer",
}  # fmt: skip
