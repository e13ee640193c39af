"""Session 21's variants against `hedge`'s lost cells (scalebench_history.md, "Five more
attempts"). None is a method of the library; each patches one step of the replay.

    python benchmarks/hedge_variants.py boot OUT.csv [--tasks moe_scaling_law,...] [--b 4] [--good-ratio 10]
    python benchmarks/hedge_variants.py cold OUT.csv [--tasks ...] [--runs paper|p]
    python benchmarks/hedge_variants.py mspe-median OUT.csv [--tasks ...] [--localize 0]
    python benchmarks/hedge_variants.py kriging [--tasks ...]

- ``boot``: ``hedge`` whose design posterior also holds B bootstrap refits (rows resampled with
  replacement, as integer weights; warm-started from the best fit) as modes, kept if within
  ``good-ratio`` × the best objective on the unresampled rows: the between-mode term of MSPE
  then sees how far the data's noise can move the target predictions, not only the modes of
  the multistart.
- ``cold``: ``hedge`` with a cold-start design of ⌈2.5p/k⌉ cheapest runs (``paper``) or ⌈p/k⌉
  (``p``) instead of one run.
- ``mspe-median``: ``mspe``'s runs, predicted with ``hedge``'s checkpoint estimator (the median
  over the near optima) and target-localised weights of exponent ``localize``.
- ``kriging``: an estimator ceiling, not a design. Every law fitted on the whole pool (each
  group, α = 0 and 1), then the residuals kriged to the target rows by a Gaussian process
  (squared-exponential, one length scale per standardised input, amplitude and noise by maximum
  marginal likelihood): does a correction of the law's misfit learnt from the residuals help?

The patched variants run in this process (``workers=1``): the bench's spawned workers would
import the unpatched modules. ``python benchmarks/scalebench.py table OUT.csv`` prints the
cells; the history file compares them with the committed rows.
"""

from __future__ import annotations

import argparse
import functools
import math
import time

import numpy as np
from scipy.optimize import minimize

from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench, _propose
from scalinglaws.design._acquisition import build_posterior, law_jacobians, standardised_inputs

TASKS = "moe_scaling_law,sparsity_scaling_law"


def boot_fits(b: int, good_ratio: float) -> None:
    """Patch the refits between acquisitions (of every method; the variant replays ``hedge``):
    ``b`` bootstrap refits join the multistart's optima, and the mode posterior keeps optima
    within ``good_ratio`` × the best objective."""
    multistart = _propose.fit_multistart

    def fit(law, x, y, *, starts, warm=None, seed=0, max_iter=200, **kw):
        thetas, f = multistart(
            law, x, y, starts=starts, warm=warm, seed=seed, max_iter=max_iter, **kw
        )
        n = len(y)
        if kw or n < 3 or b < 1:  # a checkpoint fit (polish, weights), or too few runs
            return thetas, f
        rng = np.random.default_rng(seed + 17)
        bt = []
        for i in range(b):
            w = np.maximum(rng.multinomial(n, np.full(n, 1.0 / n)).astype(float), 1e-3)
            tb, _ = multistart(
                law, x, y, starts=2, warm=thetas[:1], seed=i, max_iter=max_iter,
                weights=w / w.mean(),
            )  # fmt: skip
            bt.append(tb[0])
        bt = np.asarray(bt)
        pb, _ = law_jacobians(law, bt, x)
        fb = np.nanmean((pb.reshape(b, n, -1) - y.reshape(1, n, -1)) ** 2, axis=(1, 2))
        thetas = np.concatenate([thetas, bt])
        f = np.concatenate([f, np.where(np.isfinite(fb), fb, np.inf)])
        order = np.argsort(f, kind="stable")
        return thetas[order], f[order]

    _propose.fit_multistart = fit
    _propose.build_posterior = functools.partial(build_posterior, good_ratio=good_ratio)


def cold_loops(runs: str):
    """:func:`_bench.design_loops` with ``hedge``'s cold start of ⌈2.5p/k⌉ or ⌈p/k⌉ runs."""
    original = _bench.design_loops

    def design_loops(law, groups, method, seed, **kw):
        loops = original(law, groups, method, seed, **kw)
        if method == "hedge":
            scale = 2.5 if runs == "paper" else 1.0
            for loop in loops:
                loop.n_init = max(1, math.ceil(scale * law.n_params / loop.y.shape[1]))
        return loops

    return design_loops


def median_predict():
    """:meth:`DesignLoop.final_predict` with ``hedge``'s median for every method."""
    original = _propose.DesignLoop.final_predict

    def final_predict(self, x):
        method, self.method = self.method, "hedge"
        try:
            return original(self, x)
        finally:
            self.method = method

    return final_predict


def _gp_correction(z: np.ndarray, r: np.ndarray, zs: np.ndarray) -> np.ndarray:
    """Posterior mean at ``zs`` of a GP fitted to residuals ``r`` at ``z`` (see the docstring)."""
    d, v = z.shape[1], max(float(r.var()), 1e-12)

    def gram(h, a, c):
        return np.exp(h[d]) * np.exp(
            -0.5 * (((a[:, None, :] - c[None, :, :]) / np.exp(h[:d])) ** 2).sum(-1)
        )

    def nll(h):
        k = gram(h, z, z) + (np.exp(h[d + 1]) + 1e-10) * np.eye(len(z))
        try:
            chol = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:
            return 1e10
        a = np.linalg.solve(chol.T, np.linalg.solve(chol, r))
        return 0.5 * r @ a + np.log(np.diag(chol)).sum()

    bounds = [(np.log(0.05), np.log(20))] * d + [
        (np.log(v * 1e-4), np.log(v * 100)), (np.log(v * 1e-6), np.log(v * 10)),
    ]  # fmt: skip
    fits = [
        minimize(nll, np.r_[np.full(d, np.log(l0)), np.log(v), np.log(v / 4)],
                 method="L-BFGS-B", bounds=bounds)
        for l0 in (0.3, 1.0, 3.0)
    ]  # fmt: skip
    h = min(fits, key=lambda res: res.fun).x
    k = gram(h, z, z) + (np.exp(h[d + 1]) + 1e-10) * np.eye(len(z))
    return gram(h, zs, z) @ np.linalg.solve(k, r)


def kriging(tasks: list[str]) -> None:
    for name in tasks:
        task = load(name)
        for law_name in task.law_names:
            law = get_law(f"{name}:{law_name}")
            if len(law.outputs) > 1:
                continue
            groups = _bench._groups(task, law)
            cells = []
            for alpha in (0.0, 1.0):
                loops = _bench.design_loops(law, groups, "all-data", 0, localize=alpha)
                plain, kriged, true = [], [], []
                for g, loop in zip(groups, loops, strict=True):
                    loop.observe(range(g.m))
                    polish, screen = _bench.checkpoint_schedule(law)
                    loop.final_fit(256, seed=0, polish=polish, screen_iter=screen)
                    fit_tr = loop.final_predict({k: v[: g.m] for k, v in g.x.items()}).ravel()
                    pred = loop.final_predict({k: v[g.m :] for k, v in g.x.items()}).ravel()
                    z = standardised_inputs(g.x, np.arange(g.m + g.t), g.m)
                    res = g.y[: g.m].ravel() - fit_tr
                    plain.append(pred)
                    kriged.append(pred + _gp_correction(z[: g.m], res, z[g.m :]))
                    true.append(g.y_test.ravel())
                cells.append(
                    f"α={alpha:g}: law {_bench._r2(plain, true):+.3f}, "
                    f"kriged {_bench._r2(kriged, true):+.3f}"
                )
            print(name, law_name, " | ".join(cells), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("variant", choices=["boot", "cold", "mspe-median", "kriging"])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--tasks", default=TASKS)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--b", type=int, default=4)
    ap.add_argument("--good-ratio", type=float, default=10.0)
    ap.add_argument("--runs", choices=["paper", "p"], default="paper")
    ap.add_argument("--localize", type=float, default=0.0)
    a = ap.parse_args()
    tasks = a.tasks.split(",")
    if a.variant == "kriging":
        kriging(tasks)
        return
    if a.out is None:
        ap.error(f"{a.variant} needs OUT.csv")
    opts: dict = {}
    method = "hedge"
    if a.variant == "boot":
        boot_fits(a.b, a.good_ratio)
    elif a.variant == "cold":
        _bench.design_loops = cold_loops(a.runs)
    else:
        _propose.DesignLoop.final_predict = median_predict()
        method, opts = "mspe", {"localize": a.localize}
    t0 = time.perf_counter()
    df = _bench.bench(tasks, methods=[method], seeds=a.seeds, workers=1, **opts)
    df.to_csv(a.out, index=False)
    print(f"wall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
