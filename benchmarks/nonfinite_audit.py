"""Which laws' whole-pool fits predict a non-finite value at a target row?

The protocol (ours and the paper's) leaves a group whose target predictions are not all finite
out of a checkpoint's score, so such a law is scored on its other groups only. The bundled
manifests omit the original code's numerical guards, which would have made those predictions
finite (domain mixture sl_6 kept its guard for this reason; see scalebench_history.md, session
25). This fits every law of every task on the whole pool, as the bench's ``all-data`` row does
(``localized_fit.pool_fits``), and prints the groups with a non-finite target prediction and
how many values.

    python benchmarks/nonfinite_audit.py [TASK ...]
"""

from __future__ import annotations

import sys

import numpy as np
from localized_fit import pool_fits  # a sibling script

from scalinglaws import laws_in_file
from scalinglaws._law import get_law
from scalinglaws.datasets import laws_file, list_tasks, load
from scalinglaws.design import _bench
from scalinglaws.design._acquisition import law_jacobians


def audit(task_name: str) -> None:
    task = load(task_name)
    for name in laws_in_file(laws_file(task_name)):
        law = get_law(f"{task_name}:{name}")
        fits = pool_fits(_bench._groups(task, law), law)
        bad = []
        for gi, (th, f, g) in enumerate(fits):
            if not np.isfinite(f[0]):
                bad.append(f"group {gi}: no fit")
                continue
            pred = law_jacobians(law, th[:1], {k: v[g.m :] for k, v in g.x.items()})[0][0]
            if not np.all(np.isfinite(pred)):
                bad.append(f"group {gi}: {int((~np.isfinite(pred)).sum())} non-finite")
        print(f"{task_name} {name} ({len(fits)} groups): {'; '.join(bad) or 'all finite'}")
        _bench._release_compiled()


if __name__ == "__main__":
    for t in sys.argv[1:] or list_tasks():
        audit(t)
