"""Does ``predict_target`` (``sl propose --predictions``) give the estimate ``sl bench`` scores?

    python benchmarks/predict_target_replay.py [TASK:LAW ...]

Replays ``hedge`` (seed 0) to the 1% and 5% checkpoints, as ``sl bench`` does, and prints, per
group, the largest relative difference between the replay's checkpoint prediction at the
target and ``predict_target`` on the runs the replay holds, and both R² (scalebench.md,
session 29).
"""

from __future__ import annotations

import sys

import numpy as np

from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench, predict_target
from scalinglaws.design._propose import CHECKPOINT_STARTS, checkpoint_schedule

CASES = ["moe_scaling_law:sl_4", "parallel_scaling_law:sl_9", "lr_bsz_scaling_law:sl_1"]


def _r2(y: np.ndarray, f: np.ndarray) -> float:
    return float(1 - ((y - f) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def main(cases: list[str]) -> None:
    for case in cases:
        task, law = load(case.split(":")[0]), get_law(case)
        groups = _bench._groups(task, law)
        loops = _bench.design_loops(law, groups, "hedge", 0)
        spent, pending = [0.0] * len(groups), [[] for _ in groups]
        polish, screen = checkpoint_schedule(law)
        names = [None] if task.group is None else list(task.train[task.group].unique())
        for cp in (0.01, 0.05):
            for gi, (g, loop) in enumerate(zip(groups, loops, strict=True)):
                _bench._advance(loop, g, cp, 0.1, "hedge", spent, pending, gi, 0.1)
                if not loop.observed:
                    print(f"{case} {cp:.0%} group {gi}: no runs")
                    continue
                loop.final_fit(CHECKPOINT_STARTS, seed=gi, polish=polish, screen_iter=screen)
                a = loop.final_predict({k: v[g.m :] for k, v in g.x.items()})
                tr, te = task.train, task.test
                if names[gi] is not None:
                    tr, te = tr[tr[task.group] == names[gi]], te[te[task.group] == names[gi]]
                tr = tr.reset_index(drop=True)
                b = predict_target(tr, law, cost=task.cost, runs=tr.iloc[loop.observed],
                                   target=te, method="hedge", seed=gi)  # fmt: skip
                b = b[list(law.outputs)].to_numpy()
                yt = te[list(law.outputs)].to_numpy()
                print(f"{case} {cp:.0%} group {gi} ({len(loop.observed)} runs): max relative "
                      f"difference {np.max(np.abs(a - b) / np.abs(a)):.1e}, R² replay "
                      f"{_r2(yt, a):.4f}, predict_target {_r2(yt, b):.4f}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:] or CASES)
