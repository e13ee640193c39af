"""NUTS (NumPyro) posterior of a law's parameters, with priors from the bounds.

Model, on the unconstrained ``u`` of the law's bijector (θ = T(u)):

    u      ~ bounds prior: uniform (log-uniform on log-scale parameters) on θ, i.e. the
             logistic density p(u) = σ(u)(1 − σ(u)) = p_θ(T(u)) · |dT/du| / const
    log σ  ~ Normal(log σ̂, 2)                       (weak; σ̂ the fit's noise scale)
    g(y_i) ~ Normal(g(ŷ_i(θ)), σ)   or   StudentT(ν, g(ŷ_i(θ)), σ)   (huber-log; ν = 4)

with ``g = log`` for log losses. Likelihood laws (``law.nll``) use ``exp(−nll)`` and no σ.

The sampler runs on a whitened copy of ``u``: ``u = m + L z`` with ``m`` the best mode and
``L Lᵀ`` its Laplace covariance. That is an affine change of variables (constant Jacobian), so
the posterior is unchanged; it only makes the geometry NUTS sees nearly isotropic, which is
what makes 9-parameter laws with strongly correlated parameters (Farseer) sample in seconds.

Chains start at the comparable modes of the fit (round-robin). When several modes are mixed,
each chain's draws are labelled with the mode it started from, and the groups are reweighted to
the modes' Laplace evidence weights (chains rarely cross between separated modes).
Diagnostics: ArviZ split-r̂ and bulk ESS per parameter (within each group of chains),
divergences; warnings when r̂ > 1.01 or any transition diverged.
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import LawError
from ._fit import FitResult, _bucket, _pad
from ._laplace import STUDENT_DF, LaplaceApprox, _chol, laplace, prior_logpdf
from ._law import Law
from ._numerics import safe_log

RHAT_MAX = 1.01
_DENSE = True
_ADAPT = True


def model(
    x: dict[str, Any] | None,
    y: Any = None,
    w: Any = None,
    loc: Any = None,
    chol: Any = None,
    sigma_hat: Any = 1.0,
    sigma_sd: Any = 1.0,
    nll_data: Any = None,
    *,
    law: Law,
    log_residuals: bool,
    likelihood: str,
    df: float = STUDENT_DF,
) -> None:
    """The NumPyro model (see module docstring); ``y=None`` samples the prior predictive.

    ``loc``/``chol`` whiten ``u = loc + chol @ z``; ``log σ = log σ̂ + sigma_sd · z_σ`` is
    whitened likewise with the prior ``log σ ~ Normal(log σ̂, 2)`` expressed on it. ``w`` masks
    padded rows (0) so that one compiled sampler serves data sets of similar size.
    """
    import numpyro
    import numpyro.distributions as dist

    p = law.n_params
    z = numpyro.sample("z", dist.ImproperUniform(dist.constraints.real_vector, (), (p,)))
    u = loc + chol @ z
    numpyro.factor("prior_u", prior_logpdf(u))
    theta = law.bijector.forward(u)
    numpyro.deterministic("u", u)
    if likelihood == "nll":
        numpyro.factor("loglik", -law.nll(law.as_dict(theta), nll_data))
        return
    z_s = numpyro.sample("z_sigma", dist.ImproperUniform(dist.constraints.real, (), ()))
    log_sigma = jnp.log(sigma_hat) + sigma_sd * z_s
    numpyro.factor("prior_sigma", dist.Normal(jnp.log(sigma_hat), 2.0).log_prob(log_sigma))
    numpyro.deterministic("log_sigma", log_sigma)
    sigma = jnp.exp(log_sigma)
    pred = law.apply(theta, x)
    mean = safe_log(pred) if log_residuals else pred
    obs = None if y is None else (jnp.log(jnp.where(w > 0, y, 1.0)) if log_residuals else y)
    d = dist.StudentT(df, mean, sigma) if likelihood == "student-t" else dist.Normal(mean, sigma)
    if w is not None:
        d = d.mask(w > 0)
    numpyro.sample("obs", d.to_event(2), obs=obs)


@functools.lru_cache(maxsize=16)
def _sampler(
    law: Law, likelihood: str, log_residuals: bool, df: float, warmup: int, draws: int,
    chains: int, chain_method: str, target_accept: float, max_tree_depth: int,
):  # fmt: skip
    """One MCMC object per configuration: ``jit_model_args`` reuses its compiled sampler."""
    from numpyro.infer import MCMC, NUTS

    kernel = NUTS(
        functools.partial(model, law=law, log_residuals=log_residuals, likelihood=likelihood, df=df),
        dense_mass=_DENSE, adapt_mass_matrix=_ADAPT, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
    )  # fmt: skip
    return MCMC(
        kernel, num_warmup=warmup, num_samples=draws, num_chains=chains,
        chain_method=chain_method, progress_bar=False, jit_model_args=True,
    )  # fmt: skip


def _rhat_ess(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ArviZ split-r̂ and bulk ESS of ``samples`` (chains, draws, p), per parameter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az

        ds = az.convert_to_dataset({"theta": samples})
        rhat = np.asarray(az.rhat(ds)["theta"].values).reshape(-1)
        ess = np.asarray(az.ess(ds, method="bulk")["theta"].values).reshape(-1)
    return rhat, ess


def nuts(
    fit: FitResult,
    *,
    draws: int = 1000,
    warmup: int = 500,
    chains: int = 4,
    key: Any = 0,
    likelihood: str | None = None,
    df: float = STUDENT_DF,
    chain_method: str = "sequential",
    data: Any = None,
    approx: LaplaceApprox | None = None,
    target_accept: float = 0.95,
    max_tree_depth: int = 8,
) -> dict[str, Any]:
    """Sample the posterior of ``fit`` with NUTS.

    Returns:
        ``{"u": (C·S, p), "sigma": (C·S,), "chain": (C·S,), "mode": (C·S,), "weights": (C·S,),
        "rhat": {param: r̂}, "ess": {param: ESS}, "divergences": int, "warnings": [...],
        "seconds": float, "chain_method": str}``.
    """
    t0 = time.perf_counter()
    law = fit.law
    if chains < 1 or draws < 1:
        raise LawError(f"NUTS needs chains >= 1 and draws >= 1, got {chains} and {draws}")
    lap = approx or laplace(fit, data=data, likelihood=likelihood, df=df)
    lik = lap.likelihood
    comps = lap.components
    loc = np.asarray(comps[0].mean)
    L = _chol(np.asarray(comps[0].cov))
    Linv = np.linalg.inv(L)
    # chains start at the modes, round robin; a small jitter so chains are distinct
    rng = np.random.default_rng(key if isinstance(key, (int, np.integer)) else 0)
    # chains in groups of at least two per mode (r̂ needs two chains), highest weights first
    order = np.argsort([-c.weight for c in comps], kind="stable")
    n_groups = max(1, min(len(comps), chains // 2))
    used = order[:n_groups]
    start_mode = used[np.arange(chains) % n_groups]
    z0 = np.stack([Linv @ (comps[m].mean - loc) for m in start_mode])
    z0 = z0 + 0.1 * rng.standard_normal(z0.shape)
    init = {"z": jnp.asarray(z0)}
    args: dict[str, Any] = {"loc": jnp.asarray(loc), "chol": jnp.asarray(L)}
    if lik == "nll":
        x, y = None, None
        args["nll_data"] = {k: jnp.asarray(v) for k, v in (data or {}).items()}
        log_res = False
    else:
        xp, yp, wp = _pad(fit.x, fit.y, np.ones_like(fit.y), _bucket(fit.n_runs))
        x = {k: jnp.asarray(v) for k, v in xp.items()}
        y = jnp.asarray(yp)
        m = max(fit.y.size - law.n_params, 1)
        args |= {"w": jnp.asarray(wp), "sigma_hat": lap.sigma, "sigma_sd": 1.0 / np.sqrt(2.0 * m)}
        init["z_sigma"] = jnp.asarray(0.1 * rng.standard_normal(chains))
        log_res = lap.log_residuals
    mcmc = _sampler(
        law, lik, log_res, float(df), int(warmup), int(draws), int(chains), chain_method,
        float(target_accept), int(max_tree_depth),
    )  # fmt: skip
    if chains == 1:
        init = {k: v[0] for k, v in init.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpyro warns when chains exceed devices
        mcmc.run(
            jax.random.PRNGKey(int(rng.integers(2**31))), x, y, init_params=init,
            extra_fields=("diverging", "num_steps"), **args,
        )  # fmt: skip
    s = mcmc.get_samples(group_by_chain=True)
    u = np.asarray(s["u"])  # (C, S, p)
    sig = np.exp(np.asarray(s["log_sigma"])) if "log_sigma" in s else np.full(u.shape[:2], np.nan)
    extra = mcmc.get_extra_fields(group_by_chain=True)
    div = int(np.asarray(extra["diverging"]).sum())
    steps = float(np.mean(np.asarray(extra["num_steps"])))
    theta = np.asarray(law.bijector.forward(jnp.asarray(u)))

    # diagnostics within each group of chains that started at the same mode
    rhat = np.ones(law.n_params)
    ess = np.zeros(law.n_params)
    for m in np.unique(start_mode):
        sel = start_mode == m
        r_m, e_m = _rhat_ess(theta[sel])
        rhat = np.maximum(rhat, np.nan_to_num(r_m, nan=np.inf))
        ess = ess + np.nan_to_num(e_m)
    mode_w = np.array([c.weight if i in used else 0.0 for i, c in enumerate(comps)])
    dropped = float(sum(c.weight for i, c in enumerate(comps) if i not in used))
    mode_w = mode_w / mode_w.sum()
    counts = np.bincount(start_mode, minlength=len(comps)).astype(float)
    chain_w = mode_w[start_mode] / counts[start_mode]
    weights = np.repeat(chain_w, u.shape[1]) / u.shape[1]
    weights = weights / weights.sum()
    warn = []
    bad = [f"{p} {r:.3f}" for p, r in zip(law.params, rhat, strict=False) if not r <= RHAT_MAX]
    if bad:
        warn.append(
            f"NUTS r_hat > {RHAT_MAX}: {', '.join(bad)}; run more draws (--draws) or chains"
        )
    if dropped > 0.01:
        warn.append(
            f"NUTS sampled {n_groups} of {len(comps)} modes (weight {dropped:.2f} left out); "
            "use more --chains (two per mode)"
        )
    if div:
        warn.append(f"NUTS had {div} divergent transitions; treat the intervals with caution")
    return {
        "u": u.reshape(-1, law.n_params),
        "sigma": sig.reshape(-1),
        "chain": np.repeat(np.arange(chains), u.shape[1]),
        "mode": np.repeat(start_mode, u.shape[1]),
        "weights": weights,
        "rhat": {p: float(r) for p, r in zip(law.params, rhat, strict=False)},
        "ess": {p: float(e) for p, e in zip(law.params, ess, strict=False)},
        "mode_weights": mode_w,
        "divergences": div,
        "mean_steps": steps,
        "warnings": warn,
        "seconds": time.perf_counter() - t0,
        "chain_method": chain_method,
    }
