"""Target-localised least squares on ScaleBench's full pools (scalebench_history.md, "hedge's
target-localised checkpoint fit").

    python benchmarks/localized_fit.py OUT.jsonl [--alphas 0,1,2] [--tasks all]
    python benchmarks/localized_fit.py table OUT.jsonl

For every law of every task, fit all of the pool (the all-data fit of ``sl bench``: 256
screened starts, seed = group index) with each run weighted by ``(d_min / d)^α``, d its
distance to the nearest target row (``target_distance``), and score R² on the target rows as
the bench does. α = 0 is the unweighted fit: the ``all-data`` rows of ``scalebench.csv``.
One JSON line per (task, law, α).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd

from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench
from scalinglaws.design._acquisition import (
    fit_multistart,
    law_jacobians,
    target_distance,
    target_weights,
)
from scalinglaws.design._bench import SHORT


def pool_fits(groups: list, law, starts: int = 256, alpha: float = 0.0, schedule=None) -> list:
    """Each group's whole-pool fit as ``sl bench``'s all-data row (seed = group index), runs
    weighted by ``(d_min / d)^alpha``: a list of ``(thetas, objectives, group)``. ``groups``:
    ``_bench._groups(task, law)``. ``schedule``: ``(polish, screen_iter)``, by default the
    bench's ``checkpoint_schedule``."""
    polish, screen = schedule or _bench.checkpoint_schedule(law)
    fits = []
    for gi, g in enumerate(groups):
        pool, target = np.arange(g.m), np.arange(g.m, g.m + g.t)
        w = target_weights(target_distance(g.x, pool, target), alpha) if alpha > 0 else None
        x = {k: v[: g.m] for k, v in g.x.items()}
        th, f = fit_multistart(
            law, x, g.y[: g.m], starts=starts, seed=gi, polish=polish, screen_iter=screen,
            weights=w,
        )  # fmt: skip
        fits.append((th, f, g))
    return fits


def target_r2(law, fits: list) -> float:
    """R² of the best optimum of each of ``fits`` on its group's target rows, as the bench
    scores them (groups whose fit or predictions are not finite are skipped)."""
    preds, trues = [], []
    for th, f, g in fits:
        if not np.isfinite(f[0]):
            continue
        pr = law_jacobians(law, th[:1], {k: v[g.m :] for k, v in g.x.items()})[0][0]
        if np.all(np.isfinite(pr)):
            preds.append(pr.ravel())
            trues.append(g.y_test.ravel())
    return _bench._r2(preds, trues)


def score(task_name: str, law_name: str, alpha: float) -> float:
    task, law = load(task_name), get_law(f"{task_name}:{law_name}")
    return target_r2(law, pool_fits(_bench._groups(task, law), law, alpha=alpha))


def table(path: str) -> str:
    df = pd.DataFrame([json.loads(line) for line in open(path)])
    df["short"] = df["task"].map(SHORT)
    p = df.pivot_table(index="short", columns="alpha", values="r2", aggfunc="mean")
    out = ["| task | " + " | ".join(f"α = {a:g}" for a in p.columns) + " |"]
    out.append("|---|" + "---|" * len(p.columns))
    for t, row in p.iterrows():
        out.append(
            f"| {t} | " + " | ".join("not run" if v != v else f"{v:+.3f}" for v in row) + " |"
        )
    return "\n".join(out)


def main(argv: list[str]) -> None:
    if argv[:1] == ["table"]:
        print(table(argv[1]))
        return
    opts = dict(zip(argv[1::2], argv[2::2], strict=False))
    alphas = [float(a) for a in opts.get("--alphas", "0,1").split(",")]
    tasks = opts.get("--tasks", "all")
    names = list(SHORT) if tasks == "all" else tasks.split(",")
    with open(argv[0], "a") as out:
        for t in names:
            for law_name in load(t).law_names:
                for a in alphas:
                    r = dict(task=t, law=law_name, alpha=a, r2=score(t, law_name, a))
                    print(r, flush=True)
                    out.write(json.dumps(r) + "\n")
                    out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
