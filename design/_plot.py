"""A map of a design problem: the pool, the runs observed and in flight, the proposals and the
target region (``sl propose --plot``).

Two panels. Left, the configurations over the two inputs along which the target region lies
furthest from the pool (log axes for positive inputs), so the extrapolation is visible whatever
the law's input count. Right, each candidate's cost against its distance to the nearest target
configuration (standardised log inputs, the distance ``hedge`` localises its fit by): the trade
the acquisition makes between cost and proximity to the target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglaws._errors import ScalingLawsError
from scalinglaws._law import Law

from ._acquisition import standardised_inputs, target_distance
from ._costs import CostModel
from ._propose import _key, _problem

_STYLE = {  # label: (marker, colour, size, z-order)
    "pool": ("o", "0.75", 10, 1),
    "observed": ("o", "tab:blue", 22, 3),
    "in flight": ("s", "tab:orange", 26, 3),
    "no outcome": ("X", "tab:purple", 30, 3),
    "proposed": ("*", "tab:red", 110, 4),
    "target": ("D", "tab:green", 30, 2),
}


def extrapolation_axes(x: dict[str, np.ndarray], m: int, t: int) -> list[str]:
    """The (up to two) inputs along which the target rows ``m..m+t-1`` lie furthest from the
    pool rows ``0..m-1``, in standard deviations of the pool (log scale for positive inputs)."""
    names = list(x)
    z = standardised_inputs(x, np.arange(m + t), m)
    gap = np.abs(z[m : m + t].mean(axis=0))  # the pool is centred at 0 with unit spread
    order = sorted(range(len(names)), key=lambda j: (-gap[j], j))
    return [names[j] for j in order[:2]]


def plot_proposals(
    pool: pd.DataFrame,
    law: Law | str,
    proposals: pd.DataFrame,
    path: str | Path,
    *,
    cost: str | CostModel,
    runs: pd.DataFrame | None = None,
    in_flight: pd.DataFrame | None = None,
    target: pd.DataFrame | str | int | None = None,
    budget: float | None = None,
) -> Path:
    """Draw the design problem of :func:`propose` (same arguments) and its ``proposals``; save a
    PNG at ``path`` and return the path. ``budget``: the absolute budget, for the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pb = _problem(
        pool, law, cost=cost, runs=runs, in_flight=in_flight, target=target, method="random",
        gamma=0.4, seed=0, fit_starts=1, cold_start="cheapest",
    )  # fmt: skip
    loop = pb.loop
    m, t = len(pb.pool), len(pb.target)
    x = loop.x
    rows: dict[str, np.ndarray] = {
        "pool": np.asarray(loop.candidates, dtype=int),
        "target": np.arange(m, m + t),
        "observed": np.asarray(loop.observed, dtype=int),
        "in flight": np.asarray(loop.inflight, dtype=int),
    }
    key = {k: i for i, k in enumerate(_key(pb.pool, list(x)))}  # as propose tells them apart
    picked = [key.get(k) for k in _key(proposals, list(x))]
    rows["proposed"] = np.asarray([i for i in picked if i is not None], dtype=int)
    rows["pool"] = np.setdiff1d(rows["pool"], rows["proposed"])
    bad = pb.unfitted  # run, so spent, but without an outcome: not in the loop's rows
    if len(bad):
        x = {k: np.concatenate([v, bad[k].to_numpy(np.float64)]) for k, v in x.items()}
        rows["no outcome"] = np.arange(len(loop.costs), len(loop.costs) + len(bad))
    n_all = len(loop.costs) + len(bad)
    dist = target_distance(x, np.arange(n_all), rows["target"])
    costs = np.concatenate([loop.costs, bad["cost"].to_numpy(np.float64)])
    # the target rows' costs: by the cost model, if it can
    try:
        costs[m : m + t] = pb.cost_model(pb.target)
    except ScalingLawsError:  # the model needs columns the target table lacks
        costs[m : m + t] = np.nan
    axes_in = extrapolation_axes(x, m, t)
    px = x[axes_in[0]]
    py = x[axes_in[1]] if len(axes_in) > 1 else costs  # one input: against cost

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    for label, r in rows.items():
        if not len(r):
            continue
        mk, col, s, z = _STYLE[label]
        n = f"{label} ({len(r)})"
        ax1.scatter(px[r], py[r], marker=mk, c=col, s=s, zorder=z, label=n, edgecolors="none")
        if np.isfinite(costs[r]).any():
            ax2.scatter(costs[r], dist[r], marker=mk, c=col, s=s, zorder=z, label=n,
                        edgecolors="none")  # fmt: skip
    for i, r in enumerate(rows["proposed"]):  # pick order
        ax1.annotate(str(i + 1), (px[r], py[r]), fontsize=7, xytext=(4, 3),
                     textcoords="offset points")  # fmt: skip
        ax2.annotate(str(i + 1), (costs[r], dist[r]), fontsize=7, xytext=(4, 3),
                     textcoords="offset points")  # fmt: skip
    ax1.set_xlabel(axes_in[0])
    ax1.set_ylabel(axes_in[1] if len(axes_in) > 1 else "cost")
    _log_if_positive(ax1, px, "x")
    _log_if_positive(ax1, py[np.isfinite(py)], "y")
    others = [k for k in x if k not in axes_in]
    ax1.set_title(
        "configurations" + (f" (not shown: {', '.join(others)})" if others else ""), fontsize=9
    )
    ax2.set_xscale("log")
    ax2.set_xlabel("cost of one run")
    ax2.set_ylabel("distance to the target region (standardised inputs)")
    ax2.set_title("cost against proximity to the target", fontsize=9)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3, which="both", lw=0.5)
    ax1.legend(fontsize=7, loc="best")
    spent = pb.spent
    new = float(np.sum(loop.costs[rows["proposed"]]))
    head = f"{loop.law.name}: spent {spent:.3g} (observed and in flight), proposed {new:.3g}"
    if budget is not None:
        head += f", budget {budget:.3g} ({100 * (spent + new) / budget:.0f}% used)"
    fig.suptitle(head + f"; pool total {loop.total_cost:.3g}", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _log_if_positive(ax: Any, v: np.ndarray, which: str) -> None:
    v = np.asarray(v, dtype=np.float64)
    if np.all(v > 0) and v.max() / v.min() > 8:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
