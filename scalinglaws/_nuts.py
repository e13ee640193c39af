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

Curved ridges (``reparam="chart"``; ``"auto"`` picks it when the fit reports a not-identifiable
trade-off and the law has a power term ``b + a·X^k``): no linear whitening straightens a ridge
like Farseer's, so NUTS then runs on the chart of :mod:`scalinglaws._reparam` (the values of
each power term at the smallest and largest ``X`` of the data instead of ``a`` and ``k``) and a
triangular polynomial shear fitted to short pilot runs: :func:`chart_model`. Both are exact
changes of variables, so the posterior is the same; well-conditioned fits never take this path,
so their draws are bit-for-bit those of the Laplace-whitened sampler.

Chains start at the comparable modes of the fit (round-robin). When several modes are mixed,
each chain's draws are labelled with the mode it started from, and the groups are reweighted to
the modes' Laplace evidence weights (chains rarely cross between separated modes).
Diagnostics: ArviZ split-r̂ and bulk ESS per parameter, over all chains when the groups overlap
(pooled r̂ < 1.1: the modes lie in one basin, as Farseer's do along its ridge), else within each
group of chains; divergences; warnings when r̂ > 1.01 or any transition diverged.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import LawError
from ._fit import FitResult, _bucket, _pad
from ._laplace import STUDENT_DF, LaplaceApprox, _chol, laplace, prior_logpdf
from ._law import Law
from ._losses import make_loss
from ._numerics import safe_log
from ._reparam import (
    SHEAR_DEGREE,
    Chart,
    PowerTerm,
    Shear,
    affine,
    chart_to_u,
    fit_shear,
    from_chart,
    make_chart,
    monomials,
    power_terms,
    shear_forward,
    shear_inverse,
    to_chart,
    usable_terms,
)

RHAT_MAX = 1.01
POOL_RHAT = 1.1  # groups of chains from different modes whose pooled r̂ is below this overlap
REPARAMS = ("auto", "laplace", "chart")
# (warm-up, draws) per chain of the chart's pilot stages. Long stages pay for themselves: a shear
# fitted to 1,000 draws a chain leaves fewer leapfrog steps per transition and 2-4x the ESS of
# (150, 100), (100, 150); farseer, --seed 0-4: r_hat <= 1.0052 on all five, was 1.013-1.19
PILOT = ((600, 400), (400, 600))
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
    _observe(theta, x, y, w, sigma_hat, sigma_sd, nll_data, law, log_residuals, likelihood, df)


def _observe(
    theta: Any, x: Any, y: Any, w: Any, sigma_hat: Any, sigma_sd: Any, nll_data: Any,
    law: Law, log_residuals: bool, likelihood: str, df: float,
) -> None:  # fmt: skip
    """The likelihood of both models (and the noise scale's prior), given parameters θ."""
    import numpyro
    import numpyro.distributions as dist

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


def chart_model(
    x: dict[str, Any] | None,
    y: Any = None,
    w: Any = None,
    shear: Shear | None = None,
    chart: Chart | None = None,
    sigma_hat: Any = 1.0,
    sigma_sd: Any = 1.0,
    *,
    law: Law,
    terms: tuple[PowerTerm, ...],
    degree: int,
    log_residuals: bool,
    likelihood: str,
    df: float = STUDENT_DF,
) -> None:
    """The same posterior as :func:`model`, sampled on the chart and shear of ``_reparam``.

    ``z`` is the shear's reference coordinate: chart ``c = shear(z)`` (constant Jacobian),
    parameters ``θ(c)`` with the density term of :func:`~scalinglaws._reparam.from_chart`
    (bounds prior and the chart's Jacobian; zero density where the chart leaves the bounds).
    """
    import numpyro
    import numpyro.distributions as dist

    p = law.n_params
    z = numpyro.sample("z", dist.ImproperUniform(dist.constraints.real_vector, (), (p,)))
    c = shear_forward(shear, z, monomials(p, degree))
    theta, log_p, valid = from_chart(law, terms, chart, c)
    numpyro.factor("prior_u", jnp.where(valid, log_p, -jnp.inf))
    _observe(theta, x, y, w, sigma_hat, sigma_sd, None, law, log_residuals, likelihood, df)


@functools.lru_cache(maxsize=32)
def _program(
    kind: str, law: Law, static: tuple[tuple[str, Any], ...], warmup: int, draws: int,
    target_accept: float, max_tree_depth: int, parallel: bool = False,
) -> Any:  # fmt: skip
    """One compiled single-chain NUTS run per configuration (``kind`` "laplace": :func:`model`,
    "chart": :func:`chart_model`; ``static`` their keyword-only arguments).

    Kernel initialisation, warm-up (step size and dense mass-matrix adaptation) and draws are
    one jitted ``scan`` that takes the key, the start and the data as arguments. Unlike
    numpyro's ``MCMC.run``, which traces its sampling loop again on every call and initialises
    the kernel op by op, every later call with data of the same shape reuses the executable:
    no tracing, no per-call compilation and no growth of the process's code memory.

    Returns ``run(key, init, args, kwargs) -> (sites, diverging, num_steps)``, the sites
    (sampled and deterministic) stacked over ``draws``. With ``parallel``, the same run
    ``pmap``-ed over the local devices (``key`` and ``init`` with a leading device axis, one
    chain per device): one executable for every device, where a ``jit`` per device compiles the
    program once for each of them.
    """
    from numpyro.infer import NUTS

    fn = functools.partial(model if kind == "laplace" else chart_model, law=law, **dict(static))

    def run(key: Any, init: dict[str, Any], args: tuple, kwargs: dict[str, Any]) -> Any:
        kernel = NUTS(
            fn, dense_mass=_DENSE, adapt_mass_matrix=_ADAPT, target_accept_prob=target_accept,
            max_tree_depth=max_tree_depth,
        )  # fmt: skip
        state = kernel.init(key, warmup, init, model_args=args, model_kwargs=kwargs)

        def step(st: Any, _: Any) -> Any:
            st = kernel.sample(st, args, kwargs)
            return st, (st.z, st.diverging, st.num_steps)

        _, (z, div, steps) = jax.lax.scan(step, state, None, length=warmup + draws)
        z = jax.tree.map(lambda v: v[warmup:], z)
        return jax.vmap(kernel.postprocess_fn(args, kwargs))(z), div[warmup:], steps[warmup:]

    return jax.pmap(run, in_axes=(0, 0, None, None)) if parallel else jax.jit(run)


def _chain_method(chain_method: str, chains: int) -> str:
    """``"auto"``: ``"parallel"`` when JAX sees several devices (the ``sl`` command starts with
    one CPU device per core) and there are several chains, else ``"sequential"``."""
    methods = ("auto", "sequential", "parallel")
    if chain_method not in methods:
        raise LawError(f"unknown chain_method {chain_method!r}; choose one of {', '.join(methods)}")
    if chain_method == "auto":
        return "parallel" if jax.local_device_count() > 1 and chains > 1 else "sequential"
    return chain_method


def _run_chains(
    program: Callable[[bool], Any], chain_method: str, init: dict[str, Any],
    rng: np.random.Generator, args: tuple, kwargs: dict[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:  # fmt: skip
    """Run one chain of ``program(parallel)`` (:func:`_program`) from each row of ``init``;
    samples and the ``diverging``/``num_steps`` fields, each with a leading chain axis.

    ``"parallel"`` runs the chains in rounds of one chain per JAX device (the CPU's cores under
    ``sl``) through the ``pmap``-ed program, padding the last round with a repeated chain.
    Dispatch is asynchronous, so the devices sample at the same time and the rounds queue up;
    the program compiles once for all devices. (numpyro's own ``chain_method="parallel"``,
    which re-traces its sampling loop on every run, was no faster than sequential chains here:
    farseer 35 s against 38 s.)
    """
    init = {k: np.asarray(v) for k, v in init.items()}  # host copies: sliced, then placed
    chains = len(next(iter(init.values())))
    keys = np.stack(
        [np.asarray(jax.random.PRNGKey(int(rng.integers(2**31)))) for _ in range(chains)]
    )
    n_dev = jax.local_device_count() if chain_method == "parallel" else 1
    # every call is dispatched before any result is read, so the devices run at the same time
    if n_dev > 1:
        prog = program(True)
        rows = np.arange(-(-chains // n_dev) * n_dev) % chains  # pad: repeat the first chains
        outs = [
            prog(keys[r], {k: v[r] for k, v in init.items()}, args, kwargs)
            for r in rows.reshape(-1, n_dev)
        ]
        host = [jax.tree.map(np.asarray, o) for o in outs]  # leading axis: one chain per device
    else:
        prog = program(False)
        outs = [
            prog(keys[c], {k: jnp.asarray(v[c]) for k, v in init.items()}, args, kwargs)
            for c in range(chains)
        ]
        host = [jax.tree.map(lambda a: np.asarray(a)[None], o) for o in outs]

    def stack(get: Callable[[Any], np.ndarray]) -> np.ndarray:
        return np.concatenate([get(o) for o in host])[:chains]

    sites = {k: stack(lambda o, k=k: o[0][k]) for k in host[0][0]}
    extra = {"diverging": stack(lambda o: o[1]), "num_steps": stack(lambda o: o[2])}
    return sites, extra


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
    chain_method: str = "auto",
    data: Any = None,
    approx: LaplaceApprox | None = None,
    target_accept: float = 0.95,
    max_tree_depth: int = 8,
    reparam: str = "auto",
    pilot: tuple[tuple[int, int], ...] = PILOT,
) -> dict[str, Any]:
    """Sample the posterior of ``fit`` with NUTS.

    Args:
        chain_method: ``"parallel"`` deals the chains out to the JAX devices, which sample at
            the same time; ``"sequential"`` runs them one after another; ``"auto"`` (default)
            is parallel when there are several devices. The ``sl`` command gives JAX one CPU
            device per core; in your own program call
            ``numpyro.set_host_device_count(os.cpu_count())`` before JAX starts to get the same.
        reparam: the coordinates NUTS runs on. ``"laplace"``: ``u`` whitened by the Laplace
            covariance (module docstring). ``"chart"``: the power-term chart and pilot-fitted
            shear of :mod:`scalinglaws._reparam` (same posterior; for curved ridges).
            ``"auto"`` (default): ``"chart"`` when the fit reports a not-identifiable trade-off
            (normalised Fisher condition number above 1e10, see ``FitResult.status``) *and* the
            law has a power term ``b + a·X^k`` the chart can take; ``"laplace"`` otherwise, so
            well-conditioned posteriors are sampled exactly as before.
        pilot: ``(warmup, draws)`` per chain of each pilot stage (chart only): every stage
            refits the shear to its draws, the run that counts starts where the last ended.

    Returns:
        ``{"u": (C·S, p), "sigma": (C·S,), "chain": (C·S,), "mode": (C·S,), "weights": (C·S,),
        "rhat": {param: r̂}, "ess": {param: ESS}, "divergences": int, "warnings": [...],
        "seconds": float, "chain_method": str, "reparam": str}``.
    """
    t0 = time.perf_counter()
    law = fit.law
    if chains < 1 or draws < 1:
        raise LawError(f"NUTS needs chains >= 1 and draws >= 1, got {chains} and {draws}")
    chain_method = _chain_method(chain_method, chains)
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
    terms = _chart_terms(fit, lap, reparam)
    info: dict[str, Any] = {"reparam": "laplace"}
    if terms is None:
        static = (("likelihood", lik), ("log_residuals", log_res), ("df", float(df)))
        prog = functools.partial(
            _program, "laplace", law, static, int(warmup), int(draws), float(target_accept),
            int(max_tree_depth),
        )  # fmt: skip
        s, extra = _run_chains(prog, chain_method, init, rng, (x, y), args)
    else:
        s, extra, info = _sample_chart(
            fit, lap, terms, start_mode, rng, x, y, args, draws=int(draws), warmup=int(warmup),
            chains=int(chains), pilot=pilot, df=float(df), chain_method=chain_method,
            target_accept=float(target_accept), max_tree_depth=int(max_tree_depth),
        )  # fmt: skip
    u = np.asarray(s["u"])  # (C, S, p)
    sig = np.exp(np.asarray(s["log_sigma"])) if "log_sigma" in s else np.full(u.shape[:2], np.nan)
    div = int(np.asarray(extra["diverging"]).sum())
    steps = float(np.mean(np.asarray(extra["num_steps"])))
    theta = np.asarray(law.bijector.forward(jnp.asarray(u)))

    # diagnostics over all chains when the groups that started at different modes sample one
    # distribution (pooled r̂ < POOL_RHAT: the modes lie in one basin, e.g. along a ridge);
    # else within each group (separated modes that chains cannot cross are not a failure)
    pooled = False
    if len(np.unique(start_mode)) > 1:
        r_all, e_all = _rhat_ess(theta)
        pooled = bool(np.all(np.nan_to_num(r_all, nan=np.inf) < POOL_RHAT))
    if pooled:
        rhat, ess = np.nan_to_num(r_all, nan=np.inf), np.nan_to_num(e_all)
    else:
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
    if pooled:  # one distribution: every chain counts the same, whatever mode it started at
        mode_w = counts / counts.sum()
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
        note = (
            " (on the chart these include trajectories stopped at the bounds of a charted"
            " coefficient or exponent)"
            if info["reparam"] == "chart"
            else ""
        )
        warn.append(f"NUTS had {div} divergent transitions; treat the intervals with caution{note}")
    return {
        "u": u.reshape(-1, law.n_params),
        "sigma": sig.reshape(-1),
        "chain": np.repeat(np.arange(chains), u.shape[1]),
        "mode": np.repeat(start_mode, u.shape[1]),
        "weights": weights,
        "rhat": {p: float(r) for p, r in zip(law.params, rhat, strict=False)},
        "ess": {p: float(e) for p, e in zip(law.params, ess, strict=False)},
        "mode_weights": mode_w,
        "pooled_chains": pooled,
        "divergences": div,
        "mean_steps": steps,
        "warnings": warn,
        "seconds": time.perf_counter() - t0,
        "chain_method": chain_method,
        **info,
    }


def _chart_terms(fit: FitResult, lap: LaplaceApprox, reparam: str) -> tuple[PowerTerm, ...] | None:
    """The power terms to chart, or None for the Laplace-whitened sampler (see :func:`nuts`)."""
    if reparam not in REPARAMS:
        raise LawError(f"unknown NUTS reparam {reparam!r}; choose one of {', '.join(REPARAMS)}")
    if reparam == "laplace":
        return None
    law = fit.law
    if lap.likelihood == "nll":
        if reparam == "chart":
            raise LawError(f"reparam='chart' needs a law fitted to residuals; {law.name} has nll")
        return None
    if reparam == "auto" and not any(
        s.startswith("not identifiable") and "trade off" in s for s in fit.status
    ):
        return None
    comp = lap.components[0]
    u = jnp.asarray(comp.mean)
    theta = np.asarray(law.bijector.forward(u))
    slope = np.asarray(jax.jacfwd(law.bijector.forward)(u)).diagonal()
    sd = np.abs(slope) * np.sqrt(np.diag(comp.cov))
    terms = usable_terms(law, power_terms(law), fit.x, theta, sd)
    if reparam == "auto" and not terms:
        return None
    return terms


def _sample_chart(
    fit: FitResult, lap: LaplaceApprox, terms: tuple[PowerTerm, ...], start_mode: np.ndarray,
    rng: np.random.Generator, x: Any, y: Any, args: dict[str, Any], *, draws: int, warmup: int,
    chains: int, pilot: tuple[tuple[int, int], ...], df: float, chain_method: str, target_accept: float,
    max_tree_depth: int,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Pilot run on the Fisher-whitened chart, shear fitted to it, then the run that counts."""
    from ._laplace import _residual_jacobian, _safe_inv, fisher_factor

    law = fit.law
    p = law.n_params
    degree = SHEAR_DEGREE if p <= 10 else 2
    table = monomials(p, degree)
    chart = make_chart(law, terms, fit.x)
    comps = lap.components
    c_modes = np.asarray(
        to_chart(law, terms, chart, jnp.asarray(np.stack([c.mean for c in comps])))
    )
    c0 = c_modes[0]
    # Laplace on the chart at the best mode: Fisher information + curvature of the logistic
    # prior of the coordinates that stay in u (the Jacobian's curvature is left to adaptation)
    du_dc = np.asarray(jax.jacfwd(lambda c: chart_to_u(law, terms, chart, c))(jnp.asarray(c0)))
    loss = make_loss(fit.loss, delta=fit.delta)
    _, jac = _residual_jacobian(law, loss)(jnp.asarray(comps[0].mean), x, y, args["w"])
    jc = np.asarray(jac) @ du_dc
    kept = np.ones(p, dtype=bool)
    for t in terms:
        kept[[t.a, t.k]] = False
    sg = 1.0 / (1.0 + np.exp(-c0))
    prec = fisher_factor(lap.sigma, lap.likelihood, df) * jc.T @ jc
    prec = prec + np.diag(np.where(kept, 2.0 * sg * (1.0 - sg), 0.0))
    chol = _chol(_safe_inv(prec))
    # the pilot runs at least one chain per group of chains (per mode started from), and as
    # many as the devices run at once (a device would otherwise idle): the shear is fitted to
    # all their draws, and the chains that count start where their group's pilot chains ended
    groups, member = np.unique(start_mode, return_inverse=True)
    slots = jax.local_device_count() if chain_method == "parallel" else 1
    pilot_group = np.arange(-(-len(groups) // slots) * slots) % len(groups)
    z0 = np.linalg.solve(chol, (c_modes[groups[pilot_group]] - c0).T).T
    init = {
        "z": z0 + 0.1 * rng.standard_normal(z0.shape),
        "z_sigma": 0.1 * rng.standard_normal(len(pilot_group)),
    }
    data = {k: args[k] for k in ("w", "sigma_hat", "sigma_sd")}

    static = (
        ("terms", terms), ("degree", degree), ("log_residuals", lap.log_residuals),
        ("likelihood", lap.likelihood), ("df", df),
    )  # fmt: skip

    def run(shear: Shear, n_warm: int, n_draw: int, init: dict[str, Any]) -> Any:
        prog = functools.partial(
            _program, "chart", law, static, n_warm, n_draw, target_accept, max_tree_depth
        )
        kwargs = {"shear": shear, "chart": chart, **data}
        return _run_chains(prog, chain_method, init, rng, (x, y), kwargs)

    def charted(shear: Shear, z: Any) -> np.ndarray:
        z = jnp.asarray(z)
        c = jax.vmap(lambda zi: shear_forward(shear, zi, table))(z.reshape(-1, p))
        return np.asarray(c).reshape(z.shape)

    t_pilot = time.perf_counter()
    shear = affine(c0, chol, degree)
    for n_warm, n_draw in pilot:
        s, _ = run(shear, int(n_warm), int(n_draw), init)
        # the shear refitted to this stage's draws; the next stage starts where this one ended
        cs = charted(shear, s["z"])
        shear = fit_shear(cs.reshape(-1, p), table)
        init = {
            "z": shear_inverse(shear, cs[:, -1], table),
            "z_sigma": np.asarray(s["z_sigma"])[:, -1],
        }
    t_pilot = time.perf_counter() - t_pilot
    # the chains of a group start, in turn, where that group's pilot chains ended
    rank = np.array([np.sum(member[:c] == member[c]) for c in range(len(member))])
    ends = [np.flatnonzero(pilot_group == g) for g in range(len(groups))]
    src = np.array([ends[g][r % len(ends[g])] for g, r in zip(member, rank, strict=True)])
    init = {k: np.asarray(v)[src] for k, v in init.items()}
    init["z"] = init["z"] + 0.1 * rng.standard_normal(init["z"].shape)
    s, extra = run(shear, warmup, draws, init)
    s["u"] = chart_to_u(law, terms, chart, charted(shear, s["z"]))
    names = [(law.params[t.a], law.params[t.k], law.params[t.b], t.input) for t in terms]
    info = {"reparam": "chart", "chart_terms": names, "pilot": [list(map(int, st)) for st in pilot],
            "pilot_seconds": t_pilot}  # fmt: skip
    return s, extra, info
