"""Every law — built-in and every laws.toml law of every task — evaluates finite on its task's
inputs and its autodiff gradient matches central finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scalinglaws as sl
from scalinglaws.datasets import laws_file, list_tasks, load

from conftest import FD_RTOL

TASK_LAWS = [(t, name) for t in list_tasks() for name in sl.laws_in_file(laws_file(t))]


def test_all_65_scalebench_laws_listed():
    assert len(TASK_LAWS) == 65


def _grad_check(law, x, theta):
    """Compare d(sum of predictions)/dθ by autodiff with central differences in θ."""
    xs = {k: jnp.asarray(v) for k, v in x.items()}

    def total(t):
        return jnp.sum(law.apply(t, xs))

    g = np.asarray(jax.grad(total)(jnp.asarray(theta)))
    lo, hi = law.bounds_array.T
    fd = np.empty_like(theta)
    for i in range(len(theta)):
        h = 1e-6 * max(abs(theta[i]), 1e-2 * min(hi[i] - lo[i], 1.0))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        fd[i] = (float(total(jnp.asarray(tp))) - float(total(jnp.asarray(tm)))) / (2 * h)
    scale = np.maximum(np.abs(g), np.abs(fd)).max() + 1e-300
    np.testing.assert_allclose(g, fd, rtol=FD_RTOL, atol=FD_RTOL * scale)


@pytest.mark.parametrize(
    ("task", "name"), TASK_LAWS, ids=[f"{t.split('_')[0]}-{n}" for t, n in TASK_LAWS]
)
def test_task_law_finite_and_gradient(task, name):
    law = sl.get_law(f"{task}:{name}")
    df = load(task).train.iloc[:32]
    x = {k: df[k].to_numpy(float) for k in law.inputs}
    theta = _finite_point(law, x)
    y = law(theta, x)
    assert y.shape[0] == len(df)
    assert np.all(np.isfinite(y)), f"{law.name} not finite on the task inputs"
    _grad_check(law, x, theta)


def _finite_point(law, x):
    """The reference values, else the first of 40 interior points (centre first) where the law and its
    gradient are finite (some laws underflow for part of their bounds, e.g. data_constrained
    sl_10's D^(-b·q) with b·q ≫ 1, where the original code clamped at 1e-12)."""
    if law.reference_values:
        return law.vector(law.reference_values)
    xs = {k: jnp.asarray(v) for k, v in x.items()}
    rng = np.random.default_rng(0)
    for i in range(40):
        # the centre of the (log-)box first, then seeded points further out
        q = 0.5 + min(i / 20, 1) * rng.uniform(-0.25, 0.25, law.n_params)
        if i >= 30:  # upper half only: positive mixing weights keep every proportion > 0
            q = rng.uniform(0.5, 0.75, law.n_params)
        theta = np.asarray(law.bijector.from_unit(q))
        g = jax.grad(lambda t: jnp.sum(law.apply(t, xs)))(jnp.asarray(theta))
        y = law(theta, x)
        # finite, and of a size a loss can have (not the 1e-12 input floor raised to a power)
        if np.all(np.isfinite(g)) and np.all(np.isfinite(y)) and np.abs(y).max() < 1e3:
            return theta
    raise AssertionError(f"{law.name}: no interior point with a finite value and gradient")


BUILTIN_X = {
    "N": np.geomspace(1e8, 1e10, 6),
    "D": np.geomspace(2e9, 4e11, 6),
    "U": np.geomspace(1e9, 1e11, 6),
    "x": np.geomspace(1e15, 1e21, 6),
}


@pytest.mark.parametrize(
    "name", ["chinchilla", "kaplan", "farseer", "data-constrained", "power-law", "bnsl"]
)
def test_builtin_law_finite_and_gradient(name):
    law = sl.get_law(name)
    x = {k: BUILTIN_X[k] for k in law.inputs}
    theta = (
        law.vector(law.reference_values)
        if law.reference_values and set(law.reference_values) >= set(law.params)
        else np.asarray(law.bijector.from_unit(np.full(law.n_params, 0.4)))
    )
    assert np.all(np.isfinite(law(theta, x)))
    _grad_check(law, x, theta)
    assert law.equation and law.reference


def test_chinchilla_reference_value():
    # Hoffmann et al.'s fit at Chinchilla's own size (70B params, 1.4T tokens): L ≈ 1.937
    law = sl.get_law("chinchilla")
    y = law(law.reference_values, {"N": np.array([7e10]), "D": np.array([1.4e12])})
    np.testing.assert_allclose(y, 1.69 + 406.4 / 7e10**0.34 + 410.7 / 1.4e12**0.28, rtol=1e-12)


def test_chinchilla_optimal_closed_form_is_the_constrained_minimum():
    law = sl.get_law("chinchilla")
    p = law.reference_values
    C = 5.76e23
    opt = law.extras["optimal"](p, C)
    # brute force along the constraint D = C / (6N)
    N = np.geomspace(1e9, 1e12, 20001)
    L = law(p, {"N": N, "D": C / (6 * N)})
    n_best = N[np.argmin(L)]
    assert abs(np.log(float(opt["N"]) / n_best)) < 1e-3
    np.testing.assert_allclose(float(opt["N"]) * float(opt["D"]) * 6, C, rtol=1e-12)
    np.testing.assert_allclose(float(opt["loss"]), L.min(), rtol=1e-9)


def test_data_constrained_reduces_to_chinchilla_without_repetition():
    dc, ch = sl.get_law("data-constrained"), sl.get_law("chinchilla")
    p = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28, "R_D": 15.4, "R_N": 5.3}
    N, D = np.geomspace(1e8, 1e9, 5), np.geomspace(1e10, 1e11, 5)
    # one epoch (U = D) and N below the U/20 cap: effective data and params equal the raw ones
    y = dc(p, {"N": N, "D": D, "U": D})
    np.testing.assert_allclose(y, ch({k: p[k] for k in ch.params}, {"N": N, "D": D}), rtol=1e-12)
    # 4 epochs are worth less than 4x unique data but more than 1x
    y4 = dc(p, {"N": N, "D": 4 * D, "U": D})
    assert np.all(y4 < y) and np.all(y4 > ch({k: p[k] for k in ch.params}, {"N": N, "D": 4 * D}))


def test_kaplan_matches_direct_formula():
    law = sl.get_law("kaplan")
    p = law.reference_values
    N, D = np.geomspace(1e8, 1e10, 4), np.geomspace(1e9, 1e11, 4)
    direct = ((p["N_c"] / N) ** (p["alpha_N"] / p["alpha_D"]) + p["D_c"] / D) ** p["alpha_D"]
    np.testing.assert_allclose(law(p, {"N": N, "D": D}), direct, rtol=1e-12)


def test_farseer_builtin_equals_task_law():
    a, b = sl.get_law("farseer"), sl.get_law("farseer:sl_1")
    df = load("farseer").train
    x = {"N": df.N.to_numpy(), "D": df.D.to_numpy()}
    np.testing.assert_allclose(a(a.reference_values, x), b(b.reference_values, x), rtol=1e-12)


def test_bnsl_without_break_is_a_power_law():
    law = sl.get_law("bnsl")
    x = np.geomspace(1e3, 1e6, 7)
    p = {"a": 1.0, "b": 50.0, "c0": 0.3, "c1": 0.0, "d1": 1e4, "f1": 1.0}
    np.testing.assert_allclose(law(p, {"x": x}), 1.0 + 50.0 * x**-0.3, rtol=1e-12)


def test_laws_describe_and_registry():
    names = sl.list_laws()
    for n in ["chinchilla", "kaplan", "farseer", "data-constrained", "power-law", "bnsl"]:
        assert n in names
        assert "equation" in sl.get_law(n).describe()
    with pytest.raises(sl.LawError, match="unknown law"):
        sl.get_law("no-such-law")
