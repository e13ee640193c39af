"""Checkpoint-fit schedules compared on the fits a replay really makes.

    python benchmarks/checkpoint_schedules.py TASK:LAW:METHODS:SEEDS [...] [--schedules h10,s20]

Replays each (task, law, method, seed) trajectory with ``run_trajectory``, records the inputs of
every checkpoint fit (256 starts), then fits each one again with today's schedule
(``checkpoint_schedule``) and with each alternative, warm (the law's kernels compiled by a first
fit). Per law and data regime (n ≥ 4p observed outputs or fewer) it prints the seconds of each
schedule and how often the alternative's best objective is higher ("worse": a different, poorer
optimum) or lower than today's. A schedule that is faster and never worse changes nothing a
checkpoint reports; one that is worse as often as better trades the fit's randomness, and only a
whole ScaleBench run can tell its R².

Alternatives (``polish``, ``screen_iter`` of :func:`fit_multistart`), for laws of at most / more
than 16 parameters:

- ``h10``: every start 10 iterations, the best 128 another 20 (then as today);
- ``s20``: every start 20 iterations instead of 30;
- ``h10b``: every start 10 iterations, the best 128 another 10.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench, _propose
from scalinglaws.design._acquisition import fit_multistart

SCHEDULES = {  # name: (schedule for p <= 16, schedule for p > 16)
    "h10": (((128, 64), (10, 20)), ((128, 64, 16), (10, 20, 30))),
    "s20": ((64, 20), ((64, 16), (20, 30))),
    "h10b": (((128, 64), (10, 10)), ((128, 64, 16), (10, 10, 30))),
}


def capture(specs: list[str]) -> list[tuple]:
    """The checkpoint fits (law, x, y, keyword arguments) of the trajectories ``specs``."""
    fits: list[tuple] = []
    original = _propose.fit_multistart

    def record(law, x, y, **kw):
        if kw.get("starts") == 256:
            fits.append((law, {k: np.asarray(v) for k, v in x.items()}, np.asarray(y), kw))
        return original(law, x, y, **kw)

    _propose.fit_multistart = record
    try:
        for spec in specs:
            task_name, law_name, methods, seeds = spec.split(":")
            task, law = load(task_name), get_law(f"{task_name}:{law_name}")
            groups = _bench._groups(task, law)
            for seed in map(int, seeds.split(",")):
                for m in methods.split(","):
                    _bench.run_trajectory(task, law, groups, m, seed)
    finally:
        _propose.fit_multistart = original
    return fits


def compare(fits: list[tuple], names: list[str]) -> list[str]:
    rows: dict[tuple, dict] = collections.defaultdict(lambda: collections.defaultdict(float))
    warm: set[str] = set()
    for law, x, y, kw in fits:
        p = law.n_params
        base = _bench.checkpoint_schedule(law)
        if law.name not in warm:  # compile this law's kernels outside the timings
            fit_multistart(law, x, y, **dict(kw, polish=base[0], screen_iter=base[1]))
            warm.add(law.name)
        n = int(np.isfinite(y).sum())
        r = rows[(law.name, "n >= 4p" if n >= 4 * p else "n < 4p")]
        r["fits"] += 1
        best = {}
        for name in ["today", *names]:
            pol, scr = base if name == "today" else SCHEDULES[name][p > 16]
            t = time.perf_counter()
            _, f = fit_multistart(law, x, y, **dict(kw, polish=pol, screen_iter=scr))
            r[f"{name} s"] += time.perf_counter() - t
            best[name] = f[0]
        for name in names:
            a, b = best[name], best["today"]
            r[f"{name} worse"] += a > b * (1 + 1e-6) + 1e-12
            r[f"{name} better"] += a < b * (1 - 1e-6) - 1e-12
    head = "| law | data | fits | today (s) | " + " | ".join(
        f"{n} (s) | {n} speed-up | {n} worse / better" for n in names
    )
    out = [head + " |", "|---" * (4 + 3 * len(names)) + "|"]
    for (law, regime), r in rows.items():
        cells = [law, regime, f"{r['fits']:.0f}", f"{r['today s']:.2f}"]
        for n in names:
            cells += [
                f"{r[f'{n} s']:.2f}",
                f"{r['today s'] / max(r[f'{n} s'], 1e-9):.2f}×",
                f"{r[f'{n} worse']:.0f} / {r[f'{n} better']:.0f}",
            ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="+", help="TASK:LAW:METHOD[,METHOD]:SEED[,SEED]")
    ap.add_argument("--schedules", default="h10,s20,h10b")
    args = ap.parse_args()
    print("\n".join(compare(capture(args.specs), args.schedules.split(","))), flush=True)


if __name__ == "__main__":
    main()
