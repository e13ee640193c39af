"""How wide should ``hedge``'s plausibility screen be? (scalebench_history.md, session 28)

    python benchmarks/plausible_ranges.py TASK OUT.jsonl [--seeds 0,1,...] [--laws sl_1,...] [--ranges 2,5,10,20]
    python benchmarks/plausible_ranges.py table OUT.jsonl

Replays ``hedge`` as ``sl bench`` does (:func:`run_trajectory`, same picks and checkpoint fits)
and scores each checkpoint's prediction again with the screen of
:meth:`DesignLoop.final_predict` at other multiples of the observed range (``off``: no screen,
the valley median over every finite optimum, as before 4cbcb47). Laws affine in their
parameters are predicted with their MAP, which the screen does not touch: their rows repeat
the bench's. Also records, per checkpoint, how far the true target outcomes lie outside the
observed ones, in observed ranges (the largest over the groups): a multiple below it could set
aside the optimum that predicts the truth. One JSON line per (law, seed).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np

from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench
from scalinglaws.design._bench import SHORT
from scalinglaws.design._propose import DesignLoop, kept_median, plausible


def replay(task_name: str, law_name: str, seed: int, ranges: tuple[float, ...]) -> dict:
    task, law = load(task_name), get_law(f"{task_name}:{law_name}")
    groups = _bench._groups(task, law)
    calls: list = []  # one per group and checkpoint, in the replay's order
    fit, predict = DesignLoop.final_fit, DesignLoop.final_predict

    def final_fit(self, *a, **k):
        th = fit(self, *a, **k)
        if th is None:
            calls.append(None)
        return th

    def final_predict(self, x):
        out = predict(self, x)
        y = self.y[np.asarray(self.observed)]
        if self.affine() is not None:
            calls.append((out, None, None, y))
        else:
            calls.append((out, self._predict(self._final.optima, x), self._final.f, y))
        return out

    DesignLoop.final_fit, DesignLoop.final_predict = final_fit, final_predict
    try:
        rows = _bench.run_trajectory(task, law, groups, "hedge", seed)
    finally:
        DesignLoop.final_fit, DesignLoop.final_predict = fit, predict
    kinds = ("off", *(f"x{r:g}" for r in ranges))
    out: dict = {"task": task_name, "law": law_name, "seed": seed,
                 "bench": [r["r2"] for r in rows], **{k: [] for k in kinds}, "truth": []}  # fmt: skip
    for c in range(len(rows)):
        preds, trues, worst = defaultdict(list), defaultdict(list), 0.0
        for g, call in zip(groups, calls[c * len(groups) : (c + 1) * len(groups)], strict=True):
            if call is None:
                continue
            bench, pred, f, y = call
            lo, hi = np.nanmin(y, axis=0), np.nanmax(y, axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                far = np.maximum(g.y_test - hi, lo - g.y_test) / (hi - lo)
            worst = max(worst, float(np.nanmax(np.where(hi > lo, far, 0.0))))
            for k in kinds:
                if pred is None:  # affine: the MAP, whatever the screen
                    p = bench
                else:
                    keep = (
                        np.zeros(len(pred), bool)
                        if k == "off"
                        else plausible(pred, y, float(k[1:]))
                    )
                    p = kept_median(pred, f, y, keep)
                if np.all(np.isfinite(p)):
                    preds[k].append(p.ravel())
                    trues[k].append(g.y_test.ravel())
        for k in kinds:
            out[k].append(_bench._r2(preds[k], trues[k]))
        out["truth"].append(worst)
    return out


def table(path: str) -> None:
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows[(r["task"], r["law"], r["seed"])] = r
    kinds = [k for k in next(iter(rows.values())) if k in ("bench", "off") or k.startswith("x")]
    print("| task (laws × seeds) | " + " | ".join(kinds) + " | truth's excursion, max |")
    print("|---|" + "---|" * (len(kinds) + 1))
    for task in sorted({t for t, _, _ in rows}):
        rs = [r for (t, _, _), r in rows.items() if t == task]
        laws = sorted({r["law"] for r in rs})
        cells = []
        for k in kinds:
            per = [np.mean([r[k] for r in rs if r["law"] == law], axis=0) for law in laws]
            cells.append(" / ".join(f"{v:+.3f}" for v in np.mean(per, axis=0)))
        far = " / ".join(f"{v:.2f}" for v in np.max([r["truth"] for r in rs], axis=0))
        n = len(rs) // len(laws)
        print(
            f"| {SHORT.get(task, task)} ({len(laws)} × {n}) | " + " | ".join(cells) + f" | {far} |"
        )


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "table":
        return table(argv[1])
    if len(argv) < 2:
        print(__doc__)
        return
    task_name, out = argv[:2]
    opt = dict(zip(argv[2::2], argv[3::2], strict=False))
    seeds = [int(s) for s in opt.get("--seeds", "0,1,2,3,4,5,6,7,8,9").split(",")]
    laws = opt["--laws"].split(",") if "--laws" in opt else list(load(task_name).law_names)
    ranges = tuple(float(r) for r in opt.get("--ranges", "2,5,10,20").split(","))
    with open(out, "a") as fh:
        for law_name in laws:
            for seed in seeds:
                fh.write(json.dumps(replay(task_name, law_name, seed, ranges)) + "\n")
                fh.flush()
                _bench._release_compiled()


if __name__ == "__main__":
    main(sys.argv[1:])
