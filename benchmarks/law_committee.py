"""A lead, not a method of the library: design runs that hedge across all the laws of a task
(scalebench_history.md, "Hedging across the task's laws").

    python benchmarks/law_committee.py TASK OUT.jsonl [--seeds 10] [--inter 1.0] [--gamma 0.4]
    python benchmarks/law_committee.py table OUT.jsonl [OUT2.jsonl ...]

Results: `benchmarks/law_committee.jsonl` (`--inter 1` and `--inter 0` on five tasks).

One trajectory per (task, seed) serves every law of the task: each law keeps its own
:class:`DesignLoop` (``hedge``'s: mode posterior, target-localised checkpoint fit, median over
the near optima), all observing the same runs. A candidate's score is the mean over the laws of
its MSPE score under each law, plus ``--inter`` × the expected reduction of the disagreement
between the laws' best fits on the target rows (:func:`mspe_inter_gain` over laws instead of
modes: parameter vectors zero-padded to the largest law, whose Jacobian columns are then zero),
divided by (cost/total)^γ. Protocol as ``hedge`` in `sl bench`: one cheapest run to start,
batches of max(1, ⌊0.1·n⌋), proposals within the current checkpoint's budget, never deferred.
Each law is then scored at each checkpoint by its own fit, as in the bench. One JSON line per
seed: R² per law per checkpoint.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from scalinglaws._law import get_law
from scalinglaws.datasets import load
from scalinglaws.design import _bench
from scalinglaws.design._acquisition import _model_score, condition, mspe_inter_gain


def _pad(a: np.ndarray, p: int) -> np.ndarray:
    return np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, p - a.shape[-1])])


def committee_picks(loops: list, q: int, remaining: float, total: float, inter: float,
                    gamma: float) -> list[int]:  # fmt: skip
    """Up to q rows (greedy, covariances conditioned on each pick) within ``remaining``."""
    cand = loops[0].available()
    costs = loops[0].costs[cand]
    penalty = np.maximum(costs / total, 1e-300) ** gamma
    covs = [lp.post.covs.copy() for lp in loops]
    pmax = max(lp.law.n_params for lp in loops)
    out: list[int] = []
    left, avail = remaining, np.ones(len(cand), dtype=bool)
    for _ in range(q):
        ok = avail & (costs <= left * (1 + 1e-12))
        if not ok.any():
            break
        score = np.zeros(len(cand))
        for lp, cv in zip(loops, covs, strict=True):
            s = _model_score(
                "mspe", lp.post, cv, lp._jac[:, cand], lp._pred[:, cand], lp._jac[:, lp.target],
                lp._pred[:, lp.target], lp.y_range(), 1.0, {},
            )  # fmt: skip
            score += np.where(np.isfinite(s), s, 0.0) / len(loops)
        if inter > 0 and len(loops) > 1:
            eye = np.eye(pmax)
            cb = np.stack([eye.copy() for _ in loops])
            for c, cv in zip(cb, covs, strict=True):
                c[: len(cv[0]), : len(cv[0])] = cv[0]
            g = mspe_inter_gain(
                np.full(len(loops), 1.0 / len(loops)), cb,
                np.stack([lp._pred[0, cand, 0] for lp in loops]),
                np.stack([_pad(lp._jac[0, cand, 0, :], pmax) for lp in loops]),
                np.stack([lp._pred[0, lp.target, 0] for lp in loops]),
                np.stack([_pad(lp._jac[0, lp.target, 0, :], pmax) for lp in loops]),
                float(np.median([lp.post.sigma2 for lp in loops])), loops[0].y_range(),
            )  # fmt: skip
            score += inter * np.where(np.isfinite(g), g, 0.0)
        i = int(np.argmax(np.where(ok, score / penalty, -np.inf)))
        out.append(int(cand[i]))
        avail[i] = False
        left -= costs[i]
        for lp, cv in zip(loops, covs, strict=True):
            for k in range(len(cv)):
                cv[k] = condition(cv[k], lp._jac[k, cand[i]], lp.post.sigma2)
    return out


def replay(task_name: str, seed: int, inter: float = 1.0, gamma: float = 0.4) -> dict:
    task = load(task_name)
    laws = [get_law(f"{task_name}:{n}") for n in task.law_names]
    groups = [_bench._groups(task, law) for law in laws]  # [law][group]
    loops = [_bench.design_loops(law, groups[i], "hedge", seed) for i, law in enumerate(laws)]
    fracs = sorted(task.budget_fractions)
    spent = [0.0] * len(groups[0])
    r2: dict[str, list[float]] = {law.name.split(":")[-1]: [] for law in laws}
    for cp in fracs:
        for gi, g in enumerate(groups[0]):
            group_loops = [lp[gi] for lp in loops]
            budget = cp * g.total
            while spent[gi] < budget * (1 - 1e-12):
                if not group_loops[0].observed:  # cold start: the cheapest run
                    cand = group_loops[0].available()
                    picks = [int(cand[np.argmin(g.costs[cand])])]
                    if spent[gi] + g.costs[picks[0]] > budget * (1 + 1e-12):
                        break
                else:
                    q = max(1, int(0.1 * len(group_loops[0].observed)))
                    picks = committee_picks(
                        group_loops, q, budget - spent[gi], g.total, inter, gamma
                    )
                if not picks:
                    break
                spent[gi] += float(g.costs[picks].sum())
                for lp in group_loops:
                    lp.observe(picks)
                    lp.refit()
        for li, law in enumerate(laws):
            polish, screen = _bench.checkpoint_schedule(law)
            preds, trues = [], []
            for gi, g in enumerate(groups[li]):
                lp = loops[li][gi]
                th = lp.final_fit(256, seed=seed * 31 + gi, polish=polish, screen_iter=screen)
                if th is None:
                    continue
                pr = lp.final_predict({k: v[g.m :] for k, v in g.x.items()})
                if np.all(np.isfinite(pr)):
                    preds.append(pr.ravel())
                    trues.append(g.y_test.ravel())
            r2[law.name.split(":")[-1]].append(_bench._r2(preds, trues))
    return dict(task=task.name, seed=seed, inter=inter, gamma=gamma, r2=r2)


def table(paths: list[str]) -> None:
    runs: dict[tuple, list[dict]] = {}
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            runs.setdefault((r["task"], r["inter"], r["gamma"]), []).append(r)
    print("| task | inter | γ | seeds | R² per checkpoint | seed spread | paper's MSPE |")
    print("|---|---|---|---|---|---|---|")
    for (task, inter, gamma), rows in sorted(runs.items()):
        laws = sorted(rows[0]["r2"])
        a = np.array([[r["r2"][law] for law in laws] for r in rows])  # seeds × laws × checkpoints
        short = _bench.SHORT.get(task, task)
        paper = " / ".join(f"{v:+.2f}" for v in _bench.PAPER_TABLE2["mspe"].get(short, ()))
        mean = " / ".join(f"{v:+.2f}" for v in a.mean((0, 1)))
        spread = " / ".join(f"{v:.2f}" for v in a.mean(1).std(0))
        print(f"| {short} | {inter:g} | {gamma:g} | {len(rows)} | {mean} | {spread} | {paper} |")


def main(argv: list[str]) -> None:
    if argv and argv[0] == "table":
        return table(argv[1:])
    if len(argv) < 2:
        print(__doc__)
        return

    def opt(name: str, default: str) -> str:
        return argv[argv.index(name) + 1] if name in argv else default

    task_name, out = argv[:2]
    seeds = int(opt("--seeds", "10"))
    inter, gamma = float(opt("--inter", "1.0")), float(opt("--gamma", "0.4"))
    jobs = [(task_name, s, inter, gamma) for s in range(seeds)]
    with _bench.worker_pool(2) as pool, open(out, "a") as fh:
        for rec in pool.map(replay, *zip(*jobs, strict=True)):
            fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
