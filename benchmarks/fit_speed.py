"""Fit speed: scalinglaws.fit (one compiled, vmapped multistart call) against the scipy loop.

Case 1 — 240 Chinchilla-shaped runs (12 sizes 70M–10B × 20 token ratios 5–40, 1% log-normal
noise), the Hoffmann et al. grid of 4,500 starts, the huber-log loss (δ = 1e-3, summed):
  * ours: ``fit(law, data, loss="huber-log", starts="hoffmann")`` in a fresh process, timed cold
    (including JIT compilation, persistent cache disabled) and warm (second call);
  * baseline A: scipy L-BFGS-B from every start, numpy objective, finite-difference gradients —
    the loop of the published replications;
  * baseline B: scipy L-BFGS-B from every start with a jitted JAX value-and-gradient.
Case 2 — ScaleBench lr_bsz (2,702 runs), law sl_3 (24 parameters), 64 starts, mse: ours vs
baseline B.

Usage: python benchmarks/fit_speed.py [--quick] > benchmarks/fit_speed.md
       python benchmarks/fit_speed.py --ours-only     # ours only, JSON, no scipy loops
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("SL_NO_COMPILATION_CACHE", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import huber, logsumexp  # noqa: E402

import scalinglaws as sl  # noqa: E402
from scalinglaws.datasets import load  # noqa: E402

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
DELTA = 1e-3


def chinchilla_data(seed: int = 0):
    N = np.repeat(np.geomspace(7e7, 1e10, 12), 20)
    D = N * np.tile(np.geomspace(5, 40, 20), 12)
    law = sl.get_law("chinchilla")
    y = law(TRUTH, {"N": N, "D": D}) * np.exp(
        0.01 * np.random.default_rng(seed).standard_normal(N.size)
    )
    return N, D, y


def ours_in_fresh_process(case: str) -> dict:
    code = f"""
import time, json, sys
t0 = time.perf_counter()
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import fit_speed as b
import scalinglaws as sl
t_import = time.perf_counter() - t0
res = b.run_ours({case!r}); t1 = time.perf_counter() - t0
res2 = b.run_ours({case!r}); t2 = time.perf_counter() - t0 - t1
print(json.dumps({{"import": t_import, "cold": t1 - t_import, "warm": t2, "objective": res.objective,
                  "params": res.params, "status": res.status}}))
"""
    env = dict(os.environ, SL_NO_COMPILATION_CACHE="1")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ours(case: str):
    if case == "chinchilla":
        N, D, y = chinchilla_data()
        return sl.fit(
            sl.get_law("chinchilla"),
            {"N": N, "D": D, "loss": y},
            loss="huber-log",
            delta=DELTA,
            starts="hoffmann",
        )
    law, data = lr_bsz()
    return sl.fit(law, data, loss="mse", starts=64, key=0)


def lr_bsz():
    t = load("lr_bsz")
    law = sl.get_law("lr_bsz:sl_3")
    data = {k: t.train[k].to_numpy(float) for k in law.inputs + law.outputs}
    return law, data


# -- baseline A: numpy objective, finite differences (Hoffmann parameterisation) -------------------
def scipy_fd_chinchilla(starts: np.ndarray) -> tuple[float, float]:
    N, D, y = chinchilla_data()
    lN, lD, ly = np.log(N), np.log(D), np.log(y)

    def obj(v):
        a, b, e, al, be = v
        pred = logsumexp([a - al * lN, b - be * lD, np.full_like(lN, e)], axis=0)
        return np.sum(huber(DELTA, pred - ly))

    t0 = time.perf_counter()
    best = np.inf
    for s in starts:
        r = minimize(obj, s, method="L-BFGS-B")
        best = min(best, r.fun)
    return time.perf_counter() - t0, best


def hoffmann_starts_log() -> np.ndarray:
    law = sl.get_law("chinchilla")
    g = sl.hoffmann_grid(law)
    d = {p: g[:, i] for i, p in enumerate(law.params)}
    return np.column_stack([np.log(d["A"]), np.log(d["B"]), np.log(d["E"]), d["alpha"], d["beta"]])


# -- baseline B: jitted JAX value and gradient, scipy L-BFGS-B loop -------------------------------
def scipy_jax_loop(value, starts: np.ndarray, bounds=None) -> tuple[float, float]:
    vg = jax.jit(jax.value_and_grad(value))
    vg(jnp.asarray(starts[0]))  # compile outside the timing

    def f(v):
        val, g = vg(jnp.asarray(v))
        return float(val), np.asarray(g, dtype=np.float64)

    t0 = time.perf_counter()
    best = np.inf
    for s in starts:
        r = minimize(f, s, jac=True, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(r.fun):
            best = min(best, r.fun)
    return time.perf_counter() - t0, best


def chinchilla_jax_value():
    N, D, y = chinchilla_data()
    lN, lD, ly = jnp.log(N), jnp.log(D), jnp.log(y)

    def value(v):
        a, b, e, al, be = v
        pred = jax.scipy.special.logsumexp(
            jnp.stack([a - al * lN, b - be * lD, jnp.full_like(lN, e)]), axis=0
        )
        r = pred - ly
        return jnp.sum(
            jnp.where(jnp.abs(r) <= DELTA, 0.5 * r**2, DELTA * (jnp.abs(r) - 0.5 * DELTA))
        )

    return value


def lr_bsz_scipy(n_starts: int) -> tuple[float, float]:
    law, data = lr_bsz()
    x = {k: jnp.asarray(data[k]) for k in law.inputs}
    y = jnp.asarray(data[law.outputs[0]])

    def value(theta):
        return jnp.mean((law.apply(theta, x)[:, 0] - y) ** 2)

    rng = np.random.default_rng(0)
    starts = np.asarray(law.bijector.from_unit(rng.uniform(0.02, 0.98, (n_starts, law.n_params))))
    return scipy_jax_loop(value, starts, bounds=law.bounds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--quick", action="store_true", help="baseline A on 450 of the 4,500 starts, x10"
    )
    ap.add_argument(
        "--ours-only", action="store_true",
        help="only ours, both cases, cold and warm, as JSON (to compare two installs)",
    )  # fmt: skip
    args = ap.parse_args()
    if args.ours_only:
        print(json.dumps({case: ours_in_fresh_process(case) for case in ("lr_bsz", "chinchilla")}))
        return
    starts = hoffmann_starts_log()
    print("## Fit speed\n")
    print(
        f"Command: `python benchmarks/fit_speed.py{' --quick' if args.quick else ''}`; machine: "
        f"{os.cpu_count()} CPU cores; jax {jax.__version__}; measured {time.strftime('%Y-%m-%d')}.\n"
    )
    ours = ours_in_fresh_process("chinchilla")
    sub = starts[::10] if args.quick else starts
    t_a, best_a = scipy_fd_chinchilla(sub)
    scale = len(starts) / len(sub)
    t_a *= scale
    t_b, best_b = scipy_jax_loop(chinchilla_jax_value(), sub)
    t_b *= scale
    print("### 240 Chinchilla runs, Hoffmann grid (4,500 starts), huber-log δ=1e-3\n")
    print("| method | wall time (s) | best objective | speed-up of ours (cold) |")
    print("|---|---|---|---|")
    print(
        f"| scalinglaws.fit, cold (incl. compile {ours['import']:.1f} s import excluded) | {ours['cold']:.2f} | {ours['objective']:.6e} | 1× |"
    )
    print(
        f"| scalinglaws.fit, warm | {ours['warm']:.2f} | {ours['objective']:.6e} | {ours['cold'] / ours['warm']:.1f}× faster than cold |"
    )
    est = " (extrapolated from every 10th start)" if args.quick else ""
    print(
        f"| scipy L-BFGS-B, numpy + finite differences{est} | {t_a:.1f} | {best_a:.6e} | {t_a / ours['cold']:.0f}× |"
    )
    print(
        f"| scipy L-BFGS-B, jitted JAX gradient{est} | {t_b:.1f} | {best_b:.6e} | {t_b / ours['cold']:.0f}× |"
    )
    print(
        f"\nOurs reaches an objective {'no worse than' if ours['objective'] <= min(best_a, best_b) * (1 + 1e-9) else 'WORSE than'} the best scipy start"
        f" (ours {ours['objective']:.9e}, scipy {min(best_a, best_b):.9e}). Status: {'; '.join(ours['status'])}.\n"
    )
    ours_lr = ours_in_fresh_process("lr_bsz")
    t_lr, best_lr = lr_bsz_scipy(64)
    print("### ScaleBench lr_bsz (2,702 runs), law sl_3 (24 parameters), 64 random starts, mse\n")
    print("| method | wall time (s) | best objective |")
    print("|---|---|---|")
    print(f"| scalinglaws.fit, cold | {ours_lr['cold']:.2f} | {ours_lr['objective']:.6e} |")
    print(f"| scalinglaws.fit, warm | {ours_lr['warm']:.2f} | {ours_lr['objective']:.6e} |")
    print(f"| scipy L-BFGS-B (bounded), jitted JAX gradient | {t_lr:.1f} | {best_lr:.6e} |")
    print(
        f"\nSpeed-up (cold): {t_lr / ours_lr['cold']:.1f}×; status of ours: {'; '.join(ours_lr['status'])}."
    )


if __name__ == "__main__":
    main()
