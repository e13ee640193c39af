"""Calibration by simulation: do the posterior intervals cover the true law where we extrapolate?

A *case* is a known law with true parameters, a design of small-scale runs, multiplicative
log-normal noise ``y = f(x; θ*) · exp(σ ε)``, and target points one to two orders of magnitude
of compute (C = 6·N·D) beyond the largest run. For each simulated data set we fit the law,
build each method's posterior, and record whether the central interval at level ``q`` of the
*law* covers the true value ``f(x_t; θ*)`` at every target point. For a calibrated method the
number of covered data sets is Binomial(n, q).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._fit import fit
from ._law import Law, get_law
from ._posterior import posterior


@dataclasses.dataclass(frozen=True)
class Case:
    """A simulation case: law, truth, design, noise and target points."""

    name: str
    law: Law
    truth: dict[str, float]
    design: dict[str, np.ndarray]  # inputs of the small-scale runs
    target: dict[str, np.ndarray]  # inputs of the target points
    sigma: float = 0.01
    loss: str = "log-mse"
    starts: int = 64

    def simulate(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        y = self.law(self.truth, self.design)
        return {**self.design, "loss": y * np.exp(self.sigma * rng.standard_normal(y.shape))}

    def compute_ratio(self) -> np.ndarray:
        """Target compute over the largest run's compute (C = 6·N·D)."""
        c = 6 * self.design["N"] * self.design["D"]
        return 6 * self.target["N"] * self.target["D"] / c.max()


def chinchilla_case() -> Case:
    """Chinchilla (Hoffmann et al.'s values): 6 sizes 1e7–2e8 × 8 token ratios 5–100 (48 runs);
    targets at 10×, 30× and 100× the largest run's compute, at 20 tokens per parameter."""
    law = get_law("chinchilla")
    sizes = np.geomspace(1e7, 2e8, 6)
    ratios = np.geomspace(5, 100, 8)
    N = np.repeat(sizes, len(ratios))
    D = N * np.tile(ratios, len(sizes))
    c_max = 6 * N.max() * (N.max() * ratios.max())
    ct = c_max * np.array([10.0, 30.0, 100.0])
    nt = np.sqrt(ct / (6 * 20))
    return Case(
        "chinchilla", law, dict(law.reference_values), {"N": N, "D": D}, {"N": nt, "D": 20 * nt}
    )


def data_constrained_case() -> Case:
    """Muennighoff et al.'s data-constrained law (7 parameters; R_D, R_N from the paper):
    5 sizes 1e7–2e8 × unique data 2× or 10× the size × 1–30 epochs (40 runs); targets at
    10×, 30× and 100× the largest run's compute with 5.3, 4 and 5 epochs."""
    law = get_law("data-constrained")
    truth = {
        "E": 1.69,
        "A": 406.4,
        "B": 410.7,
        "alpha": 0.34,
        "beta": 0.28,
        "R_D": 15.4,
        "R_N": 5.3,
    }
    rows = [
        (n, m * n, e * m * n)
        for n in np.geomspace(1e7, 2e8, 5)
        for m in (2.0, 10.0)
        for e in (1.0, 3.0, 10.0, 30.0)
    ]
    N, U, D = (np.array(v) for v in zip(*rows, strict=False))
    target = {
        "N": np.array([1.5e9, 3e9, 6e9]),
        "U": np.array([1.5e10, 3e10, 4e10]),
        "D": np.array([8e10, 1.2e11, 2e11]),
    }
    return Case("data-constrained", law, truth, {"N": N, "D": D, "U": U}, target)


CASES: dict[str, Callable[[], Case]] = {
    "chinchilla": chinchilla_case,
    "data-constrained": data_constrained_case,
}


def coverage_run(
    case: Case,
    methods: Sequence[str],
    *,
    n_sets: int = 200,
    seed: int = 0,
    interval: float = 0.9,
    draws: int = 2000,
    bootstrap: int = 200,
    nuts_draws: int = 500,
    nuts_warmup: int = 300,
    chains: int = 4,
    progress: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Simulate ``n_sets`` data sets and score each method's ``interval`` at the targets.

    Returns per method: ``covered`` (data sets whose interval covers the truth at the farthest
    target), ``per_target`` coverage rates, ``pooled`` rate over all targets, ``n``,
    ``mean_width`` (relative width at the farthest target), ``seconds`` (posterior time), and
    ``failed`` (data sets where fitting or sampling raised).
    """
    truth = case.law(case.truth, case.target).reshape(-1)
    out = {m: {"hits": [], "widths": [], "seconds": 0.0, "failed": 0, "warned": 0} for m in methods}
    rng = np.random.default_rng(seed)
    fit_seconds = 0.0
    for i in range(n_sets):
        data = case.simulate(rng)
        t0 = time.perf_counter()
        res = fit(case.law, data, loss=case.loss, starts=case.starts, key=seed + i)
        fit_seconds += time.perf_counter() - t0
        for m in methods:
            t0 = time.perf_counter()
            try:
                kw: dict[str, Any] = {"key": seed + i}
                if m == "nuts":
                    kw |= {"draws": nuts_draws, "warmup": nuts_warmup, "chains": chains}
                elif m == "bootstrap":
                    kw |= {"bootstrap": bootstrap}
                else:
                    kw |= {"draws": draws}
                post = posterior(res, m, **kw)
                iv = post.predict(case.target, interval=interval)
            except Exception:  # noqa: BLE001 - a failed data set is counted, not fatal
                out[m]["failed"] += 1
                continue
            finally:
                out[m]["seconds"] += time.perf_counter() - t0
            lo, hi = np.ravel(iv["lower"]), np.ravel(iv["upper"])
            out[m]["hits"].append((lo <= truth) & (truth <= hi))
            out[m]["widths"].append((hi - lo) / truth)
            out[m]["warned"] += bool(post.warnings)
        if progress is not None:
            progress(i, out)
    result = {}
    for m, o in out.items():
        hits = np.asarray(o["hits"], dtype=float).reshape(-1, len(truth))
        widths = np.asarray(o["widths"]).reshape(-1, len(truth))
        result[m] = {
            "n": int(len(hits)),
            "covered": int(hits[:, -1].sum()) if len(hits) else 0,
            "per_target": hits.mean(axis=0).tolist() if len(hits) else [],
            "pooled": float(hits.mean()) if len(hits) else float("nan"),
            "mean_width": float(widths[:, -1].mean()) if len(widths) else float("nan"),
            "seconds": o["seconds"],
            "failed": o["failed"],
            "warned": o["warned"],
        }
    result["_fit_seconds"] = {"seconds": fit_seconds}  # type: ignore[assignment]
    return result
