"""``python -m scalinglaws.design.workload_lm --N 20000 --D 200000 --seed 0 [--result PATH]``.

Thin entry point; see :mod:`scalinglaws.design._workload_lm`.
"""

from __future__ import annotations

from scalinglaws.design._workload_lm import main

if __name__ == "__main__":
    raise SystemExit(main())
