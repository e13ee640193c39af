"""How many starts the bench's whole-pool fits need (scalebench.md, "Speed", session 19).

    python benchmarks/start_width.py [TASK] [--starts 128,256,512] [--polish 64,16 --screen 30,30]

For every law of TASK (default lr_bsz), fit all of the pool as ``sl bench``'s all-data row
does (``fit_multistart`` with the bench's screen/polish schedule, seed = group index) with each
start count, and print a markdown table: the best mean squared error, how many starts ended
within 0.1% of it, R² on the target rows (scored as the bench does) and the fit's seconds.
The random starts of a smaller count are the first ones of a larger count (same seed), so a
larger count searches a superset, but its polish keeps the same number of screened starts.
``--polish``/``--screen`` replace the bench's schedule (``checkpoint_schedule``) for every law.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from localized_fit import pool_fits, target_r2  # a sibling script

from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench
from scalinglaws.design._acquisition import fit_multistart


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    task = load(args[0] if args else "lr_bsz")
    counts = [256, 128, 512]
    if "--starts" in argv:
        counts = [int(c) for c in argv[argv.index("--starts") + 1].split(",")]
    schedule = None
    if "--polish" in argv:
        schedule = tuple(
            tuple(int(c) for c in argv[argv.index(o) + 1].split(","))
            for o in ("--polish", "--screen")
        )
    print(f"{task.name}: whole-pool fits; per start count: MSE, starts within 0.1%, R², seconds\n")
    print("| law | p | " + " | ".join(f"{c} starts" for c in counts) + " |")
    print("|---|---|" + "---|" * len(counts))
    for name in task.law_names:
        law = get_law(f"{task.name}:{name}")
        groups = _bench._groups(task, law)
        g0 = groups[0]  # compile the law's kernels outside the timings
        fit_multistart(law, {k: v[: g0.m] for k, v in g0.x.items()}, g0.y[: g0.m], starts=16)
        cells = []
        for count in counts:
            t0 = time.perf_counter()
            fits = pool_fits(groups, law, starts=count, schedule=schedule)
            r2 = target_r2(law, fits)
            dt = time.perf_counter() - t0
            mse = np.mean([f[0] for _, f, _ in fits])
            hits = min(int(np.sum(f <= f[0] * (1 + 1e-3))) for _, f, _ in fits)
            cells.append(f"{mse:.3e}, {hits}, {r2:+.2f}, {dt:.1f} s")
        print(f"| {name} | {law.n_params} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
