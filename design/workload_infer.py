"""``python -m scalinglaws.design.workload_infer --k 16 --problems 100 --seed 0 [--out CSV]``.

Thin entry point; see :mod:`scalinglaws.design._workload_infer`.
"""

from __future__ import annotations

from scalinglaws.design._workload_infer import main

if __name__ == "__main__":
    raise SystemExit(main())
