"""Per-problem Beta-Binomial MLE vs fits to averaged pass@k rates, over seeds, with the CRLB.

Simulation (the acceptance test of the test-time scaling issue): 500 problems with success
probabilities p_i ~ Beta(α, β), α < 1 (a heavy left tail of hard problems), 100 samples each,
correct_i ~ Binomial(100, p_i). The target is the exact E[pass@k] = 1 − B(α, β + k)/B(α, β)
at k = 10,000 and the tail exponent α (1 − pass@k ∝ k^(−α) for large k). Four estimators:

- ``mle``: ``pass-at-k-beta`` fitted by Beta-Binomial maximum likelihood on the per-problem
  counts (what ``sl fit samples.csv --law pass-at-k-beta`` does);
- ``ls-beta``: the *same, correctly specified* Beta curve fitted by least squares to the
  averaged unbiased pass@k at k = 1 … samples (an aggregated-rate fit that already knows the
  right functional form — not what practitioners do, kept as a control);
- ``powerlaw``: the common practice (Brown et al. 2024; Schaeffer et al. 2025): a power law
  −log pass@k ≈ A·k^(−b) fitted by least squares in log-log space (``log-mse`` on the target
  −log pass@k) to the averaged unbiased pass@k at k = 1 … samples, extrapolated as
  pass@k = exp(−A·k^(−b)) (the ``coverage-power`` law with a = −A, b → −b); its exponent b is
  the practitioner's estimate of α;
- ``coverage``: the ``coverage-power`` law exp(a·k^b) fitted by least squares to the averaged
  pass@k itself (Brown et al.'s exponentiated power law), exponent −b.

Reported per method: relative error of α̂ (or of the power-law exponent, for the last two),
error of the predicted pass@10,000 against the exact value, how many seeds are within 10% /
0.02, the coverage of 90% Laplace bands, and wall time per fit (after a warm-up fit that
compiles). Also reported: the Cramér–Rao bound on the relative sd of α̂ and sd of pass@10⁴
(Fisher information by exact summation over the Beta-Binomial pmf, joint with β), and from it
the expected number of seeds outside ±10% / ±0.02 for an efficient unbiased estimator.

Run: ``python benchmarks/tts_recovery.py [--seeds 20] [--alpha 0.3] [--beta 3]``
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

import scalinglaws as sl
import scalinglaws._laplace as _laplace
import scalinglaws._tts as tts
from scalinglaws._losses import make_loss

# make_loss builds a new Loss (new lambdas) per call, so _compiled's lru_cache misses and every
# fit/laplace call re-traces and re-compiles; cache it here until the library does
_laplace.make_loss = functools.lru_cache(maxsize=None)(make_loss)

K_TARGET = 1e4
METHODS = ("mle", "ls-beta", "powerlaw", "coverage")
LABELS = {
    "mle": "Beta-Binomial MLE (counts)",
    "ls-beta": "same Beta curve, LS on avg pass@k",
    "powerlaw": "power law, log-log LS on avg pass@k",
    "coverage": "coverage-power, LS on avg pass@k",
}
# −log pass@k = A·k^(−b), fitted with log-mse: least squares in log-log space
NEGLOG_POWER = sl.formula_law(
    "A * k**(-b)",
    {"A": (1e-8, 1e3), "b": (1e-4, 3.0)},
    name="neglog-pass-power",
    outputs=("neglog_pass",),
    description="-log pass@k = A*k^(-b) (fit with log-mse: least squares in log-log space)",
)


def crlb(alpha: float, beta: float, problems: int, samples: int, k: float = K_TARGET) -> dict:
    """Cramér–Rao bounds at the setting: relative sd of α̂ and sd of pass@k (delta method)."""
    cov = np.linalg.inv(tts.beta_binomial_fisher(alpha, beta, samples)) / problems

    def pass_k(th):
        return -jnp.expm1(tts.betaln(th[0], th[1] + k) - tts.betaln(th[0], th[1]))

    g = np.asarray(jax.grad(pass_k)(jnp.array([alpha, beta], dtype=jnp.float64)))
    rel_sd = math.sqrt(cov[0, 0]) / alpha
    sd_pass = math.sqrt(float(g @ cov @ g))
    out_a = 2 * stats.norm.sf(0.10 / rel_sd)
    out_p = 2 * stats.norm.sf(0.02 / sd_pass)
    return {
        "alpha_rel_sd": rel_sd,
        "pass_sd": sd_pass,
        "p_out_alpha": float(out_a),
        "p_out_pass": float(out_p),
    }


def run(alpha: float, beta: float, seeds: int, problems: int, samples: int, starts: int) -> dict:
    law = sl.get_law("pass-at-k-beta")
    ls_law = dataclasses.replace(law, name="pass-at-k-beta-on-rates", nll=None, extras={})
    cov_law = sl.get_law("coverage-power")
    mse, logmse = make_loss("mse"), make_loss("log-mse")  # shared Loss objects: compiled code
    exact = float(tts.beta_pass_at_k({"alpha": alpha, "beta": beta}, K_TARGET))
    ks = np.arange(1, samples + 1)
    rows: dict[str, list] = {m: [] for m in METHODS}
    secs: dict[str, list] = {m: [] for m in METHODS}
    for seed in range(-1, seeds):  # seed -1: warm-up (compilation), not reported
        key = max(seed, 0)
        df = tts.simulate_counts(alpha, beta, problems, samples, key)
        res = {}
        t0 = time.perf_counter()
        arrays = tts.prepare_counts(df, source="simulated")
        res["mle"] = sl.fit(law, arrays, starts=starts, key=key, loss=mse)
        t1 = time.perf_counter()
        curve = tts.pass_at_k_curve(df["samples"], df["correct"], ks)
        res["ls-beta"] = sl.fit(ls_law, curve, starts=starts, key=key, loss=mse)
        t2 = time.perf_counter()
        neglog = {"k": curve["k"].to_numpy(), "neglog_pass": -np.log(curve["pass_at_k"].to_numpy())}
        res["powerlaw"] = sl.fit(NEGLOG_POWER, neglog, starts=starts, key=key, loss=logmse)
        t3 = time.perf_counter()
        res["coverage"] = sl.fit(cov_law, curve, starts=starts, key=key, loss=mse)
        t4 = time.perf_counter()
        if seed < 0:
            continue
        for name, dt in zip(METHODS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            f = res[name]
            draws = sl.laplace(f, data=arrays if name == "mle" else None).sample(2000, key=seed)
            if name in ("mle", "ls-beta"):
                a_hat = f.params["alpha"]
                pred = float(tts.beta_pass_at_k(f.params, K_TARGET))
                a_draws = draws[:, 0]
                p_draws = tts.beta_pass_at_k({"alpha": draws[:, 0], "beta": draws[:, 1]}, K_TARGET)
            else:
                if name == "powerlaw":  # coverage-power parameters a = −A, b = −b
                    cp = {"a": -f.params["A"], "b": -f.params["b"]}
                    cp_draws = np.column_stack([-draws[:, 0], -draws[:, 1]])
                else:
                    cp, cp_draws = f.params, draws
                a_hat = cov_law.extras["summary"](cp)["power_law_exponent"]
                pred = float(cov_law(cp, {"k": [K_TARGET]})[0])
                a_draws = -cp_draws[:, 1]
                p_draws = np.exp(cp_draws[:, 0] * K_TARGET ** cp_draws[:, 1])
            lo_a, hi_a = np.quantile(a_draws, [0.05, 0.95])
            lo_p, hi_p = np.quantile(p_draws, [0.05, 0.95])
            rows[name].append(
                (a_hat / alpha - 1.0, pred - exact, lo_a <= alpha <= hi_a, lo_p <= exact <= hi_p)
            )
            secs[name].append(dt)
    out: dict = {"exact": exact, "crlb": crlb(alpha, beta, problems, samples)}
    for name, r in rows.items():
        r = np.asarray(r, dtype=np.float64)
        ea, ep = r[:, 0], r[:, 1]
        out[name] = {
            "alpha_mean_rel_err": float(ea.mean()),
            "alpha_sd_rel_err": float(ea.std(ddof=1)) if len(ea) > 1 else math.nan,
            "alpha_mae_rel": float(np.abs(ea).mean()),
            "alpha_max_rel": float(np.abs(ea).max()),
            "alpha_seeds_within_10pct": int(np.sum(np.abs(ea) <= 0.10)),
            "pass_mean_err": float(ep.mean()),
            "pass_sd_err": float(ep.std(ddof=1)) if len(ep) > 1 else math.nan,
            "pass_mae": float(np.abs(ep).mean()),
            "pass_max_abs": float(np.abs(ep).max()),
            "pass_seeds_within_0.02": int(np.sum(np.abs(ep) <= 0.02)),
            "both_within": int(np.sum((np.abs(ea) <= 0.10) & (np.abs(ep) <= 0.02))),
            "alpha_90pct_band_coverage": float(r[:, 2].mean()),
            "pass_90pct_band_coverage": float(r[:, 3].mean()),
            "seconds_per_fit": float(np.mean(secs[name])),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alpha", type=float, default=0.3)
    ap.add_argument("--beta", type=float, default=3.0)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--starts", type=int, default=64)
    args = ap.parse_args()
    t0 = time.perf_counter()
    res = run(args.alpha, args.beta, args.seeds, args.problems, args.samples, args.starts)
    wall = time.perf_counter() - t0
    c = res["crlb"]
    print(
        f"alpha={args.alpha} beta={args.beta} problems={args.problems} samples={args.samples} "
        f"seeds={args.seeds} starts={args.starts}; exact pass@{K_TARGET:.0f} = {res['exact']:.4f}"
    )
    print(
        f"CRLB: relative sd of alpha-hat >= {c['alpha_rel_sd']:.4f} (expected seeds outside 10%: "
        f"{args.seeds * c['p_out_alpha']:.2f} of {args.seeds}); sd of pass@{K_TARGET:.0f} >= "
        f"{c['pass_sd']:.4f} (expected outside 0.02: {args.seeds * c['p_out_pass']:.2f})"
    )
    print("| metric | " + " | ".join(LABELS[m] for m in METHODS) + " |")
    print("|---" * (len(METHODS) + 1) + "|")
    for k in res["mle"]:
        vals = [res[m][k] for m in METHODS]
        cells = [f"{v}" if isinstance(v, int) else f"{v:.4f}" for v in vals]
        print(f"| {k} | " + " | ".join(cells) + " |")
    print(f"total wall time {wall:.1f} s (including compilation)")


if __name__ == "__main__":
    main()
