"""NUTS on the power-term chart with a pilot-fitted shear (scalinglaws._reparam).

The chart and the shear are changes of variables, so the posterior must be exactly the one of
the u-space model: checked pointwise (density = u-density × |∂u/∂c|, up to a constant) and, for
the sampler end to end, against a brute-force grid over the parameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scalinglaws as sl
from scalinglaws._laplace import laplace, prior_logpdf
from scalinglaws._nuts import _rhat_ess, nuts
from scalinglaws._reparam import (
    chart_to_u,
    fit_shear,
    from_chart,
    make_chart,
    monomials,
    power_terms,
    shear_forward,
    shear_inverse,
    to_chart,
)

RIDGE = sl.formula_law(
    "b + a*x**k", {"a": (0.2, 20.0), "k": (-2.0, -0.02), "b": (0.0, 3.0)}, name="ridge"
)


def test_power_terms_are_found_in_the_jaxpr():
    far = sl.get_law("farseer")
    names = {(far.params[t.a], far.params[t.k], far.params[t.b]) for t in power_terms(far)}
    assert names == {("a3", "gamma", "b3"), ("a2", "beta", "b2"), ("a1", "alpha", "b1")}
    assert power_terms(sl.get_law("chinchilla")) == ()  # written as exp(log A - alpha log N)
    chin = sl.formula_law(
        "E + A*N**(-alpha) + B*D**(-beta)",
        {"E": (0.1, 5), "A": (1, 1e6), "alpha": (0.01, 1), "B": (1, 1e6), "beta": (0.01, 1)},
    )
    (t,) = power_terms(chin)  # E + A N^-alpha; the B term has no offset of its own
    assert (chin.params[t.a], chin.params[t.k], chin.params[t.b], t.sign_k) == (
        "A",
        "alpha",
        "E",
        -1.0,
    )
    (t,) = power_terms(sl.formula_law("b - a*N**k", {"a": (0.1, 5), "k": (0, 1), "b": (0, 9)}))
    assert (t.sign_a, t.sign_b) == (-1.0, 1.0)


@pytest.mark.parametrize(
    "law",
    [
        sl.get_law("farseer"),
        sl.formula_law("b - a*N**k", {"a": (0.1, 5), "k": (0.01, 1), "b": (0, 10)}, name="m"),
        sl.formula_law("N**k*a - b", {"a": (0.1, 5), "k": (0.01, 1), "b": (-10, 0)}, name="n"),
    ],
    ids=["farseer", "b-aN^k", "aN^k-b"],
)
def test_chart_density_is_the_u_density(law):
    """log density on the chart − (log p(u) + log|∂u/∂c|) is one constant; u round-trips."""
    terms = power_terms(law)
    x = {k: np.geomspace(1e8, 6e9, 30) for k in law.inputs}
    chart = make_chart(law, terms, x)
    rng = np.random.default_rng(0)
    gaps = []
    for u in rng.uniform(-1.5, 1.5, (6, law.n_params)):
        c = to_chart(law, terms, chart, jnp.asarray(u))
        theta, log_p, valid = from_chart(law, terms, chart, c)
        assert bool(valid)
        np.testing.assert_allclose(chart_to_u(law, terms, chart, c), u, atol=1e-9)
        np.testing.assert_allclose(theta, law.bijector.forward(jnp.asarray(u)), rtol=1e-9)
        jac = jax.jacfwd(lambda cc: chart_to_u(law, terms, chart, cc))(c)
        gaps.append(float(log_p) - float(prior_logpdf(jnp.asarray(u))) - np.linalg.slogdet(jac)[1])
    assert np.ptp(gaps) < 1e-8, gaps


def test_shear_is_a_triangular_bijection():
    """Round trip, and a constant Jacobian (the posterior is unchanged by any fit)."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((800, 4))
    c = np.column_stack([w[:, 0], w[:, 0] ** 2 + 0.1 * w[:, 1], w[:, 2], w[:, 3] + w[:, 0] ** 3])
    table = monomials(4, 3)
    shear = fit_shear(c, table)
    z = shear_inverse(shear, c[:50], table)
    back = jax.vmap(lambda zz: shear_forward(shear, zz, table))(jnp.asarray(z))
    np.testing.assert_allclose(back, c[:50], atol=1e-10)
    dets = [
        np.linalg.slogdet(jax.jacfwd(lambda zz: shear_forward(shear, zz, table))(jnp.asarray(zi)))[
            1
        ]
        for zi in z[:5]
    ]
    assert np.ptp(dets) < 1e-10
    # the fitted map straightens the curve: reference coordinates have no leftover trend
    zs = shear_inverse(shear, c, table)
    assert abs(np.corrcoef(zs[:, 0] ** 2, zs[:, 1])[0, 1]) < 0.1


def test_auto_keeps_the_laplace_sampler_for_identifiable_fits():
    """A well-conditioned fit of a law with a power term: auto is bit-identical to laplace."""
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 1e4, 20)
    y = (1.0 + 3.0 * x**-0.5) * np.exp(0.01 * rng.standard_normal(x.size))
    fit = sl.fit(RIDGE, {"x": x, "loss": y}, loss="log-mse", starts=32)
    assert not any(s.startswith("not identifiable") for s in fit.status), fit.status
    auto = nuts(fit, draws=30, warmup=30, chains=2, key=3)
    lap = nuts(fit, draws=30, warmup=30, chains=2, key=3, reparam="laplace")
    assert auto["reparam"] == "laplace"
    np.testing.assert_array_equal(auto["u"], lap["u"])
    with pytest.raises(sl.LawError):
        nuts(fit, draws=10, warmup=10, chains=1, reparam="magic")


def _grid_posterior(x, y, sigma_hat, n=120):
    """Posterior of (a, k, b) of RIDGE on an n³ midpoint grid over the bounds (uniform prior),
    the noise scale integrated out on a grid with the model's prior log σ ~ N(log σ̂, 2)."""
    lo, hi = RIDGE.bijector.lo, RIDGE.bijector.hi
    axes = [np.linspace(lo[i], hi[i], n + 1) for i in range(3)]
    axes = [0.5 * (e[1:] + e[:-1]) for e in axes]
    a, k, b = np.meshgrid(*axes, indexing="ij")
    r = np.log(b[..., None] + a[..., None] * x ** k[..., None]) - np.log(y)
    ssr = np.sum(r**2, axis=-1).reshape(-1)
    ls = np.linspace(np.log(sigma_hat) - 3, np.log(sigma_hat) + 3, 241)
    logw = (
        -len(y) * ls - ssr[:, None] / (2 * np.exp(2 * ls)) - ((ls - np.log(sigma_hat)) / 2) ** 2 / 2
    )
    post = np.exp(logw - logw.max()).sum(axis=1).reshape(a.shape)
    post /= post.sum()
    out = {}
    for name, v in (("a", a), ("k", k), ("b", b)):
        mean = float((post * v).sum())
        out[name] = (mean, float(np.sqrt((post * (v - mean) ** 2).sum())))
    return out


@pytest.mark.slow
def test_chart_sampler_matches_a_grid_reference():
    """y = b + a·x^k on one decade of x: a curved (a, k, b) ridge. NUTS on the chart must give
    the grid's posterior means (within 0.15 sd) and sds (within 20%). Dropping the chart's
    Jacobian term log|s_hi| moves the means by 0.2–0.4 sd and shrinks sd(a) by a third.

    Eight chains: about one 4-chain run in ten (keys 0–27, both the numpyro ``MCMC`` driver
    and the compiled one) has a chain linger in the a-tail and inflates sd(a) by 20–90%; with
    eight chains the keys that failed with four pass."""
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 100, 12)
    y = (1.0 + 3.0 * x**-0.5) * np.exp(0.02 * rng.standard_normal(x.size))
    fit = sl.fit(RIDGE, {"x": x, "loss": y}, loss="log-mse", starts=64)
    res = nuts(fit, draws=500, warmup=300, chains=8, key=0, reparam="chart")
    assert res["reparam"] == "chart"
    assert max(res["rhat"].values()) < 1.05
    theta = np.asarray(RIDGE.bijector.forward(jnp.asarray(res["u"])))
    ref = _grid_posterior(x, y, laplace(fit).sigma)
    for i, name in enumerate(RIDGE.params):
        mean, sd = ref[name]
        assert abs(theta[:, i].mean() - mean) < 0.15 * sd, (name, theta[:, i].mean(), mean, sd)
        assert 0.8 < theta[:, i].std() / sd < 1.2, (name, theta[:, i].std(), sd)


def test_chains_pool_only_when_their_start_modes_share_a_basin():
    """Label switching (A·N^-α + B·N^-β): two separated modes, chains cannot cross, so r̂ is
    taken within each group (pooled it would be ~1.7). Two starts 0.5 sd apart in one basin:
    the groups overlap and r̂/ESS are computed over all four chains."""
    import dataclasses

    from scalinglaws._laplace import laplace

    law = sl.formula_law(
        "A*N**(-alpha) + B*N**(-beta)",
        bounds={"A": (1, 100), "alpha": (0.05, 1.5), "B": (1, 100), "beta": (0.05, 1.5)},
        name="twoterm",
    )
    rng = np.random.default_rng(0)
    n = np.geomspace(1, 1e4, 40)
    y = (10 * n**-0.2 + 50 * n**-1.0) * np.exp(0.01 * rng.standard_normal(n.size))
    fit = sl.fit(law, {"N": n, "loss": y}, loss="log-mse", starts=64)
    sep = nuts(fit, draws=200, warmup=200, chains=4, key=0)
    assert not sep["pooled_chains"] and len(np.unique(sep["mode"])) == 2
    theta = np.asarray(law.bijector.forward(jnp.asarray(sep["u"]))).reshape(4, -1, 4)
    assert np.all(_rhat_ess(theta)[0] > 1.5)  # the groups really are apart
    assert max(sep["rhat"].values()) < 1.05

    lap = laplace(fit)
    c0 = lap.components[0]
    near = dataclasses.replace(c0, mean=c0.mean + 0.5 * np.sqrt(np.diag(c0.cov)), weight=0.2)
    approx = dataclasses.replace(lap, components=[dataclasses.replace(c0, weight=0.8), near])
    one = nuts(fit, draws=200, warmup=200, chains=4, key=0, approx=approx)
    assert one["pooled_chains"] and len(np.unique(one["mode"])) == 2
    # pooled chains sample one distribution: equal weights, not the start modes' 0.8/0.2
    np.testing.assert_allclose(one["weights"], 1.0 / len(one["weights"]))
    theta = np.asarray(law.bijector.forward(jnp.asarray(one["u"]))).reshape(4, -1, 4)
    np.testing.assert_allclose(list(one["rhat"].values()), _rhat_ess(theta)[0])
