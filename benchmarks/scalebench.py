"""Run the ScaleBench replay and write benchmarks/scalebench.md tables next to the paper's.

    python benchmarks/scalebench.py run  [--seeds 10] [--tasks all]      # runs `sl bench`
    python benchmarks/scalebench.py table RESULTS.csv [--wall SECONDS]   # markdown tables

The run is exactly ``sl bench --task all --seeds 10 --workers 2 -o benchmarks/scalebench.csv``.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from scalinglaws.design._bench import PAPER_TABLE2, SHORT, summarize

ORDER = ["lr_bsz", "domain", "vocab", "parallel", "moe", "data_con", "sparsity", "farseer"]
METHODS = ["random", "cheapest", "inverse-cost", "dopt", "vopt", "mspe", "hedge"]


def tables(df: pd.DataFrame) -> str:
    s = summarize(df)
    s["short"] = s["task"].map(SHORT)
    out = []
    for ci in range(3):
        out.append(f"\n### Checkpoint {ci + 1} (1/5/10%; domain, sparsity: 20/35/50%)\n")
        tasks = [t for t in ORDER if t in set(s["short"])]
        out.append("| Method | " + " | ".join(tasks) + " |")
        out.append("|---|" + "---|" * len(tasks))
        for m in METHODS + ["all-data"]:
            cells = []
            for t in tasks:
                sub = s[(s["short"] == t) & (s["method"] == m)].sort_values("budget_fraction")
                paper = PAPER_TABLE2.get(m, {}).get(t)
                pp = f" ({paper[ci]:+.2f})" if paper else ""
                if len(sub) > ci:
                    r = sub.iloc[ci]
                    cells.append(f"{r['mean']:+.2f} ± {r['std']:.2f}{pp}")
                else:
                    cells.append(f"–{pp}")
            if any(not c.startswith("–") for c in cells) or m in PAPER_TABLE2:
                out.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str]) -> None:
    if argv and argv[0] == "run":
        seeds = argv[argv.index("--seeds") + 1] if "--seeds" in argv else "10"
        tasks = argv[argv.index("--tasks") + 1] if "--tasks" in argv else "all"
        cmd = ["sl", "bench", "--task", tasks, "--seeds", seeds, "--workers", "2",
               "-o", "benchmarks/scalebench.csv"]  # fmt: skip
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    elif argv and argv[0] == "table":
        print(tables(pd.read_csv(argv[1])))
    else:
        print(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
