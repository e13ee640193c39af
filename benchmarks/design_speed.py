"""Speed of the ScaleBench replay (`sl bench`) against a baseline install, in the same run.

The full benchmark takes hours, so this times a fixed sample of trajectories (one law of each
task, five methods; seed 0 compiles, seed 1 is timed warm) under two interpreters at once, one
per core: the current checkout and a baseline install (a venv with an older commit installed).

    python benchmarks/design_speed.py compare --baseline /path/to/venv/bin/python \\
        --baseline-label 29a90a3 -o benchmarks/design_speed.md
    python benchmarks/design_speed.py run OUT.jsonl      # one interpreter, the sample only
    python benchmarks/design_speed.py report BASE.jsonl CURRENT.jsonl   # the table again

The table lists each trajectory's seconds under both and the ratio; the R² columns show whether
the two give the same trajectory (small numerical differences can change a pick, after which
the trajectories differ).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SAMPLE = [  # (task, law): one law of each task, the costliest tasks first
    ("domain_mixture_scaling_law", "sl_3"),
    ("lr_bsz_scaling_law", "sl_1"),
    ("vocab_scaling_law", "sl_3"),
    ("data_constrained_scaling_law", "sl_1"),
    ("moe_scaling_law", "sl_2"),
    ("parallel_scaling_law", "sl_1"),
    ("sparsity_scaling_law", "sl_1"),
    ("farseer_scaling_law", "sl_1"),
]
METHODS = ("random", "cheapest", "mspe", "hedge", "all-data")
SEEDS = (0, 1)


def run(out: str) -> None:
    from scalinglaws._law import get_law
    from scalinglaws.datasets import load
    from scalinglaws.design import _bench

    with open(out, "w") as fh:
        for task_name, law_name in SAMPLE:
            task = load(task_name)
            law = get_law(f"{task_name}:{law_name}")
            groups = _bench._groups(task, law)
            for method in METHODS:
                for seed in SEEDS:
                    t = time.perf_counter()
                    rows = _bench.run_trajectory(task, law, groups, method, seed)
                    rec = dict(
                        task=task_name, law=law_name, method=method, seed=seed,
                        seconds=time.perf_counter() - t, r2=[r["r2"] for r in rows],
                    )  # fmt: skip
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()


def compare(baseline: str, label: str, current: str, out: str) -> None:
    tmp = Path(out).with_suffix("")
    paths = {"baseline": f"{tmp}.baseline.jsonl", "current": f"{tmp}.current.jsonl"}
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([py, os.path.abspath(__file__), "run", paths[k]], cwd="/")
        for k, py in (("baseline", baseline), ("current", current))
    ]
    for p in procs:
        if p.wait():
            sys.exit(f"a run failed (exit {p.returncode})")
    report(paths["baseline"], paths["current"], label, out, time.perf_counter() - t0)


def report(base_path: str, cur_path: str, label: str, out: str, wall: float | None) -> None:
    """The markdown table of two ``run`` outputs (the trajectories both finished)."""
    base = [json.loads(line) for line in open(base_path)]
    cur = [json.loads(line) for line in open(cur_path)]
    n = min(len(base), len(cur))
    base, cur = base[:n], cur[:n]
    when = f", {wall / 60:.0f} min wall" if wall else ""
    lines = [
        "## Design-loop speed: current checkout against a baseline install",
        "",
        f"Command: `python benchmarks/design_speed.py compare --baseline <venv>/bin/python "
        f"--baseline-label {label} -o {out}`; both interpreters ran at once, one per core "
        f"({time.strftime('%Y-%m-%d')}{when}). Seed 0 includes JIT "
        "compilation (with the persistent cache as left by earlier runs); seed 1 is warm.",
        "",
        f"| task | law | method | seed | {label} (s) | current (s) | speed-up | R² {label} | "
        "R² current |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    tot = {0: [0.0, 0.0], 1: [0.0, 0.0]}
    for b, c in zip(base, cur, strict=True):
        tot[b["seed"]][0] += b["seconds"]
        tot[b["seed"]][1] += c["seconds"]
        r2b = " / ".join(f"{v:.3f}" for v in b["r2"])
        r2c = " / ".join(f"{v:.3f}" for v in c["r2"])
        lines.append(
            f"| {b['task'].split('_scaling')[0]} | {b['law']} | {b['method']} | {b['seed']} | "
            f"{b['seconds']:.1f} | {c['seconds']:.1f} | {b['seconds'] / c['seconds']:.2f}× | "
            f"{r2b} | {r2c} |"
        )
    lines += ["", "| seeds | baseline (s) | current (s) | speed-up |", "|---|---|---|---|"]
    for s, (tb, tc) in tot.items():
        what = "0 (with compilation)" if s == 0 else "1 (warm)"
        lines.append(f"| {what} | {tb:.0f} | {tc:.0f} | {tb / tc:.2f}× |")
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    c = sub.add_parser("compare")
    c.add_argument("--baseline", required=True, help="python of a venv with the baseline")
    c.add_argument("--baseline-label", default="baseline")
    c.add_argument("--current", default=sys.executable)
    c.add_argument("-o", "--output", default="benchmarks/design_speed.md")
    t = sub.add_parser("report", help="the table of two existing run outputs")
    t.add_argument("baseline_jsonl")
    t.add_argument("current_jsonl")
    t.add_argument("--baseline-label", default="baseline")
    t.add_argument("-o", "--output", default="benchmarks/design_speed.md")
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.out)
    elif a.cmd == "report":
        report(a.baseline_jsonl, a.current_jsonl, a.baseline_label, a.output, None)
    else:
        compare(a.baseline, a.baseline_label, a.current, str(Path(a.output).resolve()))


if __name__ == "__main__":
    main()
