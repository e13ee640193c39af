"""Test-time scaling laws: pass@k from per-problem success counts, coverage, saturation.

Five laws are registered on import (same :class:`~scalinglaws.Law` interface, fit and Laplace
machinery as the pre-training laws):

``pass-at-k-beta`` (a *likelihood law*)
    Per-problem success probability ``p ~ Beta(α, β)``; a problem is solved within k samples
    with probability ``1 − (1 − p)^k``, so the expected pass rate over problems is

        E[pass@k] = 1 − B(α, β + k) / B(α, β).

    It is fitted by Beta-Binomial maximum likelihood on per-problem ``(samples, correct)``
    counts, ``P(c | n) = C(n, c)·B(c + α, n − c + β)/B(α, β)`` — never to averaged rates, which
    are correlated across k and give biased exponents (Schaeffer et al. 2025). For large k,
    ``1 − E[pass@k] ≈ Γ(α+β)/Γ(β) · k^(−α)``, so ``−log pass@k`` is asymptotically a power law
    in k with exponent α.
``pass-at-k-scaled-beta`` (a likelihood law)
    The same with a ceiling on per-problem success: ``p = c·q``, ``q ~ Beta(α, β)``, so
    ``E[pass@k] = 1 − E[(1 − c q)^k] = 1 − ₂F₁(−k, α; α+β; c)`` (by Gauss–Legendre quadrature
    for any real k) and the likelihood is an exact finite sum of positive terms; c = 1 is
    ``pass-at-k-beta``.
``coverage-power``
    ``c(k) = exp(a·k^b)``, ``a < 0, b < 0`` (Brown et al. 2024).
``ttspm``
    ``F(N) = F_max·(1 − (1 − p)^N)`` for parallel samples or sequential steps N, with the
    saturation budget ``N* = ⌈ln(ε/(F_max·p)) / ln(1 − p)⌉`` (Wang et al. 2025).
``sigmoid-compute``
    ``R(C) = R₀ + (A − R₀)/(1 + (C_mid/C)^B)`` (Khatri et al. 2025, ScaleRL).

Every law carries ``extras``: ``"saturation"(params, epsilon)`` (the budget beyond which more
samples, or a doubling of compute, gain less than ε), ``"summary"(params)`` (asymptote,
exponents), ``"asymptote"(params)`` and ``"cost"(x)`` (the costed input for the design loop);
the likelihood laws also ``"prepare"(df, columns, source)`` (validated per-problem counts) and
the residual laws ``"from_counts"`` (an aggregated ``k, pass_at_k`` table computed from raw
counts with the unbiased estimator of Chen et al. 2021).

>>> import scalinglaws._tts as tts
>>> round(float(tts.pass_at_k_unbiased(10, 3, 2)), 6)  # 1 - C(7,2)/C(10,2)
0.533333
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.special import gammaln
from scipy import special as sps

from ._errors import DataError
from ._io import _Ctx, _list
from ._law import Law, register

SCHAEFFER = (
    "Schaeffer et al. 2025, How Do Large Language Monkeys Get Their Power (Laws)?, arXiv 2502.17578"
)
BROWN = (
    "Brown et al. 2024, Large Language Monkeys: Scaling Inference Compute with Repeated "
    "Sampling, arXiv 2407.21787"
)
TTSPM = (
    "Wang et al. 2025, Scaling over Scaling: Exploring Test-Time Scaling Plateau in Large "
    "Reasoning Models, arXiv 2505.20522"
)
SCALERL = (
    "Khatri et al. 2025, The Art of Scaling Reinforcement Learning Compute for LLMs, "
    "arXiv 2510.13786"
)
CHEN = "Chen et al. 2021, Evaluating Large Language Models Trained on Code, arXiv 2107.03374"

MAX_BUDGET = 1e18  # saturation searches stop here (returning inf when not saturated before)

# column synonyms for per-problem tables (only unmapped names are matched against these)
_COUNT_SYNONYMS = {
    "problem": ("problem_id", "task", "task_id", "question", "question_id", "id", "instance"),
    "samples": ("n", "n_samples", "num_samples", "attempts", "trials", "total"),
    "correct": ("c", "successes", "n_correct", "num_correct", "passed", "solved", "hits"),
}
_COUNT_MEANING = {
    "problem": "the problem identifier",
    "samples": "the number of samples drawn for the problem",
    "correct": "how many of those samples were correct",
}


# -- the unbiased pass@k estimator -----------------------------------------------------------------
def pass_at_k_unbiased(n: Any, c: Any, k: Any) -> np.ndarray:
    """Unbiased estimate of pass@k from ``c`` correct out of ``n`` samples (Chen et al. 2021).

        pass@k = 1 − C(n − c, k) / C(n, k)   (= 1 when n − c < k),

    computed in log space, ``log C(n−c, k) − log C(n, k) = lnΓ(n−c+1) − lnΓ(n−c−k+1) − lnΓ(n+1)
    + lnΓ(n−k+1)``, so it is exact to rounding for any n (no overflowing binomials). For
    n → ∞ at fixed c/n it tends to ``1 − (1 − c/n)^k``. Arguments broadcast.

    Raises:
        DataError: counts that are negative, not whole numbers, ``c > n`` or ``k > n``.
    """
    n, c, k = (np.asarray(v, dtype=np.float64) for v in (n, c, k))
    for name, v in (("n", n), ("c", c), ("k", k)):
        if np.any(~np.isfinite(v)) or np.any(v != np.round(v)) or np.any(v < 0):
            raise DataError(f"pass_at_k_unbiased: {name} must hold non-negative whole numbers")
    if np.any(c > n):
        raise DataError("pass_at_k_unbiased: c (correct) exceeds n (samples); fix the counts")
    if np.any(k > n) or np.any(k < 1):
        raise DataError(
            "pass_at_k_unbiased: k must be between 1 and n (the samples drawn); pass@k for k > n "
            "cannot be estimated without a model: fit pass-at-k-beta instead"
        )
    n, c, k = np.broadcast_arrays(n, c, k)
    fail = n - c
    ok = fail >= k
    f = np.where(ok, fail, k)  # keep gammaln's argument valid where the answer is 1 anyway
    log_ratio = (
        sps.gammaln(f + 1) - sps.gammaln(f - k + 1) - sps.gammaln(n + 1) + sps.gammaln(n - k + 1)
    )
    return np.where(ok, -np.expm1(log_ratio), 1.0)


def pass_at_k_curve(samples: Any, correct: Any, ks: Any = None) -> pd.DataFrame:
    """Average unbiased pass@k over problems: a ``k, pass_at_k`` table for the residual laws.

    ``ks`` defaults to 1, 2, …, min(samples) (at most 100 values, log-spaced beyond that).
    Every problem contributes at each k (k ≤ its samples), so the table is an average over
    the same problems at every k.
    """
    n = np.asarray(samples, dtype=np.float64)
    c = np.asarray(correct, dtype=np.float64)
    kmax = int(n.min())
    if ks is None:
        ks = (
            np.arange(1, kmax + 1) if kmax <= 100 else np.unique(np.geomspace(1, kmax, 100).round())
        )
    ks = np.asarray(ks, dtype=np.float64)
    if np.any(ks > kmax):
        raise DataError(
            f"pass@k asked at k={ks.max():g} but some problem has only {kmax} samples; "
            f"use k <= {kmax} or fit pass-at-k-beta to extrapolate"
        )
    vals = pass_at_k_unbiased(n[None, :], c[None, :], ks[:, None]).mean(axis=1)
    return pd.DataFrame({"k": ks, "pass_at_k": vals})


# -- per-problem counts ----------------------------------------------------------------------------
def prepare_counts(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    source: str = "<table>",
    *,
    law: str = "pass-at-k-beta",
) -> dict[str, np.ndarray]:
    """Validate a per-problem table (``problem, samples, correct``) → likelihood arrays.

    Returns ``{"samples", "correct", "weight"}``: distinct count pairs and the number of
    problems with each (see :func:`compress_counts`).

    Rows that share a ``problem`` are independent batches of samples of that problem and are
    summed: the Beta-Binomial likelihood of the summed counts equals that of the batches up to a
    constant. Without a ``problem`` column every row is one problem. If your table holds
    cumulative counts at several budgets, keep only each problem's largest budget.

    Args:
        df: the table (e.g. from :func:`scalinglaws.read_table`).
        columns: ``{"samples": "n", "correct": "c", "problem": "task_id"}`` (``--col``).
        source: file name used in messages.

    Raises:
        DataError: one line naming file, column and row: missing columns (with the ``--col``
            fix), non-numbers, non-integers, negative counts, ``correct > samples``, a single
            problem, or no success at all.
    """
    src = str(source)
    if not all(isinstance(c, str) for c in df.columns):
        df = df.rename(columns=str)
    if len(df) == 0:
        raise DataError(
            f"{src}: has no data rows; add one row per problem (problem, samples, correct)"
        )
    table = list(df.columns)
    mapping = dict(columns or {})
    for key, col in mapping.items():
        if key not in _COUNT_SYNONYMS:
            raise DataError(
                f"{src}: {law} reads columns problem, samples and correct, not {key!r}; "
                f"fix the --col {key}={col} mapping"
            )
        if col not in table:
            raise DataError(
                f"{src}: --col {key}={col} names no column of the table; "
                f"its columns are {_list(table)}"
            )
    found: dict[str, str | None] = {}
    for key, syn in _COUNT_SYNONYMS.items():
        if key in mapping:
            found[key] = mapping[key]
            continue
        lower = {c.lower(): c for c in table if c not in mapping.values()}
        found[key] = next((lower[s] for s in (key, *syn) if s in lower), None)
    for key in ("samples", "correct"):
        if found[key] is None:
            hint = ""
            low = {c.lower() for c in table}
            if {"k", "pass_at_k"} <= low or "pass@k" in low:
                hint = (
                    f" (this looks like an aggregated k, pass_at_k table: {law} needs "
                    "per-problem counts; fit coverage-power or ttspm to aggregated rates)"
                )
            raise DataError(
                f"{src}: no column {key!r} ({_COUNT_MEANING[key]}) among {_list(table)}{hint}; "
                f"name it with --col {key}=COLUMN"
            )
    if found["samples"] == found["correct"]:
        raise DataError(
            f"{src}: samples and correct both read column {found['samples']}; "
            "map them to two columns with --col"
        )
    ctx = _Ctx(src, df)
    n = ctx.numeric(found["samples"])
    c = ctx.numeric(found["correct"])
    for key, v in (("samples", n), ("correct", c)):
        col = found[key]
        bad = np.flatnonzero(v < 0)
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{src}: column {col}, {ctx.where(i)}: negative count {v[i]:g}; counts of "
                f"{'samples' if key == 'samples' else 'correct samples'} must be >= 0: "
                "fix or delete the row"
            )
        bad = np.flatnonzero(v != np.round(v))
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{src}: column {col}, {ctx.where(i)}: {v[i]:g} is not a whole number; give raw "
                "counts (number of samples, number correct), not rates"
            )
    bad = np.flatnonzero(c > n)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{src}: {ctx.where(i)}: correct ({found['correct']}={c[i]:g}) exceeds samples "
            f"({found['samples']}={n[i]:g}); correct counts at most the samples drawn: fix the row"
        )
    bad = np.flatnonzero(n < 1)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{src}: column {found['samples']}, {ctx.where(i)}: 0 samples carry no information; "
            "delete the row"
        )
    if found["problem"] is not None:
        ids = df[found["problem"]]
        if ids.isna().any():
            i = int(np.flatnonzero(ids.isna().to_numpy())[0])
            raise DataError(
                f"{src}: column {found['problem']}, {ctx.where(i)} is empty; give every row a "
                "problem identifier"
            )
        g = pd.DataFrame({"p": ids.astype(str).to_numpy(), "n": n, "c": c}).groupby("p", sort=False)
        sums = g.sum()
        n, c = sums["n"].to_numpy(np.float64), sums["c"].to_numpy(np.float64)
    if len(n) < 2:
        what = f"problem {df[found['problem']].iloc[0]!r}" if found["problem"] else "one row"
        raise DataError(
            f"{src}: holds a single problem ({what}); the spread of success rates across problems "
            f"is what {law} fits: give counts for many problems (hundreds ideally)"
        )
    if not np.any(c > 0):
        raise DataError(
            f"{src}: column {found['correct']} is 0 for every problem; pass@k cannot be "
            "extrapolated from no successes: draw more samples per problem"
        )
    return compress_counts(n, c)


def compress_counts(samples: Any, correct: Any) -> dict[str, np.ndarray]:
    """Per-problem counts → distinct ``(samples, correct)`` pairs and how many problems share each.

    The likelihood is a sum over problems, so problems with equal counts contribute equal
    terms: ``{"samples", "correct", "weight"}`` with ``weight`` the multiplicity (its sum is
    the number of problems). With a fixed number of samples there are at most samples + 1
    pairs, which makes every likelihood evaluation (and its Hessian) cheaper. The arrays are
    padded to a power-of-two length with zero-weight rows, so that fits of different data sets
    reuse compiled code.
    """
    n = np.asarray(samples, dtype=np.float64).reshape(-1)
    c = np.asarray(correct, dtype=np.float64).reshape(-1)
    pairs, counts = np.unique(np.column_stack([n, c]), axis=0, return_counts=True)
    # pad to a power of two with zero-weight rows (1 sample, 0 correct), so that fits of
    # different data sets share array shapes and hence compiled code (as _fit pads runs)
    size = max(8, 1 << (len(pairs) - 1).bit_length())
    pad = size - len(pairs)
    return {
        "samples": np.concatenate([pairs[:, 0], np.ones(pad)]),
        "correct": np.concatenate([pairs[:, 1], np.zeros(pad)]),
        "weight": np.concatenate([counts.astype(np.float64), np.zeros(pad)]),
    }


def simulate_counts(
    alpha: float,
    beta: float,
    problems: int,
    samples: int | Sequence[int],
    key: Any = 0,
    *,
    scale: float = 1.0,
) -> pd.DataFrame:
    """Simulate a per-problem table: ``p_i ~ scale·Beta(α, β)``, ``correct_i ~ Bin(samples, p_i)``.

    Args:
        alpha, beta: the Beta parameters (α < 1 gives a heavy left tail of hard problems).
        problems: number of problems.
        samples: samples per problem (an int, or one per problem).
        key: an int seed or a ``jax.random`` key.
        scale: the upper end c of a scaled Beta on (0, c).

    Returns:
        DataFrame with columns ``problem``, ``samples``, ``correct`` (and ``p``, the truth).
    """
    from ._fit import _seed

    rng = np.random.default_rng(_seed(key))
    p = scale * rng.beta(alpha, beta, size=problems)
    n = np.broadcast_to(np.asarray(samples, dtype=np.int64), (problems,))
    c = rng.binomial(n, p)
    return pd.DataFrame({"problem": np.arange(problems), "samples": n, "correct": c, "p": p})


# -- pass-at-k-beta --------------------------------------------------------------------------------
def betaln(a: Any, b: Any) -> Any:
    """log B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b) (jax).

    Three ``lgamma`` calls: several times cheaper to trace, compile and differentiate twice
    under ``vmap`` than ``jax.scipy.special.betaln``; the cancellation for large b costs
    ~1e-16·lnΓ(b) absolute (1e-11 at b = 10⁴), far below any statistical error here.
    """
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def _beta_pass(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    # E[pass@k] = 1 - B(a, b + k)/B(a, b), as -expm1 of a log ratio: accurate near 0 and 1
    a, b = p["alpha"], p["beta"]
    return -jnp.expm1(betaln(a, b + x["k"]) - betaln(a, b))


def beta_binomial_nll(params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
    """−Σ_i w_i·log P(c_i | n_i), ``P(c | n) = C(n, c)·B(c + α, n − c + β)/B(α, β)`` (pure jax).

    ``data``: ``samples`` n_i, ``correct`` c_i and optionally ``weight`` w_i (problems sharing
    the pair; default 1), as returned by :func:`prepare_counts`.
    """
    a, b = params["alpha"], params["beta"]
    n, c = data["samples"], data["correct"]
    w = data["weight"] if "weight" in data else jnp.ones_like(n)
    log_choose = gammaln(n + 1.0) - gammaln(c + 1.0) - gammaln(n - c + 1.0)
    return -jnp.sum(w * (log_choose + betaln(c + a, n - c + b) - betaln(a, b)))


def beta_binomial_fisher(
    alpha: float, beta: float, samples: int, scale: float | None = None
) -> np.ndarray:
    """Fisher information of one problem's count x ~ Binomial(n, p), p ~ Beta(α, β) (or c·Beta).

    ``I = Σ_{x=0..n} P(x)·s(x)·s(x)ᵀ`` with the score ``s = ∇ log P(x | n)`` over (α, β), or
    over (α, β, c) when ``scale`` c is given (the ``pass-at-k-scaled-beta`` model), by exact
    summation over x = 0 … n with jax derivatives of the log-pmf. For m problems with n samples
    each, ``inv(m·I)`` is the Cramér–Rao bound on the covariance of unbiased estimates, e.g.
    ``sqrt(inv(I)[0, 0]/m)/α`` is the smallest attainable relative sd of α̂.
    """
    n = float(samples)
    x = jnp.arange(int(samples) + 1, dtype=jnp.float64)
    tables = (
        scaled_count_tables(np.full(int(samples) + 1, n), np.asarray(x))
        if scale is not None
        else {}
    )

    def logpmf(th: Any) -> Any:
        if scale is not None:
            return _scaled_log_pmf(th[0], th[1], th[2], jnp.full_like(x, n), x, tables)
        log_choose = gammaln(n + 1.0) - gammaln(x + 1.0) - gammaln(n - x + 1.0)
        return log_choose + betaln(x + th[0], n - x + th[1]) - betaln(th[0], th[1])

    th = jnp.array([alpha, beta] + ([] if scale is None else [scale]), dtype=jnp.float64)
    score = jax.jacfwd(logpmf)(th)  # (n + 1, number of parameters)
    p = jnp.exp(logpmf(th))
    return np.asarray(jnp.einsum("x,xi,xj->ij", p, score, score))


def _beta_gain_log(params: Mapping[str, float], k: np.ndarray) -> np.ndarray:
    # E[pass@(k+1)] - E[pass@k] = B(a, b+k)/B(a, b) * a/(a + b + k)   (monotone decreasing in k)
    a, b = float(params["alpha"]), float(params["beta"])
    return sps.betaln(a, b + k) - sps.betaln(a, b) + math.log(a) - np.log(a + b + k)


def beta_saturation(params: Mapping[str, float], epsilon: float) -> float:
    """Smallest k ≥ 1 with E[pass@(k+1)] − E[pass@k] = B(α, β+k)/B(α, β)·α/(α+β+k) < ε."""
    _check_eps(epsilon)
    return _first_below(lambda k: np.exp(_beta_gain_log(params, k)), epsilon, integer=True)


def beta_summary(params: Mapping[str, float], ks: Sequence[float] = (10, 100, 1000, 10000)) -> dict:
    """Implied power law of −log pass@k: asymptotic exponent α and local slopes.

    For large k, ``−log E[pass@k] ≈ 1 − E[pass@k] ≈ A·k^(−α)`` with ``A = Γ(α+β)/Γ(β)``
    (Schaeffer et al. 2025, eq. 5). The local exponent at k is ``−d log(−log pass@k)/d log k``,
    which approaches α from above as k grows.
    """
    a, b = float(params["alpha"]), float(params["beta"])
    out: dict[str, Any] = {
        "mean_p": a / (a + b),
        "power_law_exponent": a,
        "power_law_prefactor": math.exp(sps.gammaln(a + b) - sps.gammaln(b)),
        "asymptote": 1.0,
    }
    for k in ks:
        out[f"local_exponent_k{int(k)}"] = _local_exponent(a, b, float(k))
    return out


def _local_exponent(a: float, b: float, k: float, h: float = 1e-3) -> float:
    def f(lk: float) -> float:
        miss = math.exp(sps.betaln(a, b + math.exp(lk)) - sps.betaln(a, b))
        return math.log(-math.log1p(-miss))

    lk = math.log(k)
    return -(f(lk + h) - f(lk - h)) / (2 * h)


def beta_pass_at_k(params: Mapping[str, float], k: Any) -> np.ndarray:
    """E[pass@k] = 1 − B(α, β+k)/B(α, β) in numpy (float64), for any real k ≥ 0 (broadcasts)."""
    a = np.asarray(params["alpha"], dtype=np.float64)
    b = np.asarray(params["beta"], dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    return -np.expm1(sps.betaln(a, b + k) - sps.betaln(a, b))


def _samples_cost(x: Mapping[str, Any]) -> np.ndarray:
    """The costed input of the laws in k (samples per problem): k itself."""
    return np.asarray(x["k"], dtype=np.float64)


def _certain_asymptote(params: Mapping[str, float]) -> float:
    """pass@k laws where every problem is eventually solved: the asymptote is 1."""
    return 1.0


@register("pass-at-k-beta")
def pass_at_k_beta() -> Law:
    return Law(
        name="pass-at-k-beta",
        inputs=("k",),
        params=("alpha", "beta"),
        bounds=((1e-3, 1e3), (1e-3, 1e3)),
        fn=_beta_pass,
        outputs=("pass_at_k",),
        equation="pass@k = 1 - B(alpha, beta + k)/B(alpha, beta),  p_problem ~ Beta(alpha, beta)",
        reference=SCHAEFFER,
        positive_inputs=("k",),
        nll=beta_binomial_nll,
        extras={
            "prepare": prepare_counts,
            "saturation": beta_saturation,
            "summary": beta_summary,
            "asymptote": _certain_asymptote,
            "cost": _samples_cost,
            "numpy": beta_pass_at_k,
        },
        description=(
            "expected pass@k over problems, fitted by Beta-Binomial likelihood to per-problem "
            "counts (problem, samples, correct)"
        ),
    )


# -- pass-at-k-scaled-beta -------------------------------------------------------------------------
def _gl01(n: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return (t + 1.0) / 2.0, np.log(w / 2.0)


_GL_A = _gl01(128)  # q ∈ [0, q_s]: t = (q/q_s)^γ smooths the q^(α−1) singularity
_GL_B = _gl01(64)  # q ∈ [q_s, 1]: s = ((1−q)/(1−q_s))^δ smooths the (1−q)^(β−1) singularity
_TAIL = 60.0  # q_s = min(1/2, (60 + 3α)/(c·k + β)): beyond q_s the integrand is below ~e^(−60)
_C_MAX = 1.0 - 1e-15  # c = 1 is the plain Beta (the clamp changes log-likelihoods by ~1e-13)


def _scaled_log_moment(alpha: Any, beta: Any, c: Any, k: Any, extra: int = 0, xp: Any = jnp) -> Any:
    """log E[(c·q)^extra·(1 − c·q)^k] for q ~ Beta(α, β), by two-piece Gauss–Legendre quadrature.

    extra = 0 gives log(1 − E[pass@k]), extra = 1 the log marginal gain
    E[pass@(k+1)] − E[pass@k] = E[c q (1 − c q)^k]. The split point q_s = min(1/2,
    (60 + 3α)/(c·k + β)) follows the integrand's scale, so one fixed rule (128 + 64 nodes) is
    accurate from k = 0 to k = 10¹⁸ (1e-12 relative against ₂F₁ in the tests): on [0, q_s] the
    substitution t = (q/q_s)^γ, γ = α/(⌈α⌉ + 1), turns the Beta density's q^(α−1) dq into
    t^⌈α⌉ dt (an integer power), and the rest of the integrand, smooth in q = q_s·t^(1/γ),
    contributes only powers t^(j/γ), 1/γ > 1, so the integrand is t^⌈α⌉·(smooth + O(t^(1/γ)))
    and Gauss–Legendre converges fast; on [q_s, 1], s = ((1−q)/(1−q_s))^δ, δ = β/(⌈β⌉ + 1),
    does the same for (1−q)^(β−1). Everything is summed in log space. ``xp`` is
    ``jax.numpy`` or ``numpy``; the arguments broadcast (the nodes run along a new last axis).
    """
    a, b = xp.asarray(alpha)[..., None], xp.asarray(beta)[..., None]
    cc = xp.minimum(xp.asarray(c), _C_MAX)[..., None]
    kk = xp.asarray(k)[..., None]
    log1m_c = xp.log1p(-cc)
    log_c = xp.log(cc)
    qs = xp.minimum(0.5, (_TAIL + 3.0 * a) / (cc * kk + b))
    gam, dlt = a / (xp.ceil(a) + 1.0), b / (xp.ceil(b) + 1.0)

    def integrand(log_q: Any, log_1mq: Any) -> Any:
        # k·log(1 − c q): log1p(−c q) for small c q (no rounding of 1 − c q when k is huge),
        # else log((1 − c) + c (1 − q)) (accurate when c q is near 1)
        cq = cc * xp.exp(log_q)
        small = cq < 0.5
        log_miss = xp.where(
            small,
            xp.log1p(-xp.where(small, cq, 0.0)),
            xp.logaddexp(log1m_c, log_c + log_1mq),
        )
        return kk * log_miss + extra * (log_c + log_q)

    t, log_wt = (xp.asarray(v) for v in _GL_A)
    log_t = xp.log(t)
    log_q = xp.log(qs) + log_t / gam
    log_1mq = xp.log1p(-xp.exp(log_q))
    piece_a = (
        a * xp.log(qs) - xp.log(gam) + (a / gam - 1.0) * log_t + (b - 1.0) * log_1mq
        + integrand(log_q, log_1mq) + log_wt
    )  # fmt: skip
    s, log_ws = (xp.asarray(v) for v in _GL_B)
    log_s = xp.log(s)
    log_1mq = xp.log1p(-qs) + log_s / dlt
    log_q = xp.log1p(-xp.exp(log_1mq))
    piece_b = (
        b * xp.log1p(-qs) - xp.log(dlt) + (b / dlt - 1.0) * log_s + (a - 1.0) * log_q
        + integrand(log_q, log_1mq) + log_ws
    )  # fmt: skip
    both = xp.concatenate([piece_a, piece_b], axis=-1)
    top = xp.max(both, axis=-1, keepdims=True)
    total = top[..., 0] + xp.log(xp.sum(xp.exp(both - top), axis=-1))
    if xp is np:
        return total - sps.betaln(alpha, beta)
    return total - betaln(alpha, beta)


@jax.jit
def _scaled_log_miss(alpha: Any, beta: Any, c: Any, k: Any) -> Any:
    # one compiled call instead of ~50 eagerly dispatched ops (each compiled per input shape)
    return _scaled_log_moment(alpha, beta, c, k)


def _scaled_pass(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    # E[pass@k] = 1 − E[(1 − c q)^k] = 1 − ₂F₁(−k, α; α + β; c); k is padded to a power-of-two
    # length so that calls with different numbers of points share compiled code
    k = jnp.asarray(x["k"])
    if k.ndim != 1:
        return -jnp.expm1(_scaled_log_miss(p["alpha"], p["beta"], p["c"], k))
    n = k.shape[0]
    size = max(8, 1 << (n - 1).bit_length())
    kp = jnp.concatenate([k, jnp.ones(size - n, dtype=k.dtype)])
    return -jnp.expm1(_scaled_log_miss(p["alpha"], p["beta"], p["c"], kp)[:n])


def scaled_pass_at_k(params: Mapping[str, float], k: Any) -> np.ndarray:
    """E[pass@k] = 1 − ₂F₁(−k, α; α+β; c) under p = c·q, q ~ Beta(α, β), in numpy (any real k ≥ 0)."""
    a, b, c = (np.asarray(params[n], dtype=np.float64) for n in ("alpha", "beta", "c"))
    k = np.asarray(k, dtype=np.float64)
    return -np.expm1(_scaled_log_moment(a, b, c, k, xp=np))


_MAX_TERMS = 1 << 22  # pairs × (max samples + 1) terms of the exact scaled-Beta likelihood


def scaled_count_tables(samples: Any, correct: Any) -> dict[str, np.ndarray]:
    """Parameter-free tables for :func:`scaled_beta_binomial_nll` (pairs P, J > max samples).

    ``y`` = 0 … J − 1 (the unthinned success count), ``log_choose`` (P, J) = log C(n − x, y − x)
    (−inf outside x ≤ y ≤ n), ``thin`` (P, J) = y − x (≥ 0), ``n_distinct`` (U,) the distinct
    sample counts and ``group`` (P, U) the one-hot map of each pair to its sample count (so that
    the likelihood broadcasts instead of gathering, which is slow to differentiate under vmap).
    """
    n = np.asarray(samples, dtype=np.float64).reshape(-1)
    x = np.asarray(correct, dtype=np.float64).reshape(-1)
    size = max(8, 1 << int(n.max()).bit_length())  # J > max samples
    if len(n) * size > _MAX_TERMS:
        raise DataError(
            f"pass-at-k-scaled-beta sums exactly over up to {int(n.max())} samples for "
            f"{len(n)} distinct (samples, correct) pairs ({len(n) * size:,} terms, more than "
            f"{_MAX_TERMS:,}); subsample each problem's samples (e.g. to 1000 without "
            "replacement) or fit pass-at-k-beta"
        )
    y = np.arange(size, dtype=np.float64)
    m, d = (n - x)[:, None], y[None, :] - x[:, None]
    ok = (d >= 0) & (d <= m)
    dd = np.where(ok, d, 0.0)
    log_choose = np.where(
        ok, sps.gammaln(m + 1.0) - sps.gammaln(dd + 1.0) - sps.gammaln(m - dd + 1.0), -np.inf
    )
    n_distinct = np.unique(n)
    group = (n[:, None] == n_distinct[None, :]).astype(np.float64)
    return {"y": y, "log_choose": log_choose, "thin": dd, "n_distinct": n_distinct, "group": group}


def _scaled_log_pmf(a: Any, b: Any, c: Any, n: Any, x: Any, tables: Mapping[str, Any]) -> Any:
    # log P(x | n) for x ~ Binomial(n, c·q), q ~ Beta(α, β): a Beta-Binomial count y thinned by c,
    # P(x | n) = C(n, x)·c^x·Σ_{y=x..n} C(n−x, y−x)·(1 − c)^(y−x)·B(α + y, β + n − y)/B(α, β).
    # Every term is positive (no cancellation, unlike the ₂F₁ polynomial in c); c = 1 leaves only
    # y = x, the Beta-Binomial. B(α + y, β + n − y) = Γ(α + y)·Γ(β + n − y)/Γ(α + β + n): one
    # lgamma row per distinct n, mapped to the pairs by a one-hot product.
    c = jnp.minimum(c, _C_MAX)
    y, nu = tables["y"], tables["n_distinct"]
    g = gammaln(a + y)[None, :] + gammaln(b + jnp.maximum(nu[:, None] - y[None, :], 0.0))
    terms = tables["log_choose"] + tables["thin"] * jnp.log1p(-c) + tables["group"] @ g
    head = (
        gammaln(n + 1.0) - gammaln(x + 1.0) - gammaln(n - x + 1.0) + x * jnp.log(c)
        - betaln(a, b) - gammaln(a + b + n)
    )  # fmt: skip
    return head + jax.nn.logsumexp(terms, axis=-1)


def scaled_beta_binomial_nll(params: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
    """−Σ_i w_i·log P(c_i | n_i) under p = c·q, q ~ Beta(α, β) (pure jax, exact finite sum).

    ``data`` as returned by :func:`prepare_scaled_counts`: ``samples``, ``correct``, ``weight``
    and the tables of :func:`scaled_count_tables`. Cost: pairs × (max samples + 1) terms.
    """
    n, c = data["samples"], data["correct"]
    w = data["weight"] if "weight" in data else jnp.ones_like(n)
    lp = _scaled_log_pmf(params["alpha"], params["beta"], params["c"], n, c, data)
    return -jnp.sum(jnp.where(w > 0, w * lp, 0.0))


def prepare_scaled_counts(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, source: str = "<table>"
) -> dict[str, np.ndarray]:
    """:func:`prepare_counts` plus the tables of :func:`scaled_count_tables`."""
    arrays = prepare_counts(df, columns, source, law="pass-at-k-scaled-beta")
    return {**arrays, **scaled_count_tables(arrays["samples"], arrays["correct"])}


def _scaled_gain(params: Mapping[str, float], k: Any) -> np.ndarray:
    a, b, c = (float(params[n]) for n in ("alpha", "beta", "c"))
    return np.exp(_scaled_log_moment(a, b, c, np.asarray(k, dtype=np.float64), 1, xp=np))


def scaled_beta_saturation(params: Mapping[str, float], epsilon: float) -> float:
    """Smallest k ≥ 1 with E[pass@(k+1)] − E[pass@k] = E[c q (1 − c q)^k] < ε."""
    _check_eps(epsilon)
    return _first_below(lambda k: _scaled_gain(params, k), epsilon, integer=True)


def scaled_beta_summary(
    params: Mapping[str, float], ks: Sequence[float] = (10, 100, 1000, 10000)
) -> dict:
    """Implied power law of −log pass@k, as for ``pass-at-k-beta``, and the ceiling c.

    Every problem still has p > 0, so pass@k → 1 and, for large k,
    ``−log E[pass@k] ≈ Γ(α+β)/Γ(β)·(c·k)^(−α)``: the asymptotic exponent is α, the prefactor
    ``Γ(α+β)/Γ(β)·c^(−α)``.
    """
    a, b, c = (float(params[n]) for n in ("alpha", "beta", "c"))
    out: dict[str, Any] = {
        "mean_p": c * a / (a + b),
        "max_p": c,
        "power_law_exponent": a,
        "power_law_prefactor": math.exp(sps.gammaln(a + b) - sps.gammaln(b) - a * math.log(c)),
        "asymptote": 1.0,
    }

    def f(lk: float) -> float:
        log_miss = float(_scaled_log_moment(a, b, c, math.exp(lk), xp=np))
        return math.log(-math.log1p(-math.exp(log_miss)))

    h = 1e-3
    for k in ks:
        out[f"local_exponent_k{int(k)}"] = -(f(math.log(k) + h) - f(math.log(k) - h)) / (2 * h)
    return out


@register("pass-at-k-scaled-beta")
def pass_at_k_scaled_beta() -> Law:
    return Law(
        name="pass-at-k-scaled-beta",
        inputs=("k",),
        params=("alpha", "beta", "c"),
        bounds=((1e-3, 1e3), (1e-3, 1e3), (1e-3, 1.0)),
        fn=_scaled_pass,
        outputs=("pass_at_k",),
        equation=(
            "pass@k = 1 - 2F1(-k, alpha; alpha + beta; c),  p_problem = c*q, q ~ Beta(alpha, beta)"
        ),
        reference=SCHAEFFER,
        positive_inputs=("k",),
        nll=scaled_beta_binomial_nll,
        extras={
            "prepare": prepare_scaled_counts,
            "saturation": scaled_beta_saturation,
            "summary": scaled_beta_summary,
            "asymptote": _certain_asymptote,
            "cost": _samples_cost,
            "numpy": scaled_pass_at_k,
        },
        description=(
            "pass-at-k-beta with per-problem success probability capped at c: p = c*q, "
            "q ~ Beta(alpha, beta); Beta-Binomial-like likelihood on per-problem counts"
        ),
    )


# -- coverage-power --------------------------------------------------------------------------------
def _coverage(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    return jnp.exp(p["a"] * jnp.exp(p["b"] * jnp.log(x["k"])))


def coverage_gain(params: Mapping[str, float], k: Any) -> np.ndarray:
    """c(k+1) − c(k) for ``c = exp(a·k^b)``, without cancellation near c = 1."""
    a, b = float(params["a"]), float(params["b"])
    k = np.asarray(k, dtype=np.float64)
    kb = np.exp(b * np.log(k))
    dkb = kb * np.expm1(b * np.log1p(1.0 / k))  # (k+1)^b - k^b
    return np.exp(a * kb) * np.expm1(a * dkb)


def coverage_saturation(params: Mapping[str, float], epsilon: float) -> float:
    """Smallest k ≥ 1, past the peak of the marginal gain, with c(k+1) − c(k) < ε."""
    _check_eps(epsilon)
    return _first_below(lambda k: coverage_gain(params, k), epsilon, integer=True)


@register("coverage-power")
def coverage_power() -> Law:
    return Law(
        name="coverage-power",
        inputs=("k",),
        params=("a", "b"),
        bounds=((-30.0, 0.0), (-3.0, 0.0)),
        fn=_coverage,
        outputs=("pass_at_k",),
        equation="coverage = exp(a * k^b), a < 0, b < 0",
        reference=BROWN,
        positive_inputs=("k",),
        extras={
            "saturation": coverage_saturation,
            "summary": lambda p: {
                "power_law_exponent": -float(p["b"]),
                "power_law_prefactor": -float(p["a"]),
                "asymptote": 1.0,
            },
            "asymptote": _certain_asymptote,
            "cost": _samples_cost,
            "from_counts": lambda samples, correct, ks=None: pass_at_k_curve(samples, correct, ks),
        },
        description="coverage (pass@k) against samples k; -log coverage = -a*k^b is a power law",
    )


# -- ttspm ---------------------------------------------------------------------------------------
def _ttspm(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    return p["F_max"] * -jnp.expm1(x["k"] * jnp.log1p(-p["p"]))


def ttspm_saturation(params: Mapping[str, float], epsilon: float) -> float:
    """The saturation budget N* = ⌈ln(ε/(F_max·p)) / ln(1 − p)⌉ (at least 1).

    The marginal gain ``F(N+1) − F(N) = F_max·p·(1 − p)^N`` falls below ε for every N > x,
    ``x = ln(ε/(F_max·p))/ln(1 − p)``; N* = ⌊x⌋ + 1 is the smallest such integer (equal to
    ⌈x⌉ except when x is an integer, where the gain equals ε exactly).
    """
    _check_eps(epsilon)
    f_max, p = float(params["F_max"]), float(params["p"])
    x = math.log(epsilon / (f_max * p)) / math.log1p(-p)
    return float(max(math.floor(x) + 1, 1))


@register("ttspm")
def ttspm() -> Law:
    return Law(
        name="ttspm",
        inputs=("k",),
        params=("F_max", "p"),
        bounds=((0.0, 1.0), (1e-6, 1.0 - 1e-6)),
        fn=_ttspm,
        outputs=("pass_at_k",),
        equation="F(N) = F_max * (1 - (1 - p)^N),  N = k parallel samples or sequential steps",
        reference=TTSPM,
        extras={
            "saturation": ttspm_saturation,
            "summary": lambda p: {"asymptote": float(p["F_max"]), "p": float(p["p"])},
            "asymptote": lambda params: float(params["F_max"]),
            "cost": _samples_cost,
            "from_counts": lambda samples, correct, ks=None: pass_at_k_curve(samples, correct, ks),
        },
        description=(
            "test-time scaling performance model; scores as fractions in [0, 1] "
            "(map e.g. --col k=steps --col pass_at_k=accuracy for sequential scaling)"
        ),
    )


# -- sigmoid-compute -------------------------------------------------------------------------
def _sigmoid(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    z = p["B"] * (jnp.log(x["compute"]) - jnp.log(p["C_mid"]))
    return p["R0"] + (p["A"] - p["R0"]) * jax.nn.sigmoid(z)


def sigmoid_saturation(params: Mapping[str, float], epsilon: float) -> float:
    """Smallest compute C past the steepest part with |R(2C) − R(C)| < ε (gain per doubling).

    With ``z = B·ln(C/C_mid)``, ``R(2C) − R(C) = (A − R₀)·(σ(z + B ln 2) − σ(z))``, which peaks
    at ``z = −B ln 2 / 2`` and then decreases; the crossing is found by bisection in z. Returns
    0 when no doubling ever gains ε (the curve is flatter than ε everywhere).
    """
    _check_eps(epsilon)
    amp = abs(float(params["A"]) - float(params["R0"]))
    b, c_mid = float(params["B"]), float(params["C_mid"])
    d = b * math.log(2.0)

    def log_gain(z: float) -> float:
        return (
            math.log(amp) - z + math.log(-math.expm1(-d))
            - float(np.logaddexp(0.0, -z - d)) - float(np.logaddexp(0.0, -z))
        )  # fmt: skip

    target = math.log(epsilon)
    lo = -d / 2.0
    if amp == 0.0 or log_gain(lo) < target:
        return 0.0
    hi = lo + 1.0
    while log_gain(hi) >= target:
        hi = lo + 2.0 * (hi - lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if log_gain(mid) >= target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, abs(hi)):
            break
    return c_mid * math.exp(hi / b)


@register("sigmoid-compute")
def sigmoid_compute() -> Law:
    return Law(
        name="sigmoid-compute",
        inputs=("compute",),
        params=("R0", "A", "B", "C_mid"),
        bounds=((0.0, 1.0), (0.0, 1.0), (1e-3, 10.0), (1e-6, 1e30)),
        fn=_sigmoid,
        outputs=("score",),
        equation="R = R0 + (A - R0) / (1 + (C_mid/C)^B)",
        reference=SCALERL,
        positive_inputs=("compute",),
        extras={
            "saturation": sigmoid_saturation,
            "summary": lambda p: {
                "asymptote": float(p["A"]),
                "efficiency": float(p["B"]),
                "midpoint": float(p["C_mid"]),
                "start": float(p["R0"]),
            },
            "asymptote": lambda params: float(params["A"]),
            "cost": lambda x: np.asarray(x["compute"], dtype=np.float64),
        },
        description="performance against RL or inference compute, saturating at A",
    )


# -- saturation search ---------------------------------------------------------------------------
def _check_eps(epsilon: float) -> None:
    if not (isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and epsilon > 0):
        raise DataError(f"epsilon must be a positive number, got {epsilon!r}; e.g. --epsilon 1e-3")


def _first_below(
    gain: Any, eps: float, *, integer: bool, lo: float = 1.0, hi: float = MAX_BUDGET
) -> float:
    """Smallest budget ≥ lo, past the peak of a unimodal ``gain``, where ``gain < eps``.

    A log-spaced scan brackets the crossing after the gain's peak; bisection (on integers when
    ``integer``) then finds it, assuming the gain decreases from the peak on. Returns ``lo``
    when the gain never reaches ``eps`` and ``inf`` when it is still ``>= eps`` at ``hi``.
    """
    grid = np.geomspace(lo, hi, 2000)
    if integer:
        grid = np.unique(np.round(grid))
    g = np.abs(np.asarray(gain(grid), dtype=np.float64))
    g = np.where(np.isfinite(g), g, np.inf)
    peak = int(np.argmax(g))
    if g[peak] < eps:
        return float(lo)
    below = np.flatnonzero(g[peak:] < eps)
    if below.size == 0:
        return math.inf
    j = peak + int(below[0])
    a, b = float(grid[j - 1]), float(grid[j])  # gain(a) >= eps > gain(b)
    while (b - a > 1) if integer else (b / a - 1 > 1e-12):
        m = math.floor((a + b) / 2) if integer else math.sqrt(a * b)
        if abs(float(np.asarray(gain(np.array([m])))[0])) < eps:
            b = m
        else:
            a = m
    return float(b)


# -- uncertainty helpers ---------------------------------------------------------------------------
def pass_at_k_band(
    law: Law, draws: np.ndarray, ks: Any, level: float = 0.9
) -> dict[str, np.ndarray]:
    """Median and central ``level`` band of the law over parameter draws (n, p) at inputs ks.

    Returns ``{"k", "median", "lower", "upper"}``; ``draws`` e.g. from
    ``scalinglaws.laplace(fit, data=arrays).sample(1000)``.
    """
    ks = np.asarray(ks, dtype=np.float64)
    xs = {law.inputs[0]: jnp.asarray(ks)}
    ys = np.asarray(jax.vmap(lambda th: law.apply(th, xs)[:, 0])(jnp.asarray(draws)))
    q = (1 - level) / 2
    lower, median, upper = np.nanquantile(ys, [q, 0.5, 1 - q], axis=0)
    return {"k": ks, "median": median, "lower": lower, "upper": upper}


def nuts_draws(
    law: Law,
    data: Mapping[str, np.ndarray],
    *,
    num_warmup: int = 300,
    num_samples: int = 500,
    key: int = 0,
) -> np.ndarray:
    """Posterior draws (num_samples, p) of a likelihood law by NumPyro NUTS.

    The prior is the one the bounds imply (uniform, or log-uniform for log-scale parameters),
    i.e. a standard logistic density on the unconstrained ``u``; the likelihood is
    ``exp(−law.nll(θ(u), data))``.
    """
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    if law.nll is None:
        raise DataError(f"law {law.name!r} has no likelihood; use laplace() or the bootstrap")
    bij = law.bijector
    payload = {k: jnp.asarray(v) for k, v in data.items()}

    def model() -> None:
        u = numpyro.sample("u", dist.Logistic(jnp.zeros(law.n_params), 1.0).to_event(1))
        numpyro.factor("loglik", -law.nll(law.as_dict(bij.forward(u)), payload))

    mcmc = MCMC(NUTS(model), num_warmup=num_warmup, num_samples=num_samples, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(key))
    return np.asarray(bij.forward(mcmc.get_samples()["u"]))


def plot_pass_at_k(
    law: Law,
    params: Mapping[str, float],
    *,
    draws: np.ndarray | None = None,
    ks: Any = None,
    observed: pd.DataFrame | None = None,
    saturation: float | None = None,
    level: float = 0.9,
    ax: Any = None,
) -> Any:
    """Plot the fitted pass@k curve (log k axis), its band, observed points and N*.

    Args:
        law, params: the fitted law and parameters.
        draws: parameter draws (n, p) for a ``level`` band (e.g. from Laplace or NUTS).
        ks: budgets to draw at (default 1 … 10⁵, log-spaced).
        observed: a ``k, pass_at_k`` table (e.g. :func:`pass_at_k_curve`) drawn as points.
        saturation: a budget to mark with a vertical line.

    Returns:
        The matplotlib axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    ks = np.geomspace(1, 1e5, 200) if ks is None else np.asarray(ks, dtype=np.float64)
    x = law.inputs[0]
    ax.plot(ks, law(params, {x: ks}), color="C0", label=f"{law.name} fit")
    if draws is not None:
        band = pass_at_k_band(law, draws, ks, level)
        ax.fill_between(
            ks, band["lower"], band["upper"], color="C0", alpha=0.25, label=f"{level:.0%} band"
        )
    if observed is not None:
        ax.plot(
            observed[x], observed[law.outputs[0]], "o", ms=3, color="k", label="observed (unbiased)"
        )
    if saturation is not None and math.isfinite(saturation):
        ax.axvline(saturation, color="C3", ls="--", label=f"saturation budget {saturation:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(law.outputs[0])
    ax.legend(loc="lower right", fontsize=8)
    return ax
