"""Where a law is not identified, which point of its valley should a checkpoint predict with?

    python benchmarks/linear_valley.py METHOD SEEDS LAW      # LAW: sl_1 or sl_7 (domain mixture)

Domain mixture sl_1 (a_i + b_i·log p_i + Σ_j c_ij·p_j) and sl_7 (a_i + b_i·p_i + c_i·log p_i +
Σ_j (d_ij·p_j + e_i·log p_j)) are linear in their parameters: 6 and 8 per output, against 4
runs per group at the 20% checkpoint. The replay (`run_trajectory`'s picks, via the bench's own
`design_loops` and `_advance`) scores at each checkpoint:
- ``bench``: the bench's checkpoint fit and prediction (for ``hedge``, the median over the
  near optima of 256 screened starts: the committed rows);
- ``pinv``: the minimum-norm least-squares solution, per output;
- ``ridge1e-3``: ridge regression toward zero, λ = 1e-3 on the raw features;
- ``map1e-4``, ``map1e-2``: the MAP under the design's weak prior from the bounds (mean the
  box's midpoint, sd a quarter of its width: ``prior_precision_z``) with noise variance 1e-4 or
  1e-2: a rule that needs no linearity.
Inputs are floored at 1e-12 as the manifest's ``input_floor``. Session 26: scalebench_history.md.
Since session 27 (add985e) ``bench`` for ``hedge`` is the MAP itself (``linear_map``), with the
checkpoint fit's weights and mean squared error as its noise variance.
"""

from __future__ import annotations

import sys

import numpy as np

from scalinglaws.design import _bench

TASK = "domain_mixture_scaling_law"
P_COLS = [f"proportion_domain_{i}" for i in range(1, 6)]
MAP_NOISE = {"map1e-4": 1e-4, "map1e-2": 1e-2}


def features(law_name: str, x: dict[str, np.ndarray], i: int) -> np.ndarray:
    """The design matrix of output ``i``, columns in the law's parameter order."""
    p = np.stack([np.maximum(x[c], 1e-12) for c in P_COLS], 1)
    others = [j for j in range(5) if j != i]
    if law_name == "sl_1":
        return np.column_stack([np.ones(len(p)), np.log(p[:, i]), p[:, others]])
    if law_name == "sl_7":
        return np.column_stack([np.ones(len(p)), p[:, i], np.log(p[:, i]), p[:, others],
                                np.log(p[:, others]).sum(1)])  # fmt: skip
    raise SystemExit(f"{law_name}: only sl_1 and sl_7 are linear in their parameters")


def solve(x: np.ndarray, y: np.ndarray, ridge: float, mu: np.ndarray | None = None) -> np.ndarray:
    """Least squares with ``ridge`` (a number, or a precision per parameter) toward ``mu``."""
    if np.all(ridge == 0):
        return np.linalg.pinv(x) @ y
    lam = np.broadcast_to(ridge, (x.shape[1],))
    mu = np.zeros(x.shape[1]) if mu is None else mu
    return np.linalg.solve(x.T @ x + np.diag(lam), x.T @ y + lam * mu)


def main(method: str, seeds: int, law_name: str) -> None:
    task = _bench.load(TASK)
    law = _bench.get_law(f"{TASK}:{law_name}")
    groups = _bench._groups(task, law)
    bounds = np.asarray(law.bounds_array)
    per = law.n_params // 5
    fracs = sorted(task.budget_fractions)
    kinds = ["bench", "pinv", "ridge1e-3", *MAP_NOISE]
    res = {k: {cp: [] for cp in fracs} for k in kinds}
    for seed in range(seeds):
        loops = _bench.design_loops(law, groups, method, seed)
        spent, pending = [0.0] * len(groups), [[] for _ in groups]
        polish, screen = _bench.checkpoint_schedule(law)
        for cp in fracs:
            preds, trues = {k: [] for k in kinds}, []
            for gi, (g, loop) in enumerate(zip(groups, loops, strict=True)):
                _bench._advance(loop, g, cp, fracs[-1], method, spent, pending, gi, 0.1)
                loop.final_fit(256, seed=seed * 31 + gi, polish=polish, screen_iter=screen)
                xt = {k: v[g.m :] for k, v in g.x.items()}
                preds["bench"].append(loop.final_predict(xt).ravel())
                obs = np.asarray(loop.observed)
                xo, yo = {k: v[obs] for k, v in g.x.items()}, g.y[obs]
                cols = {k: [] for k in kinds[1:]}
                for i in range(5):
                    fo, ft = features(law_name, xo, i), features(law_name, xt, i)
                    cols["pinv"].append(ft @ solve(fo, yo[:, i], 0.0))
                    cols["ridge1e-3"].append(ft @ solve(fo, yo[:, i], 1e-3))
                    b = bounds[i * per : (i + 1) * per]
                    prec = 1.0 / ((b[:, 1] - b[:, 0]) / 4) ** 2
                    for k, s2 in MAP_NOISE.items():
                        cols[k].append(ft @ solve(fo, yo[:, i], prec * s2, b.mean(1)))
                for k, c in cols.items():
                    preds[k].append(np.column_stack(c).ravel())
                trues.append(g.y_test.ravel())
            for k in kinds:
                ok = [j for j, p in enumerate(preds[k]) if np.all(np.isfinite(p))]
                res[k][cp].append(_bench._r2([preds[k][j] for j in ok], [trues[j] for j in ok]))
        row = {k: [round(res[k][cp][-1], 2) for cp in fracs] for k in kinds}
        print(f"seed {seed}: {row}", flush=True)
    print(f"\n{method} on domain {law_name}, mean R² over {seeds} seeds at {fracs}:")
    for k in kinds:
        print(f"  {k:10s} " + " / ".join(f"{np.mean(res[k][cp]):+.3f}" for cp in fracs))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
