"""Extrapolation plots: the law with 50% and 90% posterior bands, out to a target region.

The x axis is one input (``sweep``, by default the law's last input, e.g. tokens ``D``); every
other input is held at a *level*. Curves are drawn for

- a few levels of the fitting data (posterior median, over the data's range of ``sweep``),
- the level of the target point ``to`` and of each held-out run, with 50% and 90% central
  bands from the data's smallest ``sweep`` out past the target,

and the runs themselves on top: fitting data as dots, held-out runs as black-edged stars, the
target as a cross. Both axes are logarithmic when the values are positive.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

MAX_DATA_LEVELS = 5
MAX_BAND_LEVELS = 6
N_GRID = 80


def _xy(runs: Any) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    if runs is None:
        return None
    if hasattr(runs, "x") and hasattr(runs, "y"):
        x, y = runs.x, np.asarray(runs.y)
    else:
        x, y = runs
    return {k: np.asarray(v, dtype=np.float64) for k, v in x.items()}, np.asarray(y).reshape(
        len(np.asarray(y)), -1
    )


def _levels(x: dict[str, np.ndarray], others: list[str]) -> np.ndarray:
    if not others:
        return np.zeros((1, 0))
    return np.unique(np.column_stack([x[k] for k in others]), axis=0)


def _spread(levels: np.ndarray, k: int) -> np.ndarray:
    if len(levels) <= k:
        return levels
    return levels[np.unique(np.linspace(0, len(levels) - 1, k).round().astype(int))]


def plot_extrapolation(
    post: Any,
    path: str | Path | None = None,
    *,
    data: Any = None,
    held_out: Any = None,
    to: Mapping[str, float] | None = None,
    sweep: str | None = None,
    new_run: bool = False,
    output: int = 0,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Draw ``post``'s law with 50%/90% bands extrapolated to ``to``; returns the figure.

    Args:
        post: a :class:`~scalinglaws._posterior.Posterior`.
        path: write the figure here (PNG/PDF/SVG) when given.
        data: the fitting runs (Runs, or ``(x dict, y)``); ``held_out``: runs to overlay.
        to: the target point ``{input: value}``.
        sweep: the input on the x axis (default: the law's last input).
        new_run: bands for a new run (run-to-run noise added), else for the law.
        output: which target column to draw for multi-output laws.
    """
    import matplotlib.pyplot as plt  # the caller's backend (the CLI selects Agg)

    law = post.law
    sweep = sweep or law.inputs[-1]
    others = [k for k in law.inputs if k != sweep]
    d, h = _xy(data), _xy(held_out)
    lo_s, hi_s = [], []
    for xy in (d, h):
        if xy is not None:
            lo_s.append(np.min(xy[0][sweep]))
            hi_s.append(np.max(xy[0][sweep]))
    if to is not None:
        lo_s.append(float(to[sweep]))
        hi_s.append(float(to[sweep]))
    if not lo_s:
        raise ValueError("plot_extrapolation needs data, held_out or to")
    s_min, s_max = min(lo_s), max(hi_s) * 1.5
    log_x = s_min > 0
    grid = np.geomspace(s_min, s_max, N_GRID) if log_x else np.linspace(s_min, s_max, N_GRID)

    band_levels = []
    if to is not None:
        band_levels.append(np.array([float(to[k]) for k in others]))
    if h is not None:
        band_levels += list(_spread(_levels(h[0], others), MAX_BAND_LEVELS))
    band_levels = (
        np.unique(np.asarray(band_levels).reshape(-1, len(others)), axis=0)
        if band_levels
        else np.zeros((0, len(others)))
    )
    data_levels = (
        _spread(_levels(d[0], others), MAX_DATA_LEVELS)
        if d is not None
        else np.zeros((0, len(others)))
    )
    if not others:
        band_levels = np.zeros((1, 0))
        data_levels = np.zeros((0, 0))
    all_first = np.concatenate([band_levels[:, 0], data_levels[:, 0]]) if others else np.zeros(1)
    pos = all_first[all_first > 0] if others else all_first
    lo_c, hi_c = (np.log(pos.min()), np.log(pos.max())) if len(pos) else (0.0, 1.0)
    cmap = plt.get_cmap("viridis")

    def color(level):
        if not others or not level[0] > 0 or hi_c == lo_c:
            return cmap(0.5)
        return cmap(0.9 * (np.log(level[0]) - lo_c) / (hi_c - lo_c))

    def label(level):
        return (
            ", ".join(f"{k}={v:.3g}" for k, v in zip(others, level, strict=False))
            or law.outputs[output]
        )

    def inputs(level, s):
        x = {sweep: s}
        for k, v in zip(others, level, strict=False):
            x[k] = np.full_like(s, v)
        return x

    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7.5, 5.0))
    else:
        fig = ax.figure
    for level in data_levels:
        sel = (
            np.all(np.column_stack([d[0][k] for k in others]) == level, axis=1)
            if others
            else slice(None)
        )
        s_lo = np.min(d[0][sweep][sel])
        s = grid[grid >= s_lo * 0.999]
        r = post.predict(inputs(level, s), interval=0.5, new_run=False)
        ax.plot(s, _col(r["median"], output), color=color(level), lw=1.0, alpha=0.8)
    for i, level in enumerate(band_levels):
        r90 = post.predict(inputs(level, grid), interval=0.9, new_run=new_run)
        r50 = post.predict(inputs(level, grid), interval=0.5, new_run=new_run)
        c = color(level)
        ax.fill_between(grid, _col(r90["lower"], output), _col(r90["upper"], output), color=c, alpha=0.15, lw=0,
                        label="90% interval" if i == 0 else None)  # fmt: skip
        ax.fill_between(grid, _col(r50["lower"], output), _col(r50["upper"], output), color=c, alpha=0.3, lw=0,
                        label="50% interval" if i == 0 else None)  # fmt: skip
        ax.plot(grid, _col(r90["median"], output), color=c, lw=2.0, label=f"law at {label(level)}")
    if d is not None:
        cs = [
            color(lv)
            for lv in (
                np.column_stack([d[0][k] for k in others]) if others else np.zeros((len(d[1]), 0))
            )
        ]
        ax.scatter(
            d[0][sweep], d[1][:, output], s=9, c=cs, alpha=0.7, label="fitting runs", zorder=3
        )
    if h is not None:
        ax.scatter(h[0][sweep], h[1][:, output], s=90, marker="*", c="gold", edgecolors="black", linewidths=0.8,
                   label="held-out runs", zorder=4)  # fmt: skip
    if to is not None:
        yt = post.predict({k: np.array([float(to[k])]) for k in law.inputs}, interval=0.9)
        ax.errorbar([float(to[sweep])], _col(yt["median"], output),
                    yerr=[_col(yt["median"] - yt["lower"], output), _col(yt["upper"] - yt["median"], output)],
                    fmt="x", color="crimson", ms=9, capsize=4, label="target (90%)", zorder=5)  # fmt: skip
    if log_x:
        ax.set_xscale("log")
    yl = ax.get_ylim()
    if yl[0] > 0:
        ax.set_yscale("log")
    ax.set_xlabel(sweep)
    ax.set_ylabel(law.outputs[output])
    what = "new run" if new_run else "law"
    ax.set_title(title or f"{law.name}: {post.method} posterior, bands for the {what}")
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, which="both", alpha=0.2)
    if path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        if own:
            plt.close(fig)
    return fig


def _col(v: Any, output: int) -> np.ndarray:
    v = np.asarray(v)
    return v if v.ndim == 1 else v[:, output]
