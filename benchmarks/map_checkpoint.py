"""`hedge`'s checkpoint prediction against a MAP fit under the design's weak bounds prior.

    python benchmarks/map_checkpoint.py TASK LAWS SEEDS      # LAWS: sl_1,sl_2,... or all

On `hedge`'s replay (the bench's own `design_loops` and `_advance`, so the same picks and the
same checkpoint fits as the committed rows), each checkpoint is scored twice:
- ``bench``: the committed estimator, the median over the near optima of the checkpoint fit;
- ``map``: the maximum a posteriori fit of the same weighted runs under the weak prior the design
  already uses (Gaussian in design coordinates z, log θ where the lower bound is positive; mean
  the box's midpoint in z, sd a quarter of its width: ``prior_precision_z``), with the noise
  variance the checkpoint fit's mean squared error (floored at 1e-6·Var y). Solved by
  ``scipy.optimize.least_squares`` (trf, within the bounds, Jacobian by JAX) from the best 8
  near optima; the lowest objective wins.
Where the law is identified the prior changes little; where it is not, it picks the point of
the valley nearest the middle of the bounds instead of the median of the points the random
starts reached. Session 26: scalebench_history.md. Since session 27 (add985e) `hedge`'s own
prediction is this MAP, in closed form, for laws affine in their parameters, so there the
two columns agree.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import least_squares

from scalinglaws.design import _bench
from scalinglaws.design._acquisition import prior_precision_z


def map_fitter(law):
    """``fit(th0s, x, y, w) -> theta``: the MAP from each start, the best kept."""
    lo, hi = law.bounds_array.T
    pos = lo > 0
    safe_lo, safe_hi = np.where(pos, lo, 1.0), np.where(pos, hi, 1.0)
    mid = np.where(pos, 0.5 * (np.log(safe_lo) + np.log(safe_hi)), 0.5 * (lo + hi))
    sq = np.sqrt(prior_precision_z(law))

    @jax.jit
    def resid(th, x, y, sw, s):
        f = law.apply(th, x).reshape(y.shape)
        z = jnp.where(pos, jnp.log(jnp.where(pos, jnp.abs(th), 1.0)), th)
        return jnp.concatenate([(sw[:, None] * (f - y) / s).ravel(), sq * (z - mid)])

    jac = jax.jit(jax.jacfwd(resid))

    def fit(th0s, x, y, w):
        x = {k: jnp.asarray(v) for k, v in x.items()}
        y, sw = jnp.asarray(y), jnp.asarray(np.sqrt(w))
        f0 = np.asarray(law.apply(jnp.asarray(th0s[0]), x)).reshape(y.shape)
        s = float(np.sqrt(max(np.mean((f0 - np.asarray(y)) ** 2), 1e-6 * float(np.var(y)))))
        best = None
        for th0 in th0s:
            th0 = np.clip(th0, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
            r = least_squares(
                lambda t: np.asarray(resid(jnp.asarray(t), x, y, sw, s)), th0,
                jac=lambda t: np.asarray(jac(jnp.asarray(t), x, y, sw, s)),
                bounds=(lo, hi), method="trf", max_nfev=200,
            )  # fmt: skip
            if best is None or r.cost < best.cost:
                best = r
        return best.x

    return fit


def main(task_name: str, laws: str, seeds: int) -> None:
    task = _bench.load(task_name)
    names = list(task.law_names) if laws == "all" else laws.split(",")
    fracs = sorted(task.budget_fractions)
    for name in names:
        law = _bench.get_law(f"{task.name}:{name}")
        groups = _bench._groups(task, law)
        fit = map_fitter(law)
        polish, screen = _bench.checkpoint_schedule(law)
        out = {k: {cp: [] for cp in fracs} for k in ("bench", "map")}
        for seed in range(seeds):
            loops = _bench.design_loops(law, groups, "hedge", seed)
            spent, pending = [0.0] * len(groups), [[] for _ in groups]
            for cp in fracs:
                preds, trues = {"bench": [], "map": []}, []
                for gi, (g, loop) in enumerate(zip(groups, loops, strict=True)):
                    _bench._advance(loop, g, cp, fracs[-1], "hedge", spent, pending, gi, 0.1)
                    if (
                        loop.final_fit(256, seed=seed * 31 + gi, polish=polish, screen_iter=screen)
                        is None
                    ):
                        continue
                    xt = {k: v[g.m :] for k, v in g.x.items()}
                    preds["bench"].append(loop.final_predict(xt).ravel())
                    obs = np.asarray(loop.observed)
                    w = loop._weights(obs)
                    th = fit(loop._final.near[:8], {k: v[obs] for k, v in g.x.items()}, g.y[obs],
                             np.ones(len(obs)) if w is None else w)  # fmt: skip
                    xtj = {k: jnp.asarray(v) for k, v in xt.items()}
                    preds["map"].append(np.asarray(law.apply(jnp.asarray(th), xtj)).ravel())
                    trues.append(g.y_test.ravel())
                for k, pr in preds.items():
                    ok = [j for j, p in enumerate(pr) if np.all(np.isfinite(p))]
                    out[k][cp].append(_bench._r2([pr[j] for j in ok], [trues[j] for j in ok]))
        means = {k: " / ".join(f"{np.mean(v[cp]):+.3f}" for cp in fracs) for k, v in out.items()}
        print(f"{task.name} {name}: bench {means['bench']}   map {means['map']}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
