"""Sessions 21–23's variants against `hedge`'s lost cells (scalebench_history.md, "Five more
attempts" and "Our mspe at moe 1%"). None is a method of the library; each patches one step of
the replay.

    python benchmarks/hedge_variants.py boot OUT.csv [--tasks moe_scaling_law,...] [--b 4] [--good-ratio 10]
    python benchmarks/hedge_variants.py cold OUT.csv [--tasks ...] [--runs paper|p]
    python benchmarks/hedge_variants.py mspe-median OUT.csv [--tasks ...] [--localize 0]
    python benchmarks/hedge_variants.py kriging [--tasks ...]
    python benchmarks/hedge_variants.py sigma OUT.csv [--tasks ...] [--kappa 0.1] [--method hedge]
    python benchmarks/hedge_variants.py coverage OUT.csv [--tasks ...] [--bins 8] [--frac 0.25]
    python benchmarks/hedge_variants.py pool-var OUT.csv [--tasks ...] [--method mspe]
    python benchmarks/hedge_variants.py plain OUT.csv [--method mspe] [--design-starts 64 --growth 0 --design-polish 16]
    python benchmarks/hedge_variants.py paper-spend OUT.csv [--tasks ...] [--wide-starts 64 --wide-from 1 --wide-until 4]
    python benchmarks/hedge_variants.py defer OUT.csv [--tasks ...]

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
- ``sigma``: the design's noise variance with the inverse-gamma prior's scale b₀ = a₀·κ·Var y
  instead of a₀·Var y (κ = 1 is the committed method; κ < 1 trusts the residuals sooner).
- ``coverage``: ``hedge`` whose cold start is a cost-ordered coverage design instead of one
  run: the cheapest candidate at each level of each input (at most ``bins`` quantile bins of its
  (log) values), cheapest first, within ``frac`` of the checkpoint's remaining budget.
- ``pool-var``: the design's noise prior from the variance of the whole pool's outcomes, as the
  paper's ``mspe.py`` (``SIGMA2_B0 = 2·Var(y_train)``), not of the observed runs.
- ``plain``: the method as the bench replays it, with the design options below.
- ``paper-spend``: ``hedge`` with the paper's cold start (⌈2.5p/k⌉ cheapest runs) and
  ``mspe``'s spending (proposals may cost up to the last checkpoint's budget; a pick that
  overshoots the checkpoint waits for the next one), so only the checkpoint estimator is
  ``hedge``'s.
- ``defer``: ``hedge`` (its one-run start) with ``mspe``'s spending.

Another method's runs scored with ``hedge``'s estimator (session 22's ``estimators`` variant):
``checkpoint_estimators.py TASK mspe OUT.jsonl --alphas 0,1 --median [--design-starts 64
--growth 0]``.

``--design-starts`` and ``--growth`` set the design refits' start count and batch growth (the
bench's ``fit_starts`` and ``growth``) for any variant; ``--design-starts 64 --growth 0`` refits
with 64 starts after every pick, as the paper's ``mspe.py``. ``--design-polish K`` makes those
refits screen every start for 8 iterations and run only the best K on (:func:`fit_multistart`'s
``polish``). ``--wide-starts K --wide-until U [--wide-from F]`` widens only the design refits
of F·p ≤ n < U·p observed runs (p parameters) to K starts, where a few runs leave the modes
that the between-mode term needs apart and the refits are still cheap.

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
from scalinglaws.design import _acquisition, _bench, _propose
from scalinglaws.design._acquisition import build_posterior, law_jacobians, standardised_inputs

TASKS = "moe_scaling_law,sparsity_scaling_law"
VARIANTS = ("boot", "cold", "mspe-median", "kriging", "sigma", "coverage", "pool-var", "plain",
            "paper-spend", "defer")  # fmt: skip


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


def paper_spending(paper_start: bool = True) -> None:
    """``hedge`` with ``mspe``'s spending rule in the replay, and the paper's cold start."""
    if paper_start:
        _bench.design_loops = cold_loops("paper")
    advance = _bench._advance

    def _advance(loop, g, cp, final, method, *rest):
        return advance(loop, g, cp, final, "mspe" if method == "hedge" else method, *rest)

    _bench._advance = _advance


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


def sigma_prior(kappa: float) -> None:
    """Patch the design's noise variance (every method's): prior scale b₀ = a₀·κ·Var y."""
    original = _acquisition.bayesian_sigma2

    def scaled(mse: float, n: int, y_var: float) -> float:
        return original(mse, n, kappa * y_var)

    _acquisition.bayesian_sigma2 = scaled  # build_posterior looks it up at each call


def coverage_rows(x: dict, cand: np.ndarray, costs: np.ndarray, bins: int) -> list[int]:
    """Positions into ``cand``: the cheapest candidate at each level of each input (levels of
    (log) values, at most ``bins`` quantile bins of them), cheapest first."""
    chosen: set[int] = set()
    for v in x.values():
        v = np.asarray(v, dtype=np.float64)[cand]
        v = np.log(v) if np.all(v > 0) else v
        levels = np.unique(v)
        if len(levels) < 2:
            continue
        if len(levels) > bins:
            level = np.searchsorted(np.quantile(levels, np.linspace(0, 1, bins + 1)[1:-1]), v,
                                    side="right")  # fmt: skip
        else:
            level = np.searchsorted(levels, v)
        for b in np.unique(level):
            idx = np.flatnonzero(level == b)
            chosen.add(int(idx[np.argmin(costs[idx])]))
    return sorted(chosen, key=lambda i: (costs[i], i))


def coverage_start(bins: int, frac: float) -> None:
    """Patch ``hedge``'s cold start: :func:`coverage_rows` within ``frac`` of the budget left."""
    original = _propose.DesignLoop._cold

    def cold(self, cand, q, remaining):
        if self.method != "hedge":
            return original(self, cand, q, remaining)
        c = self.costs[cand]
        picks, spent = [], 0.0
        for j, i in enumerate(coverage_rows(self.x, cand, c, bins)):
            if (j == 0 and c[i] <= remaining) or spent + c[i] <= frac * remaining:
                picks.append((int(cand[i]), float(self.total_cost / c[i])))
                spent += c[i]
        return picks

    loops = _bench.design_loops

    def design_loops(law, groups, method, seed, **kw):
        out = loops(law, groups, method, seed, **kw)
        for loop in out if method == "hedge" else []:
            loop.n_init = len(loop.costs)  # the coverage design, whole
        return out

    _propose.DesignLoop._cold = cold
    _bench.design_loops = design_loops


def pool_variance() -> None:
    """Patch the design refits: the noise prior from Var y over the whole pool (the candidates'
    outcomes, known in a replay), as the paper's ``mspe.py``."""
    refit = _propose.DesignLoop.refit
    pool_var = {"y": 0.0}  # of the loop being refitted

    def posterior(*args, **kw):
        return build_posterior(*args, **{**kw, "y_var": pool_var["y"]})

    def patched(self):
        pool_var["y"] = float(np.nanvar(self.y[self.candidates]))
        return refit(self)

    _propose.build_posterior = posterior
    _propose.DesignLoop.refit = patched


def design_refits(
    polish: int | None, wide: int | None, wide_from: float, wide_until: float
) -> None:
    """Patch the design refits (not the checkpoint fits, which pass ``polish``). ``polish``:
    screen every start for 8 iterations and run only the best ``polish`` on. ``wide``: at least
    that many starts while ``wide_from``·p ≤ n < ``wide_until``·p."""
    multistart = _propose.fit_multistart

    def fit(law, x, y, *, starts: int, **kw):
        if "polish" not in kw:  # a design refit
            p = law.n_params
            if wide is not None and wide_from * p <= len(y) < wide_until * p:
                starts = max(starts, wide)
            if polish is not None:
                kw.update(polish=polish, screen_iter=8)
        return multistart(law, x, y, starts=starts, **kw)

    _propose.fit_multistart = fit


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
    ap.add_argument("variant", choices=VARIANTS)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--tasks", default=TASKS)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--b", type=int, default=4)
    ap.add_argument("--good-ratio", type=float, default=10.0)
    ap.add_argument("--runs", choices=["paper", "p"], default="paper")
    ap.add_argument("--localize", type=float, default=0.0)
    ap.add_argument("--kappa", type=float, default=0.1)
    ap.add_argument("--bins", type=int, default=8)
    ap.add_argument("--frac", type=float, default=0.25)
    ap.add_argument("--method", default=None, help="the method replayed (default: the variant's)")
    ap.add_argument("--design-starts", type=int, default=None)
    ap.add_argument("--growth", type=float, default=None)
    ap.add_argument("--design-polish", type=int, default=None)
    ap.add_argument("--wide-starts", type=int, default=None)
    ap.add_argument("--wide-from", type=float, default=0.0)
    ap.add_argument("--wide-until", type=float, default=4.0)
    a = ap.parse_args()
    tasks = a.tasks.split(",")
    if a.variant == "kriging":
        kriging(tasks)
        return
    if a.out is None:
        ap.error(f"{a.variant} needs an output file (OUT.csv)")
    opts: dict = {}
    if a.design_starts is not None:
        opts["fit_starts"] = a.design_starts
    if a.growth is not None:
        opts["growth"] = a.growth
    if a.design_polish is not None or a.wide_starts is not None:
        design_refits(a.design_polish, a.wide_starts, a.wide_from, a.wide_until)
    method = "hedge"
    if a.variant == "boot":
        boot_fits(a.b, a.good_ratio)
    elif a.variant == "cold":
        _bench.design_loops = cold_loops(a.runs)
    elif a.variant == "mspe-median":
        _propose.DesignLoop.final_predict = median_predict()
        method, opts["localize"] = "mspe", a.localize
    elif a.variant == "sigma":
        sigma_prior(a.kappa)
    elif a.variant == "coverage":
        coverage_start(a.bins, a.frac)
    elif a.variant in ("paper-spend", "defer"):
        paper_spending(paper_start=a.variant == "paper-spend")
    elif a.variant == "pool-var":
        pool_variance()
        method = "mspe"
    method = a.method or method
    t0 = time.perf_counter()
    df = _bench.bench(tasks, methods=[method], seeds=a.seeds, workers=1, **opts)
    df.to_csv(a.out, index=False)
    print(f"wall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
