"""Score checkpoint estimators on the same ScaleBench trajectories (scalebench_history.md,
"The checkpoint estimator" and "What decides the lost cells").

    python benchmarks/checkpoint_estimators.py TASK METHOD OUT.jsonl [--seeds 0,1,...] [--laws sl_1,...] [--alphas 0,1,2,4] [--bag 24] [--losses] [--median] [--cv 0.2] [--design-starts 64 --growth 0]
    python benchmarks/checkpoint_estimators.py table OUT.jsonl

At each checkpoint of a `run_trajectory` replay (same picks as `sl bench`), the target R² of:
- ``wide``: the bench's checkpoint fit (256 screened starts; the committed rows);
- ``paper64``: 64 starts warm-started from the design fits, all polished (the paper's design fit
  is a 64-start warm-started multistart);
- ``design``: the design loop's last refit as it is (16 starts, 60 iterations).
With ``--alphas``, also the method's own checkpoint estimator (:meth:`DesignLoop.final_fit` and
``final_predict``: for ``hedge`` the median over the near optima) with the target-localised
weights' exponent set to each α (0: unweighted), on a copy of the loop so the trajectory is the
bench's; with ``--median`` these predict as ``hedge`` does whatever the method replayed
(``mspe --alphas 0,1 --median``: ``mspe``'s runs, ``hedge``'s estimator). ``--design-starts``
and ``--growth`` set the design refits' start count and batch growth (the bench's
``fit_starts`` and ``growth``; 64 and 0 refit as wide as the paper's ``mspe.py``, after every
pick). With ``--cv FRAC`` (and ``--alphas``), also ``cv``: the α chosen per checkpoint by an
extrapolation check (:func:`holdout_error`, summed over the groups): does holding out the runs
nearest the target tell which localisation extrapolates best? With ``--bag B``, also two
bagged estimators: B bootstrap refits (rows resampled with replacement, as integer weights; 8
starts, half of them warm from the checkpoint fit's near optima), predicting with the median
over the refits, with the method's target-localised weights (``bag``) or without (``bag0``).
With ``--losses``, also the library's robust fits (:func:`scalinglaws.fit`, 64 starts and up to
16 of the checkpoint fit's near optima as extra starts): ``huber`` (Huber loss on log outputs,
δ = 1e-3, unweighted), ``huber+loc`` and ``log-mse+loc`` (with the method's target-localised
weights). One JSON line per (law, seed).
"""

from __future__ import annotations

import copy
import json
import sys
from collections import defaultdict

import numpy as np

from scalinglaws import ScalingLawsError, fit
from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench
from scalinglaws.design._acquisition import fit_multistart, law_jacobians, target_weights
from scalinglaws.design._bench import PAPER_TABLE2, SHORT
from scalinglaws.design._propose import near_optima

KINDS = ("wide", "paper64", "design")
LOSSES = {"huber": ("huber-log", False), "huber+loc": ("huber-log", True),
          "log-mse+loc": ("log-mse", True)}  # fmt: skip


def bagged(loop, xt: dict, rng: np.random.Generator, b: int, localize: bool) -> np.ndarray | None:
    """Median target prediction of ``b`` bootstrap refits of the loop's checkpoint fit."""
    obs = np.asarray(loop.observed)
    n = len(obs)
    w0 = loop._weights(obs) if localize else None
    w0 = np.ones(n) if w0 is None else w0
    xs = {k: v[obs] for k, v in loop.x.items()}
    fits = []
    for i in range(b):
        w = np.maximum(rng.multinomial(n, np.full(n, 1.0 / n)).astype(float), 1e-3) * w0
        th, f = fit_multistart(
            loop.law, xs, loop.y[obs], starts=8, warm=loop._final.near[:4], seed=i,
            weights=w / w.mean(),
        )  # fmt: skip
        if np.isfinite(f[0]):
            fits.append(th[0])
    if not fits:
        return None
    p = law_jacobians(loop.law, np.asarray(fits), xt)[0]
    ok = np.all(np.isfinite(p.reshape(len(p), -1)), axis=1)
    return np.median(p[ok], axis=0) if ok.any() else None


def robust_fit(loop, how: tuple[str, bool], key: int) -> np.ndarray | None:
    """Best parameters of the library's fit with ``how`` = (loss, localised weights)."""
    obs = np.asarray(loop.observed)
    data = {k: v[obs] for k, v in loop.x.items()}
    for j, o in enumerate(loop.law.outputs):
        data[o] = loop.y[obs, j]
    weights = loop._weights(obs) if how[1] else None
    try:
        r = fit(loop.law, data, loss=how[0], starts=64, key=key, init=loop._final.near[:16],
                weights=weights)  # fmt: skip
    except (ScalingLawsError, ValueError):
        return None
    return np.asarray(r.theta)


def holdout_error(loop, alt, alpha: float, frac: float, seed: int) -> float:
    """Extrapolation check of the estimator ``alt`` (α = ``alpha``): hold out the ``frac`` of the
    observed runs nearest the target (at least 2), refit the rest as ``alt`` would (64 starts,
    warm from its near optima), and return the median prediction's mean squared error on the
    held-out runs (inf if the refit fails; nan with fewer than 2 runs left)."""
    obs = np.asarray(loop.observed)
    h = max(2, round(frac * len(obs)))
    if len(obs) - h < 2:
        return float("nan")
    d = loop.target_dist()[obs]
    order = np.argsort(d, kind="stable")
    hold, rest = obs[order[:h]], obs[order[h:]]
    th, f = fit_multistart(
        loop.law, {k: v[rest] for k, v in loop.x.items()}, loop.y[rest], starts=64,
        warm=alt._final.near[:16], seed=seed,
        weights=target_weights(d[order[h:]], alpha) if alpha > 0 else None,
    )  # fmt: skip
    if not np.isfinite(f[0]):
        return float("inf")
    near = near_optima(f, loop.y[rest])
    p = law_jacobians(loop.law, th[near], {k: v[hold] for k, v in loop.x.items()})[0]
    ok = np.all(np.isfinite(p.reshape(len(p), -1)), axis=1)
    return float(np.mean((np.median(p[ok], axis=0) - loop.y[hold]) ** 2)) if ok.any() else np.inf


def replay(
    task_name: str,
    method: str,
    law_name: str,
    seed: int,
    alphas: tuple[float, ...] = (),
    bag: int = 0,
    losses: bool = False,
    median: bool = False,
    fit_starts: int = 16,
    growth: float = 0.1,
    cv: float = 0.0,
) -> dict[str, list[float]]:
    task, law = load(task_name), get_law(f"{task_name}:{law_name}")
    groups = _bench._groups(task, law)
    fracs = sorted(task.budget_fractions)
    polish, screen = _bench.checkpoint_schedule(law)
    loops = _bench.design_loops(law, groups, method, seed, fit_starts=fit_starts)
    spent, pending = [0.0] * len(groups), [[] for _ in groups]
    kinds = (*KINDS, *(f"alpha={a:g}" for a in alphas), *(("bag", "bag0") if bag else ()),
             *(LOSSES if losses else ()), *(("cv",) if cv and alphas else ()))  # fmt: skip
    out: dict[str, list[float]] = {k: [] for k in kinds}
    for cp in fracs:
        preds: dict[str, list] = defaultdict(list)
        trues: dict[str, list] = defaultdict(list)
        held = np.zeros(len(alphas))  # summed over groups: the holdout errors of each α
        for gi, (g, loop) in enumerate(zip(groups, loops, strict=True)):
            _bench._advance(loop, g, cp, fracs[-1], method, spent, pending, gi, growth)
            if not loop.observed:
                continue
            obs = np.asarray(loop.observed)
            warm = list(loop.warm) + (list(loop.post.thetas) if loop.post is not None else [])
            th64, f64 = fit_multistart(
                law, {k: v[obs] for k, v in loop.x.items()}, loop.y[obs], starts=64,
                warm=np.asarray(warm) if warm else None, seed=seed * 31 + gi,
            )  # fmt: skip
            xt = {k: v[g.m :] for k, v in g.x.items()}
            for a in alphas:  # before "wide", which adds its optimum to the warm starts
                alt = copy.deepcopy(loop, {id(loop.law): loop.law})  # one law: one compiled set
                alt.localize, alt._final = a, None
                if median:  # hedge's prediction: the median over the near optima
                    alt.method = "hedge"
                th = alt.final_fit(256, seed=seed * 31 + gi, polish=polish, screen_iter=screen)
                if cv:  # a failed fit never wins; a group too small to check counts 0
                    e = np.inf if th is None else holdout_error(loop, alt, a, cv, seed * 31 + gi)
                    held[alphas.index(a)] += 0.0 if np.isnan(e) else e
                if th is not None and np.all(np.isfinite(p := alt.final_predict(xt))):
                    preds[f"alpha={a:g}"].append(p.ravel())
                    trues[f"alpha={a:g}"].append(g.y_test.ravel())
            thetas = {
                "design": loop.post.best if loop.post is not None else None,
                "paper64": th64[0] if np.isfinite(f64[0]) else None,
                # last: it adds its optimum to the warm starts, as in the bench
                "wide": loop.final_fit(256, seed=seed * 31 + gi, polish=polish, screen_iter=screen),
            }
            rng = np.random.default_rng(seed * 1000 + gi * 7 + int(cp * 1000))
            for k in ("bag", "bag0") if bag and thetas["wide"] is not None else ():
                if (p := bagged(loop, xt, rng, bag, k == "bag")) is not None:
                    preds[k].append(p.ravel())
                    trues[k].append(g.y_test.ravel())
            for k in LOSSES if losses and thetas["wide"] is not None else ():
                if (th := robust_fit(loop, LOSSES[k], seed * 31 + gi)) is not None:
                    thetas[k] = th
            for k, th in thetas.items():
                if th is None:
                    continue
                p = law_jacobians(law, th[None], xt)[0][0]
                if np.all(np.isfinite(p)):
                    preds[k].append(p.ravel())
                    trues[k].append(g.y_test.ravel())
        for k in kinds:
            if k != "cv":
                out[k].append(_bench._r2(preds[k], trues[k]))
        if "cv" in kinds:  # the α of the least holdout error, the first of --alphas on ties
            out["cv"].append(out[f"alpha={alphas[int(np.argmin(held))]:g}"][-1])
    return out


def table(path: str) -> None:
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows[(r["task"], r["method"], r["law"], r["seed"])] = r
    by = defaultdict(list)
    for r in rows.values():
        by[(r["task"], r["method"])].append(r)
    kinds = [
        k
        for k in next(iter(rows.values()))
        if k in (*KINDS, "bag", "bag0", "cv", *LOSSES) or k.startswith("alpha=")
    ]
    names = {"wide": "wide (ours)", "paper64": "64 warm", "design": "design refit"}
    print("| task, method (laws × seeds) | " + " | ".join(names.get(k, k) for k in kinds)
          + " | paper's MSPE |")  # fmt: skip
    print("|---|" + "---|" * (len(kinds) + 1))
    for (task, method), rs in by.items():
        laws = sorted({r["law"] for r in rs})
        cells = []
        for k in kinds:
            per = [np.mean([r[k] for r in rs if r["law"] == law], axis=0) for law in laws]
            cells.append(" / ".join(f"{v:+.2f}" for v in np.mean(per, axis=0)))
        short = SHORT.get(load(task).name, task)
        paper = " / ".join(f"{v:+.2f}" for v in PAPER_TABLE2["mspe"].get(short, ()))
        n = len(rs) // len(laws)
        print(f"| {short}, {method} ({len(laws)} × {n}) | " + " | ".join(cells) + f" | {paper} |")


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "table":
        return table(argv[1])
    if len(argv) < 3:
        print(__doc__)
        return
    task_name, method, out = argv[:3]
    seeds = list(range(10))
    if "--seeds" in argv:
        seeds = [int(s) for s in argv[argv.index("--seeds") + 1].split(",")]
    laws = list(load(task_name).law_names)
    if "--laws" in argv:
        laws = argv[argv.index("--laws") + 1].split(",")
    alphas = ()
    if "--alphas" in argv:
        alphas = tuple(float(a) for a in argv[argv.index("--alphas") + 1].split(","))
    bag = int(argv[argv.index("--bag") + 1]) if "--bag" in argv else 0
    losses = "--losses" in argv
    median = "--median" in argv
    cv = float(argv[argv.index("--cv") + 1]) if "--cv" in argv else 0.0
    design = {}
    if "--design-starts" in argv:
        design["fit_starts"] = int(argv[argv.index("--design-starts") + 1])
    if "--growth" in argv:
        design["growth"] = float(argv[argv.index("--growth") + 1])
    with open(out, "a") as fh:
        for law_name in laws:
            for seed in seeds:
                r2 = replay(
                    task_name,
                    method,
                    law_name,
                    seed,
                    alphas,
                    bag,
                    losses,
                    median,
                    cv=cv,
                    **design,
                )
                rec = dict(task=task_name, method=method, law=law_name, seed=seed, **r2)
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
            _bench._release_compiled()  # as the bench does between laws


if __name__ == "__main__":
    main(sys.argv[1:])
