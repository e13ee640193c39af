"""Publication-style plots of a fit against its data (``sl fit --plot``).

For laws with inputs N and D: loss against compute C = 6·N·D on log axes, one colour per model
size with the fitted curve through that size's runs, and a residual panel. For any other law:
observed against predicted (with the identity line) and residuals against the first input.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_fit(
    results: Sequence[Any] | Any, path: str | Path, *, labels: Sequence[str] | None = None
) -> Path:
    """Draw fit(s) against their data and save a PNG at ``path``; returns the path."""
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    law = results[0].law
    fig, (ax, axr) = plt.subplots(
        2,
        1,
        figsize=(6.4, 6.0),
        sharex=False,
        gridspec_kw={"height_ratios": [3, 1.2]},
        constrained_layout=True,
    )
    if {"N", "D"} <= set(law.inputs):
        _plot_nd(results, ax, axr, labels)
    else:
        _plot_generic(results, ax, axr, labels)
    status = "; ".join(results[0].status)
    title = f"{law.name}  ({results[0].loss}, {sum(r.n_runs for r in results)} runs)"
    ax.set_title(title + ("\n" + status if status != "converged" else ""), fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def _plot_nd(results, ax, axr, labels) -> None:
    cmap = plt.get_cmap("viridis")
    for res in results:
        x, y = res.x, res.y[:, 0]
        sizes = np.unique(x["N"])
        for i, n in enumerate(sizes):
            color = cmap(i / max(len(sizes) - 1, 1))
            m = x["N"] == n
            d = np.sort(x["D"][m])
            c = 6 * n * x["D"][m]
            ax.scatter(c, y[m], s=12, color=color, zorder=3)
            extra = {k: np.full(64, np.median(v[m])) for k, v in x.items() if k not in ("N", "D")}
            dd = np.geomspace(d[0] / 1.5, d[-1] * 1.5, 64)
            curve = res.law(res.params, {"N": np.full(64, n), "D": dd, **extra})
            ax.plot(6 * n * dd, np.asarray(curve).reshape(64, -1)[:, 0], color=color, lw=1.2,
                    label=f"N={n:.3g}" if len(sizes) <= 12 else None)  # fmt: skip
            pred = np.asarray(res.law(res.params, {k: v[m] for k, v in x.items()})).reshape(-1)
            axr.scatter(c, (y[m] - pred) / pred * 100, s=10, color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute C = 6·N·D (FLOPs)")
    ax.set_ylabel(results[0].law.outputs[0])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=2, frameon=False)
    axr.axhline(0, color="0.5", lw=0.8)
    axr.set_xscale("log")
    axr.set_xlabel("compute C = 6·N·D (FLOPs)")
    axr.set_ylabel("residual (%)")


def _plot_generic(results, ax, axr, labels) -> None:
    law = results[0].law
    first = law.inputs[0]
    for j, res in enumerate(results):
        pred = np.asarray(res.law(res.params, res.x)).reshape(res.y.shape)
        lab = labels[j] if labels and len(results) > 1 else None
        ax.scatter(pred.ravel(), res.y.ravel(), s=12, label=lab)
        xv = np.repeat(res.x[first], res.y.shape[1])
        axr.scatter(xv, (res.y - pred).ravel(), s=10)
    lo = min(np.nanmin(r.y) for r in results)
    hi = max(np.nanmax(r.y) for r in results)
    ax.plot([lo, hi], [lo, hi], color="0.4", lw=1, ls="--")
    ax.set_xlabel("predicted")
    ax.set_ylabel("observed")
    if labels and len(results) > 1:
        ax.legend(fontsize=7, frameon=False)
    axr.axhline(0, color="0.5", lw=0.8)
    if np.all(np.concatenate([r.x[first] for r in results]) > 0):
        axr.set_xscale("log")
    axr.set_xlabel(first)
    axr.set_ylabel("residual")
