"""How fast is this machine for ``sl bench``? Two minutes instead of the whole benchmark.

The whole benchmark's wall time depends on the machine as much as on the code: the same rows
took 56 minutes on session 26's machine and 1 h 27 min to 1 h 34 min on those of sessions 27–29
(``benchmarks/scalebench.md``, "Speed"). This replays session 20's sample of the bench (lr_bsz
and vocab, laws sl_3 and sl_6, ``random``, ``mspe`` and ``hedge``, seeds 1–2, 2 workers) and
prints its wall time and trajectory time, to compare with the reference rows of
``scalebench.md``: session 20's machine, on which the whole benchmark took 55.5 minutes, ran
it in 41.8–42.0 s of wall time and 64.2–64.5 CPU-s of trajectory time, on a warm compilation
cache. Run it three times with ``SL_COMPILATION_CACHE`` set and read the last two: the first
fills the cache.

``--kernel`` instead times the fit's inner step on one core (its caller pins it, e.g. with
``taskset -c 0``): one Levenberg–Marquardt evaluation of f, g and the Gauss–Newton H for 16
starts of lr_bsz sl_7 (31 parameters) on 290 runs, split into the Jacobian and its Gram matrix.

    SL_COMPILATION_CACHE=/tmp/slcc python benchmarks/machine_sample.py
    taskset -c 0 python benchmarks/machine_sample.py --kernel
"""

from __future__ import annotations

import sys
import time

import numpy as np


def sample() -> None:
    from scalinglaws.design._bench import bench

    t0 = time.perf_counter()
    cpu = 0.0
    for task in ["lr_bsz_scaling_law", "vocab_scaling_law"]:
        df = bench(task, methods=["random", "mspe", "hedge"], seeds=[1, 2], laws=["sl_3", "sl_6"],
                   workers=2)  # fmt: skip
        cpu += df.groupby(["law", "method", "seed"]).seconds.max().sum()
    print(f"wall {time.perf_counter() - t0:.1f} s, trajectory {cpu:.1f} CPU-s "
          "(session 20's machine: 41.8-42.0 s, 64.2-64.5 CPU-s)")  # fmt: skip


def _time(fn, *args, reps: int = 200) -> float:
    import jax

    jax.block_until_ready(fn(*args))
    t0 = time.perf_counter()
    for _ in range(reps):
        out = fn(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / reps * 1e3


def kernel() -> None:
    import jax
    import jax.numpy as jnp

    from scalinglaws import get_law
    from scalinglaws._fit import _compiled
    from scalinglaws.datasets import load
    from scalinglaws.design._acquisition import (
        _MSE,
        _np_inverse,
        _pad,
        design_bucket,
        random_thetas,
    )
    from scalinglaws.design._bench import _groups

    task = "lr_bsz_scaling_law"
    law = get_law(f"{task}:sl_7")
    g = _groups(load(task), law)[0]
    rows = np.random.default_rng(0).choice(g.m, 290, replace=False)
    y = g.y[rows].reshape(len(rows), -1)
    xp, yp, wp = _pad({k: g.x[k][rows] for k in law.inputs}, y, np.ones_like(y),
                      design_bucket(len(rows), y.shape[1]))  # fmt: skip
    data = ({k: jnp.asarray(v) for k, v in xp.items()}, jnp.asarray(yp), jnp.asarray(wp))
    _, fgh, value = _compiled(law, _MSE, "lm")
    u = jnp.asarray(_np_inverse(law, random_thetas(law, 16, np.random.default_rng(1))))

    def residuals(v):
        x, yy, _ = data
        return _MSE.residual(law.apply(law.bijector.forward(v), x), yy).reshape(-1)

    def jac_t(v):
        _, lin = jax.linearize(residuals, v)
        return jax.vmap(lin)(jnp.eye(v.shape[0], dtype=v.dtype))

    parts = {
        "f, g, H": lambda v: fgh(v, data),
        "f alone": lambda v: value(v, data),
        "Jacobian": jac_t,
        "Jacobian and J J^T": lambda v: (lambda j: j @ j.T)(jac_t(v)),
    }
    n = xp[law.inputs[0]].shape[0]
    print(f"lr_bsz sl_7: {law.n_params} parameters, 16 starts, 290 runs ({n} padded rows)")
    for name, fn in parts.items():
        print(f"  {name:<20} {_time(jax.jit(jax.vmap(fn)), u):.3f} ms")


if __name__ == "__main__":
    kernel() if "--kernel" in sys.argv[1:] else sample()
