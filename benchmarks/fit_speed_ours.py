"""Ours only, both cases of fit_speed.py, cold (compilation, no persistent cache) and warm: for
comparing two installs in the same run without the long scipy loops.

    SL_NO_COMPILATION_CACHE=1 python benchmarks/fit_speed_ours.py
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("SL_NO_COMPILATION_CACHE", "1")

import fit_speed as b  # noqa: E402

out = {}
for case in ["lr_bsz", "chinchilla"]:
    t = time.perf_counter()
    r = b.run_ours(case)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    r = b.run_ours(case)
    warm = time.perf_counter() - t
    out[case] = dict(cold=cold, warm=warm, objective=r.objective, status=r.status)
print(json.dumps(out))
